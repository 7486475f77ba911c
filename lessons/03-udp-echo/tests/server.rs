//! The echo server, driven by a UDP socket the test owns.

mod common;

use common::{round_trip, start_server, test_socket, udp_echo, WAIT};
use shared::testing::Program;
use std::time::Duration;

#[test]
fn echoes_exactly_the_bytes_received_even_non_utf8_and_empty() {
    let (mut server, addr) = start_server(&[]);
    let socket = test_socket(WAIT);
    let me = socket.local_addr().unwrap();

    let cases: [&[u8]; 4] = [b"hello", b"\xff\xfe\x00 not UTF-8 \r\n", b"", b"\n"];
    for (i, bytes) in cases.iter().enumerate() {
        assert_eq!(round_trip(&socket, addr, bytes), *bytes, "case {i}");
    }

    // It prints each datagram with its sender's address, and counts them.
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert_eq!(line, format!("#1 from {me}: 5 bytes: hello"));
    let line = server.expect_stdout("#2 from", WAIT).unwrap();
    assert_eq!(
        line,
        format!("#2 from {me}: 16 bytes: \\xff\\xfe\\0 not UTF-8 \\r\\n")
    );
    let line = server.expect_stdout("#3 from", WAIT).unwrap();
    assert_eq!(line, format!("#3 from {me}: 0 bytes: "));
    server.expect_stdout("#4 from", WAIT).unwrap();
}

#[test]
fn answers_several_clients_from_one_socket_each_at_its_own_address() {
    let (mut server, addr) = start_server(&[]);
    let (alice, bob) = (test_socket(WAIT), test_socket(WAIT));
    assert_eq!(round_trip(&alice, addr, b"from alice"), b"from alice");
    assert_eq!(round_trip(&bob, addr, b"from bob"), b"from bob");
    assert_eq!(round_trip(&alice, addr, b"alice again"), b"alice again");
    let bob_addr = bob.local_addr().unwrap();
    let line = server.expect_stdout("#2 from", WAIT).unwrap();
    assert_eq!(line, format!("#2 from {bob_addr}: 8 bytes: from bob"));
    let line = server.expect_stdout("#3 from", WAIT).unwrap();
    assert!(
        line.contains(&alice.local_addr().unwrap().to_string()),
        "{line}"
    );
}

#[test]
fn message_boundaries_are_kept() {
    let (mut server, addr) = start_server(&[]);
    let socket = test_socket(WAIT);
    // Three datagrams back to back, before reading anything: over TCP they could
    // arrive as one read; over UDP each stays one message, each echoed on its own.
    let messages: [&[u8]; 3] = [b"one", b"two", b"three"];
    for message in messages {
        socket.send_to(message, addr).unwrap();
    }
    let mut buf = [0u8; 1024];
    for message in messages {
        let (n, _) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], message);
    }
    for (i, message) in ["one", "two", "three"].iter().enumerate() {
        let line = server
            .expect_stdout(&format!("#{} from", i + 1), WAIT)
            .unwrap();
        assert!(
            line.ends_with(&format!(": {} bytes: {message}", message.len())),
            "{line}"
        );
    }
}

#[test]
fn the_largest_ipv4_datagram_is_echoed_whole() {
    let (mut server, addr) = start_server(&[]);
    let socket = test_socket(WAIT);
    let largest: Vec<u8> = (0..65_507).map(|i| (i % 253) as u8).collect();
    assert_eq!(round_trip(&socket, addr, &largest), largest);
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.contains(": 65507 bytes: "), "{line}");
    assert!(
        line.ends_with("(65443 more bytes)"),
        "only a preview is printed: {line}"
    );
    // A truncation line would come right after #1's line, so it is in the transcript once
    // the line of a second datagram is.
    assert_eq!(round_trip(&socket, addr, b"next"), b"next");
    server.expect_stdout("#2 from", WAIT).unwrap();
    let transcript = server.transcript();
    assert!(!transcript.contains("truncated"), "{transcript}");
}

