//! The chat, run for real on loopback: two peers talking at once, quitting, a missing
//! peer, and a test socket that plays the peer to check what travels (the typed line, as
//! typed), encodings, strangers and a closed stdout.

use shared::testing::{Output, Program, Stream};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_full-duplex-chat");

/// How long any one expected line or exit may take (a bound, not a speed target).
const WAIT: Duration = Duration::from_secs(10);

fn start(name: &str, args: &[&str]) -> Program {
    let mut command = Command::new(EXE);
    command.args(args);
    Program::spawn(name, command).unwrap()
}

/// A peer that binds port 0 and talks to `peer`; returns it ready, and its address.
fn start_ready(role: &str, peer: SocketAddr, extra: &[&str]) -> (Program, SocketAddr) {
    let peer = peer.to_string();
    let mut args = vec![role, "--bind", "127.0.0.1:0", "--peer", &peer];
    args.extend(extra);
    let mut program = start(role, &args);
    let addr = program.wait_ready(WAIT).unwrap();
    (program, addr)
}

/// A UDP socket of the test's own on loopback, to play the peer (or a stranger).
fn test_socket() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// Two ports that are free right now: both bound at once (so they differ), read, and let
/// go. Another program may take one before our peer binds it: a tiny race, so [`pair`]
/// tries again if a bind fails.
fn free_ports() -> (SocketAddr, SocketAddr) {
    let (a, a_addr) = test_socket();
    let (b, b_addr) = test_socket();
    drop((a, b));
    (a_addr, b_addr)
}

/// alice and bob on loopback, each bound to the port the other talks to, both ready.
/// (Each must know the other's port before it starts, so the ports are picked first.)
fn pair() -> (Program, SocketAddr, Program, SocketAddr) {
    let mut last_error = None;
    for _ in 0..5 {
        let (a, b) = free_ports();
        let (a, b) = (a.to_string(), b.to_string());
        let mut alice = start("alice", &["alice", "--bind", &a, "--peer", &b]);
        if let Err(err) = alice.wait_ready(WAIT) {
            last_error = Some(err);
            continue;
        }
        let mut bob = start("bob", &["bob", "--bind", &b, "--peer", &a]);
        if let Err(err) = bob.wait_ready(WAIT) {
            last_error = Some(err);
            continue;
        }
        return (alice, a.parse().unwrap(), bob, b.parse().unwrap());
    }
    panic!("cannot start a pair: {last_error:?}");
}

/// The next `count` stdout lines that start with `prefix`, in the order printed.
fn lines_starting(program: &mut Program, prefix: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut found = Vec::new();
    while found.len() < count {
        match program.next_line(deadline) {
            Some(Output {
                stream: Stream::Stdout,
                text: Some(text),
                ..
            }) if text.starts_with(prefix) => found.push(text),
            Some(_) => {}
            None => panic!(
                "{}: only {} of {count} lines starting with {prefix:?}; output:\n{}",
                program.name(),
                found.len(),
                program.transcript()
            ),
        }
    }
    found
}

fn exits_cleanly(program: &mut Program) {
    let status = program.wait_exit(WAIT).unwrap();
    assert!(
        status.success(),
        "{} exited with {status}:\n{}",
        program.name(),
        program.transcript()
    );
}

/// Receives one datagram on the test socket; returns its bytes and sender.
fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = socket
        .recv_from(&mut buf)
        .unwrap_or_else(|err| panic!("no datagram on {:?}: {err}", socket.local_addr()));
    (buf[..n].to_vec(), from)
}

