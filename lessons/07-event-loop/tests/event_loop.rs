//! Lesson 07 end to end, on loopback: many clients at once, half a line, a client that
//! never reads, 1,000 resets, the idle timeout, the line limit, and the clients that must
//! work unchanged (lesson 02's, and the first tutorial's Python client).

use shared::testing::{require_tool, run_with_input, start_ready, LineClient as Client, Program};
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A server on 127.0.0.1 port 0, ready: its `listening on` line has been read.
fn server(extra: &[&str]) -> (Program, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_event-loop"));
    command
        .args(["server", "--addr", "127.0.0.1:0"])
        .args(extra);
    start_ready("server", command, WAIT).unwrap()
}

/// A client greeted and answered once: the loop is serving.
fn assert_served(addr: SocketAddr, name: &str) {
    let mut client = Client::connect(addr, WAIT);
    assert_eq!(client.line(), "Welcome!\n");
    client.send(format!("{name}\n").as_bytes());
    assert_eq!(client.line(), format!("Hello, {name}!\n"));
}

#[test]
fn two_hundred_clients_at_once_each_get_exactly_their_own_answers() {
    let (_server, addr) = server(&["--quiet"]);
    // 200 connections first (all held at once), then 200 conversations side by side.
    let clients: Vec<Client> = (0..200).map(|_| Client::connect(addr, WAIT)).collect();
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            thread::spawn(move || {
                assert_eq!(client.line(), "Welcome!\n");
                // 10 names in one write: one read of the server carries several lines.
                let names: String = (0..10).map(|j| format!("c{i}-m{j}\n")).collect();
                client.send(names.as_bytes());
                for j in 0..10 {
                    assert_eq!(client.line(), format!("Hello, c{i}-m{j}!\n"));
                }
                // One at a time too, each waiting for its answer.
                for j in 10..15 {
                    client.send(format!("c{i}-m{j}\n").as_bytes());
                    assert_eq!(client.line(), format!("Hello, c{i}-m{j}!\n"));
                }
                client.send(b"exit\n");
                assert_eq!(client.line(), "", "closed after exit");
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a client saw a wrong answer");
    }
}

#[test]
fn a_client_that_sends_half_a_line_and_waits_holds_up_no_one() {
    let (mut server, addr) = server(&[]);
    let mut half = Client::connect(addr, WAIT);
    assert_eq!(half.line(), "Welcome!\n");
    half.send(b"Ad");
    // Lesson 01's server would sit in read() for the rest of the line; this one serves on.
    for name in ["Grace", "Linus", "Barbara"] {
        assert_served(addr, name);
    }
    half.send(b"a\n");
    assert_eq!(half.line(), "Hello, Ada!\n");
    server.expect_stdout("says: Ada", WAIT).unwrap();
}

/// The client sends 4,000-byte names without end and never reads an answer. Answers pile
/// up in the kernel's buffers, then in ours up to 64 KiB; there the server stops reading
/// this client (TCP's window closes, so the client's own writes wait), serves the others,
/// and closes it at the idle timeout. Its memory stays bounded all along: the server's
/// peak resident memory (VmHWM) stays far below what the client sent.
#[test]
fn a_client_that_never_reads_cannot_block_the_loop() {
    let (mut server, addr) = server(&["--idle-timeout", "3s"]);
    let mut never = Client::connect(addr, WAIT);
    assert_eq!(never.line(), "Welcome!\n");
    let never_addr = never.addr();
    let mut writer = never.reader.get_ref().try_clone().unwrap();
    const CAP: usize = 256 << 20;
    let pusher = thread::spawn(move || {
        let line = [vec![b'x'; 4000], b"\n".to_vec()].concat();
        let mut sent = 0;
        // Bounded: at most CAP bytes. It stops when the server resets the connection.
        while sent < CAP && writer.write_all(&line).is_ok() {
            sent += line.len();
        }
        sent
    });
    server
        .expect_stdout(&format!("{never_addr} reads nothing: 64 KiB"), WAIT)
        .unwrap();
    for name in ["Ada", "Grace", "Linus"] {
        assert_served(addr, name);
    }
    server
        .expect_stdout(&format!("{never_addr} left: idle for 3s"), WAIT)
        .unwrap();
    let sent = pusher.join().unwrap();
    assert!(
        sent < CAP,
        "the client was never slowed down: it sent {sent} bytes"
    );
    let peak = peak_resident_kib(server.id());
    assert!(
        peak < 64 * 1024,
        "the server's peak memory is {peak} KiB after a client sent {sent} bytes"
    );
    assert_served(addr, "after");
    drop(never);
}

/// VmHWM from /proc/PID/status: the most memory the process ever had resident, in KiB.
fn peak_resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// 1,000 clients reset their connection (SO_LINGER 0: close() sends RST, not FIN): some
/// at once, some after the greeting, some in the middle of a line. The server reports
/// each and goes on serving.
#[test]
fn a_thousand_abrupt_disconnects_leave_the_server_serving() {
    use socket2::{Domain, Socket, Type};
    let (mut server, addr) = server(&[]);
    for i in 0..1000 {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.connect(&addr.into()).unwrap();
        socket.set_linger(Some(Duration::ZERO)).unwrap();
        let mut stream = TcpStream::from(socket);
        match i % 3 {
            0 => {}
            1 => {
                stream.set_read_timeout(Some(WAIT)).unwrap();
                let mut greeting = [0u8; 9];
                stream.read_exact(&mut greeting).unwrap();
            }
            _ => stream.write_all(b"half a li").unwrap(),
        }
        drop(stream); // RST
    }
    for _ in 0..1000 {
        server.expect_stdout(" left: ", WAIT).unwrap();
    }
    assert_served(addr, "still here");
}

#[test]
fn a_silent_client_is_closed_after_the_idle_timeout() {
    let (mut server, addr) = server(&["--idle-timeout", "1s"]);
    let started = Instant::now();
    let mut silent = Client::connect(addr, WAIT);
    assert_eq!(silent.line(), "Welcome!\n");
    assert_eq!(silent.line(), "idle for 1s, closing\n");
    assert!(started.elapsed() >= Duration::from_millis(900));
    silent.assert_closed();
    server.expect_stdout("left: idle for 1s", WAIT).unwrap();
    assert_served(addr, "after the timeout");
}

/// Idle means no whole line: one byte every 200 ms does not keep a connection open.
#[test]
fn a_client_that_trickles_bytes_is_closed_after_the_idle_timeout() {
    let (_server, addr) = server(&["--idle-timeout", "1s"]);
    let mut client = Client::connect(addr, WAIT);
    let started = Instant::now();
    assert_eq!(client.line(), "Welcome!\n");
    let mut writer = client.reader.get_ref().try_clone().unwrap();
    let trickler = thread::spawn(move || {
        for _ in 0..100 {
            if writer.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    assert_eq!(client.line(), "idle for 1s, closing\n");
    let held = started.elapsed();
    client.assert_closed();
    assert!(held >= Duration::from_millis(900) && held < Duration::from_secs(10));
    trickler.join().unwrap();
}

#[test]
fn a_line_over_64_kib_gets_an_error_and_a_close() {
    let (mut server, addr) = server(&["--quiet"]);
    let mut client = Client::connect(addr, WAIT);
    assert_eq!(client.line(), "Welcome!\n");
    let long = vec![b'x'; 64 * 1024 + 1];
    client.send(&long);
    assert_eq!(
        client.line(),
        "error: a line longer than 65536 bytes; closing\n"
    );
    client.assert_closed();
    assert_served(addr, "next");
    drop(server.rest_of_stdout(Duration::ZERO));
}

#[test]
fn past_max_clients_one_more_is_refused_with_a_line() {
    let (mut server, addr) = server(&["--max-clients", "2"]);
    let mut first = Client::connect(addr, WAIT);
    let mut second = Client::connect(addr, WAIT);
    assert_eq!(first.line(), "Welcome!\n");
    assert_eq!(second.line(), "Welcome!\n");
    let mut third = Client::connect(addr, WAIT);
    assert!(third
        .line()
        .starts_with("server busy: all 2 client places are taken"));
    third.assert_closed();
    server
        .expect_stdout("refused: all 2 client places", WAIT)
        .unwrap();
    first.send(b"exit\n");
    assert_eq!(first.line(), "");
    server.expect_stdout("left: said exit", WAIT).unwrap();
    assert_served(addr, "in the freed place");
}

/// A client that sends its lines and at once shuts down its sending half still gets
/// every answer: end of stream ends the conversation only after the answers are sent.
#[test]
fn answers_are_sent_before_a_half_closed_conversation_ends() {
    let (mut server, addr) = server(&[]);
    let mut client = Client::connect(addr, WAIT);
    client.send(b"Ada\nGrace\n");
    client
        .reader
        .get_ref()
        .shutdown(std::net::Shutdown::Write)
        .unwrap();
    assert_eq!(client.line(), "Welcome!\n");
    assert_eq!(client.line(), "Hello, Ada!\n");
    assert_eq!(client.line(), "Hello, Grace!\n");
    assert_eq!(client.line(), "");
    server
        .expect_stdout("left: closed the connection", WAIT)
        .unwrap();
}

/// Lesson 02's binary (its client and its server), built once for these tests: cargo
/// builds only this package's binaries for its own tests.
fn lesson_02() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let ours = PathBuf::from(env!("CARGO_BIN_EXE_event-loop"));
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--package", "threaded-server", "--bin"])
                .arg("threaded-server")
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cannot run cargo build");
            assert!(status.success(), "cargo build -p threaded-server failed");
            ours.with_file_name(format!("threaded-server{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// `cargo run -p threaded-server -- client --addr ...`, unchanged, against this server.
#[test]
fn lesson_02s_client_talks_to_it_unchanged() {
    let (mut server, addr) = server(&[]);
    let mut command = Command::new(lesson_02());
    command.args(["client", "--addr", &addr.to_string()]);
    let client = run_with_input("client", command, "Ada\nGrace\nexit\nnot sent\n", WAIT).unwrap();
    assert!(client.status.success(), "{client:?}");
    assert_eq!(
        client.stdout,
        ["Welcome!", "Hello, Ada!", "Hello, Grace!", "bye"]
    );
    server.expect_stdout("connected", WAIT).unwrap();
    server.expect_stdout("says: Grace", WAIT).unwrap();
    server.expect_stdout("left: said exit", WAIT).unwrap();
}

/// The first tutorial's client sends `Rose` with no line end and waits for one recv():
/// with `--framing none` every read is a message and the answers are bare.
#[test]
fn the_tutorials_python_client_is_served_with_framing_none() {
    let Some(python) = require_tool("python3", "python3") else {
        return;
    };
    let (mut server, addr) = server(&["--framing", "none"]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tutorial/hello_client.py");
    let mut command = Command::new(python);
    command.arg(script).arg(addr.port().to_string());
    let client = run_with_input("python", command, "", WAIT).unwrap();
    assert!(client.status.success(), "{client:?}");
    assert_eq!(
        client.stdout,
        [
            "Welcome!",
            "Hello, Rose!",
            "Hello, Think!",
            "Hello, Babala!"
        ]
    );
    server.expect_stdout("says: Babala", WAIT).unwrap();
    server.expect_stdout("left: said exit", WAIT).unwrap();
}

/// `--trace` shows the segments both ways, and names from the network are shown escaped.
#[test]
fn trace_shows_segments_and_names_are_escaped() {
    let (mut server, addr) = server(&["--trace"]);
    let mut client = Client::connect(addr, WAIT);
    assert_eq!(client.line(), "Welcome!\n");
    client.send(b"A\x1b[31mda\n");
    assert_eq!(client.line(), "Hello, A\x1b[31mda!\n");
    let says = server.expect_stdout("says: ", WAIT).unwrap();
    assert!(!says.contains('\x1b'), "{says:?}");
    // The trace goes to stderr, so stdout's lines stay as they are.
    let peer = client.addr();
    server
        .expect_stderr(&format!("--> {peer}  17 bytes"), WAIT)
        .unwrap();
    server.expect_stderr("Hello, A.[31mda!", WAIT).unwrap();
    let transcript = server.transcript();
    for needle in [
        format!("--> {peer}  9 bytes"),
        format!("<-- {peer}  9 bytes"),
        "Welcome!.".to_string(),
    ] {
        assert!(transcript.contains(&needle), "{needle}:\n{transcript}");
    }
}

/// `--quiet`, on this server and on lesson 02's: no `connected`, `says` or `left` line,
/// and a refusal still prints. With `--max-clients 1`, the first client is served and
/// leaves; the refused second one's line must be the first line after the readiness line.
#[test]
fn quiet_servers_print_no_line_per_client_but_still_print_refusals() {
    for exe in [PathBuf::from(env!("CARGO_BIN_EXE_event-loop")), lesson_02()] {
        let mut command = Command::new(&exe);
        command.args([
            "server",
            "--addr",
            "127.0.0.1:0",
            "--quiet",
            "--max-clients",
            "1",
        ]);
        let (mut server, addr) = start_ready("server", command, WAIT).unwrap();
        let mut first = Client::connect(addr, WAIT);
        assert_eq!(first.line(), "Welcome!\n");
        first.send(b"Ada\n");
        assert_eq!(first.line(), "Hello, Ada!\n");
        let mut second = Client::connect(addr, WAIT);
        assert!(second.line().starts_with("server busy"), "{exe:?}");
        let line = server
            .next_line(Instant::now() + WAIT)
            .expect("the refusal line");
        let text = line.text.as_deref().unwrap_or_default();
        assert!(
            text.contains("refused: all 1 client places"),
            "{exe:?}: {line:?}"
        );
    }
}

/// `--encoding gbk` shows a GBK name as text; the answer repeats its bytes as they came.
/// Byte fixture: 玫瑰 (rose) is c3 b5 b9 e5 in GBK.
#[test]
fn gbk_names_are_shown_as_text_and_answered_byte_for_byte() {
    let (mut server, addr) = server(&["--encoding", "gbk"]);
    let mut client = Client::connect(addr, WAIT);
    assert_eq!(client.line(), "Welcome!\n");
    client.send(b"\xc3\xb5\xb9\xe5\n");
    let mut answer = Vec::new();
    client.reader.read_until(b'\n', &mut answer).unwrap();
    assert_eq!(answer, b"Hello, \xc3\xb5\xb9\xe5!\n");
    server.expect_stdout("says: 玫瑰", WAIT).unwrap();
}

/// `event-loop server | head -1`: once the reader of our stdout has gone, the next line
/// the server prints (a client connects) ends it quietly, as every lesson does.
#[test]
fn a_closed_stdout_ends_the_server_quietly() {
    let exe = env!("CARGO_BIN_EXE_event-loop");
    let mut command = Command::new(exe);
    command
        .args(["server", "--addr", "127.0.0.1:0"])
        .stdin(std::process::Stdio::null());
    shared::testing::assert_quiet_when_stdout_closes(command, WAIT, |addr| {
        if let Ok(mut client) = TcpStream::connect(addr) {
            let pause = Some(Duration::from_millis(100));
            client.set_read_timeout(pause).unwrap();
            let _ = client.read(&mut [0u8; 16]); // the greeting, the close, or 100 ms
        }
    });
}
