//! `cargo xtask fuzz`: runs the parsers' fuzz targets (`fuzz/`) under AFL++, each for a
//! bounded time, and fails if any input made one panic.
//!
//! ```text
//! cargo install cargo-afl                # once (builds AFL++ too; a few minutes)
//! cargo xtask fuzz                       # every target, 10 s each
//! cargo xtask fuzz --time 60s            # every target, a minute each
//! cargo xtask fuzz tftp-packet ipmsg     # only these
//! ```
//!
//! The targets are `tftp-packet`, `tftp-options`, `netascii` (lesson 06), `ipmsg` (lesson
//! 05) and `framing` (the line and length-prefix decoders). What each one checks is in
//! `fuzz/src/`; it starts from the byte fixtures in `fuzz/seeds/TARGET/`.
//!
//! Steps: check that `cargo afl` is there; `cargo afl build` in `fuzz/` (into
//! `fuzz/target/`, whatever `CARGO_TARGET_DIR` says, so the binaries are where AFL is told
//! they are); then for each target `cargo afl fuzz -V SECS -i seeds/T -o out/T
//! target/debug/T`, one at a time (so it takes one core); then a table of what each run
//! did (AFL's own record is in `out/T/default/`: `fuzzer_stats`, `plot_data`, `queue/`). A previous run's `out/T` is kept as `out/T.previous`.
//!
//! A crash is an input in `fuzz/out/T/default/crashes/`. Replay one with
//! `fuzz/target/debug/T < FILE` (the AFL binary runs one input from stdin when AFL is not
//! driving it); `RUST_BACKTRACE=1` shows the stack.
//!
//! `fuzz/` is not a member of the workspace, so `cargo test --workspace`, clippy and CI
//! never build it nor need cargo-afl. CI does not run this command: fuzzing is for a
//! developer who has changed a parser (or has a spare hour).

use crate::cargo::workspace_root;
use anyhow::{bail, Context as _};
use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The fuzz targets: binaries of `fuzz/Cargo.toml`, with their seeds in `fuzz/seeds/`.
pub const TARGETS: [&str; 5] = [
    "tftp-packet",
    "tftp-options",
    "netascii",
    "ipmsg",
    "framing",
];

/// How long each target runs unless `--time` says otherwise: enough to find a shallow
/// panic after a parser change, short enough to run every time.
pub const DEFAULT_TIME: &str = "10s";

/// AFL runs a little longer than `-V` (start-up, calibration of the seeds); past this much
/// more we stop it ourselves.
const GRACE: Duration = Duration::from_secs(120);

/// How many crash files of each target the report names (one bug often gives dozens).
const SHOWN_CRASHES: usize = 5;

/// How many of AFL's last log lines are shown when it fails.
const LOG_LINES: usize = 20;

/// Fuzzes each of `targets` (all of [`TARGETS`] if empty) for `each`, one after the other.
/// An error if cargo-afl is missing, a build or run fails, or any target found a crash.
pub fn run(targets: &[String], each: Duration) -> anyhow::Result<()> {
    let targets = select(targets)?;
    if each < Duration::from_secs(1) {
        bail!("--time must be at least 1s (AFL counts whole seconds)");
    }
    check_cargo_afl()?;
    let fuzz_dir = workspace_root().join("fuzz");
    build(&fuzz_dir)?;

    let mut runs = Vec::new();
    for target in &targets {
        runs.push(fuzz_one(&fuzz_dir, target, each)?);
    }

    println!(
        "\n{:<14} {:>7} {:>13} {:>9} {:>7} {:>7} {:>5}",
        "target", "time", "executions", "execs/s", "corpus", "crashes", "hangs"
    );
    for run in &runs {
        let stats = &run.stats;
        println!(
            "{:<14} {:>6}s {:>13} {:>9.0} {:>7} {:>7} {:>5}",
            run.target,
            stats.run_time,
            stats.execs_done,
            stats.execs_per_sec,
            stats.corpus_count,
            run.crashes.len(),
            run.hangs.len()
        );
    }
    for run in runs.iter().filter(|run| !run.hangs.is_empty()) {
        println!(
            "\n{}: {} input(s) ran past AFL's time limit (a busy machine can cause this; \
             replay them to see whether one loops):",
            run.target,
            run.hangs.len()
        );
        for hang in &run.hangs {
            println!("  fuzz/target/debug/{} < {}", run.target, hang.display());
        }
    }
    let crashed: Vec<&Run> = runs.iter().filter(|run| !run.crashes.is_empty()).collect();
    if crashed.is_empty() {
        println!("\nno crashes");
        return Ok(());
    }
    let mut report = String::from("the fuzzers found inputs that panic; replay each with:");
    for run in crashed {
        for crash in run.crashes.iter().take(SHOWN_CRASHES) {
            report.push_str(&format!(
                "\n  RUST_BACKTRACE=1 fuzz/target/debug/{} < {}",
                run.target,
                crash.display()
            ));
        }
        if let Some(more) = run
            .crashes
            .len()
            .checked_sub(SHOWN_CRASHES)
            .filter(|&n| n > 0)
        {
            report.push_str(&format!(
                "\n  ... and {more} more in fuzz/out/{}/default/crashes/",
                run.target
            ));
        }
    }
    bail!(report)
}

