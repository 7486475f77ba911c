//! What a person at the keyboard sees: times with units, hints that fit the error, a
//! closed stdout, the progress line off a terminal, each retry as it happens, and Ctrl-C
//! during a download.

mod peers;

use peers::*;
use std::io::{BufRead as _, BufReader, Read as _};
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
    // `tftp server | head -1`: the reader of our stdout goes away after one line.
    let scratch = Scratch::new("ux-closed-stdout");
    let root = scratch.folder("root");
    let mut child = Command::new(exe())
        .arg("server")
        .arg("--root")
        .arg(&root)
        .args(["--addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = shared::ready::parse(&line).unwrap();
    drop(stdout);
    // Each request for a missing file makes the server print a line; the first print
    // after the close fails and must end the program, with exit code 0 and no panic.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let _ = socket.send_to(b"\x00\x01missing.bin\x00octet\x00", addr);
        let _ = socket.recv_from(&mut [0u8; 600]); // the ERROR 1, or 100 ms
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server runs on with stdout closed");
        }
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
