//! Every command and subcommand of `cargo xtask` answers `--help` with its usage and exit
//! status 0 (issue 11: `demo --help` used to look for a lesson called `--help`).

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

/// Runs `cargo xtask ARGS`; it must exit 0 and print `Usage: cargo xtask USAGE` on stdout.
fn assert_help(args: &[&str], usage: &str) -> String {
    let output = xtask(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{args:?}: {output:?}");
    assert!(
        stdout.contains(&format!("Usage: cargo xtask {usage}")),
        "{args:?} printed no usage `{usage}`:\n{stdout}"
    );
    assert!(output.stderr.is_empty(), "{args:?}: {output:?}");
    stdout
}

#[test]
fn xtask_alone_and_xtask_help_list_every_command() {
    for args in [&[][..], &["--help"], &["-h"], &["help"]] {
        let text = assert_help(args, "[COMMAND]");
        for command in ["list", "demo", "bench", "check-book", "figures", "fuzz"] {
            assert!(
                text.contains(&format!("\n  {command} ")),
                "{args:?} lists no {command}:\n{text}"
            );
        }
    }
}

#[test]
fn demo_help_names_lessons_and_step() {
    let text = assert_help(&["demo", "--help"], "demo [OPTIONS] [LESSON]...");
    assert!(text.contains("--step"), "{text}");
    assert_help(&["help", "demo"], "demo");
}

#[test]
fn bench_help_and_bench_tftp_help() {
    let text = assert_help(&["bench", "--help"], "bench <COMMAND>");
    assert!(text.contains("tftp"), "{text}");
    let text = assert_help(&["bench", "tftp", "--help"], "bench tftp [OPTIONS]");
    for flag in ["--quick", "--runs <N>", "--mib <N>", "--timeout <TIME>"] {
        assert!(text.contains(flag), "no {flag}:\n{text}");
    }
}

#[test]
fn check_book_figures_and_list_help() {
    assert_help(&["check-book", "--help"], "check-book");
    let text = assert_help(&["figures", "--help"], "figures [OPTIONS]");
    assert!(text.contains("--check"), "{text}");
    assert_help(&["list", "--help"], "list");
}

#[test]
fn fuzz_help() {
    let text = assert_help(&["fuzz", "--help"], "fuzz [OPTIONS] [TARGET]...");
    assert!(text.contains("--time <TIME>"), "{text}");
}

#[test]
fn a_mistake_is_an_error_that_points_to_help() {
    for args in [
        &["deploy"][..],
        &["demo", "--stpe"],
        &["bench", "tftp", "--timeout", "5"],
        &["figures", "extra"],
    ] {
        let output = xtask(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains("try '--help'"), "{args:?}: {stderr}");
    }
    // A time without its unit says which unit to write.
    let output = xtask(&["bench", "tftp", "--timeout", "5"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("5s"));
}

#[test]
fn demo_of_an_unknown_lesson_names_the_lessons() {
    let output = xtask(&["demo", "99"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr.contains("no lesson called `99`"), "{stderr}");
    assert!(stderr.contains("01-tcp-basic"), "{stderr}");
}
