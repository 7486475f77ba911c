//! Lesson 01 end to end: the real binary, real sockets, loopback only, port 0.

use shared::testing::{require_tool, run_with_input, start_ready, Finished, Program};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn tcp_basic(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tcp-basic"));
    command.args(args);
    command
}

/// A server on `addr` (port 0), ready: its `listening on` line has been read.
fn server(addr: &str, extra: &[&str]) -> (Program, SocketAddr) {
    let mut args = vec!["server", "--addr", addr];
    args.extend_from_slice(extra);
    start_ready("server", tcp_basic(&args), WAIT).unwrap()
}

/// Runs a role to the end with `stdin` as its input.
fn run(args: &[&str], stdin: &str) -> Finished {
    run_with_input(args[0], tcp_basic(args), stdin, WAIT).unwrap()
}

#[test]
fn client_and_server_talk_and_bye_ends_the_conversation() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let addr = addr.to_string();
    let client = run(
        &["client", "--addr", &addr],
        "hello\nhow are you?\nbye\nnot sent\n",
    );
    assert!(client.status.success(), "{client:?}");
    assert!(client.said(&format!("connected to {addr} from 127.0.0.1:")));
    let replies: Vec<&String> = client
        .stdout
        .iter()
        .filter(|l| l.starts_with("reply: "))
        .collect();
    assert_eq!(
        replies,
        ["reply: hello", "reply: how are you?", "reply: bye"]
    );
    server.expect_stdout("message 1: hello", WAIT).unwrap();
    server
        .expect_stdout("message 2: how are you?", WAIT)
        .unwrap();
    server.expect_stdout("left: said bye", WAIT).unwrap();

    // `q` and `exit` (other lessons' quit words) are plain messages here; the server
    // then serves the next client.
    let client = run(&["client", "--addr", &addr], "q\nexit\n bye \n");
    assert!(client.status.success(), "{client:?}");
    assert!(
        client.said("reply: q") && client.said("reply: exit"),
        "{client:?}"
    );
    server.expect_stdout("message 2: exit", WAIT).unwrap();
    server.expect_stdout("left: said bye", WAIT).unwrap();
}

#[test]
fn the_echo_is_byte_exact_even_for_bytes_that_are_not_utf8() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let mut stream = TcpStream::connect(addr).unwrap();
    let sent = b"\xff\xfe binary \x00\x01 and \xe4\xbd\xa0\xe5\xa5\xbd\n";
    stream.write_all(sent).unwrap();
    let mut got = vec![0; sent.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(&got, sent);
    let line = server.expect_stdout("message 1:", WAIT).unwrap();
    assert!(line.ends_with(r"\xff\xfe binary \0\x01 and 你好"), "{line}");
}

#[test]
fn three_messages_in_one_read_are_split_by_line_framing() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let burst = run(&["burst", "--addr", &addr.to_string()], "one\ntwo\nthree\n");
    assert!(burst.status.success(), "{burst:?}");
    assert!(
        burst.said("echoed 14 bytes: one\\ntwo\\nthree\\n"),
        "{burst:?}"
    );
    assert!(burst.said("read returned 0"));
    server.expect_stdout("read #1: 14 bytes", WAIT).unwrap();
    server.expect_stdout("message 1: one", WAIT).unwrap();
    server.expect_stdout("message 2: two", WAIT).unwrap();
    server.expect_stdout("message 3: three", WAIT).unwrap();
    server
        .expect_stdout("left: end of stream (read returned 0)", WAIT)
        .unwrap();
}

#[test]
fn without_framing_the_messages_run_together() {
    let (mut server, addr) = server("127.0.0.1:0", &["--framing", "none"]);
    let args = ["burst", "--addr", &addr.to_string(), "--framing", "none"];
    let burst = run(&args, "one\ntwo\nthree\n");
    assert!(burst.status.success(), "{burst:?}");
    server
        .expect_stdout("message 1: onetwothree", WAIT)
        .unwrap();
    let rest = server.expect_stdout("left:", WAIT).unwrap();
    assert!(!server.transcript().contains("message 2"), "{rest}");
}

#[test]
fn length_prefixed_framing_works_too() {
    let (mut server, addr) = server("127.0.0.1:0", &["--framing", "length"]);
    let args = ["burst", "--addr", &addr.to_string(), "--framing", "length"];
    let burst = run(&args, "first\nsecond\n");
    assert!(burst.status.success(), "{burst:?}");
    server.expect_stdout("read #1: 19 bytes", WAIT).unwrap();
    server.expect_stdout("message 1: first", WAIT).unwrap();
    server.expect_stdout("message 2: second", WAIT).unwrap();
}

