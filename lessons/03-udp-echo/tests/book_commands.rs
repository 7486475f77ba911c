//! Commands the book tells a student to type that no other test runs as written
//! (`cargo xtask check-book` asks for each one): here they run with the book's role and
//! flags, on loopback and port 0, and each test checks what the book says it shows.

mod common;

use common::{run_role, start_server, WAIT};
use shared::testing::Program;
use std::time::Instant;

/// Reads `program`'s output until `needle` has appeared `times` times in its transcript
/// (stdout and stderr come on two threads, in either order; stderr lines are marked
/// `(stderr) `); false if the deadline passes first.
fn seen(program: &mut Program, needle: &str, times: usize) -> bool {
    let deadline = Instant::now() + WAIT;
    while program.transcript().matches(needle).count() < times {
        if program.next_line(deadline).is_none() {
            return false;
        }
    }
    true
}

/// background/udp.md and teaching/session-4.md: `server --trace`, then a client sends
/// `hello`. The server dumps the datagram it received and the echo it sent (on stderr).
#[test]
fn server_trace_dumps_the_datagram_and_its_echo() {
    let (mut server, addr) = start_server(&["--trace"]);
    let ran = run_role(&["client", "--addr", &addr.to_string()], "hello\n");
    assert!(ran.ok, "{}", ran.error());
    assert!(
        ran.stdout.iter().any(|l| l == "echo: hello"),
        "{:?}",
        ran.stdout
    );
    for (needle, times) in [
        (": 5 bytes: hello", 1),
        ("(stderr) <-- 127.0.0.1:", 1),
        ("(stderr) --> 127.0.0.1:", 1),
        // The bytes of `hello`, once received and once sent back.
        ("68 65 6c 6c 6f", 2),
    ] {
        assert!(
            seen(&mut server, needle, times),
            "{needle:?} x{times}:\n{}",
            server.transcript()
        );
    }
}

/// 03-udp-echo.md, "Watching loss": `client --drop 0.3` loses 30% of the datagrams it
/// sends, waits its default timeout for each lost one, sends it again, and every line
/// gets its echo in the end. (With the default seed some of these five are dropped: the
/// same lines as the demo's lossy client.)
#[test]
fn client_drop_loses_datagrams_and_retries_until_each_is_echoed() {
    let (_server, addr) = start_server(&[]);
    let ran = run_role(
        &["client", "--addr", &addr.to_string(), "--drop", "0.3"],
        "a\nb\nc\nd\ne\n",
    );
    assert!(ran.ok, "{}", ran.error());
    let said = |needle: &str| ran.stdout.iter().any(|l| l.contains(needle));
    assert!(said("dropped (simulated, --drop)"), "{:?}", ran.stdout);
    assert!(said("sending again"), "{:?}", ran.stdout);
    assert!(said("5 of 5 messages echoed"), "{:?}", ran.stdout);
}

/// 03-udp-echo.md, "Watching loss": `server --drop 0.5` loses half of its echoes; the
/// server says which, and the client, sending again after each timeout, still gets
/// every echo.
#[test]
fn server_drop_loses_echoes_and_the_client_sends_again() {
    let (mut server, addr) = start_server(&["--drop", "0.5"]);
    let ran = run_role(
        &["client", "--addr", &addr.to_string(), "--timeout", "500ms"],
        "a\nb\n",
    );
    assert!(ran.ok, "{}", ran.error());
    let said = |needle: &str| ran.stdout.iter().any(|l| l.contains(needle));
    assert!(said("sending again"), "{:?}", ran.stdout);
    assert!(said("2 of 2 messages echoed"), "{:?}", ran.stdout);
    for needle in [
        "simulating loss: dropping 50% of the echoes",
        "dropped (simulated, --drop)",
    ] {
        assert!(
            seen(&mut server, needle, 1),
            "{needle:?}:\n{}",
            server.transcript()
        );
    }
}
