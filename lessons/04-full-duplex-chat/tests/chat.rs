//! The chat, run for real on loopback: two peers talking at once, quitting from either
//! side, a missing peer, and a test socket that plays the peer to check the wire format,
//! strangers and bad datagrams.

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
fn pair() -> (Program, Program) {
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
        return (alice, bob);
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
/// loopback every line arrives, in order.
#[test]
fn both_directions_at_once_200_each_in_order() {
    const COUNT: usize = 200;
    let (mut alice, mut bob) = pair();
    for i in 0..COUNT {
        alice.send(&format!("a{i:03}\n")).unwrap();
        bob.send(&format!("b{i:03}\n")).unwrap();
    }
    let from_bob: Vec<String> = (0..COUNT).map(|i| format!("bob: b{i:03}")).collect();
    let from_alice: Vec<String> = (0..COUNT).map(|i| format!("alice: a{i:03}")).collect();
    assert_eq!(lines_starting(&mut alice, "bob: ", COUNT), from_bob);
    assert_eq!(lines_starting(&mut bob, "alice: ", COUNT), from_alice);
    alice.send("/quit\n").unwrap();
    bob.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
    exits_cleanly(&mut bob);
}

/// What makes it full-duplex and not taking turns: bob's lines are printed while alice
/// types nothing at all (her stdin open and silent), and she can answer afterwards.
#[test]
fn lines_arrive_while_the_other_side_types_nothing() {
    let (mut alice, mut bob) = pair();
    bob.send("one\ntwo\nthree\n").unwrap();
    assert_eq!(
        lines_starting(&mut alice, "bob: ", 3),
        ["bob: one", "bob: two", "bob: three"]
    );
    alice.send("hi bob\n").unwrap();
    bob.expect_stdout("alice: hi bob", WAIT).unwrap();
    alice.close_stdin();
    bob.close_stdin();
    exits_cleanly(&mut alice);
    exits_cleanly(&mut bob);
}

/// Either side may leave, by `/quit` or by end of input: it exits 0 with both of its
/// threads ended; the other prints "NAME left", keeps running (a later line finds nobody
/// there) and leaves cleanly in turn.
#[test]
fn quit_from_either_side() {
    for (quitter, how) in [
        ("alice", "/quit"),
        ("bob", "/quit"),
        ("alice", "eof"),
        ("bob", "eof"),
    ] {
        let (alice, bob) = pair();
        let (mut leaving, mut staying) = if quitter == "alice" {
            (alice, bob)
        } else {
            (bob, alice)
        };
        if how == "eof" {
            leaving.close_stdin();
        } else {
            leaving.send("/quit\n").unwrap();
        }
        let why = if how == "eof" {
            "end of input"
        } else {
            "/quit"
        };
        leaving
            .expect_stdout(
                &format!("left the chat ({why}); the stdin and receive threads have both ended"),
                WAIT,
            )
            .unwrap();
        exits_cleanly(&mut leaving);

        staying
            .expect_stdout(&format!("{quitter} left"), WAIT)
            .unwrap();
        assert!(
            staying.try_status().is_none(),
            "the other side keeps running"
        );
        staying.send("still there?\n").unwrap();
        staying.expect_stdout("nobody at", WAIT).unwrap();
        staying.close_stdin();
        exits_cleanly(&mut staying);
    }
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

    let (nobody, alice_addr) = (nobody.to_string(), alice_addr.to_string());
    let mut bob = start("bob", &["bob", "--bind", &nobody, "--peer", &alice_addr]);
    bob.wait_ready(WAIT).unwrap();
    alice.send("now?\n").unwrap();
    bob.expect_stdout("alice: now?", WAIT).unwrap();
    bob.send("yes!\n").unwrap();
    alice.expect_stdout("bob: yes!", WAIT).unwrap();
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
    stranger.send_to(b"not even a message", alice_addr).unwrap();
    stranger.connect(alice_addr).unwrap();
    stranger.send(b"MSG mallory psst").unwrap();
    let err = stranger.recv(&mut [0u8; 64]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    fake_bob.send_to(b"MSG bob hello", alice_addr).unwrap();
    alice.expect_stdout("bob: hello", WAIT).unwrap();
    alice.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
    let rest = alice.rest_of_stdout(WAIT);
    let everything = format!("{}\n{}", alice.transcript(), rest.join("\n"));
    assert!(!everything.contains("mallory"), "{everything}");
    assert!(!everything.contains("not a chat message"), "{everything}");
}

/// The test plays bob with a raw socket: alice's datagrams are exactly `MSG NAME TEXT`
/// and `BYE NAME`; bytes that are not UTF-8 are shown escaped; datagrams that are not
/// chat messages are reported, and the chat goes on.
#[test]
fn wire_format_lossy_display_and_bad_datagrams() {
    let (fake_bob, bob_addr) = test_socket();
    let (mut alice, alice_addr) = start_ready("alice", bob_addr, &["--name", "ada"]);

    alice.send("hi there\n").unwrap();
    assert_eq!(
        receive(&fake_bob),
        (b"MSG ada hi there".to_vec(), alice_addr)
    );

    fake_bob
        .send_to(b"MSG b\xffob caf\xe9 \x00", alice_addr)
        .unwrap();
    alice.expect_stdout("b\\xffob: caf\\xe9 \\0", WAIT).unwrap();

    let bad: [&[u8]; 4] = [b"", b"HELLO", b"MSG", &[0xff; 1000]];
    for datagram in bad {
        fake_bob.send_to(datagram, alice_addr).unwrap();
    }
    let reports = lines_starting(&mut alice, "(a datagram from", bad.len());
    assert!(reports[0].contains("an empty datagram"), "{reports:?}");
    assert!(
        reports[1].contains("neither MSG nor BYE: HELLO)"),
        "{reports:?}"
    );
    assert!(reports[2].contains("no sender name"), "{reports:?}");
    assert!(
        reports[3].ends_with("\\xff... (1000 bytes))"),
        "{reports:?}"
    );

    fake_bob.send_to(b"MSG bob still fine", alice_addr).unwrap();
    alice.expect_stdout("bob: still fine", WAIT).unwrap();
    fake_bob.send_to(b"BYE bob", alice_addr).unwrap();
    alice.expect_stdout("bob left", WAIT).unwrap();

    alice.send("/quit\n").unwrap();
    assert_eq!(receive(&fake_bob).0, b"BYE ada");
    exits_cleanly(&mut alice);
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
    assert_eq!(receive(&fake_bob).0, b"MSG alice short");
    alice.send("/quit\n").unwrap();
    exits_cleanly(&mut alice);
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
    assert!(stderr.contains("--bind 127.0.0.1:0"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let (code, stderr) = run(&["alice", "--bind", "127.0.0.1:0", "--peer", "[::1]:9"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("both be IPv4 or both IPv6"), "{stderr}");

    let (code, stderr) = run(&["alice", "--name", "ada lovelace"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("use one word"), "{stderr}");

    let (code, stderr) = run(&["bob", "--peer", "127.0.0.1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("has no port"), "{stderr}");
}
