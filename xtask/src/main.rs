//! `cargo xtask`: the course's own little build tool (the cargo-xtask convention: a plain
//! Rust program in the workspace, run through the alias in `.cargo/config.toml`).
//!
//! ```text
//! cargo xtask list                  every lesson, its roles, what it teaches
//! cargo xtask demo [--step] [LESSON ...]
//!                                   run each lesson's server and clients together, live
//! cargo xtask check-book            check the book's includes, links, images and commands
//! cargo xtask figures [--check]     draw the book's SVG figures from traced runs of the lessons
//! cargo xtask bench tftp [--quick]  lesson 06's speed on loopback, next to peer TFTP programs
//! cargo xtask bench hello [--quick] lessons 02 and 07 against tokio: replies/s, latency, memory
//! cargo xtask fuzz [TARGET ...]     fuzz the parsers with AFL++ (fuzz/), a bounded time each
//! ```
//!
//! Every command answers `--help` (clap).
//!
//! A lesson can be named by number (`01`), package (`tcp-basic`) or folder (`01-tcp-basic`).

mod bench;
mod bench_hello;
mod book;
mod cargo;
mod demo;
mod figures;
mod fuzz;
mod lessons;
mod scenarios;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The course's own tool: run the lessons together, check the book, draw its figures,
/// measure lesson 06.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every lesson: number, package, roles, what it teaches.
    List,
    /// Run each lesson's server with its scripted clients, live.
    ///
    /// Servers start on 127.0.0.1 port 0; the clients get the real address and a script
    /// on stdin; every line any of them prints is shown as it happens, prefixed with who
    /// printed it. Each scene has a caption that says what to watch.
    Demo {
        /// Pause before each scene until Enter (for a projector); without a terminal,
        /// or at end of input, it just goes on.
        #[arg(long)]
        step: bool,
        /// Lessons to run (default: every one): a number (01), a package (tcp-basic) or
        /// a folder (01-tcp-basic).
        #[arg(value_name = "LESSON")]
        lessons: Vec<String>,
    },
    /// Measure a lesson's speed on loopback.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
    /// Check the book's includes, links, images and commands.
    ///
    /// In docs/src: every {{#include}} anchor exists, every link and image resolves,
    /// every command names a real lesson, role and option (builds the lessons to ask
    /// their --help), and is run by a lesson's test, its demo, a figure, .ci/run or
    /// xtask's tests.
    CheckBook,
    /// Draw the book's figures into docs/src/figures.
    ///
    /// The sequence diagrams come from --trace runs of the lessons on loopback; the
    /// packet layouts from the RFCs' field tables.
    Figures {
        /// Draw them in memory and fail if a committed figure is out of date.
        #[arg(long)]
        check: bool,
    },
    /// Fuzz the parsers with AFL++ (needs `cargo install cargo-afl`), each target for a
    /// bounded time, one after the other; fails if any input made one panic.
    ///
    /// The targets are in fuzz/ (not a workspace member; CI does not run this). What each
    /// checks, and how to replay a crash: fuzz/README.md.
    Fuzz {
        /// How long each target runs (AFL counts whole seconds).
        #[arg(long, value_name = "TIME", default_value = fuzz::DEFAULT_TIME, value_parser = shared::duration::parse)]
        time: std::time::Duration,
        /// Targets (default: every one): tftp-packet, tftp-options, netascii, ipmsg, framing.
        #[arg(value_name = "TARGET")]
        targets: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Lesson 06's speed on loopback, next to the TFTP programs people use.
    ///
    /// Downloads a 64 MiB file from our TFTP server, tftpd-hpa and atftpd with curl,
    /// tftp-hpa, busybox, atftp and our client, in each option class; prints the median
    /// MB/s table and the targets.
    ///
    /// Needs curl, tftp (tftp-hpa), busybox, atftp, in.tftpd (tftpd-hpa), and atftpd
    /// unpacked under target/peer-tools (see .ci/run) or named by ATFTPD=/path/to/atftpd;
    /// a missing program's rows say `n/a (missing)`.
    Tftp(bench::Options),
    /// Lesson 02's protocol served by lesson 02 (a thread per client, a pool), lesson 07
    /// (one thread, an event loop) and tokio (one worker thread), at 1, 100, 1,000 and
    /// 10,000 clients: replies/s, p50/p99 latency, resident memory per idle connection.
    ///
    /// Servers on CPU 0, the load on CPU 1 (taskset). Builds bench/tokio-hello (outside
    /// the workspace) unless --quick.
    Hello(bench_hello::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Some(command) = cli.command else {
        use clap::CommandFactory as _;
        Cli::command().print_help()?;
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        Command::List => {
            lessons::print_list();
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { step, lessons } => {
            let chosen = lessons::select(&lessons)?;
            demo::run_all(&chosen, step)
        }
        Command::Bench {
            which: Bench::Tftp(settings),
        } => bench::run(&settings),
        Command::Bench {
            which: Bench::Hello(options),
        } => bench_hello::run(&options),
        Command::CheckBook => book::run(&cargo::workspace_root()),
        Command::Figures { check } => figures::run(check),
        Command::Fuzz { time, targets } => fuzz::run(&targets, time).map(|()| ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
