//! What a person at the keyboard sees: times with units, hints that fit the error, a
//! closed stdout, the progress line off a terminal, each retry as it happens, and Ctrl-C
//! during a download.

mod peers;

use peers::*;
use shared::testing::Program;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tftp"))
}

/// Runs `tftp ARGS...` to its end, with stdin closed.
fn tftp(args: &[&str], dir: &Path) -> Output {
    Command::new(exe())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run tftp")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn times_take_units_and_a_bare_number_is_refused_with_an_example() {
    let scratch = Scratch::new("ux-units");
    let dir = scratch.folder("here");
    for args in [
        &["get", "x", "--timeout", "2"][..],
        &["put", "x", "--timeout", "2"],
        &["server", "--root", ".", "--timeout", "2"],
    ] {
        let out = tftp(args, &dir);
        let err = stderr_of(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("no unit") && err.contains("`2s`"),
            "{args:?}: {err}"
        );
    }
    let out = tftp(&["get", "x", "--timeout", "300s"], &dir);
    assert!(
        stderr_of(&out).contains("from 10ms to 255s"),
        "{}",
        stderr_of(&out)
    );
    // --help says which times are sent to the server.
    let out = tftp(&["get", "--help"], &dir);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("300ms") && help.contains("RFC 2349"),
        "{help}"
    );
}

