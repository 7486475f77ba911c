//! Lesson 02 end to end: many clients, the pool, the idle timeout, the line limit.

use shared::testing::{require_tool, run_with_input, start_ready, Finished, Program};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn threaded_server(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_threaded-server"));
    command.args(args);
    command
}

/// A server on `addr` (port 0), ready: its `listening on` line has been read.
fn server(addr: &str, extra: &[&str]) -> (Program, SocketAddr) {
    let mut args = vec!["server", "--addr", addr];
    args.extend_from_slice(extra);
    start_ready("server", threaded_server(&args), WAIT).unwrap()
}

/// Runs a role to the end with `stdin` as its input.
fn run(args: &[&str], stdin: &str) -> Finished {
    run_with_input(args[0], threaded_server(args), stdin, WAIT).unwrap()
}

/// A test client: a stream with a deadline on every read, and a line reader.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// The next line, or "" at end of stream.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }
}

/// 50 clients at once; each pipelines 20 names in one write (so the server's reads
/// carry many lines) and must get exactly its own 20 answers, in order.
fn fifty_clients(addr: SocketAddr) {
    let clients: Vec<_> = (0..50)
        .map(|i| {
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                assert_eq!(client.line(), "Welcome!\n");
                let names: String = (0..20).map(|j| format!("client{i}-msg{j}\n")).collect();
                client.send(names.as_bytes());
                for j in 0..20 {
                    assert_eq!(client.line(), format!("Hello, client{i}-msg{j}!\n"));
                }
                client.send(b"exit\n");
                assert_eq!(client.line(), "", "closed after exit");
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client saw a wrong answer");
    }
}

#[test]
fn fifty_clients_at_once_each_get_exactly_their_own_answers() {
    let (_server, addr) = server("127.0.0.1:0", &[]);
    fifty_clients(addr);
}

#[test]
fn fifty_clients_through_a_pool_of_eight_workers() {
    let (_server, addr) = server("127.0.0.1:0", &["--workers", "8"]);
    fifty_clients(addr);
}

#[test]
fn the_client_role_talks_the_protocol() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let client = run(
        &["client", "--addr", &addr.to_string()],
        "Ada\nGrace\nexit\nnot sent\n",
    );
    assert!(client.status.success(), "{client:?}");
    assert_eq!(
        client.stdout,
        ["Welcome!", "Hello, Ada!", "Hello, Grace!", "bye"]
    );
    server.expect_stdout("connected", WAIT).unwrap();
    server.expect_stdout("says: Grace", WAIT).unwrap();
    server.expect_stdout("left: said exit", WAIT).unwrap();
}

#[test]
fn the_n_plus_first_client_waits_for_a_free_worker() {
    let (mut server, addr) = server("127.0.0.1:0", &["--workers", "2"]);
    let mut first = Client::connect(addr);
    let mut second = Client::connect(addr);
    assert_eq!(first.line(), "Welcome!\n");
    assert_eq!(second.line(), "Welcome!\n");

    let mut third = Client::connect(addr);
    server
        .expect_stdout("waits: all 2 workers are busy", WAIT)
        .unwrap();
    third
        .reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        third.reader.get_mut().read(&mut byte).is_err(),
        "greeted while both workers were busy"
    );

    first.send(b"exit\n");
    third.reader.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(third.line(), "Welcome!\n");
    third.send(b"Ada\n");
    assert_eq!(third.line(), "Hello, Ada!\n");
}

#[test]
fn a_silent_client_is_closed_after_the_idle_timeout() {
    let (mut server, addr) = server("127.0.0.1:0", &["--idle-timeout", "1"]);
    let mut silent = Client::connect(addr);
    assert_eq!(silent.line(), "Welcome!\n");
    assert_eq!(silent.line(), "idle for 1s, closing\n");
    assert_eq!(silent.line(), "", "and then the server closes");
    server.expect_stdout("left: idle for 1s", WAIT).unwrap();
}

#[test]
fn the_same_in_the_pool_frees_the_worker() {
    let (_server, addr) = server("127.0.0.1:0", &["--workers", "1", "--idle-timeout", "1"]);
    let mut silent = Client::connect(addr);
    assert_eq!(silent.line(), "Welcome!\n");
    // The only worker is held by the silent client until its timeout; then this one runs.
    let mut next = Client::connect(addr);
    assert_eq!(next.line(), "Welcome!\n");
    assert_eq!(silent.line(), "idle for 1s, closing\n");
}

