//! What the tests of lesson 03 share: starting the binary, a test-owned UDP socket, and
//! an address where nobody listens. Everything is on loopback, every port is port 0.

#![allow(dead_code)] // each test file uses its own part of this module

use shared::testing::{Program, Stream};
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

/// Generous: a loaded CI machine may be slow, and a passing test never waits this long.
pub const WAIT: Duration = Duration::from_secs(10);

/// `udp-echo ARGS...`, ready to spawn.
pub fn udp_echo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_udp-echo"));
    command.args(args);
    command
}

/// Starts `udp-echo server --addr 127.0.0.1:0 EXTRA...` and waits for its readiness line.
pub fn start_server(extra: &[&str]) -> (Program, SocketAddr) {
    let mut args = vec!["server", "--addr", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut server = Program::spawn("server", udp_echo(&args)).unwrap();
    let addr = server.wait_ready(WAIT).unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    (server, addr)
}

/// What a role that ran to its end printed, and how it ended.
pub struct Ran {
    /// Whether it exited with success.
    pub ok: bool,
    /// Its stdout, line by line.
    pub stdout: Vec<String>,
    /// Its stderr, line by line (errors, traces).
    pub stderr: Vec<String>,
}

impl Ran {
    /// The one-line error `shared::exit_code` prints, or "" if there is none.
    pub fn error(&self) -> String {
        let error = self.stderr.iter().find(|l| l.starts_with("udp-echo: "));
        error.cloned().unwrap_or_default()
    }
}

/// Runs a role to its end with `stdin` as its input.
pub fn run_role(args: &[&str], stdin: &str) -> Ran {
    let mut program = Program::spawn(args[0], udp_echo(args)).unwrap();
    program.send(stdin).unwrap();
    program.close_stdin();
    let deadline = Instant::now() + WAIT;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut open_streams = 2;
    while open_streams > 0 {
        let Some(output) = program.next_line(deadline) else {
            panic!(
                "{} did not finish in time:\n{}",
                args[0],
                program.transcript()
            );
        };
        match (output.stream, output.text) {
            (_, None) => open_streams -= 1,
            (Stream::Stdout, Some(text)) => stdout.push(text),
            (Stream::Stderr, Some(text)) => stderr.push(text),
        }
    }
    let ok = program.wait_exit(WAIT).unwrap().success();
    Ran { ok, stdout, stderr }
}

/// A UDP socket owned by the test, on 127.0.0.1 and a port the OS picks, that gives up
/// receiving after `timeout`.
pub fn test_socket(timeout: Duration) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket
}

/// A loopback address where nobody listens: a port the OS just gave us, released again.
pub fn dead_address() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

/// Sends `bytes` to `to` from `socket` and returns the next datagram that comes back.
pub fn round_trip(socket: &UdpSocket, to: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    socket.send_to(bytes, to).unwrap();
    let mut buf = vec![0u8; 70_000];
    let (n, from) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(from, to, "the echo comes from the server's address");
    buf.truncate(n);
    buf
}

/// The port in a `sending from IP:PORT ...` line.
pub fn sending_port(lines: &[String]) -> u16 {
    let line = lines
        .iter()
        .find(|l| l.starts_with("sending from "))
        .unwrap_or_else(|| panic!("no `sending from` line in {lines:#?}"));
    let addr: SocketAddr = line["sending from ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    addr.port()
}
