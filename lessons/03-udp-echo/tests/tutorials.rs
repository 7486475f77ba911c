//! Our programs beside the tutorials' programs: small Python scripts in `tests/python/`,
//! written from the tutorials' descriptions (GBK sender, chat room, talk client). The
//! classroom runs such scripts next to ours. All on loopback; python3 is on every
//! machine, and under CI=true a missing python3 fails the test.

mod common;

use common::{start_server, udp_echo, WAIT};
use shared::testing::{require_tool, Program};
use std::process::Command;

/// `python3 tests/python/SCRIPT ARGS...`, with UTF-8 for its stdin and stdout whatever
/// the locale (the bytes on the wire are the script's own choice, GBK here).
fn python(script: &str, args: &[&str]) -> Option<Command> {
    let python = require_tool("python3", "python3")?;
    let mut command = Command::new(python);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/");
    command.arg(format!("{path}{script}")).args(args);
    command
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUTF8", "1");
    Some(command)
}

#[test]
fn the_tutorials_gbk_sender_gets_its_bytes_back_and_the_server_shows_the_text() {
    let (mut server, addr) = start_server(&["--encoding", "gbk"]);
    let (ip, port) = (addr.ip().to_string(), addr.port().to_string());
    let Some(command) = python("gbk_sender.py", &[&ip, &port, "你好"]) else {
        return;
    };
    let mut sender = Program::spawn("gbk_sender.py", command).unwrap();
    assert_eq!(sender.expect_stdout("sent", WAIT).unwrap(), "sent c4e3bac3");
    let got = sender.expect_stdout("got", WAIT).unwrap();
    assert_eq!(got, format!("got c4e3bac3 from {addr}"), "the same 4 bytes");
    assert_eq!(sender.expect_stdout("text", WAIT).unwrap(), "text 你好");
    assert!(sender.wait_exit(WAIT).unwrap().success());
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.ends_with(": 4 bytes: 你好"), "{line}");
}

#[test]
fn our_client_talks_with_the_tutorials_chat_room() {
    let Some(command) = python("chat_room.py", &["127.0.0.1"]) else {
        return;
    };
    let mut room = Program::spawn("chat_room.py", command).unwrap();
    let addr = room.wait_ready(WAIT).unwrap().to_string();
    let mut client = Program::spawn(
        "client",
        udp_echo(&["client", "--addr", &addr, "--talk", "--encoding", "gbk"]),
    )
    .unwrap();
    let from = client.expect_stdout("sending from", WAIT).unwrap();
    let port = from
        .split(' ')
        .nth(2)
        .and_then(|a| a.rsplit(':').next())
        .unwrap();
    client.send("你好，聊天室\n").unwrap();

    // The chat room shows the time, our address and our GBK text as text.
    let line = room.expect_stdout("message:", WAIT).unwrap();
    assert!(line.starts_with("time: ["), "{line}");
    assert!(
        line.ends_with(&format!("from: 127.0.0.1:{port}, message: 你好，聊天室")),
        "{line}"
    );
    // Its operator answers; our client shows the answer, decoded from GBK.
    room.send("欢迎！\n").unwrap();
    client.expect_stdout("reply: 欢迎！", WAIT).unwrap();
    client.close_stdin();
    let end = client.finish(WAIT).unwrap();
    assert!(end.status.success(), "{end:#?}");
    assert_eq!(end.stdout.last().unwrap(), "1 of 1 messages answered");
    room.close_stdin();
}

#[test]
fn the_tutorials_client_talks_with_our_server_in_half_duplex() {
    let (mut server, addr) = start_server(&["--talk", "--encoding", "gbk"]);
    let (ip, port) = (addr.ip().to_string(), addr.port().to_string());
    let Some(command) = python("talk_client.py", &[&ip, &port, "gbk"]) else {
        return;
    };
    let mut client = Program::spawn("talk_client.py", command).unwrap();
    client.send("在吗？\n").unwrap();
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.contains(" UTC #1 from 127.0.0.1:"), "{line}");
    assert!(line.ends_with(": 6 bytes: 在吗？"), "{line}");
    // The operator's typed line (piped by the test) is the answer, in GBK.
    server.send("在，你好\n").unwrap();
    let answer = client.expect_stdout("answer:", WAIT).unwrap();
    assert_eq!(answer, "answer: 在，你好 (d4daa3acc4e3bac3)");
    // Turn by turn: a second line, a second answer.
    client.send("bye\n").unwrap();
    server.expect_stdout("#2 from", WAIT).unwrap();
    server.send("再见\n").unwrap();
    assert_eq!(
        client.expect_stdout("answer:", WAIT).unwrap(),
        "answer: 再见 (d4d9bcfb)"
    );
    client.close_stdin();
    assert!(client.wait_exit(WAIT).unwrap().success());
    server.expect_stdout("#2 reply to", WAIT).unwrap();
}