#[test]
fn a_datagram_longer_than_the_buffer_is_truncated_and_the_server_says_so() {
    let (mut server, addr) = start_server(&["--buffer", "8"]);
    let socket = test_socket(WAIT);
    // Exactly the buffer: whole, no complaint.
    assert_eq!(round_trip(&socket, addr, b"12345678"), b"12345678");
    // One byte more: cut to the buffer, the rest lost, and said so.
    assert_eq!(round_trip(&socket, addr, b"123456789"), b"12345678");
    assert_eq!(
        round_trip(&socket, addr, b"hello, truncated world"),
        b"hello, t"
    );
    server.expect_stdout("#1 from", WAIT).unwrap();
    let line = server.expect_stdout("#2 from", WAIT).unwrap();
    assert!(line.ends_with(": 8 bytes: 12345678"), "{line}");
    let next = server.expect_stdout("#2", WAIT).unwrap();
    assert_eq!(
        next,
        "#2 was truncated: longer than our 8-byte buffer (--buffer), the rest is lost"
    );
    server.expect_stdout("#3 was truncated", WAIT).unwrap();
    let first = server.transcript();
    assert!(!first.contains("#1 was truncated"), "{first}");
}

#[test]
fn drop_loses_echoes_and_says_so() {
    let (mut server, addr) = start_server(&["--drop", "1.0"]);
    server
        .expect_stdout("dropping 100% of the echoes", WAIT)
        .unwrap();
    let socket = test_socket(Duration::from_millis(300));
    socket.send_to(b"into the void", addr).unwrap();
    server.expect_stdout("#1 from", WAIT).unwrap();
    server
        .expect_stdout("#1 echo to", WAIT)
        .map(|line| assert!(line.ends_with("dropped (simulated, --drop)"), "{line}"))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(socket.recv_from(&mut buf).is_err(), "no echo arrives");
}

