//! Our peer against the tutorials' two-thread chat (`tests/python/two_thread_chat.py`,
//! written from their description): plain text both ways, in UTF-8 and in GBK. Loopback
//! only; each side's readiness is its `listening on` line.

use shared::testing::{require_tool, Program};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn tutorial_chat(python: &std::path::Path, encoding: &str) -> Program {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/two_thread_chat.py"
    );
    let mut command = Command::new(python);
    command
        .args(["-u", script, "127.0.0.1", encoding])
        .env("PYTHONIOENCODING", "utf-8");
    Program::spawn("python", command).unwrap()
}

fn peer(python_addr: &str, encoding: &str) -> Program {
    let mut command = Command::new(env!("CARGO_BIN_EXE_full-duplex-chat"));
    command.args([
        "alice",
        "--bind",
        "127.0.0.1:0",
        "--peer",
        python_addr,
        "--encoding",
        encoding,
    ]);
    Program::spawn("alice", command).unwrap()
}

/// For each encoding: our first line tells the script who we are (it learns its peer
/// from the first datagram, as the tutorial's does); then both type, and each side
/// prints exactly the other's text: no name, no wrapper.
#[test]
fn the_tutorials_two_thread_chat_talks_with_our_peer() {
    let Some(python) = require_tool("python3", "python3") else {
        return;
    };
    for encoding in ["utf-8", "gbk"] {
        let mut script = tutorial_chat(&python, encoding);
        let script_addr = script.wait_ready(WAIT).unwrap().to_string();
        let mut alice = peer(&script_addr, encoding);
        let alice_addr = alice.wait_ready(WAIT).unwrap();

        alice.send("你好, python\n").unwrap();
        script
            .expect_stdout(&format!("first from {alice_addr}: 你好, python"), WAIT)
            .unwrap();
        alice.send("one more\n").unwrap();
        script
            .expect_stdout(&format!("from {alice_addr}: one more"), WAIT)
            .unwrap();
        script.send("你好, rust\nbye\n").unwrap();
        alice
            .expect_stdout(&format!("{script_addr}: 你好, rust"), WAIT)
            .unwrap();
        alice
            .expect_stdout(&format!("{script_addr}: bye"), WAIT)
            .unwrap();

        script.close_stdin();
        assert!(
            script.wait_exit(WAIT).unwrap().success(),
            "{}",
            script.transcript()
        );
        alice.send("/quit\n").unwrap();
        assert!(alice.wait_exit(WAIT).unwrap().success());
    }
}
