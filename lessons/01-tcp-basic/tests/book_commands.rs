//! Commands the book tells a student to type that no other test runs as written
//! (`cargo xtask check-book` asks for each one): here they run with the book's role and
//! flags, on loopback and port 0, and each test checks what the book says it shows.

use shared::testing::start_ready;
use std::io::{BufRead as _, BufReader, ErrorKind, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// background/tcp.md and teaching/session-2.md: `server --backlog 1`, then four clients.
/// The server serves one client; the kernel completes the handshake of two more and
/// queues them (listen()'s backlog 1 lets Linux queue backlog + 1); the fourth client's
/// SYN is dropped, so its connect() hangs in SYN_SENT (the line `ss` shows). When the
/// first client leaves, the server accepts a queued one, which then gets its echo.
#[test]
fn server_backlog_1_queues_two_clients_and_leaves_the_next_in_syn_sent() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tcp-basic"));
    command.args(["server", "--addr", "127.0.0.1:0", "--backlog", "1"]);
    let (mut server, addr) = start_ready("server", command, WAIT).unwrap();

    let served = TcpStream::connect(addr).unwrap();
    let served_port = served.local_addr().unwrap().port();
    server
        .expect_stdout(&format!("127.0.0.1:{served_port} connected"), WAIT)
        .unwrap();

    // Queued: connect() returns as soon as the kernel has completed the handshake.
    let queued: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();

    // The accept queue is full: no SYN-ACK comes, the first SYN retransmission is a
    // second away, so half a second of waiting ends in a timeout, not an error.
    let hanging = TcpStream::connect_timeout(&addr, Duration::from_millis(500));
    let err = hanging.expect_err("a fourth client must wait in SYN_SENT");
    assert!(
        matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
        "{err}"
    );

    // The first client leaves; the next one in the queue is accepted and served.
    drop(served);
    let mut next = queued.into_iter().next().unwrap();
    let next_port = next.local_addr().unwrap().port();
    server
        .expect_stdout(&format!("127.0.0.1:{next_port} connected"), WAIT)
        .unwrap();
    next.set_read_timeout(Some(WAIT)).unwrap();
    next.write_all(b"queued, then served\n").unwrap();
    let mut line = String::new();
    BufReader::new(&next).read_line(&mut line).unwrap();
    assert_eq!(line, "queued, then served\n");
}