/// The named targets, checked, or all of them.
fn select(names: &[String]) -> anyhow::Result<Vec<String>> {
    if names.is_empty() {
        return Ok(TARGETS.iter().map(|t| t.to_string()).collect());
    }
    for name in names {
        if !TARGETS.contains(&name.as_str()) {
            bail!(
                "no fuzz target `{name}`: the targets are {}",
                TARGETS.join(", ")
            );
        }
    }
    Ok(names.to_vec())
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// cargo-afl is a cargo subcommand: `cargo afl --version` answers if it is installed.
fn check_cargo_afl() -> anyhow::Result<()> {
    let installed = cargo()
        .args(["afl", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        bail!("cargo-afl is not installed; install it with:\n  cargo install cargo-afl");
    }
    Ok(())
}

/// `cargo afl build` of every target, instrumented, into `fuzz/target/debug/`.
fn build(fuzz_dir: &Path) -> anyhow::Result<()> {
    println!("cargo afl build (in fuzz/)");
    let status = cargo()
        .args(["afl", "build"])
        .current_dir(fuzz_dir)
        .env("CARGO_TARGET_DIR", fuzz_dir.join("target"))
        .status()
        .context("cannot run cargo afl build")?;
    if !status.success() {
        bail!(
            "cargo afl build failed ({status}); if it says the AFL runtime was not built, \
             run `cargo afl config --build`"
        );
    }
    Ok(())
}

/// What one target's run did.
struct Run {
    target: String,
    stats: Stats,
    crashes: Vec<PathBuf>,
    hangs: Vec<PathBuf>,
}

/// `cargo afl fuzz -V SECS -i seeds/T -o out/T target/debug/T`, stopped by AFL after SECS
/// (or by us, if it overruns by [`GRACE`]).
fn fuzz_one(fuzz_dir: &Path, target: &str, each: Duration) -> anyhow::Result<Run> {
    let out = fuzz_dir.join("out").join(target);
    std::fs::create_dir_all(fuzz_dir.join("out")).context("cannot create fuzz/out")?;
    if out.exists() {
        let previous = fuzz_dir.join("out").join(format!("{target}.previous"));
        if previous.exists() {
            std::fs::remove_dir_all(&previous)
                .with_context(|| format!("cannot remove {}", previous.display()))?;
        }
        std::fs::rename(&out, &previous)
            .with_context(|| format!("cannot move {} aside", out.display()))?;
    }
    let secs = each.as_secs().to_string();
    println!("{target}: {secs}s");
    let mut child = cargo()
        .args(["afl", "fuzz", "-V", &secs, "-i"])
        .arg(Path::new("seeds").join(target))
        .arg("-o")
        .arg(Path::new("out").join(target))
        .arg(Path::new("target").join("debug").join(target))
        .current_dir(fuzz_dir)
        // A plain log instead of the full-screen UI.
        .env("AFL_NO_UI", "1")
        // Run on a laptop as it is: no CPU governor change, no core dump setting to fix.
        .env("AFL_SKIP_CPUFREQ", "1")
        .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
        // Do not pin a core: the machine may be shared, and the core may be busy.
        .env("AFL_NO_AFFINITY", "1")
        // The seeds are tiny and fast: a short calibration is enough.
        .env("AFL_FAST_CAL", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run cargo afl fuzz")?;
    // Without its UI, AFL logs a line per test case (a megabyte a minute): keep the last
    // few of stdout and stderr, to show if it fails.
    let last_lines = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_LINES)));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|out| Box::new(out) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|err| Box::new(err) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let last_lines = Arc::clone(&last_lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut last = last_lines.lock().unwrap_or_else(PoisonError::into_inner);
                if last.len() == LOG_LINES {
                    last.pop_front();
                }
                last.push_back(line);
            }
        })
    })
    .collect();
    let deadline = Instant::now() + each + GRACE;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{target}: AFL ran {}s past its time, stopped",
                GRACE.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for reader in readers {
        let _ = reader.join();
    }
    if !status.success() {
        let last_lines = last_lines.lock().unwrap_or_else(PoisonError::into_inner);
        for line in last_lines.iter() {
            eprintln!("  {line}");
        }
        bail!("{target}: cargo afl fuzz failed ({status}); the end of its log is above");
    }
    let results = out.join("default");
    let stats_path = results.join("fuzzer_stats");
    let stats = std::fs::read_to_string(&stats_path)
        .with_context(|| format!("cannot read {}", stats_path.display()))?;
    Ok(Run {
        target: target.to_string(),
        stats: Stats::parse(&stats),
        crashes: findings(&results.join("crashes"))?,
        hangs: findings(&results.join("hangs"))?,
    })
}

