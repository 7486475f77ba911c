//! `server --talk`, the half-duplex talk: the server's operator types each reply on
//! stdin (here a script piped in, as `printf 'hi\nbye\n' | tcp-basic server --talk`),
//! and `bye` from either side ends it. The other side is our client, or the tutorial's
//! client (tests/tutorial/talk_client.py, which sends no line end) with `--framing none`.

use shared::testing::{require_tool, run_with_input, start_ready, Finished, Program};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn tcp_basic(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tcp-basic"));
    command.args(args);
    command
}

/// A talking server on port 0, ready, with the operator's whole script on its stdin
/// (stdin then ends, as a piped file does).
fn talk_server(extra: &[&str], operator: &str) -> (Program, SocketAddr) {
    let mut args = vec!["server", "--addr", "127.0.0.1:0", "--talk"];
    args.extend_from_slice(extra);
    let (mut server, addr) = start_ready("server", tcp_basic(&args), WAIT).unwrap();
    server.send(operator).unwrap();
    server.close_stdin();
    (server, addr)
}

/// The tutorial's talk client (python3), typing `lines`, run to its end.
fn tutorial_client(addr: SocketAddr, extra: &[&str], lines: &str) -> Option<Finished> {
    let python = require_tool("python3", "python3")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tutorial/talk_client.py");
    let mut command = Command::new(python);
    command.arg(script).arg(addr.port().to_string()).args(extra);
    Some(run_with_input("python", command, lines, WAIT).unwrap())
}

/// The server's whole output once it has ended by itself, which a talk does.
fn ended(mut server: Program) -> Finished {
    let finished = server.finish(WAIT).unwrap();
    assert!(finished.status.success(), "{finished:?}");
    finished
}

#[test]
fn the_tutorials_client_talks_with_server_talk_framing_none_and_its_bye_ends_it() {
    let (server, addr) = talk_server(&["--framing", "none"], "hi, Mingwei here\nfine, thanks\n");
    let Some(python) = tutorial_client(addr, &[], "hello\nhow are you?\nbye\nnot sent\n") else {
        return;
    };
    assert!(python.status.success(), "{python:?}");
    let answers: Vec<&str> = python
        .stdout
        .iter()
        .filter_map(|l| l.strip_prefix("server says: "))
        .collect();
    // No line end in what we sent: the bytes are the typed line, nothing more.
    assert_eq!(
        answers,
        [
            "hi, Mingwei here [68692c204d696e677765692068657265]",
            "fine, thanks [66696e652c207468616e6b73]",
        ]
    );
    let server = ended(server);
    let lines = server.stdout.join("\n");
    for expected in [
        "message 1: hello",
        "reply 1: hi, Mingwei here",
        "message 2: how are you?",
        "reply 2: fine, thanks",
        "message 3: bye",
        "left: said bye",
    ] {
        assert!(lines.contains(expected), "{expected:?} in:\n{lines}");
    }
    assert!(!lines.contains("not sent"), "{lines}");
}

#[test]
fn the_operators_bye_ends_the_talk_for_the_tutorials_client() {
    let (server, addr) = talk_server(&["--framing", "none"], "bye\n");
    let Some(python) = tutorial_client(addr, &[], "hello\nnever sent\n") else {
        return;
    };
    assert!(python.status.success(), "{python:?}");
    assert_eq!(python.stdout, ["server says: bye [627965]", "closed"]);
    let server = ended(server);
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l.ends_with("left: we said bye")),
        "{server:?}"
    );
}

/// GBK both ways: the tutorial's client sends 你好 as GBK (c4 e3 ba c3); the operator
/// types 再见 (in UTF-8, as a terminal does), and it goes out as GBK (d4 d9 bc fb).
#[test]
fn a_gbk_talk_shows_and_sends_gbk() {
    let (server, addr) = talk_server(&["--framing", "none", "--encoding", "gbk"], "再见\n");
    let Some(python) = tutorial_client(addr, &["--encoding", "gbk"], "你好\nbye\n") else {
        return;
    };
    assert!(python.status.success(), "{python:?}");
    assert_eq!(python.stdout[0], "server says: 再见 [d4d9bcfb]");
    let server = ended(server);
    let lines = server.stdout.join("\n");
    assert!(lines.contains("message 1: 你好"), "{lines}");
    assert!(lines.contains("reply 1: 再见"), "{lines}");
}

#[test]
fn our_client_talks_with_server_talk_and_the_servers_bye_ends_it() {
    let (server, addr) = talk_server(&[], "hi there\nbye\n");
    let client = run_with_input(
        "client",
        tcp_basic(&["client", "--addr", &addr.to_string()]),
        "hello\nhow are you?\nnot sent\n",
        WAIT,
    )
    .unwrap();
    assert!(client.status.success(), "{client:?}");
    let replies: Vec<&String> = client
        .stdout
        .iter()
        .filter(|l| l.starts_with("reply: "))
        .collect();
    assert_eq!(replies, ["reply: hi there", "reply: bye"]);
    assert!(client.said(&format!("{addr} said bye")), "{client:?}");
    let server = ended(server);
    let lines = server.stdout.join("\n");
    assert!(lines.contains("message 2: how are you?"), "{lines}");
    assert!(!lines.contains("not sent"), "{lines}");
    assert!(lines.contains("left: we said bye"), "{lines}");
}

#[test]
fn our_clients_bye_ends_the_talk_without_a_reply() {
    let (server, addr) = talk_server(&[], "hi\nnever typed\n");
    let client = run_with_input(
        "client",
        tcp_basic(&["client", "--addr", &addr.to_string()]),
        "hello\nbye\n",
        WAIT,
    )
    .unwrap();
    assert!(client.status.success(), "{client:?}");
    assert_eq!(
        client.stdout[1..],
        ["reply: hi", &format!("closed the connection to {addr}")]
    );
    let server = ended(server);
    let lines = server.stdout.join("\n");
    assert!(lines.contains("left: said bye"), "{lines}");
    assert!(!lines.contains("never typed"), "{lines}");
}

/// When the operator's input ends (Ctrl-D, or the end of the script), nobody is left to
/// type a reply: the server says so, closes, and ends; the client is told.
#[test]
fn the_end_of_the_operators_input_ends_the_talk() {
    let (server, addr) = talk_server(&[], "");
    let client = run_with_input(
        "client",
        tcp_basic(&["client", "--addr", &addr.to_string()]),
        "hello\n",
        WAIT,
    )
    .unwrap();
    assert_eq!(client.status.code(), Some(1), "{client:?}");
    assert!(
        client.stderr.join("\n").contains(&format!(
            "{addr} closed the connection before replying to hello"
        )),
        "{client:?}"
    );
    let server = ended(server);
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l.ends_with("left: end of input: nobody is left to type a reply")),
        "{server:?}"
    );
}
