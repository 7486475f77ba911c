//! Commands the book tells a student to type that no other test runs as written
//! (`cargo xtask check-book` asks for each one): here they run with the book's role and
//! flags, on loopback and port 0, in a folder of the test's own, and each test checks
//! what the book says it shows.

use shared::testing::{run_with_input, start_ready};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// A folder for one test, removed at the end.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tftp(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tftp"));
    command.args(args);
    command
}

/// teaching/session-7.md: `server --root . --drop 0.3 --seed 2 --trace`, then `get
/// Cargo.toml /tmp/Cargo.toml --trace`. The server's trace marks each lost datagram with
/// `-x-`, its end-of-transfer line counts the retransmissions, the client's trace shows
/// each packet decoded, and the file arrives whole anyway (`cmp` prints nothing).
#[test]
fn a_traced_get_from_a_lossy_traced_server_arrives_whole() {
    let dir = TempDir(std::env::temp_dir().join(format!("tftp-book-{}", std::process::id())));
    let (root, local) = (dir.0.join("root"), dir.0.join("local"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&local).unwrap();
    // 30 blocks of 512 bytes (and a short last one): enough for seed 2 to lose some.
    let original: Vec<u8> = (0..15_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("Cargo.toml"), &original).unwrap();
    let copy = local.join("Cargo.toml");
    let (root_text, copy_text) = (root.display().to_string(), copy.display().to_string());

    let server_args = [
        "server",
        "--root",
        &root_text,
        "--addr",
        "127.0.0.1:0",
        "--drop",
        "0.3",
        "--seed",
        "2",
        "--trace",
    ];
    let (mut server, addr) = start_ready("server", tftp(&server_args), WAIT).unwrap();
    let addr = addr.to_string();
    let get_args = ["get", "--addr", &addr, "Cargo.toml", &copy_text, "--trace"];
    let get = run_with_input("get", tftp(&get_args), "", WAIT).unwrap();
    assert!(get.status.success(), "{get:?}");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        original,
        "cmp: the same bytes"
    );
    assert!(get.said("got \"Cargo.toml\""), "{get:?}");
    assert!(
        get.stderr
            .iter()
            .any(|l| l.contains("= RRQ \"Cargo.toml\" octet")),
        "the client's trace decodes its request: {:?}",
        get.stderr
    );

    // The server's end-of-transfer line, and its trace of the losses (stdout and stderr
    // come on two threads, in either order: read until both are there).
    let deadline = Instant::now() + WAIT;
    let done = |t: &str| t.contains("(stderr) -x- ") && t.contains(" retransmissions");
    while !done(&server.transcript()) {
        if server.next_line(deadline).is_none() {
            break;
        }
    }
    let transcript = server.transcript();
    assert!(done(&transcript), "{transcript}");
    assert!(
        transcript.contains("dropped (simulated loss): DATA block"),
        "{transcript}"
    );
}

/// docs/src/06-tftp.md, the first program: `download hello.txt --trace`. The trace shows
/// the RRQ going to the server's port, and DATA 1 coming back from ANOTHER port (the
/// server's TID), which the ACK goes to; the file arrives.
#[test]
fn a_traced_download_shows_the_tid_switch() {
    let dir = TempDir(std::env::temp_dir().join(format!("tftp-book-dl-{}", std::process::id())));
    let (root, local) = (dir.0.join("root"), dir.0.join("local"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(root.join("hello.txt"), b"hello\n").unwrap();
    let root_text = root.display().to_string();
    let server_args = ["server", "--root", &root_text, "--addr", "127.0.0.1:0"];
    let (_server, addr) = start_ready("server", tftp(&server_args), WAIT).unwrap();
    let addr_text = addr.to_string();
    let mut command = tftp(&["download", "--addr", &addr_text, "hello.txt", "--trace"]);
    command.current_dir(&local);
    let download = run_with_input("download", command, "", WAIT).unwrap();
    assert!(download.status.success(), "{download:?}");
    assert_eq!(std::fs::read(local.join("hello.txt")).unwrap(), b"hello\n");
    let to_server = format!("--> {addr} ");
    assert!(
        download.stderr.iter().any(|l| l.starts_with(&to_server)),
        "the RRQ goes to the server's port: {:?}",
        download.stderr
    );
    let from_tid = download
        .stderr
        .iter()
        .find(|l| l.starts_with("<-- "))
        .expect("a datagram received");
    assert!(
        !from_tid.starts_with(&format!("<-- {addr} ")),
        "DATA 1 comes from another port: {from_tid}"
    );
}
