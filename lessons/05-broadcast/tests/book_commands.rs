//! Commands the book tells a student to type that no other test runs as written
//! (`cargo xtask check-book` asks for each one): here they run with the book's role and
//! flags, on loopback and a port the OS picked (the book's fixed port 6868 becomes
//! `--addr 0.0.0.0:0` for the first listener and `--to 127.255.255.255:PORT` for the
//! announcer), and each test checks what the book says it shows.

use shared::testing::Program;
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn start(name: &str, args: &[&str]) -> Program {
    let mut command = Command::new(env!("CARGO_BIN_EXE_broadcast"));
    command.args(args);
    Program::spawn(name, command).unwrap()
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

/// Runs `announce` (with `--to` at loopback's broadcast address and `port`) to its end;
/// returns it, its output read.
fn announce(port: u16, extra: &[&str]) -> Program {
    let to = format!("127.255.255.255:{port}");
    let mut args = vec!["announce", "--to", &to];
    args.extend_from_slice(extra);
    let mut announcer = start("announce", &args);
    announcer.wait_ready(WAIT).unwrap();
    announcer.rest_of_stdout(WAIT);
    let status = announcer.wait_exit(WAIT).unwrap();
    assert!(status.success(), "{status}: {}", announcer.transcript());
    announcer
}

/// 05-broadcast.md, "Run it": `listen --user one`, `listen --user two` (the same port),
/// then `announce`: one BR_ENTRY reaches both listeners, both answer from the same
/// IP:PORT, and after its wait the announcer counts them and says BR_EXIT.
#[test]
fn two_listeners_on_one_port_both_answer_one_announce() {
    let mut one = start("one", &["listen", "--addr", "0.0.0.0:0", "--user", "one"]);
    let port = one.wait_ready(WAIT).unwrap().port();
    let shared_port = format!("0.0.0.0:{port}");
    let mut two = start("two", &["listen", "--addr", &shared_port, "--user", "two"]);
    assert_eq!(
        two.wait_ready(WAIT).unwrap().port(),
        port,
        "one port, shared"
    );

    let announcer = announce(port, &[]);
    let out = announcer.transcript();
    for needle in [
        &format!("sent BR_ENTRY to 127.255.255.255:{port}; collecting answers for 1s"),
        &format!("from 127.0.0.1:{port}: one@vm"),
        &format!("from 127.0.0.1:{port}: two@vm"),
        "2 answered: ",
        &format!("sent BR_EXIT to 127.255.255.255:{port}"),
    ] {
        assert!(out.contains(needle), "{needle:?}:\n{out}");
    }
    for listener in [&mut one, &mut two] {
        for needle in ["BR_ENTRY from student@vm", "answered ANSENTRY as"] {
            assert!(
                seen(listener, needle),
                "{}: {needle:?}:\n{}",
                listener.name(),
                listener.transcript()
            );
        }
    }
}

/// teaching/session-6.md: `listen` with its defaults (user `student`), then `announce
/// --trace`: the answer arrives, and the announcer dumps each datagram it sent (to the
/// broadcast address) and received (from the listener) on stderr.
#[test]
fn a_default_listener_and_a_traced_announce() {
    let mut listener = start("listen", &["listen", "--addr", "0.0.0.0:0"]);
    let port = listener.wait_ready(WAIT).unwrap().port();

    let announcer = announce(port, &["--trace"]);
    let out = announcer.transcript();
    for needle in [
        &format!("from 127.0.0.1:{port}: student@vm"),
        "1 answered: student@vm",
        &format!("(stderr) --> 127.255.255.255:{port}"),
        &format!("(stderr) <-- 127.0.0.1:{port}"),
    ] {
        assert!(out.contains(needle), "{needle:?}:\n{out}");
    }
    assert!(
        seen(&mut listener, "answered ANSENTRY as student@vm"),
        "{}",
        listener.transcript()
    );
}