/// Full duplex: both type 200 lines, interleaved, so both send while both receive; on
/// loopback every line arrives, in order, shown with its sender's address.
#[test]
fn both_directions_at_once_200_each_in_order() {
    const COUNT: usize = 200;
    let (mut alice, alice_addr, mut bob, bob_addr) = pair();
    for i in 0..COUNT {
        alice.send(&format!("a{i:03}\n")).unwrap();
        bob.send(&format!("b{i:03}\n")).unwrap();
    }
    let from_bob: Vec<String> = (0..COUNT).map(|i| format!("{bob_addr}: b{i:03}")).collect();
    let from_alice: Vec<String> = (0..COUNT)
        .map(|i| format!("{alice_addr}: a{i:03}"))
        .collect();
    assert_eq!(
        lines_starting(&mut alice, &format!("{bob_addr}: "), COUNT),
        from_bob
    );
    assert_eq!(
        lines_starting(&mut bob, &format!("{alice_addr}: "), COUNT),
        from_alice
    );
    alice.send("/quit\n").unwrap();
    bob.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
    exits_cleanly(&mut bob);
}

/// What makes it full-duplex and not taking turns: bob's lines are printed while alice
/// types nothing at all (her stdin open and silent), and she can answer afterwards.
#[test]
fn lines_arrive_while_the_other_side_types_nothing() {
    let (mut alice, alice_addr, mut bob, bob_addr) = pair();
    bob.send("one\ntwo\nthree\n").unwrap();
    let from = format!("{bob_addr}: ");
    assert_eq!(
        lines_starting(&mut alice, &from, 3),
        [from.clone() + "one", from.clone() + "two", from + "three"]
    );
    alice.send("hi bob\n").unwrap();
    bob.expect_stdout(&format!("{alice_addr}: hi bob"), WAIT)
        .unwrap();
    alice.close_stdin();
    bob.close_stdin();
    exits_cleanly(&mut alice);
    exits_cleanly(&mut bob);
}

/// Quitting is local: `/quit` or end of input ends that program (exit 0, both threads
/// ended) and sends nothing at all; the peer's next line then finds nobody there.
#[test]
fn quitting_is_local_and_sends_nothing() {
    for how in ["/quit", "eof"] {
        let (fake_bob, bob_addr) = test_socket();
        let (mut alice, alice_addr) = start_ready("alice", bob_addr, &[]);
        alice.send("bye for now\n").unwrap();
        assert_eq!(receive(&fake_bob), (b"bye for now".to_vec(), alice_addr));
        if how == "eof" {
            alice.close_stdin();
        } else {
            alice.send("/quit\n").unwrap();
        }
        let why = if how == "eof" {
            "end of input"
        } else {
            "/quit"
        };
        alice
            .expect_stdout(
                &format!("left the chat ({why}); both threads have ended"),
                WAIT,
            )
            .unwrap();
        exits_cleanly(&mut alice);
        // Loopback delivers at send(): whatever alice sent is queued by now.
        fake_bob.set_nonblocking(true).unwrap();
        let left = fake_bob.recv_from(&mut [0u8; 64]);
        assert_eq!(
            left.as_ref().map_err(std::io::Error::kind).err(),
            Some(std::io::ErrorKind::WouldBlock),
            "alice sent something as she left: {left:?}"
        );
    }

    let (mut alice, _, mut bob, _) = pair();
    alice.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
    assert!(bob.try_status().is_none(), "bob keeps running");
    bob.send("still there?\n").unwrap();
    bob.expect_stdout("nobody at", WAIT).unwrap();
    bob.close_stdin();
    exits_cleanly(&mut bob);
}

/// The receive thread is never left blocked in recv(): with no datagram arriving at all,
/// end of input still ends the program.
#[test]
fn end_of_input_ends_both_threads_even_with_no_traffic() {
    let (_silent_peer, peer) = test_socket();
    let (mut alice, _) = start_ready("alice", peer, &[]);
    alice.close_stdin();
    alice
        .expect_stdout("left the chat (end of input)", WAIT)
        .unwrap();
    exits_cleanly(&mut alice);
}