#[test]
fn a_root_that_is_a_file_gets_its_own_hint() {
    let scratch = Scratch::new("ux-root-file");
    let dir = scratch.folder("here");
    std::fs::write(dir.join("notes.txt"), b"hi").unwrap();
    let out = tftp(
        &["server", "--root", "notes.txt", "--addr", "127.0.0.1:0"],
        &dir,
    );
    let err = stderr_of(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot serve notes.txt: it is a file") && err.contains("--root ."),
        "{err}"
    );
    assert!(!err.contains("mkdir"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_missing_root_says_to_create_it() {
    let scratch = Scratch::new("ux-root-missing");
    let dir = scratch.folder("here");
    let out = tftp(
        &["server", "--root", "served", "--addr", "127.0.0.1:0"],
        &dir,
    );
    let err = stderr_of(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot serve served: ") && err.contains("mkdir -p served"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_busy_port_says_another_program_has_it() {
    let scratch = Scratch::new("ux-busy");
    let dir = scratch.folder("here");
    let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap().to_string();
    let out = tftp(&["server", "--root", ".", "--addr", &addr], &dir);
    let err = stderr_of(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("cannot bind {addr}: "))
            && err.contains("another program has port")
            && err.contains("--addr 127.0.0.1:0"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_refused_name_is_quoted_once() {
    let scratch = Scratch::new("ux-quoted");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    let server = our_server(exe(), &root, &[]);
    let addr = server.addr.to_string();
    let out = tftp(
        &[
            "get",
            "../../etc/passwd",
            "stolen",
            "--addr",
            &addr,
            "--timeout",
            "2s",
        ],
        &local,
    );
    let err = stderr_of(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("ERROR 2") && err.contains(": \"../../etc/passwd\": "),
        "{err}"
    );
    assert!(!err.contains("\\\""), "quoted twice: {err}");
    assert!(!local.join("stolen").exists());
}

#[test]
fn a_closed_stdout_ends_the_server_quietly() {
    // `tftp server | head -1`. Each request for a missing file makes the server print a line.
    let scratch = Scratch::new("ux-closed-stdout");
    let mut command = Command::new(exe());
    command
        .arg("server")
        .arg("--root")
        .arg(scratch.folder("root"));
    command.args(["--addr", "127.0.0.1:0"]).stdin(Stdio::null());
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let wait = Duration::from_secs(20);
    shared::testing::assert_quiet_when_stdout_closes(command, wait, |addr| {
        let _ = socket.send_to(b"\x00\x01missing.bin\x00octet\x00", addr);
        let _ = socket.recv_from(&mut [0u8; 600]); // the ERROR 1, or 100 ms
    });
}

/// Starts `tftp get big.bin` (3 MB) from a fresh server of ours, into `local`, losing 20%
/// of its ACKs with a 50 ms timeout: the server waits 1 s for each lost ACK, so the
/// transfer lasts a minute, and the client retries often. Returns the server (keep it
/// alive) and the running client.
fn slow_get(scratch: &Scratch, extra: &[&str]) -> (Server, Program) {
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    make_file(&root, "big.bin", 3_000_000);
    let server = our_server(exe(), &root, &[]);
    let mut command = Command::new(exe());
    command
        .args(["get", "big.bin", "--addr", &server.addr.to_string()])
        .args(["--drop", "0.2", "--timeout", "50ms", "--tsize"])
        .args(extra)
        .current_dir(&local);
    let client = Program::spawn("tftp get", command).expect("start tftp get");
    (server, client)
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(tftp::partial::TEMP_PREFIX))
        .collect()
}

#[test]
fn off_a_terminal_progress_is_a_plain_line_every_two_seconds_and_retries_show() {
    let scratch = Scratch::new("ux-progress");
    let started = Instant::now();
    let (_server, mut client) = slow_get(&scratch, &[]);
    // Each lost ACK is sent again after 50 ms, and said so, as it happens.
    let retry = client
        .expect_stderr("no answer for ", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        retry.contains(": sending ACK ") && retry.ends_with(" again"),
        "{retry}"
    );
    // Then, no sooner than tftp::client::PLAIN_EVERY after the start, a plain line.
    let line = client
        .expect_stderr("progress: ", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(started.elapsed() >= tftp::client::PLAIN_EVERY, "{line}");
    assert!(line.starts_with("progress: "), "{line}");
    for part in [
        " of 2.86 MiB (",
        "%), ",
        "/s, ETA ",
        "s, ",
        " retransmissions",
    ] {
        assert!(line.contains(part), "no {part:?} in {line:?}");
    }
    assert!(!line.contains('\r'), "{line:?}");
    client.kill();
}

#[test]
fn no_server_means_each_retry_is_shown_then_one_clear_error() {
    let scratch = Scratch::new("ux-no-server");
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = tftp(
        &["get", "x.bin", "--addr", &addr, "--timeout", "20ms"],
        &scratch.folder("local"),
    );
    let err = stderr_of(&out);
    assert!(!out.status.success());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 6, "5 retries and the error: {err}");
    assert_eq!(lines[0], "no answer for 20ms: sending RRQ again", "{err}");
    assert!(
        lines[1..5]
            .iter()
            .all(|line| line.starts_with("no answer for ") && line.ends_with(": sending RRQ again")),
        "{err}"
    );
    assert!(
        lines[5].contains(&format!("no answer from {addr} after 6 tries"))
            && lines[5].contains("is the server running?"),
        "{err}"
    );
}

#[test]
fn a_put_to_no_server_shows_its_retries_too() {
    let scratch = Scratch::new("ux-put-no-server");
    let local = scratch.folder("local");
    make_file(&local, "up.bin", 1000);
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = tftp(
        &["put", "up.bin", "--addr", &addr, "--timeout", "20ms"],
        &local,
    );
    let err = stderr_of(&out);
    assert!(!out.status.success());
    assert_eq!(
        err.matches(": sending WRQ again\n").count(),
        5,
        "one line per retry: {err}"
    );
    assert!(err.contains("after 6 tries"), "{err}");
}

#[test]
fn ctrl_c_removes_the_partial_file_and_says_so() {
    let scratch = Scratch::new("ux-ctrl-c");
    let local = scratch.folder("local");
    let (_server, mut client) = slow_get(&scratch, &[]);
    // The size line comes after the server's first answer: the download is under way.
    client
        .expect_stdout("big.bin is 3000000 bytes", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(partial_files(&local).len(), 1, "the download is under way");
    // SIGINT, as Ctrl-C sends it (through kill(1): no unsafe here).
    let sent = Command::new("kill")
        .args(["-INT", &client.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = client
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(!status.success(), "{status}");
    assert_eq!(status.code(), Some(130), "{status}");
    client
        .expect_stderr(
            "interrupted: removed the partial download .tftp-partial-",
            Duration::from_secs(5),
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(partial_files(&local), Vec::<String>::new());
    assert!(!local.join("big.bin").exists());
}

/// `put` says what it sends again after a timeout, as `get` does: a lost DATA is named.
#[test]
fn put_names_each_block_it_sends_again() {
    let scratch = Scratch::new("ux-put-retry");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    make_file(&local, "up.bin", 100 * 512 + 7);
    let server = our_server(exe(), &root, &["--allow-write"]);
    let mut command = Command::new(exe());
    command
        .args(["put", "up.bin", "--addr", &server.addr.to_string()])
        // 30% of our DATA lost, lock-step: about 30 timeouts, each one line.
        .args(["--drop", "0.3", "--timeout", "50ms"])
        .current_dir(&local);
    let mut client = Program::spawn("tftp put", command).expect("start tftp put");
    let finished = client
        .finish(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(finished.status.success(), "{:?}", finished.stderr);
    let retries: Vec<&String> = finished
        .stderr
        .iter()
        .filter(|line| line.starts_with("no answer for "))
        .collect();
    assert!(!retries.is_empty(), "no retry line: {:?}", finished.stderr);
    for line in &retries {
        assert!(
            line.contains(": sending DATA ") && line.ends_with(" again"),
            "{line}"
        );
    }
    assert_eq!(
        std::fs::read(root.join("up.bin")).unwrap(),
        std::fs::read(local.join("up.bin")).unwrap(),
        "the upload arrived whole"
    );
}

/// `tftp get big.bin --tsize | head -1`: the reader of our stdout takes the readiness line
/// and goes. The next line (the size) ends the client quietly, and it leaves no partial
/// file behind (nor a whole one: the download did not finish).
///
/// The server is the test itself, so that the size line is written only after the pipe is
/// closed: it answers the RRQ with its OACK only then. (With a real server the client
/// may write that line before the pipe closes, and then rightly finish the download.)
#[test]
fn a_closed_stdout_ends_get_quietly_without_a_partial_file() {
    let scratch = Scratch::new("ux-get-closed-stdout");
    let local = scratch.folder("local");
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let mut child = Command::new(exe())
        .args(["get", "big.bin", "--tsize", "--addr", &addr])
        .current_dir(&local)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tftp get");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(shared::ready::parse(&line).is_some(), "{line:?}");
    drop(stdout); // as `head -1` does
                  // The RRQ (it may have come already: it waits in our socket), then our OACK with
                  // the size, from a new port (our TID).
    let mut request = [0u8; 600];
    let (_, client) = server.recv_from(&mut request).expect("the RRQ");
    assert_eq!(&request[..2], b"\x00\x01", "an RRQ");
    let transfer = UdpSocket::bind("127.0.0.1:0").unwrap();
    transfer
        .send_to(b"\x00\x06tsize\x001000000\x00", client)
        .unwrap();
    // Wait for the exit on another thread, so that a client that runs on is a failure
    // (and is killed), not a hang.
    let pid = child.id();
    let mut pipe = child.stderr.take().unwrap();
    let (done, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        let _ = done.send((child.wait(), stderr));
    });
    let Ok((status, stderr)) = exited.recv_timeout(Duration::from_secs(20)) else {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("tftp get ran on with its stdout closed");
    };
    let status = status.unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        partial_files(&local),
        Vec::<String>::new(),
        "a partial file was left"
    );
    assert!(
        !local.join("big.bin").exists(),
        "a file that did not finish"
    );
}
