//! `cargo xtask demo --step` through the real xtask binary, on lesson 01: without a
//! terminal on stdin it does not pause, every scene shows its caption, and the lines come
//! in the order things happened (each echo after the server read the line, each talk
//! reply after the operator sent it).

use std::process::{Command, Stdio};

#[test]
fn demo_step_without_a_terminal_runs_every_scene_in_order() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["demo", "--step", "01"])
        .stdin(Stdio::null())
        .output()
        .expect("the xtask binary runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(text.contains("stdin is not a terminal"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{text}"))
    };
    // Four scenes, each with its caption, in order.
    assert!(
        at("--- 1: ") < at("--- 2: ")
            && at("--- 2: ") < at("--- 3: ")
            && at("--- 3: ") < at("--- 4: "),
        "{text}"
    );
    assert!(!text.contains("--- 5: "), "{text}");
    for (n, line) in ["hello", "how are you?", "bye"].iter().enumerate() {
        let read = at(&format!("message {}: {line}", n + 1));
        assert!(read < at(&format!("[client] reply: {line}")), "{text}");
    }
    assert!(at("sending 3 messages") < at("read #1: 14 bytes"), "{text}");
    // The half-duplex talk: each reply reaches the client after the operator's line left.
    assert!(at("[talk] ") > at("--- 4: "), "{text}");
    assert!(
        at("reply 1: hi Xiaowen") < at("[xiaowen] reply: hi Xiaowen"),
        "{text}"
    );
    assert!(at("reply 2: bye") < at("[xiaowen] reply: bye"), "{text}");
    assert!(
        at("01-tcp-basic             ok") > at("=== summary ==="),
        "{text}"
    );
}
