//! Lesson 02 end to end: many clients, the pool, the idle timeout, the line limit, the
//! cap on clients, and a thread the OS refuses.

use shared::testing::{
    require_tool, run_with_input, start_ready, Finished, LineClient as Client, Program,
};
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

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

/// 50 clients at once; each pipelines 20 names in one write (so the server's reads
/// carry many lines) and must get exactly its own 20 answers, in order.
fn fifty_clients(addr: SocketAddr) {
    let clients: Vec<_> = (0..50)
        .map(|i| {
            thread::spawn(move || {
                let mut client = Client::connect(addr, WAIT);
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
    let mut first = Client::connect(addr, WAIT);
    let mut second = Client::connect(addr, WAIT);
    assert_eq!(first.line(), "Welcome!\n");
    assert_eq!(second.line(), "Welcome!\n");

    let mut third = Client::connect(addr, WAIT);
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
    let (mut server, addr) = server("127.0.0.1:0", &["--idle-timeout", "1s"]);
    let mut silent = Client::connect(addr, WAIT);
    assert_eq!(silent.line(), "Welcome!\n");
    assert_eq!(silent.line(), "idle for 1s, closing\n");
    assert_eq!(silent.line(), "", "and then the server closes");
    server.expect_stdout("left: idle for 1s", WAIT).unwrap();
}

#[test]
fn the_same_in_the_pool_frees_the_worker() {
    let (_server, addr) = server("127.0.0.1:0", &["--workers", "1", "--idle-timeout", "1s"]);
    let mut silent = Client::connect(addr, WAIT);
    assert_eq!(silent.line(), "Welcome!\n");
    // The only worker is held by the silent client until its timeout; then this one runs.
    let mut next = Client::connect(addr, WAIT);
    assert_eq!(next.line(), "Welcome!\n");
    assert_eq!(silent.line(), "idle for 1s, closing\n");
}

/// Idle means no whole line for the whole timeout: a client that sends one byte every
/// 200 ms (five times per timeout) is closed after about the timeout, not when it stops.
#[test]
fn a_client_that_trickles_bytes_is_closed_after_the_idle_timeout() {
    let (mut server, addr) = server("127.0.0.1:0", &["--idle-timeout", "1s"]);
    let mut client = Client::connect(addr, WAIT);
    let started = Instant::now();
    assert_eq!(client.line(), "Welcome!\n");
    let mut writer = client.reader.get_ref().try_clone().unwrap();
    // At most 100 bytes, 20 s: it stops early when the server has closed.
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
    // Never before the timeout; and long before the trickle would have ended (20 s),
    // with a generous margin for a busy machine.
    assert!(
        held >= Duration::from_millis(900) && held < Duration::from_secs(10),
        "closed after {held:?}"
    );
    server
        .expect_stdout("left: idle for 1s (no whole line in that time)", WAIT)
        .unwrap();
    trickler.join().unwrap();
}

/// Past --max-clients a client gets one line and is closed; the server says so, serves
/// the others, and takes a client again once one leaves.
#[test]
fn past_max_clients_a_client_is_refused_with_a_line_and_the_others_go_on() {
    let (mut server, addr) = server("127.0.0.1:0", &["--max-clients", "2"]);
    let mut first = Client::connect(addr, WAIT);
    let mut second = Client::connect(addr, WAIT);
    assert_eq!(first.line(), "Welcome!\n");
    assert_eq!(second.line(), "Welcome!\n");

    let mut third = Client::connect(addr, WAIT);
    assert_eq!(
        third.line(),
        "server busy: all 2 client places are taken (--max-clients); try again later\n"
    );
    assert_eq!(third.line(), "", "and then the server closes");
    server
        .expect_stdout(
            &format!("{} refused: all 2 client places are taken", third.addr()),
            WAIT,
        )
        .unwrap();

    for (client, name) in [(&mut first, "Ada"), (&mut second, "Grace")] {
        client.send(format!("{name}\n").as_bytes());
        assert_eq!(client.line(), format!("Hello, {name}!\n"));
    }
    first.send(b"exit\n");
    server
        .expect_stdout(&format!("{} left", first.addr()), WAIT)
        .unwrap();
    let mut fourth = Client::connect(addr, WAIT);
    assert_eq!(fourth.line(), "Welcome!\n");
}

/// With --workers the clients that wait for a worker count too: the waiting queue is
/// bounded by --max-clients, and one more client is refused.
#[test]
fn in_the_pool_the_waiting_clients_are_capped_too() {
    let (mut server, addr) = server("127.0.0.1:0", &["--workers", "1", "--max-clients", "2"]);
    let mut first = Client::connect(addr, WAIT);
    assert_eq!(first.line(), "Welcome!\n");
    let mut second = Client::connect(addr, WAIT);
    server
        .expect_stdout(
            &format!("{} waits: all 1 workers are busy", second.addr()),
            WAIT,
        )
        .unwrap();

    let mut third = Client::connect(addr, WAIT);
    assert_eq!(
        third.line(),
        "server busy: all 2 client places are taken (--max-clients); try again later\n"
    );
    assert_eq!(third.line(), "");
    server
        .expect_stdout(&format!("{} refused:", third.addr()), WAIT)
        .unwrap();

    // The waiting client is served once the worker is free.
    first.send(b"exit\n");
    assert_eq!(second.line(), "Welcome!\n");
    second.send(b"Ada\n");
    assert_eq!(second.line(), "Hello, Ada!\n");
}

#[test]
fn help_shows_the_cap_and_the_timeout_with_their_defaults_and_units_are_required() {
    let help = run(&["server", "--help"], "");
    let text = help.stdout.join("\n");
    assert!(
        text.contains("--max-clients <MAX_CLIENTS>") && text.contains("[default: 256]"),
        "{text}"
    );
    assert!(text.contains("[default: 60s]"), "{text}");

    for bare in ["5", "0s"] {
        let refused = run(
            &["server", "--addr", "127.0.0.1:0", "--idle-timeout", bare],
            "",
        );
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
        let stderr = refused.stderr.join("\n");
        assert!(stderr.contains("--idle-timeout"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// The server runs as a user of its own under a task limit (RLIMIT_NPROC) that leaves
/// room for its main thread and two client threads: the third client's thread is refused
/// by the OS. That client gets one line and is closed; the server does not die.
#[test]
fn when_the_os_refuses_a_thread_that_client_is_refused_and_the_server_goes_on() {
    let Some(limited) = TaskLimited::new(3) else {
        return;
    };
    let (mut server, addr) = start_ready("server", limited.server(), WAIT).unwrap();
    let mut first = Client::connect(addr, WAIT);
    let mut second = Client::connect(addr, WAIT);
    assert_eq!(first.line(), "Welcome!\n");
    assert_eq!(second.line(), "Welcome!\n");

    let mut third = Client::connect(addr, WAIT);
    let refusal = third.line();
    assert!(
        refusal.starts_with("server busy: cannot start a thread for you (")
            && refusal.ends_with("); try again later\n"),
        "{refusal:?}"
    );
    assert_eq!(third.line(), "");
    server
        .expect_stdout(
            &format!("{} refused: cannot start a thread", third.addr()),
            WAIT,
        )
        .unwrap();

    // Still alive, still serving.
    assert!(server.try_status().is_none(), "the server died");
    for (client, name) in [(&mut first, "Ada"), (&mut second, "Grace")] {
        client.send(format!("{name}\n").as_bytes());
        assert_eq!(client.line(), format!("Hello, {name}!\n"));
    }

    // Once a client leaves, a new one gets a thread again. The kernel frees a thread's
    // task a moment after the thread's last line, and nothing tells us when: so a new
    // client may still be refused for a moment, and we try again (bounded by WAIT).
    first.send(b"exit\n");
    server
        .expect_stdout(&format!("{} left", first.addr()), WAIT)
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let greeting = Client::connect(addr, WAIT).line();
        if greeting == "Welcome!\n" {
            break;
        }
        assert!(
            greeting.starts_with("server busy: cannot start a thread") && Instant::now() < deadline,
            "{greeting:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A copy of the server binary that any user may run, and the way to start it under a
/// task limit. RLIMIT_NPROC counts the tasks (threads) of a user, and root is exempt, so
/// the server runs as a uid no account uses (no other process counts against it), via
/// `setpriv`; `prlimit` sets the limit. Both are util-linux, on every Debian machine.
struct TaskLimited {
    dir: PathBuf,
    tasks: u32,
    setpriv: PathBuf,
    prlimit: PathBuf,
}

impl TaskLimited {
    /// `None` (the test is skipped) when not root, except under CI=true, where CI runs
    /// as root and the test must run.
    fn new(tasks: u32) -> Option<TaskLimited> {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let root = status.lines().any(|line| {
            line.split_whitespace().collect::<Vec<_>>() == ["Uid:", "0", "0", "0", "0"]
        });
        if !root {
            let message = "only root can run a program as another user (setpriv)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}: CI runs as root");
            }
            eprintln!("SKIPPED: {message}");
            return None;
        }
        let setpriv = require_tool("setpriv", "util-linux")?;
        let prlimit = require_tool("prlimit", "util-linux")?;

        // The test binary may live where the other user cannot reach (under /root).
        use std::os::unix::fs::PermissionsExt as _;
        let dir =
            std::env::temp_dir().join(format!("threaded-server-tasks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("threaded-server");
        std::fs::copy(env!("CARGO_BIN_EXE_threaded-server"), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        Some(TaskLimited {
            dir,
            tasks,
            setpriv,
            prlimit,
        })
    }

    /// `threaded-server server --addr 127.0.0.1:0` as that user, under the limit.
    fn server(&self) -> Command {
        let uid = (3_000_000_000 + std::process::id()).to_string();
        let mut command = Command::new(&self.setpriv);
        command
            .args([format!("--reuid={uid}"), format!("--regid={uid}")])
            .args(["--clear-groups", "--inh-caps=-all"])
            .arg(&self.prlimit)
            .arg(format!("--nproc={}", self.tasks))
            .arg(self.dir.join("threaded-server"))
            .args(["server", "--addr", "127.0.0.1:0"]);
        command
    }
}

impl Drop for TaskLimited {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn an_over_long_line_gets_an_error_and_the_others_go_on() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let mut bystander = Client::connect(addr, WAIT);
    assert_eq!(bystander.line(), "Welcome!\n");

    // 10 MiB without a line end: the server must stop reading after 64 KiB, not buffer it.
    let mut flooder = Client::connect(addr, WAIT);
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
    let mut bystander = Client::connect(addr, WAIT);
    assert_eq!(bystander.line(), "Welcome!\n");

    let mut rude = Client::connect(addr, WAIT);
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
    let after = Client::connect(addr, WAIT).line();
    assert_eq!(after, "Welcome!\n");
}

/// The answer repeats the name's bytes as they came: a byte that is not UTF-8 is sent
/// back, not replaced, and the server shows it escaped.
#[test]
fn bytes_that_are_not_utf8_are_answered_as_they_came() {
    let (mut server, addr) = server("127.0.0.1:0", &[]);
    let mut client = Client::connect(addr, WAIT);
    assert_eq!(client.line(), "Welcome!\n");
    client.send(b"Z\xfcrich\r\n");
    let mut answer = Vec::new();
    client.reader.read_until(b'\n', &mut answer).unwrap();
    assert_eq!(answer, b"Hello, Z\xfcrich!\n");
    server.expect_stdout(r"says: Z\xfcrich", WAIT).unwrap();
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

/// A script of lessons/02-threaded-server/tests/tutorial/, started with python3; `None`
/// (the test is skipped) when python3 is missing, outside CI.
fn python(script: &str, args: &[&str]) -> Option<Command> {
    let python = require_tool("python3", "python3")?;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tutorial")
        .join(script);
    let mut command = Command::new(python);
    command.arg(path).args(args);
    Some(command)
}

/// The tutorial's hello client sends `Rose` with no line end and waits: a line-framed
/// server would wait for the `\n` forever. With `--framing none` it is served.
#[test]
fn the_tutorials_hello_client_is_served_with_framing_none() {
    let (mut server, addr) = server("127.0.0.1:0", &["--framing", "none"]);
    let port = addr.port().to_string();
    let Some(client) = python("hello_client.py", &[&port]) else {
        return;
    };
    let client = run_with_input("python", client, "", WAIT).unwrap();
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

/// Our client with `--framing none` shows the tutorial's server's bare `Welcome!` and
/// `Hello, Rose!`, and its `exit` ends the conversation (the server closes it).
#[test]
fn our_client_with_framing_none_talks_with_the_tutorials_server() {
    let Some(command) = python("hello_server.py", &[]) else {
        return;
    };
    let (mut tutorial, addr) = start_ready("python", command, WAIT).unwrap();
    let args = ["client", "--addr", &addr.to_string(), "--framing", "none"];
    let client = run(&args, "Rose\nThink\nexit\nnot sent\n");
    assert!(client.status.success(), "{client:?}");
    assert_eq!(
        client.stdout,
        ["Welcome!", "Hello, Rose!", "Hello, Think!", "bye"]
    );
    tutorial.expect_stdout("closed 127.0.0.1:", WAIT).unwrap();
}

/// GBK both ways, byte fixtures: 玫瑰 (rose) is c3 b5 b9 e5 in GBK.
#[test]
fn gbk_names_with_the_tutorials_programs() {
    // The tutorial's client in GBK, against our server.
    let (mut server, addr) = server("127.0.0.1:0", &["--framing", "none", "--encoding", "gbk"]);
    let port = addr.port().to_string();
    let Some(client) = python("hello_client.py", &[&port, "玫瑰", "--encoding", "gbk"]) else {
        return;
    };
    let client = run_with_input("python", client, "", WAIT).unwrap();
    assert!(client.status.success(), "{client:?}");
    assert_eq!(client.stdout, ["Welcome!", "Hello, 玫瑰!"]);
    server.expect_stdout("says: 玫瑰", WAIT).unwrap();

    // The bytes on the wire, from a raw socket.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let mut greeting = [0u8; 8];
    raw.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"Welcome!");
    raw.write_all(b"\xc3\xb5\xb9\xe5").unwrap();
    let mut answer = [0u8; 12];
    raw.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"Hello, \xc3\xb5\xb9\xe5!");

    // Our client in GBK, against the tutorial's server in GBK, with --trace.
    let Some(command) = python("hello_server.py", &["--encoding", "gbk"]) else {
        return;
    };
    let (_tutorial, addr) = start_ready("python", command, WAIT).unwrap();
    let args = [
        "client",
        "--addr",
        &addr.to_string(),
        "--framing",
        "none",
        "--encoding",
        "gbk",
        "--trace",
    ];
    let client = run(&args, "玫瑰\nexit\n");
    assert!(client.status.success(), "{client:?}");
    assert_eq!(client.stdout, ["Welcome!", "Hello, 玫瑰!", "bye"]);
    let trace = client.stderr.join("\n");
    assert!(trace.contains("0000  c3 b5 b9 e5 "), "{trace}");
}

#[test]
fn a_busy_port_gets_the_in_use_hint() {
    let (_server, addr) = server("127.0.0.1:0", &[]);
    let second = run(&["server", "--addr", &addr.to_string()], "");
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    assert_eq!(second.stderr.len(), 1, "one line: {:?}", second.stderr);
    let error = &second.stderr[0];
    assert!(
        error.starts_with(&format!("threaded-server: cannot bind {addr}: "))
            && error.contains(&format!("another program has port {}", addr.port()))
            && error.contains("--addr 127.0.0.1:0"),
        "{error}"
    );
}

/// `threaded-server server | head -1`: once the reader of our stdout has gone, the next
/// line the server prints (a client connects, on its own thread) ends it quietly.
#[test]
fn a_closed_stdout_ends_the_server_quietly() {
    // Each connection makes the server print a line (on the client's own thread).
    let command = threaded_server(&["server", "--addr", "127.0.0.1:0"]);
    shared::testing::assert_quiet_when_stdout_closes(command, WAIT, |addr| {
        if let Ok(client) = TcpStream::connect(addr) {
            let pause = Some(Duration::from_millis(100));
            client.set_read_timeout(pause).unwrap();
            let _ = (&client).read(&mut [0u8; 16]); // the greeting, the close, or 100 ms
        }
    });
}

/// Lesson 01's length framing works here too: each message starts with its length.
#[test]
fn length_framing_from_lesson_01_works_too() {
    let (_server, addr) = server("127.0.0.1:0", &["--framing", "length"]);
    let args = ["client", "--addr", &addr.to_string(), "--framing", "length"];
    let client = run(&args, "Ada\nexit\n");
    assert!(client.status.success(), "{client:?}");
    assert_eq!(client.stdout, ["Welcome!", "Hello, Ada!", "bye"]);
}
