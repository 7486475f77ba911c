//! `cargo xtask`: the course's own little build tool (the cargo-xtask convention: a plain
//! Rust program in the workspace, run through the alias in `.cargo/config.toml`).
//!
//! ```text
//! cargo xtask list                  every lesson, its roles, what it teaches
//! cargo xtask demo [LESSON ...]     run each lesson's server and clients together, live
//! cargo xtask check-book            check the book's includes, links, images and commands
//! cargo xtask figures [--check]     draw the book's SVG figures from traced runs of the lessons
//! cargo xtask bench tftp [--quick]  lesson 06's speed on loopback, next to peer TFTP programs
//! ```
//!
//! A lesson can be named by number (`01`), package (`tcp-basic`) or folder (`01-tcp-basic`).

mod bench;
mod book;
mod cargo;
mod demo;
mod figures;
mod lessons;
mod scenarios;

use anyhow::bail;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  list                 every lesson: number, package, roles, what it teaches
  demo [LESSON ...]    run each lesson's server with its scripted clients on loopback and
                       show the conversation live (default: every lesson). A LESSON is a
                       number (01), a package (tcp-basic) or a folder (01-tcp-basic).
  bench tftp [--quick] download a 64 MiB file on loopback from our TFTP server, tftpd-hpa
                       and atftpd with curl, tftp-hpa, busybox, atftp and our client, in
                       each option class; print the median MB/s table and the targets
  check-book           check the book (docs/src): every {{#include}} anchor exists, every
                       link and image resolves, every command names a real lesson, role
                       and option (builds the lessons to ask their --help), and is run
                       by a lesson's test, its demo, a figure, .ci/run or xtask's tests
  figures [--check]    draw the book's sequence diagrams (from --trace runs of the lessons
                       on loopback) and packet layouts into docs/src/figures; --check
                       fails if a committed figure is out of date
  help                 this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    match command.as_str() {
        "list" => {
            lessons::print_list();
            Ok(ExitCode::SUCCESS)
        }
        "demo" => {
            let chosen = lessons::select(rest)?;
            demo::run_all(&chosen)
        }
        "bench" => bench::run(rest),
        "check-book" => book::run(&cargo::workspace_root()),
        "figures" => figures::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}