#[test]
fn a_message_split_over_many_writes_is_still_one_message() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let args = ["burst", "--addr", &addr.to_string(), "--chunk", "1"];
    let burst = run(&args, "a longer message\n");
    assert!(burst.status.success(), "{burst:?}");
    server
        .expect_stdout("message 1: a longer message", WAIT)
        .unwrap();
}

#[test]
fn half_close_then_eof_with_an_unfinished_message() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(b"no newline").unwrap();
    // Half-close: we send no more, but can still read the echo.
    stream.shutdown(Shutdown::Write).unwrap();
    let mut echo = Vec::new();
    stream.read_to_end(&mut echo).unwrap(); // ends when the server closes: read returns 0
    assert_eq!(echo, b"no newline");
    let line = server.expect_stdout("left:", WAIT).unwrap();
    assert!(
        line.ends_with(
            "end of stream (read returned 0), 10 bytes of an unfinished message lost: no newline"
        ),
        "{line}"
    );
}

#[test]
fn one_client_at_a_time_the_next_waits_in_the_backlog() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let mut first = TcpStream::connect(addr).unwrap();
    first.write_all(b"hi\n").unwrap();
    let mut buf = [0u8; 3];
    first.read_exact(&mut buf).unwrap();

    // The second client connects (the kernel queues it) but is not served yet.
    let mut second = TcpStream::connect(addr).unwrap();
    second.write_all(b"me too\n").unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut echo = [0u8; 7];
    assert!(
        second.read(&mut echo).is_err(),
        "served while the first client is still here"
    );

    // When the first one leaves, the second is served.
    first.write_all(b"bye\n").unwrap();
    second.set_read_timeout(Some(WAIT)).unwrap();
    second.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"me too\n");
    server.expect_stdout("message 1: me too", WAIT).unwrap();
}

/// A client the server has already accepted, and one queued behind it in the backlog
/// that says `my turn`.
fn first_and_next(server: &mut Program, addr: SocketAddr) -> (TcpStream, TcpStream) {
    let first = TcpStream::connect(addr).unwrap();
    let port = first.local_addr().unwrap().port();
    server
        .expect_stdout(&format!("127.0.0.1:{port} connected"), WAIT)
        .unwrap();
    let mut next = TcpStream::connect(addr).unwrap();
    next.set_read_timeout(Some(WAIT)).unwrap();
    next.write_all(b"my turn\n").unwrap();
    (first, next)
}

/// The next client's echo: it comes only once the server has dropped the first client.
fn assert_served(next: &mut TcpStream) {
    let mut echo = [0u8; 8];
    next.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"my turn\n");
}

/// Reads until the server has closed the connection (end of stream, or a reset when it
/// closed with bytes of ours unread); returns what it read.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == ErrorKind::ConnectionReset => return got,
            Err(err) => panic!("the server did not close the connection: {err}"),
        }
    }
}

#[test]
fn a_silent_client_is_dropped_after_the_idle_timeout_and_the_next_is_served() {
    let (mut server, addr) = server("127.0.0.1:0", &["--idle-timeout", "1s"]);
    let (mut silent, mut next) = first_and_next(&mut server, addr);
    let port = silent.local_addr().unwrap().port();
    assert_served(&mut next);
    server
        .expect_stdout(
            &format!("127.0.0.1:{port} left: timed out: no whole message for 1s"),
            WAIT,
        )
        .unwrap();
    silent.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(read_until_closed(&mut silent), b"");
}

/// A client that sends and never reads: the server's echo fills the client's receive
/// buffer, then the server's send buffer, and then the server's write blocks. The write
/// has the same deadline as a read: the client is dropped and the next one is served.
#[test]
fn a_client_that_never_reads_is_dropped_and_the_next_is_served() {
    let (mut server, addr) = server("127.0.0.1:0", &["--idle-timeout", "1s"]);
    let (hog, mut next) = first_and_next(&mut server, addr);
    let port = hog.local_addr().unwrap().port();
    let mut writer = hog.try_clone().unwrap();
    // Whole lines, far more than the socket buffers hold, at most 256 MiB: the writes
    // block once the buffers are full, and fail once the server has dropped us.
    let flooder = thread::spawn(move || {
        let line = [vec![b'x'; 1023], vec![b'\n']].concat();
        for _ in 0..256 * 1024 {
            if writer.write_all(&line).is_err() {
                return;
            }
        }
    });
    assert_served(&mut next);
    server
        .expect_stdout(
            &format!("127.0.0.1:{port} left: timed out: could not send the echo within 1s"),
            WAIT,
        )
        .unwrap();
    flooder.join().unwrap();
    drop(hog);
}