/// The peer missing: the ICMP "port unreachable" is reported with how to start the other
/// side, alice keeps running, and once bob is there the chat works.
#[test]
fn the_peer_missing_then_arriving() {
    let (nobody, _) = free_ports();
    let (mut alice, alice_addr) = start_ready("alice", nobody, &[]);
    alice.send("anyone?\n").unwrap();
    let hint = alice.expect_stdout("nobody at", WAIT).unwrap();
    assert_eq!(
        hint,
        format!(
            "nobody at {nobody} yet (ICMP port unreachable); start the other side with: \
             cargo run -p full-duplex-chat -- bob --bind {nobody} --peer {alice_addr}"
        )
    );
    alice.send("still nobody?\n").unwrap();
    let again = alice.expect_stdout("nobody at", WAIT).unwrap();
    assert_eq!(
        again,
        format!("nobody at {nobody} yet (ICMP port unreachable)")
    );
    assert!(alice.try_status().is_none(), "alice keeps running");

    let (bob_addr, alice_text) = (nobody.to_string(), alice_addr.to_string());
    let mut bob = start("bob", &["bob", "--bind", &bob_addr, "--peer", &alice_text]);
    bob.wait_ready(WAIT).unwrap();
    alice.send("now?\n").unwrap();
    bob.expect_stdout(&format!("{alice_addr}: now?"), WAIT)
        .unwrap();
    bob.send("yes!\n").unwrap();
    alice
        .expect_stdout(&format!("{nobody}: yes!"), WAIT)
        .unwrap();
    alice.send("/quit\n").unwrap();
    bob.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
    exits_cleanly(&mut bob);
}