/// The inputs AFL saved in `dir` (it also puts a README.txt there), relative to the
/// workspace so they can be pasted.
fn findings(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let root = workspace_root();
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.file_name().is_some_and(|name| name != "README.txt") {
            found.push(
                path.strip_prefix(&root)
                    .map_or(path.clone(), Path::to_path_buf),
            );
        }
    }
    found.sort();
    Ok(found)
}

/// The lines of AFL's `fuzzer_stats` that the summary shows.
#[derive(Debug, Default, PartialEq)]
struct Stats {
    run_time: u64,
    execs_done: u64,
    execs_per_sec: f64,
    corpus_count: u64,
}

impl Stats {
    /// `name : value` lines; a missing or odd value reads as 0.
    fn parse(text: &str) -> Stats {
        let mut stats = Stats::default();
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim() {
                "run_time" => stats.run_time = value.parse().unwrap_or(0),
                "execs_done" => stats.execs_done = value.parse().unwrap_or(0),
                "execs_per_sec" => stats.execs_per_sec = value.parse().unwrap_or(0.0),
                "corpus_count" => stats.corpus_count = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    /// What `cargo xtask fuzz ARGS` asks for: the targets and the time each.
    fn parse(args: &str) -> Result<(Vec<String>, Duration), clap::Error> {
        use clap::Parser as _;
        let args = ["cargo xtask", "fuzz"]
            .into_iter()
            .chain(args.split_whitespace());
        match crate::Cli::try_parse_from(args)?.command {
            Some(crate::Command::Fuzz { targets, time }) => Ok((targets, time)),
            other => panic!("not the fuzz command: {other:?}"),
        }
    }

    #[test]
    fn arguments_name_targets_and_a_time() {
        assert_eq!(parse("").unwrap(), (vec![], Duration::from_secs(10)));
        assert_eq!(
            parse("tftp-packet --time 60s ipmsg").unwrap(),
            (words("tftp-packet ipmsg"), Duration::from_secs(60))
        );
        assert_eq!(parse("--time=1m").unwrap().1, Duration::from_secs(60));
        let err = parse("--time 60").unwrap_err().to_string();
        assert!(err.contains("no unit"), "{err}");
        assert!(parse("--time").is_err());
        assert!(parse("--jobs 2").is_err());
    }

    #[test]
    fn targets_are_checked_and_default_to_all() {
        assert_eq!(select(&[]).unwrap(), TARGETS);
        assert_eq!(select(&words("framing")).unwrap(), ["framing"]);
        let err = select(&words("tftp")).unwrap_err().to_string();
        assert!(err.contains("tftp-packet, tftp-options"), "{err}");
    }

    #[test]
    fn every_target_is_a_binary_of_the_fuzz_crate_with_seeds() {
        let fuzz = workspace_root().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
        let bins: Vec<&str> = manifest
            .lines()
            .filter_map(|line| line.strip_prefix("name = \""))
            .filter_map(|rest| rest.strip_suffix('"'))
            .filter(|name| *name != "course-fuzz")
            .collect();
        assert_eq!(bins, TARGETS, "the [[bin]]s of fuzz/Cargo.toml");
        for target in TARGETS {
            let seeds = std::fs::read_dir(fuzz.join("seeds").join(target)).unwrap();
            assert!(seeds.count() >= 3, "fuzz/seeds/{target}");
        }
    }

    #[test]
    fn afl_stats_are_read() {
        let text = "start_time        : 1764641000\n\
                    run_time          : 61\n\
                    execs_done        : 1234567\n\
                    execs_per_sec     : 20238.80\n\
                    corpus_count      : 88\n\
                    saved_crashes     : 0\n";
        assert_eq!(
            Stats::parse(text),
            Stats {
                run_time: 61,
                execs_done: 1_234_567,
                execs_per_sec: 20238.8,
                corpus_count: 88,
            }
        );
        assert_eq!(Stats::parse("garbage"), Stats::default());
    }
}
