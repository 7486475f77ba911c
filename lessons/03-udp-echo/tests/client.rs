//! The client: its ephemeral port, its echoes, and its timeouts, retries and loss report.

mod common;

use common::{run_role, sending_port, start_server, test_socket, WAIT};
use std::time::Duration;

#[test]
fn the_client_talks_from_a_port_the_os_picks_and_gets_its_echoes() {
    let (mut server, addr) = start_server(&[]);
    let addr = addr.to_string();
    let ran = run_role(&["client", "--addr", &addr], "hello\nsecond line\n\n");
    let lines = ran.stdout;
    assert!(ran.ok, "{lines:#?}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("echo: "))
            .collect::<Vec<_>>(),
        ["echo: hello", "echo: second line", "echo: "]
    );
    assert_eq!(lines.last().unwrap(), "3 of 3 messages echoed");

    // The port it printed is the one the server saw: the OS picked it, the server learned
    // it from the datagram.
    let port = sending_port(&lines);
    assert_ne!(port, 0);
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert_eq!(line, format!("#1 from 127.0.0.1:{port}: 5 bytes: hello"));

    // A second run gets another port (the OS hands ephemeral ports out in turn).
    let again = run_role(&["client", "--addr", &addr], "hi\n");
    assert!(again.ok);
    assert_ne!(sending_port(&again.stdout), port);
}

#[test]
fn the_client_retries_then_reports_the_loss_when_nobody_answers() {
    // A "server" that reads and never answers.
    let silent = test_socket(WAIT);
    let addr = silent.local_addr().unwrap().to_string();
    let args = [
        "client",
        "--addr",
        &addr,
        "--timeout",
        "100ms",
        "--retries",
        "2",
    ];
    let ran = run_role(&args, "hello\n");
    let lines = &ran.stdout;
    assert!(!ran.ok, "a lost message makes the client fail: {lines:#?}");
    assert!(lines.contains(&"no echo within 100ms (try 1 of 3); sending again".to_string()));
    assert!(lines.contains(&"no echo within 100ms (try 2 of 3); sending again".to_string()));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("lost: no echo of hello after 3 tries. UDP promises nothing")),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap(), "0 of 1 messages echoed");
    let error = ran.error();
    assert!(error.contains("1 of 1 messages got no echo"), "{error}");
    assert!(error.contains("is the server running?"), "{error}");

    // The silent socket really got the message three times, from the printed port.
    let port = sending_port(lines);
    let mut buf = [0u8; 64];
    for _ in 0..3 {
        let (n, from) = silent.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from.port()), (&b"hello"[..], port));
    }
    silent
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    assert!(silent.recv_from(&mut buf).is_err(), "and not a fourth time");
}

#[test]
fn with_half_the_datagrams_dropped_the_retries_get_every_message_through() {
    let (mut server, addr) = start_server(&[]);
    let addr = addr.to_string();
    let args = [
        "client",
        "--addr",
        &addr,
        "--drop",
        "0.5",
        "--seed",
        "0",
        "--timeout",
        "300ms",
        "--retries",
        "5",
    ];
    let ran = run_role(&args, "one\ntwo\nthree\nfour\nfive\n");
    let lines = ran.stdout;
    assert!(ran.ok, "{lines:#?}");
    assert!(
        lines.contains(&"simulating loss: dropping 50% of our datagrams (--seed 0)".to_string())
    );
    let dropped: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("dropped (simulated, --drop)"))
        .collect();
    assert!(!dropped.is_empty(), "seed 0 drops some: {lines:#?}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("no echo within 300ms (try 1 of 6)")));
    let echoes: Vec<_> = lines.iter().filter(|l| l.starts_with("echo: ")).collect();
    assert_eq!(
        echoes,
        [
            "echo: one",
            "echo: two",
            "echo: three",
            "echo: four",
            "echo: five"
        ]
    );
    let summary = lines.last().unwrap();
    assert!(
        summary.starts_with(&format!("5 of 5 messages echoed, {} of ", dropped.len())),
        "{summary}"
    );
    // The dropped tries never left: the server saw each message exactly once.
    server.expect_stdout("#5 from", WAIT).unwrap();
    let more = server.rest_of_stdout(Duration::from_millis(200));
    assert!(more.iter().all(|l| !l.starts_with("#6")), "{more:#?}");

    // Same seed, same drops: the run repeats.
    let again = run_role(&args, "one\ntwo\nthree\nfour\nfive\n");
    assert!(again.ok);
    // All but the first line (`sending from`, with another port).
    assert_eq!(again.stdout[1..], lines[1..]);
}