/// The connected socket only hears its peer: a stranger's datagram is dropped by the
/// kernel and never shown, while the peer's, sent after it, is. The kernel even answers
/// the stranger with ICMP "port unreachable", as if nobody were there.
#[test]
fn strangers_are_ignored() {
    let (fake_bob, bob_addr) = test_socket();
    let (stranger, _) = test_socket();
    let (mut alice, alice_addr) = start_ready("alice", bob_addr, &[]);
    stranger.send_to(b"mallory was here", alice_addr).unwrap();
    stranger.connect(alice_addr).unwrap();
    stranger.send(b"psst from mallory").unwrap();
    let err = stranger.recv(&mut [0u8; 64]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    fake_bob.send_to(b"hello", alice_addr).unwrap();
    alice
        .expect_stdout(&format!("{bob_addr}: hello"), WAIT)
        .unwrap();
    alice.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
    let rest = alice.rest_of_stdout(WAIT);
    let everything = format!("{}\n{}", alice.transcript(), rest.join("\n"));
    assert!(!everything.contains("mallory"), "{everything}");
}

/// The test plays bob with a raw socket: alice sends each line exactly as typed (no name,
/// no line end, an empty line as an empty datagram); she shows any datagram with bob's
/// address, bytes that are not UTF-8 and terminal controls escaped.
#[test]
fn plain_text_both_ways_and_bytes_shown_escaped() {
    let (fake_bob, bob_addr) = test_socket();
    let (mut alice, alice_addr) = start_ready("alice", bob_addr, &[]);

    alice
        .send("hi there\r\n\n/quit is not at the start\n")
        .unwrap();
    assert_eq!(receive(&fake_bob), (b"hi there".to_vec(), alice_addr));
    assert_eq!(receive(&fake_bob).0, b"");
    assert_eq!(receive(&fake_bob).0, b"/quit is not at the start");

    let cases: [(&[u8], &str); 4] = [
        (b"plain", "plain"),
        (b"caf\xe9 \x00", "caf\\xe9 \\0"),
        (b"\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),
        (b"", ""),
    ];
    for (datagram, _) in cases {
        fake_bob.send_to(datagram, alice_addr).unwrap();
    }
    let shown = lines_starting(&mut alice, &format!("{bob_addr}: "), cases.len());
    for ((_, expected), line) in cases.iter().zip(&shown) {
        assert_eq!(line, &format!("{bob_addr}: {expected}"));
    }
    alice.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
}

/// `你好` in GBK, as the tutorials' `'你好'.encode('gbk')` sends it.
const NI_HAO_GBK: &[u8] = b"\xc4\xe3\xba\xc3";

/// With `--encoding gbk`, a typed line goes out in GBK and GBK comes in as text; what
/// GBK cannot decode is escaped, never dropped. Without it, the same bytes are escaped.
#[test]
fn gbk_both_ways_with_encoding_gbk() {
    let (fake_bob, bob_addr) = test_socket();
    let (mut alice, alice_addr) = start_ready("alice", bob_addr, &["--encoding", "gbk"]);
    alice.send("你好, bob\n").unwrap();
    assert_eq!(receive(&fake_bob).0, [NI_HAO_GBK, b", bob"].concat());
    fake_bob.send_to(NI_HAO_GBK, alice_addr).unwrap();
    alice
        .expect_stdout(&format!("{bob_addr}: 你好"), WAIT)
        .unwrap();
    fake_bob.send_to(b"\xc4\xe3\xff", alice_addr).unwrap();
    alice
        .expect_stdout(&format!("{bob_addr}: 你\\xff"), WAIT)
        .unwrap();
    // A character GBK cannot hold is not sent, and says so.
    alice.send("😀\n").unwrap();
    alice.expect_stderr("not sent", WAIT).unwrap();
    alice.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);

    let (mut utf8, utf8_addr) = start_ready("bob", bob_addr, &[]);
    fake_bob.send_to(NI_HAO_GBK, utf8_addr).unwrap();
    utf8.expect_stdout(&format!("{bob_addr}: \\xc4\\xe3\\xba\\xc3"), WAIT)
        .unwrap();
    utf8.close_stdin();
    exits_cleanly(&mut utf8);
}

/// A line too long for one datagram is refused by the kernel; that is reported and the
/// next line goes through.
#[test]
fn a_line_too_long_for_a_datagram_is_reported_and_the_chat_goes_on() {
    let (fake_bob, bob_addr) = test_socket();
    let (mut alice, _) = start_ready("alice", bob_addr, &[]);
    alice.send(&format!("{}\n", "x".repeat(70_000))).unwrap();
    alice.expect_stderr("send() on", WAIT).unwrap();
    alice.send("short\n").unwrap();
    assert_eq!(receive(&fake_bob).0, b"short");
    alice.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
}

/// `alice | head -1`: once the reader of stdout has gone, the next line printed ends
/// the program quietly (exit 0, no panic).
#[test]
fn a_closed_stdout_ends_the_peer_quietly() {
    let (fake_bob, bob_addr) = test_socket();
    fake_bob
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut command = Command::new(EXE);
    command
        .args(["alice", "--bind", "127.0.0.1:0", "--peer"])
        .arg(bob_addr.to_string())
        .stdin(Stdio::piped()); // kept open: at the end of input alice would leave anyway
                                // Each datagram makes alice print a line.
    shared::testing::assert_quiet_when_stdout_closes(command, WAIT, |alice| {
        let _ = fake_bob.send_to(b"are you there?", alice);
        let _ = fake_bob.recv_from(&mut [0u8; 16]); // nothing comes: a 100 ms pause
    });
}

/// Mistakes end the program with one clear line, not a panic.
#[test]
fn bad_arguments_give_one_clear_line() {
    let run = |args: &[&str]| {
        let output = Command::new(EXE)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (_taken, taken) = test_socket();
    let (code, stderr) = run(&["bob", "--bind", &taken.to_string(), "--peer", "127.0.0.1:1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot bind {taken}")), "{stderr}");
    assert!(stderr.contains("another program has port"), "{stderr}");
    assert!(stderr.contains("--bind 127.0.0.1:0"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let (code, stderr) = run(&["alice", "--bind", "127.0.0.1:0", "--peer", "[::1]:9"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("both be IPv4 or both IPv6"), "{stderr}");

    let (code, stderr) = run(&["alice", "--encoding", "latin-1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("utf-8, gbk or auto"), "{stderr}");

    let (code, stderr) = run(&["bob", "--peer", "127.0.0.1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("has no port"), "{stderr}");
}
