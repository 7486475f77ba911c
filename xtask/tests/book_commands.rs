//! `cargo xtask` commands the book tells a student to type that CI (`.ci/run`) does not
//! run: here they run through the real xtask binary (`cargo xtask check-book` asks for
//! each one).

use std::process::Command;

/// introduction.md and teaching/README.md: `cargo xtask list` prints one line per lesson
/// (number, package, roles, what it teaches) and how to ask a role for its options.
#[test]
fn list_prints_every_lesson_with_its_roles() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["list"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let lessons = [
        ("01", "tcp-basic", "server, client, burst"),
        ("02", "threaded-server", "server, client"),
        (
            "03",
            "udp-echo",
            "server, client, boundaries, max-size, refused",
        ),
        ("04", "full-duplex-chat", "alice, bob"),
        ("05", "broadcast", "listen, announce, subnet"),
        ("06", "tftp", "server, download, get, put"),
        ("07", "event-loop", "server"),
    ];
    for (number, package, roles) in lessons {
        assert!(
            text.lines().any(|line| line.starts_with(number)
                && line.contains(package)
                && line.contains(roles)),
            "no line for lesson {number} ({package}: {roles}) in:\n{text}"
        );
    }
    assert!(
        text.contains("cargo run -p PACKAGE -- ROLE --help"),
        "{text}"
    );
}
