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

/// 04-full-duplex-chat.md and teaching/session-5.md: `alice --name ada --trace` and
/// `bob --trace`. Each line arrives under the sender's name (`ada: ...`), and with
/// `--trace` each datagram is dumped on stderr: `MSG ada hello`, and at the end
/// `BYE ada`.
#[test]
fn alice_named_ada_and_bob_both_traced() {
    // The ports are picked before either starts (each must know the other's); another
    // program may take one in between, so try a few pairs.
    let mut tries = 0;
    let (mut alice, mut bob) = loop {
        tries += 1;
        let (a, b) = free_pair();
        let mut alice = start(
            "alice",
            &[
                "alice", "--bind", &a, "--peer", &b, "--name", "ada", "--trace",
            ],
        );
        let mut bob = start("bob", &["bob", "--bind", &b, "--peer", &a, "--trace"]);
        match (alice.wait_ready(WAIT), bob.wait_ready(WAIT)) {
            (Ok(_), Ok(_)) => break (alice, bob),
            (alice_err, bob_err) if tries >= 5 => {
                panic!("cannot start the pair: {alice_err:?} {bob_err:?}")
            }
            _ => continue,
        }
    };

    alice.send("hello\n").unwrap();
    bob.send("hi ada\n").unwrap();
    // Each line under its sender's name, and the dumps: alice sent and bob received
    // `MSG ada hello`; bob sent and alice received `MSG bob hi ada`.
    for needle in ["bob: hi ada", "MSG ada hello", "MSG bob hi ada"] {
        assert!(
            seen(&mut alice, needle),
            "alice: no {needle:?}:\n{}",
            alice.transcript()
        );
    }
    for needle in ["ada: hello", "MSG ada hello", "MSG bob hi ada"] {
        assert!(
            seen(&mut bob, needle),
            "bob: no {needle:?}:\n{}",
            bob.transcript()
        );
    }
    assert!(alice.transcript().contains("(stderr) --> "));
    assert!(bob.transcript().contains("(stderr) <-- "));

    alice.send("/quit\n").unwrap();
    assert!(alice.wait_exit(WAIT).unwrap().success());
    for needle in ["BYE ada", "ada left"] {
        assert!(seen(&mut bob, needle), "{needle:?}:\n{}", bob.transcript());
    }
    alice.rest_of_stdout(WAIT);
    assert!(
        alice.transcript().contains("BYE ada"),
        "{}",
        alice.transcript()
    );
    bob.close_stdin();
    assert!(bob.wait_exit(WAIT).unwrap().success());
}