#[test]
fn bad_options_are_refused_with_a_clear_error() {
    for (args, expected) in [
        (&["server", "--drop", "30"][..], "outside 0.0..=1.0"),
        (&["server", "--drop", "lots"][..], "not a drop rate"),
        (&["server", "--buffer", "0"][..], "--buffer"),
        (&["server", "--addr", "127.0.0.1"][..], "has no port"),
        (&["server", "--encoding", "latin1"][..], "not an encoding"),
        (&["client", "--timeout", "300"][..], "has no unit"),
        (&["client", "--timeout", "0s"][..], "no time to wait"),
        (
            &["client", "--talk", "--retries", "2"][..],
            "cannot be used with",
        ),
        (&["boundaries", "--timeout-ms", "100"][..], "--timeout-ms"),
        (&["max-size", "--timeout", "2"][..], "`2s`"),
        (&["refused", "--timeout", "2h"][..], "longer than the most"),
    ] {
        let output = udp_echo(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn a_port_in_use_is_a_one_line_error() {
    let (_server, addr) = start_server(&[]);
    let mut second =
        Program::spawn("second", udp_echo(&["server", "--addr", &addr.to_string()])).unwrap();
    let status = second.wait_exit(WAIT).unwrap();
    assert!(!status.success());
    let line = second.expect_stderr("udp-echo:", WAIT).unwrap();
    assert!(line.contains(&format!("cannot bind {addr}")), "{line}");
    assert!(
        line.contains(&format!("another program has port {}", addr.port())),
        "{line}"
    );
    assert!(line.contains("--addr 127.0.0.1:0"), "{line}");
    assert!(!line.contains("below 1024"), "{line}");
}

/// The one error line of a server that cannot bind `addr` (run as `prefix...`).
fn bind_error(prefix: &[&str], addr: &str) -> String {
    let exe = env!("CARGO_BIN_EXE_udp-echo");
    let mut command = std::process::Command::new(prefix.first().copied().unwrap_or(exe));
    command
        .args(prefix.iter().skip(1))
        .args(if prefix.is_empty() {
            vec!["server", "--addr", addr]
        } else {
            vec![exe, "server", "--addr", addr]
        });
    let mut server = Program::spawn("server", command).unwrap();
    let status = server.wait_exit(WAIT).unwrap();
    assert!(!status.success(), "{}", server.transcript());
    let line = server.expect_stderr("udp-echo:", WAIT).unwrap();
    assert_eq!(server.rest_of_stdout(WAIT), Vec::<String>::new());
    line
}

#[test]
fn a_port_below_1024_as_a_plain_user_gets_the_privilege_hint() {
    // We may run as root, who may bind port 80: run the server as `nobody` instead.
    let prefix: &[&str] = if shared::testing::find_on_path("setpriv").is_some() {
        &[
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
        ]
    } else if shared::testing::find_on_path("runuser").is_some() {
        &["runuser", "-u", "nobody", "--"]
    } else {
        let message = "neither setpriv nor runuser is installed (apt-get install util-linux)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("SKIPPED: {message}");
        return;
    };
    // Some systems let everyone bind low ports (Docker sets this sysctl to 0).
    let first_free = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    if first_free.is_ok_and(|text| text.trim().parse::<u16>().is_ok_and(|port| port <= 80)) {
        eprintln!("SKIPPED: this machine lets every user bind port 80 (net.ipv4.ip_unprivileged_port_start)");
        return;
    }
    let line = bind_error(prefix, "127.0.0.1:80");
    assert!(
        line.starts_with("udp-echo: cannot bind 127.0.0.1:80: "),
        "{line}"
    );
    assert!(line.contains("Permission denied"), "{line}");
    assert!(
        line.contains("ports below 1024 need administrator rights: use a higher port, e.g. --addr 127.0.0.1:8080"),
        "{line}"
    );
    assert!(!line.contains("another program"), "{line}");
}

#[test]
fn an_address_that_is_not_ours_gets_the_not_our_address_hint() {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it. bind() fails with
    // EADDRNOTAVAIL at once, and nothing is sent anywhere.
    let line = bind_error(&[], "192.0.2.1:8080");
    assert!(
        line.starts_with("udp-echo: cannot bind 192.0.2.1:8080: "),
        "{line}"
    );
    assert!(
        line.contains("192.0.2.1 is not an address of this machine"),
        "{line}"
    );
    assert!(!line.contains("another program"), "{line}");
    assert_eq!(line.matches("192.0.2.1:8080").count(), 1, "{line}");
}

#[test]
fn a_closed_stdout_ends_the_server_quietly() {
    // `udp-echo server | head -1`. Each datagram makes the server print a line.
    let socket = test_socket(Duration::from_millis(100));
    let command = udp_echo(&["server", "--addr", "127.0.0.1:0"]);
    shared::testing::assert_quiet_when_stdout_closes(command, WAIT, |addr| {
        let _ = socket.send_to(b"hello", addr); // refused once the server has gone
        let _ = socket.recv_from(&mut [0u8; 16]); // the echo, or 100 ms
    });
}

/// `你好` in GBK (the tutorials' `'你好'.encode('gbk')`): not UTF-8.
const NI_HAO_GBK: &[u8] = b"\xc4\xe3\xba\xc3";

#[test]
fn with_encoding_gbk_the_server_shows_chinese_and_echoes_byte_for_byte() {
    let (mut server, addr) = start_server(&["--encoding", "gbk"]);
    let socket = test_socket(WAIT);
    let me = socket.local_addr().unwrap();
    assert_eq!(round_trip(&socket, addr, NI_HAO_GBK), NI_HAO_GBK);
    // A lone lead byte is not GBK: shown escaped, still echoed.
    assert_eq!(round_trip(&socket, addr, b"ok \xc4"), b"ok \xc4");
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert_eq!(line, format!("#1 from {me}: 4 bytes: 你好"));
    let line = server.expect_stdout("#2 from", WAIT).unwrap();
    assert_eq!(line, format!("#2 from {me}: 4 bytes: ok \\xc4"));
}

#[test]
fn without_an_encoding_gbk_text_is_shown_as_its_bytes() {
    // The default is UTF-8: the same four bytes are not UTF-8, so each is escaped.
    let (mut server, addr) = start_server(&[]);
    let socket = test_socket(WAIT);
    assert_eq!(round_trip(&socket, addr, NI_HAO_GBK), NI_HAO_GBK);
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.ends_with(": 4 bytes: \\xc4\\xe3\\xba\\xc3"), "{line}");
    // auto: valid UTF-8 as UTF-8, the rest as GBK.
    let (mut auto, addr) = start_server(&["--encoding", "auto"]);
    assert_eq!(round_trip(&socket, addr, NI_HAO_GBK), NI_HAO_GBK);
    assert_eq!(
        round_trip(&socket, addr, "你好".as_bytes()),
        "你好".as_bytes()
    );
    assert!(auto
        .expect_stdout("#1 from", WAIT)
        .unwrap()
        .ends_with(": 4 bytes: 你好"));
    assert!(auto
        .expect_stdout("#2 from", WAIT)
        .unwrap()
        .ends_with(": 6 bytes: 你好"));
}

/// The `HH:MM:SS UTC ` that starts each datagram's line in a talk.
fn starts_with_a_utc_time(line: &str) -> bool {
    let bytes = line.as_bytes();
    line.len() > 13
        && line[8..].starts_with(" UTC #")
        && [0, 1, 3, 4, 6, 7]
            .iter()
            .all(|&i| bytes[i].is_ascii_digit())
        && bytes[2] == b':'
        && bytes[5] == b':'
}

#[test]
fn talk_answers_each_sender_with_the_next_typed_line() {
    let (mut server, addr) = start_server(&["--talk"]);
    let (alice, bob) = (test_socket(WAIT), test_socket(WAIT));
    // The operator's lines, typed ahead (a script): one for each datagram, in turn.
    server.send("hello alice\n\n").unwrap();
    alice.send_to(b"hi, anyone?", addr).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = alice.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"hello alice"[..], addr));
    // An empty line is an empty datagram, sent to the next sender: bob.
    bob.send_to(b"me", addr).unwrap();
    let (n, from) = bob.recv_from(&mut buf).unwrap();
    assert_eq!((n, from), (0, addr));

    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(starts_with_a_utc_time(&line), "{line}");
    let alice_addr = alice.local_addr().unwrap();
    assert!(
        line.ends_with(&format!("#1 from {alice_addr}: 11 bytes: hi, anyone?")),
        "{line}"
    );
    let prompt = server.expect_stdout("#1: type the reply", WAIT).unwrap();
    assert!(prompt.contains(&alice_addr.to_string()), "{prompt}");
    let sent = server.expect_stdout("#1 reply to", WAIT).unwrap();
    assert_eq!(
        sent,
        format!("#1 reply to {alice_addr}: 11 bytes: hello alice")
    );
    let bob_addr = bob.local_addr().unwrap();
    let sent = server.expect_stdout("#2 reply to", WAIT).unwrap();
    assert_eq!(sent, format!("#2 reply to {bob_addr}: 0 bytes: "));
}