/// Idle means no whole message for the whole timeout: a client that sends a byte every
/// 200 ms (five per timeout), and never a line end, is dropped after about the timeout.
#[test]
fn a_client_that_trickles_bytes_is_dropped_after_the_idle_timeout() {
    let (mut server, addr) = server("127.0.0.1:0", &["--idle-timeout", "1s"]);
    let started = Instant::now();
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let port = client.local_addr().unwrap().port();
    let mut writer = client.try_clone().unwrap();
    // At most 100 bytes, 20 s: it stops early when the server has closed.
    let trickler = thread::spawn(move || {
        for _ in 0..100 {
            if writer.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let echoed = read_until_closed(&mut client);
    let held = started.elapsed();
    assert!(
        echoed.iter().all(|&b| b == b'x') && !echoed.is_empty(),
        "{echoed:?}"
    );
    // Never before the timeout; and long before the trickle would have ended (20 s),
    // with a generous margin for a busy machine.
    assert!(
        held >= Duration::from_millis(900) && held < Duration::from_secs(10),
        "dropped after {held:?}"
    );
    server
        .expect_stdout(
            &format!("127.0.0.1:{port} left: timed out: no whole message for 1s"),
            WAIT,
        )
        .unwrap();
    trickler.join().unwrap();
}

#[test]
fn the_idle_timeout_needs_a_unit_and_help_shows_its_default() {
    let help = run(&["server", "--help"], "");
    let text = help.stdout.join("\n");
    assert!(
        text.contains("--idle-timeout <IDLE_TIMEOUT>") && text.contains("[default: 30s]"),
        "{text}"
    );
    for bad in ["30", "0s"] {
        let refused = run(
            &["server", "--addr", "127.0.0.1:0", "--idle-timeout", bad],
            "",
        );
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
        let stderr = refused.stderr.join("\n");
        assert!(stderr.contains("--idle-timeout"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn ipv6_works_too() {
    if !shared::testing::require_ipv6_loopback() {
        return;
    }
    let (mut server, addr) = server("[::1]:0", &[]);
    assert!(addr.is_ipv6());
    let client = run(&["client", "--addr", &addr.to_string()], "over IPv6\nq\n");
    assert!(client.status.success(), "{client:?}");
    assert!(client.said("reply: over IPv6"));
    server.expect_stdout("[::1]:", WAIT).unwrap();
}

#[test]
fn a_server_on_the_ipv6_wildcard_takes_ipv6_and_ipv4_clients() {
    if !shared::testing::require_ipv6_loopback() {
        return;
    }
    let (_server, addr) = server("[::]:0", &[]);
    // On Linux an IPv6 socket also accepts IPv4 clients (IPV6_V6ONLY is off by default).
    for client_addr in [
        format!("[::1]:{}", addr.port()),
        format!("127.0.0.1:{}", addr.port()),
    ] {
        let client = run(&["client", "--addr", &client_addr], "both\nq\n");
        assert!(client.status.success(), "{client_addr}: {client:?}");
        assert!(client.said("reply: both"));
    }
}

#[test]
fn a_refused_connection_says_to_start_the_server() {
    // A port held bound but not listening: nobody can listen there during the test.
    let (_held, addr) = shared::testing::refusing_tcp_addr().unwrap();
    let port = addr.port();
    let client = run(
        &["client", "--addr", &format!("127.0.0.1:{port}")],
        "hello\n",
    );
    assert_eq!(client.status.code(), Some(1));
    assert_eq!(client.stderr.len(), 1, "one line: {:?}", client.stderr);
    assert!(
        client.stderr[0].contains(&format!("cannot connect to 127.0.0.1:{port}"))
            && client.stderr[0]
                .contains("is the server running? start it with: cargo run -p tcp-basic -- server"),
        "{:?}",
        client.stderr
    );
}

#[test]
fn a_busy_port_and_a_bad_address_are_clear_errors_not_panics() {
    let (_server, addr) = server("127.0.0.1:0", &[]);
    let second = run(&["server", "--addr", &addr.to_string()], "");
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(second.stderr.len(), 1, "one line: {:?}", second.stderr);
    let error = &second.stderr[0];
    assert!(
        error.starts_with(&format!("tcp-basic: cannot bind {addr}: "))
            && error.contains(&format!("another program has port {}", addr.port()))
            && error.contains("--addr 127.0.0.1:0"),
        "{error}"
    );

    let bad = run(&["client", "--addr", "127.0.0.1"], "");
    assert_eq!(bad.status.code(), Some(2), "clap refuses it");
    assert!(bad.stderr.join("\n").contains("has no port"), "{bad:?}");
    assert!(!bad.stderr.join("\n").contains("panicked"));
}

#[test]
fn trace_dumps_each_segment_in_hex_and_ascii() {
    let (_server, addr) = server("127.0.0.1:0", &[]);
    let client = run(
        &["client", "--addr", &addr.to_string(), "--trace"],
        "hello\n",
    );
    assert!(client.status.success(), "{client:?}");
    let stderr = client.stderr.join("\n");
    assert!(stderr.contains(&format!("--> {addr}  6 bytes")), "{stderr}");
    assert!(stderr.contains(&format!("<-- {addr}  6 bytes")), "{stderr}");
    assert!(stderr.contains("0000  68 65 6c 6c 6f 0a"), "{stderr}");
}

#[test]
fn netcat_is_a_client_too() {
    let Some(nc) = require_tool("nc", "netcat-openbsd") else {
        return;
    };
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    // -N: shut down the sending side at the end of stdin (netcat-openbsd).
    let output = Command::new(nc)
        .args(["-N", "-w", "10", "127.0.0.1", &addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"hello from nc\nbye\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello from nc\nbye\n"
    );
    server
        .expect_stdout("message 1: hello from nc", WAIT)
        .unwrap();
    server.expect_stdout("left: said bye", WAIT).unwrap();
}

/// `--framing none` on both sides, the tutorials' way: the client sends each line with
/// no line end, and each read is one message (which works while the messages come one
/// at a time, as they do here: the client waits for each reply).
#[test]
fn client_and_server_with_framing_none_send_bare_lines() {
    let (mut server, addr) = server("127.0.0.1:0", &["--framing", "none"]);
    let args = ["client", "--addr", &addr.to_string(), "--framing", "none"];
    let client = run(&args, "hello\nbye\n");
    assert!(client.status.success(), "{client:?}");
    assert!(client.said("reply: hello") && client.said("reply: bye"));
    // 5 bytes: `hello` and no line end.
    server.expect_stdout("read #1: 5 bytes", WAIT).unwrap();
    server.expect_stdout("message 1: hello", WAIT).unwrap();
    server.expect_stdout("left: said bye", WAIT).unwrap();
}

/// GBK byte fixtures: 你好 is c4 e3 ba c3 in GBK. The server shows it as text with
/// `--encoding gbk` and echoes the bytes unchanged; a byte that is not GBK is shown
/// escaped; the client sends what is typed as GBK.
#[test]
fn gbk_text_is_shown_as_text_and_echoed_byte_for_byte() {
    let (mut server, addr) = server("127.0.0.1:0", &["--encoding", "gbk"]);
    let mut stream = TcpStream::connect(addr).unwrap();
    let sent = b"\xc4\xe3\xba\xc3\n\xff!\n";
    stream.write_all(sent).unwrap();
    let mut got = vec![0; sent.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(&got, sent);
    server.expect_stdout("message 1: 你好", WAIT).unwrap();
    let line = server.expect_stdout("message 2:", WAIT).unwrap();
    assert!(line.ends_with(r"message 2: \xff!"), "{line}");
    drop(stream);

    let args = ["client", "--addr", &addr.to_string(), "--encoding", "gbk"];
    let client = run(&[&args[..], &["--trace"]].concat(), "你好\nbye\n");
    assert!(client.status.success(), "{client:?}");
    assert!(client.said("reply: 你好"), "{client:?}");
    assert!(
        client.stderr.join("\n").contains("0000  c4 e3 ba c3 0a"),
        "{client:?}"
    );
    server.expect_stdout("message 1: 你好", WAIT).unwrap();
    // A character GBK does not have is refused before it is sent.
    let client = run(&args, "😀\nbye\n");
    assert!(
        client.said("not sent: `😀` cannot be written in GBK"),
        "{client:?}"
    );
}

#[test]
fn burst_sends_gbk_too() {
    let (mut server, addr) = server("127.0.0.1:0", &["--encoding", "gbk"]);
    let args = ["burst", "--addr", &addr.to_string(), "--encoding", "gbk"];
    let burst = run(&args, "你好\n");
    assert!(burst.status.success(), "{burst:?}");
    assert!(burst.said("echoed 5 bytes: 你好\\n"), "{burst:?}");
    server.expect_stdout("message 1: 你好", WAIT).unwrap();
}

/// `tcp-basic server | head -1`: once the reader of our stdout has gone, the next line
/// the server prints (a client connects) ends it quietly, with exit code 0.
#[test]
fn a_closed_stdout_ends_the_server_quietly() {
    // Each connection makes the server print a line.
    let command = tcp_basic(&["server", "--addr", "127.0.0.1:0"]);
    shared::testing::assert_quiet_when_stdout_closes(command, WAIT, |addr| {
        if let Ok(mut client) = TcpStream::connect(addr) {
            let pause = Some(Duration::from_millis(100));
            client.set_read_timeout(pause).unwrap();
            let _ = client.write_all(b"hello\n");
            let _ = client.read(&mut [0u8; 16]); // the echo, the close, or 100 ms
        }
    });
}
