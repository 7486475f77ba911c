//! Commands the book tells a student to type that no other test runs as written
//! (`cargo xtask check-book` asks for each one): here they run with the book's role and
//! flags, on loopback (ports the OS picked), and each test checks what the book says it
//! shows.

use shared::testing::Program;
use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn start(name: &str, args: &[&str]) -> Program {
    let mut command = Command::new(env!("CARGO_BIN_EXE_full-duplex-chat"));
    command.args(args);
    Program::spawn(name, command).unwrap()
}

/// Two loopback addresses free right now (bound together so they differ, then let go).
fn free_pair() -> (String, String) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().to_string(),
        b.local_addr().unwrap().to_string(),
    )
}

/// Reads `program`'s output until `needle` is in its transcript (stdout and stderr come
/// on two threads, in either order; stderr lines are marked `(stderr) `).
fn seen(program: &mut Program, needle: &str) -> bool {
    let deadline = Instant::now() + WAIT;
    while !program.transcript().contains(needle) {
        if program.next_line(deadline).is_none() {
            return false;
        }
    }
    true
}

/// 04-full-duplex-chat.md and teaching/session-5.md: `alice --encoding gbk --trace` and
/// `bob --encoding gbk`. Each line arrives as typed, shown with the sender's address;
/// alice's `--trace` dumps the GBK bytes she sent (`c4 e3 ba c3` for `你好`) and the ones
/// she received; `/quit` is local: bob is not told.
#[test]
fn a_gbk_chat_with_alice_traced() {
    // The ports are picked before either starts (each must know the other's); another
    // program may take one in between, so try a few pairs.
    let mut tries = 0;
    let (mut alice, mut bob, a, b) = loop {
        tries += 1;
        let (a, b) = free_pair();
        let mut alice = start(
            "alice",
            &[
                "alice",
                "--bind",
                &a,
                "--peer",
                &b,
                "--encoding",
                "gbk",
                "--trace",
            ],
        );
        let mut bob = start(
            "bob",
            &["bob", "--bind", &b, "--peer", &a, "--encoding", "gbk"],
        );
        match (alice.wait_ready(WAIT), bob.wait_ready(WAIT)) {
            (Ok(_), Ok(_)) => break (alice, bob, a, b),
            (alice_err, bob_err) if tries >= 5 => {
                panic!("cannot start the pair: {alice_err:?} {bob_err:?}")
            }
            _ => continue,
        }
    };

    alice.send("你好\n").unwrap();
    bob.send("hi alice\n").unwrap();
    for needle in [
        &format!("{b}: hi alice"),
        "(stderr) --> ",
        "c4 e3 ba c3",
        "(stderr) <-- ",
        "68 69 20 61",
    ] {
        assert!(
            seen(&mut alice, needle),
            "alice: no {needle:?}:\n{}",
            alice.transcript()
        );
    }
    assert!(
        seen(&mut bob, &format!("{a}: 你好")),
        "bob:\n{}",
        bob.transcript()
    );

    alice.send("/quit\n").unwrap();
    assert!(alice.wait_exit(WAIT).unwrap().success());
    bob.close_stdin();
    assert!(bob.wait_exit(WAIT).unwrap().success());
    let bob_said = bob.transcript();
    assert!(!bob_said.contains(&format!("{a}: /quit")), "{bob_said}");
}