#[test]
fn an_over_long_line_gets_an_error_and_the_others_go_on() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let mut bystander = Client::connect(addr);
    assert_eq!(bystander.line(), "Welcome!\n");

    // 10 MiB without a line end: the server must stop reading after 64 KiB, not buffer it.
    let mut flooder = Client::connect(addr);
    assert_eq!(flooder.line(), "Welcome!\n");
    let flood = vec![b'x'; 10 << 20];
    let wrote_everything = flooder.reader.get_mut().write_all(&flood).is_ok();
    // How far past the limit it got depends on how the bytes were split into reads.
    let error = flooder.line();
    assert!(
        error.starts_with("error: frame of ")
            && error.ends_with(" bytes is longer than the limit of 65536 bytes; closing\n"),
        "{error:?}"
    );
    assert!(
        !wrote_everything,
        "the server should have closed before taking 10 MiB"
    );
    server
        .expect_stdout("left: sent a line longer than 65536 bytes", WAIT)
        .unwrap();

    bystander.send(b"still here\n");
    assert_eq!(bystander.line(), "Hello, still here!\n");
}

#[test]
fn an_abrupt_disconnect_mid_line_does_not_disturb_the_others() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let mut bystander = Client::connect(addr);
    assert_eq!(bystander.line(), "Welcome!\n");

    let mut rude = Client::connect(addr);
    assert_eq!(rude.line(), "Welcome!\n");
    rude.send(b"half a li");
    // SO_LINGER 0: closing sends a reset (RST) instead of the polite FIN.
    socket2::SockRef::from(rude.reader.get_ref())
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(rude);
    let left = server.expect_stdout("left:", WAIT).unwrap();
    assert!(
        left.contains("reset") || left.contains("in the middle of a line"),
        "{left}"
    );

    bystander.send(b"Ada\n");
    assert_eq!(bystander.line(), "Hello, Ada!\n");
    let after = Client::connect(addr).line();
    assert_eq!(after, "Welcome!\n");
}

#[test]
fn bytes_that_are_not_utf8_are_answered_lossy() {
    let (_server, addr) = server("127.0.0.1:0", &[]);
    let mut client = Client::connect(addr);
    assert_eq!(client.line(), "Welcome!\n");
    client.send(b"Z\xfcrich\r\n");
    assert_eq!(client.line(), "Hello, Z\u{fffd}rich!\n");
}

#[test]
fn ipv6_works_too() {
    if !shared::testing::require_ipv6_loopback() {
        return;
    }
    let (_server, addr) = server("[::1]:0", &[]);
    assert!(addr.is_ipv6());
    let client = run(&["client", "--addr", &addr.to_string()], "IPv6\nexit\n");
    assert!(client.status.success(), "{client:?}");
    assert!(client.said("Hello, IPv6!"));
}

#[test]
fn a_refused_connection_says_to_start_the_server() {
    // A port held bound but not listening: nobody can listen there during the test.
    let (_held, addr) = shared::testing::refusing_tcp_addr().unwrap();
    let port = addr.port();
    let client = run(&["client", "--addr", &format!("127.0.0.1:{port}")], "");
    assert_eq!(client.status.code(), Some(1));
    assert_eq!(client.stderr.len(), 1, "{:?}", client.stderr);
    assert!(
        client.stderr[0].contains(
            "is the server running? start it with: cargo run -p threaded-server -- server"
        ),
        "{:?}",
        client.stderr
    );
}

#[test]
fn trace_dumps_each_segment() {
    let (_server, addr) = server("127.0.0.1:0", &[]);
    let client = run(
        &["client", "--addr", &addr.to_string(), "--trace"],
        "Ada\nexit\n",
    );
    let stderr = client.stderr.join("\n");
    assert!(stderr.contains(&format!("<-- {addr}  9 bytes")), "{stderr}");
    assert!(
        stderr.contains("57 65 6c 63 6f 6d 65 21"),
        "Welcome! in hex: {stderr}"
    );
    assert!(stderr.contains(&format!("--> {addr}  4 bytes")), "{stderr}");
}

#[test]
fn netcat_is_a_client_too() {
    let Some(nc) = require_tool("nc", "netcat-openbsd") else {
        return;
    };
    let (_server, addr) = server("127.0.0.1:0", &[]);
    let output = Command::new(nc)
        .args(["-N", "-w", "10", "127.0.0.1", &addr.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"netcat\nexit\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Welcome!\nHello, netcat!\n"
    );
}