#[test]
fn lost_echoes_are_retried_and_the_server_sees_the_duplicate() {
    let (mut server, addr) = start_server(&["--drop", "0.5", "--seed", "0"]);
    let addr = addr.to_string();
    let args = [
        "client",
        "--addr",
        &addr,
        "--timeout",
        "300ms",
        "--retries",
        "5",
    ];
    let ran = run_role(&args, "a\nb\n");
    let lines = ran.stdout;
    assert!(ran.ok, "{lines:#?}");
    // Seed 0 at rate 0.5 keeps the first echo and drops the next: `b` is sent again.
    server.expect_stdout("#2 echo to", WAIT).unwrap();
    let line = server.expect_stdout("#3 from", WAIT).unwrap();
    assert!(line.ends_with(": 1 bytes: b"), "{line}");
    assert!(lines.contains(&"no echo within 300ms (try 1 of 6); sending again".to_string()));
}

#[test]
fn an_echo_cut_short_by_the_servers_buffer_is_reported() {
    let (_server, addr) = start_server(&["--buffer", "4"]);
    let addr = addr.to_string();
    let ran = run_role(&["client", "--addr", &addr], "truncate me\n");
    let lines = ran.stdout;
    assert!(ran.ok, "{lines:#?}");
    assert!(
        lines.contains(&"echo cut short: 4 of 11 bytes came back: trun (the server's buffer is smaller than our datagram)".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn a_line_too_long_for_one_datagram_is_a_clear_error() {
    let (_server, addr) = start_server(&[]);
    let addr = addr.to_string();
    let line = "x".repeat(70_000) + "\n";
    let ran = run_role(&["client", "--addr", &addr], &line);
    assert!(!ran.ok);
    let error = ran.error();
    assert!(error.contains("cannot send 70000 bytes"), "{error}");
    assert!(
        error.contains("one datagram carries at most 65507 bytes"),
        "{error}"
    );
    assert!(error.contains("Message too long"), "{error}");
}

#[test]
fn strangers_are_ignored() {
    // A fake server that first answers from ANOTHER socket, then properly.
    let fake = test_socket(WAIT);
    let stranger = test_socket(WAIT);
    let addr = fake.local_addr().unwrap().to_string();
    let mut client = shared::testing::Program::spawn(
        "client",
        common::udp_echo(&["client", "--addr", &addr, "--timeout", "5s"]),
    )
    .unwrap();
    client.send("ping\n").unwrap();
    client.close_stdin();
    let mut buf = [0u8; 64];
    let (n, from) = fake.recv_from(&mut buf).unwrap();
    stranger.send_to(b"ping", from).unwrap();
    let line = client.expect_stdout("ignored", WAIT).unwrap();
    assert_eq!(
        line,
        format!(
            "ignored 4 bytes from {}: not the echo of this message: ping",
            stranger.local_addr().unwrap()
        )
    );
    fake.send_to(&buf[..n], from).unwrap();
    client.expect_stdout("echo: ping", WAIT).unwrap();
    assert!(client.wait_exit(WAIT).unwrap().success());
}

#[test]
fn over_ipv6_too_when_the_machine_has_it() {
    if !shared::testing::require_ipv6_loopback() {
        return;
    }
    let mut server = shared::testing::Program::spawn(
        "server",
        common::udp_echo(&["server", "--addr", "[::1]:0"]),
    )
    .unwrap();
    let addr = server.wait_ready(WAIT).unwrap();
    assert!(addr.is_ipv6());
    let ran = run_role(&["client", "--addr", &addr.to_string()], "hello v6\n");
    assert!(ran.ok, "{:#?}", ran.stdout);
    assert!(
        ran.stdout[0].starts_with("sending from [::]:"),
        "{}",
        ran.stdout[0]
    );
    assert!(ran.stdout.contains(&"echo: hello v6".to_string()));
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.starts_with("#1 from [::1]:"), "{line}");
}

#[test]
fn with_encoding_gbk_lines_go_out_as_gbk_and_a_line_gbk_cannot_hold_is_skipped() {
    let (mut server, addr) = start_server(&["--encoding", "gbk"]);
    let addr = addr.to_string();
    let ran = run_role(
        &["client", "--addr", &addr, "--encoding", "gbk"],
        "你好\nsmile 😀\nbye\n",
    );
    // The line with the emoji is an error for that line only: the next one still goes.
    let echoes: Vec<_> = ran
        .stdout
        .iter()
        .filter(|l| l.starts_with("echo: "))
        .collect();
    assert_eq!(echoes, ["echo: 你好", "echo: bye"], "{:#?}", ran.stdout);
    let skipped: Vec<_> = ran
        .stderr
        .iter()
        .filter(|l| l.contains("line not sent"))
        .collect();
    assert_eq!(
        skipped,
        ["udp-echo: line not sent: `😀` cannot be written in GBK: send it with --encoding utf-8"]
    );
    assert_eq!(
        ran.stdout.last().unwrap(),
        "2 of 2 messages echoed, lines not sent: 1 (--encoding gbk cannot carry them)"
    );
    assert!(!ran.ok, "a line not sent makes the run fail");
    let error = ran.stderr.last().unwrap();
    assert!(error.starts_with("udp-echo: lines not sent: 1"), "{error}");
    // On the wire: the 4 GBK bytes of 你好.
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.ends_with(": 4 bytes: 你好"), "{line}");
    let line = server.expect_stdout("#2 from", WAIT).unwrap();
    assert!(line.ends_with(": 3 bytes: bye"), "{line}");
}

#[test]
fn gbk_echoes_shown_without_the_encoding_are_escaped_bytes() {
    // A GBK echo server, as a test socket: whatever comes, 你好 in GBK goes back.
    let fake = test_socket(WAIT);
    let addr = fake.local_addr().unwrap().to_string();
    let mut client = shared::testing::Program::spawn(
        "client",
        common::udp_echo(&["client", "--addr", &addr, "--talk"]),
    )
    .unwrap();
    client.send("hi\n").unwrap();
    client.close_stdin();
    let mut buf = [0u8; 64];
    let (n, from) = fake.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hi");
    fake.send_to(b"\xc4\xe3\xba\xc3", from).unwrap();
    let line = client.expect_stdout("reply: ", WAIT).unwrap();
    assert_eq!(line, "reply: \\xc4\\xe3\\xba\\xc3");
}

#[test]
fn talk_shows_whatever_the_server_answers_and_sends_each_line_once() {
    // A person at the other end answers with their own words, after a while.
    let fake = test_socket(WAIT);
    let stranger = test_socket(WAIT);
    let addr = fake.local_addr().unwrap().to_string();
    let mut client = shared::testing::Program::spawn(
        "client",
        common::udp_echo(&["client", "--addr", &addr, "--talk", "--timeout", "5s"]),
    )
    .unwrap();
    client.send("how are you?\n").unwrap();
    client.close_stdin();
    let mut buf = [0u8; 64];
    let (n, from) = fake.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"how are you?");
    // Not from the server: ignored, as always.
    stranger.send_to(b"spam", from).unwrap();
    client.expect_stdout("ignored 4 bytes from", WAIT).unwrap();
    fake.send_to(b"fine, thanks", from).unwrap();
    client.expect_stdout("reply: fine, thanks", WAIT).unwrap();
    let rest = client.finish(WAIT).unwrap();
    assert!(rest.status.success(), "{rest:#?}");
    assert_eq!(rest.stdout.last().unwrap(), "1 of 1 messages answered");
    // Sent once: no retry asked the person a second time.
    fake.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(fake.recv_from(&mut buf).is_err());
}

#[test]
fn talk_without_an_answer_says_nobody_answered() {
    let silent = test_socket(WAIT);
    let addr = silent.local_addr().unwrap().to_string();
    let ran = run_role(
        &["client", "--addr", &addr, "--talk", "--timeout", "100ms"],
        "anyone?\n",
    );
    assert!(!ran.ok);
    assert!(
        ran.stdout.contains(&format!(
            "no reply to anyone? within 100ms: nobody answered (is `server --talk` running at {addr}?)"
        )),
        "{:#?}",
        ran.stdout
    );
    assert!(ran.error().contains("server --talk"), "{}", ran.error());
}
