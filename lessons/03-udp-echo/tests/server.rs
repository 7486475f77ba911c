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
    assert!(!server.transcript().contains("truncated"));
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
    assert!(line.contains("--addr 127.0.0.1:0"), "{line}");
}

#[test]
fn a_closed_stdout_ends_the_server_quietly() {
    use std::io::{BufRead as _, BufReader, Read as _};
    use std::process::Stdio;
    use std::time::Instant;
    // `udp-echo server | head -1`: the reader of our stdout goes away after one line.
    let mut child = udp_echo(&["server", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = shared::ready::parse(&line).unwrap();
    drop(stdout);
    // Each datagram makes the server print a line; the first print after the close fails
    // and must end the program, with exit code 0 and no panic message.
    let socket = test_socket(Duration::from_millis(100));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        let _ = socket.send_to(b"hello", addr); // refused once the server has gone
        let _ = socket.recv_from(&mut [0u8; 16]); // the echo, or 100 ms
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server runs on with stdout closed"
        );
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