#[test]
fn talk_ends_at_the_end_of_input_at_the_next_datagram() {
    let (mut server, addr) = start_server(&["--talk"]);
    server.send("only one answer\n").unwrap();
    server.close_stdin();
    let socket = test_socket(WAIT);
    assert_eq!(round_trip(&socket, addr, b"first"), b"only one answer");
    // The script has run out: the second datagram is shown, gets no answer, and the
    // server ends, with success.
    socket.send_to(b"second", addr).unwrap();
    let line = server
        .expect_stdout("end of input: no reply to #2", WAIT)
        .unwrap();
    assert!(line.ends_with("the talk is over"), "{line}");
    assert!(server.wait_exit(WAIT).unwrap().success());
    assert!(server.transcript().contains(": 6 bytes: second"));
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(socket.recv_from(&mut [0u8; 64]).is_err(), "no answer to #2");
}

#[test]
fn talk_in_gbk_sends_the_typed_line_as_gbk_and_asks_again_for_what_gbk_cannot_hold() {
    let (mut server, addr) = start_server(&["--talk", "--encoding", "gbk"]);
    let socket = test_socket(WAIT);
    server.send("smile 😀\n你好\n").unwrap();
    assert_eq!(round_trip(&socket, addr, NI_HAO_GBK), NI_HAO_GBK);
    let line = server.expect_stdout("not sent:", WAIT).unwrap();
    assert_eq!(
        line,
        "not sent: `😀` cannot be written in GBK: send it with --encoding utf-8; type the reply again"
    );
    server
        .expect_stdout("#1 reply to", WAIT)
        .map(|l| assert!(l.ends_with(": 4 bytes: 你好"), "{l}"))
        .unwrap();
}
