//! `cargo xtask bench hello`: lesson 02's protocol served four ways, under the same load.
//!
//! - lesson 02, a thread per client (`threaded-server server`);
//! - lesson 02, a pool of workers (`threaded-server server --workers 64`): it serves 64
//!   clients at a time; the others are connected but wait for a free worker;
//! - lesson 07, one thread and an event loop (`event-loop server`);
//! - tokio with one worker thread (`bench/tokio-hello`, outside the workspace, built here).
//!
//! Each server runs alone, pinned to CPU 0; the load runs on CPU 1 (taskset, as in
//! `bench tftp`). The load is one thread with its own event loop (mio), so that 10,000
//! clients cost it no threads: it connects N clients, waits until each is greeted, reads
//! the server's resident memory (VmRSS in /proc/PID/status) before and after, then lets
//! every client send a name, wait for its `Hello`, and send the next, for a fixed time.
//! It prints replies per second, the 50th and 99th percentile of the time from a name
//! sent to its answer, the resident memory per idle connection, the server's CPU time
//! as a share of the measured time (near 100%: the server is what limits the rate; well
//! below: the load is, and the servers cannot be told apart by their rate), and the
//! server's CPU time per reply (what serving costs, whichever side limits the rate).
//!
//! A benchmark, not a test: the numbers depend on the machine and on what else runs.
//! The targets it prints: lesson 07 at least as fast as tokio at 100 and 1,000 clients;
//! 10,000 clients held with none refused; at most 4 KiB resident per idle connection.

use crate::cargo::{self, Profile};
use anyhow::{bail, Context as _};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use shared::testing::{find_on_path, Program};
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// `cargo xtask bench hello`'s options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// A fast check for CI: 1 and 100 clients, 1 s each, no tokio (its build takes a
    /// minute); other options still win.
    #[arg(long)]
    quick: bool,
    /// How long each run sends names, with its unit (`5s`) [default: 5s].
    #[arg(long, value_name = "TIME", value_parser = shared::duration::parse)]
    time: Option<Duration>,
    /// Numbers of clients, comma-separated [default: 1,100,1000,10000].
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    clients: Vec<usize>,
    /// Runs per cell, in rounds; the table shows the median [default: 3, --quick: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    runs: Option<u16>,
}

/// Every server runs on this CPU, the load on [`LOAD_CPU`].
const SERVER_CPU: usize = 0;
const LOAD_CPU: usize = 1;
/// The pool's size for lesson 02's `--workers`.
const WORKERS: usize = 64;
/// Connections being set up at once (a connect() not yet greeted): lesson 02's backlog
/// is std's 128, and a flood of SYNs past a full backlog is dropped and retried 1 s later.
const CONNECTING_AT_ONCE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    ThreadPerClient,
    Pool,
    EventLoop,
    Tokio,
}

impl Server {
    fn label(self) -> String {
        match self {
            Server::ThreadPerClient => "02 thread per client".into(),
            Server::Pool => format!("02 pool of {WORKERS}"),
            Server::EventLoop => "07 event loop".into(),
            Server::Tokio => "tokio current_thread".into(),
        }
    }
}

/// What one run (one server, one number of clients) measured.
#[derive(Debug, Default, Clone)]
struct Run {
    clients: usize,
    /// Clients greeted (the rest waited, or were refused).
    held: usize,
    /// connect() failures (refused, reset) and connections closed by the server.
    refused: usize,
    replies_per_second: f64,
    p50: Duration,
    p99: Duration,
    /// Resident memory added per open idle connection, in bytes.
    rss_per_connection: Option<f64>,
    /// The server's CPU time during the measured time, as a share of it: near 100%, the
    /// server is the bottleneck; well below, the load (or the waiting) is.
    server_cpu: Option<f64>,
}

/// `cargo xtask bench hello [OPTIONS]`.
pub fn run(options: &Options) -> anyhow::Result<ExitCode> {
    let time = options.time.unwrap_or(if options.quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    });
    let rounds = options
        .runs
        .map_or(if options.quick { 1 } else { 3 }, usize::from);
    let counts = match (&options.clients[..], options.quick) {
        ([], true) => vec![1, 100],
        ([], false) => vec![1, 100, 1000, 10_000],
        (counts, _) => counts.to_vec(),
    };
    // 10,000 clients are 10,000 file descriptors here and in the server (which inherits
    // our limit): raise the soft limit to the hard one.
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let biggest = counts.iter().copied().max().unwrap_or(1);
    if (files as usize) < biggest + 100 {
        eprintln!(
            "note: only {files} open files allowed (ulimit -Hn): runs past about {} clients will fail",
            files.saturating_sub(100)
        );
    }

    let release = cargo::build_bins(&["threaded-server", "event-loop"], Profile::Release, false)?;
    let mut servers = vec![Server::ThreadPerClient, Server::Pool, Server::EventLoop];
    let tokio = if options.quick {
        None
    } else {
        servers.push(Server::Tokio);
        Some(build_tokio_hello()?)
    };

    println!(
        "\nbench hello: each client sends a name, waits for its Hello, sends the next; {} per run; \
         servers pinned to CPU {SERVER_CPU}, the load (one thread, mio) to CPU {LOAD_CPU}; \
         the median of {rounds} run(s) per cell\n",
        shared::duration::show(time)
    );
    // Rounds: every server at every count once per round, the servers one after the other
    // at each count, so that a busy moment of the machine hits them alike; the table shows
    // each cell's median run. 07 and tokio are also compared round by round (their two
    // runs are seconds apart): the median of those ratios is the target's number.
    let mut runs: Vec<(Server, usize, Vec<Run>)> = Vec::new();
    let mut paired: Vec<(usize, f64)> = Vec::new();
    let mut failed = false;
    for round in 1..=rounds {
        for &clients in &counts {
            let mut rates: Vec<(Server, f64)> = Vec::new();
            for &server in &servers {
                let exe = match server {
                    Server::ThreadPerClient | Server::Pool => release.join("threaded-server"),
                    Server::EventLoop => release.join("event-loop"),
                    Server::Tokio => tokio.clone().context("tokio-hello was not built")?,
                };
                let run = match one_run(server, &exe, clients, time) {
                    Ok(run) => run,
                    Err(err) => {
                        println!("{:<22} {clients:>7}  failed: {err:#}", server.label());
                        failed = true;
                        continue;
                    }
                };
                if rounds > 1 {
                    eprintln!(
                        "round {round}/{rounds}: {} at {clients}: {:.0} replies/s",
                        server.label(),
                        run.replies_per_second
                    );
                }
                rates.push((server, run.replies_per_second));
                match runs
                    .iter_mut()
                    .find(|(s, c, _)| *s == server && *c == clients)
                {
                    Some((_, _, cell)) => cell.push(run),
                    None => runs.push((server, clients, vec![run])),
                }
            }
            let rate = |wanted: Server| rates.iter().find(|(s, _)| *s == wanted).map(|r| r.1);
            if let (Some(ours), Some(tokio)) = (rate(Server::EventLoop), rate(Server::Tokio)) {
                if tokio > 0.0 {
                    paired.push((clients, ours / tokio));
                }
            }
        }
    }

    println!(
        "\n{:<22} {:>7} {:>13} {:>13} {:>10} {:>10} {:>12} {:>11} {:>10}",
        "server",
        "clients",
        "held",
        "replies/s",
        "p50",
        "p99",
        "RSS/idle",
        "server CPU",
        "CPU/reply"
    );
    let mut results = Vec::new();
    for (server, _, mut cell) in runs {
        cell.sort_by(|a, b| a.replies_per_second.total_cmp(&b.replies_per_second));
        let median = cell.swap_remove(cell.len() / 2);
        print_row(server, &median);
        results.push((server, median));
    }
    print_targets(&results, &paired);
    // A run that could not be done at all (a server that did not start, a connect that
    // failed) is an error; numbers below a target are not.
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Builds bench/tokio-hello (its own Cargo.lock, outside the workspace) in release mode,
/// into its own folder of the target dir; returns the binary.
fn build_tokio_hello() -> anyhow::Result<PathBuf> {
    let manifest = cargo::workspace_root().join("bench/tokio-hello/Cargo.toml");
    let target = cargo::target_dir().join("tokio-hello");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build of {} failed ({status})", manifest.display());
    }
    Ok(target.join("release/tokio-hello"))
}

/// `exe` run through `taskset -c CPU`, which becomes `exe` (same PID); unpinned without
/// taskset or on one CPU.
fn pinned(cpu: usize, exe: &Path) -> Command {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    match find_on_path("taskset") {
        Some(taskset) if cpu < cpus => {
            let mut command = Command::new(taskset);
            command.args(["-c", &cpu.to_string()]).arg(exe);
            command
        }
        _ => Command::new(exe),
    }
}

/// Pins this process (the load) to `cpu` with `taskset -p`.
fn pin_self(cpu: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if let Some(taskset) = find_on_path("taskset").filter(|_| cpu < cpus) {
        let _ = Command::new(taskset)
            .args([
                "-p",
                "-c",
                &cpu.to_string(),
                &std::process::id().to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

fn start(server: Server, exe: &Path, clients: usize) -> anyhow::Result<(Program, SocketAddr)> {
    let mut command = pinned(SERVER_CPU, exe);
    let max = (clients + 10).to_string();
    match server {
        Server::ThreadPerClient => {
            command.args([
                "server",
                "--addr",
                "127.0.0.1:0",
                "--quiet",
                "--max-clients",
                &max,
            ]);
        }
        Server::Pool => {
            let workers = WORKERS.to_string();
            command.args([
                "server",
                "--addr",
                "127.0.0.1:0",
                "--quiet",
                "--max-clients",
                &max,
            ]);
            command.args(["--workers", &workers]);
        }
        Server::EventLoop => {
            command.args([
                "server",
                "--addr",
                "127.0.0.1:0",
                "--quiet",
                "--max-clients",
                &max,
            ]);
        }
        Server::Tokio => {
            command.arg("127.0.0.1:0");
        }
    }
    let mut program = Program::spawn(&server.label(), command)?;
    let addr = program.wait_ready(Duration::from_secs(10))?;
    Ok((program, addr))
}

/// User plus system CPU time of `pid` (all its threads) so far: fields 14 and 15 of
/// /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11); // field 3 is the first here
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// VmRSS of `pid`, in bytes.
fn resident(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// One load client: its socket, what it has read of the current line, when it sent.
struct Client {
    stream: TcpStream,
    greeted: bool,
    closed: bool,
    sent_at: Option<Instant>,
    request: Vec<u8>,
}

fn one_run(server: Server, exe: &Path, clients: usize, time: Duration) -> anyhow::Result<Run> {
    pin_self(LOAD_CPU);
    let (mut program, addr) = start(server, exe, clients)?;
    let pid = program.id();
    // Let the server settle (its first allocations) before the baseline.
    let before = resident(pid);

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4096);
    let mut all: Vec<Client> = Vec::with_capacity(clients);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut run = Run {
        clients,
        ..Run::default()
    };

    // 1. Connect every client, at most CONNECTING_AT_ONCE waiting for a greeting.
    let greet_deadline =
        Instant::now() + Duration::from_secs(20) + Duration::from_millis(5) * clients as u32;
    let mut waiting = 0;
    let mut settled = 0; // greeted, refused, or given up on
                         // The pool greets only WORKERS clients: the others stay connected, waiting, so
                         // waiting for their greetings would stop the connects.
    let pace = if server == Server::Pool {
        usize::MAX
    } else {
        CONNECTING_AT_ONCE
    };
    while settled < clients && Instant::now() < greet_deadline {
        while all.len() < clients && waiting < pace {
            let token = Token(all.len());
            match TcpStream::connect(addr) {
                Ok(mut stream) => {
                    poll.registry()
                        .register(&mut stream, token, Interest::READABLE)?;
                    let request = format!("c{}\n", all.len()).into_bytes();
                    all.push(Client {
                        stream,
                        greeted: false,
                        closed: false,
                        sent_at: None,
                        request,
                    });
                    waiting += 1;
                }
                Err(err) => bail!("cannot connect client {}: {err}", all.len() + 1),
            }
        }
        poll.poll(&mut events, Some(Duration::from_millis(200)))?;
        for event in events.iter() {
            let client = &mut all[event.token().0];
            if client.greeted || client.closed {
                continue;
            }
            match read_lines(client, &mut buffer) {
                Ok(0) => {}
                Ok(_) => {
                    client.greeted = true;
                    run.held += 1;
                    waiting -= 1;
                    settled += 1;
                }
                Err(_) => {
                    client.closed = true;
                    run.refused += 1;
                    waiting -= 1;
                    settled += 1;
                }
            }
        }
        if server == Server::Pool && all.len() == clients && run.held >= WORKERS.min(clients) {
            break;
        }
    }
    // 2. Memory: every greeted client is connected and idle now.
    let after = resident(pid);
    // Divided by every open connection: the pool's waiting clients cost memory too.
    let open = all.iter().filter(|client| !client.closed).count();
    if let (Some(before), Some(after)) = (before, after) {
        if open > 0 {
            run.rss_per_connection = Some(after.saturating_sub(before) as f64 / open as f64);
        }
    }

    // 3. Load: every greeted client sends a name and sends the next on each answer.
    let warmup = Duration::from_millis(300);
    let started = Instant::now();
    let measure_from = started + warmup;
    let end = measure_from + time;
    for client in all.iter_mut().filter(|c| c.greeted && !c.closed) {
        send(client);
    }
    let mut latencies: Vec<u32> = Vec::new();
    let mut replies = 0u64;
    let mut cpu_from: Option<(Instant, Duration)> = None;
    let mut answered: Vec<usize> = Vec::new();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if cpu_from.is_none() && now >= measure_from {
            cpu_from = cpu_time(pid).map(|cpu| (now, cpu));
        }
        poll.poll(&mut events, Some(end - now))?;
        // Read every answer this turn brought, then send every next name. (Sending each
        // name as its answer is read wakes a server that sleeps between two names, once
        // per name: a cost the load pays, which would then limit the rate, not the server.)
        answered.clear();
        for event in events.iter() {
            let client = &mut all[event.token().0];
            if !client.greeted || client.closed {
                continue;
            }
            match read_lines(client, &mut buffer) {
                Ok(0) => {}
                Ok(answers) => {
                    let now = Instant::now();
                    if let Some(sent) = client.sent_at.take() {
                        if now >= measure_from && now < end {
                            replies += answers as u64;
                            let micros = now.duration_since(sent).as_micros();
                            latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                        }
                    }
                    answered.push(event.token().0);
                }
                Err(_) => {
                    client.closed = true;
                    run.refused += 1;
                }
            }
        }
        for &i in &answered {
            send(&mut all[i]);
        }
    }
    run.replies_per_second = replies as f64 / time.as_secs_f64();
    if let (Some((at, from)), Some(to)) = (cpu_from, cpu_time(pid)) {
        let wall = at.elapsed().as_secs_f64();
        run.server_cpu = Some(to.saturating_sub(from).as_secs_f64() / wall.max(1e-3));
    }
    latencies.sort_unstable();
    let at = |q: f64| -> Duration {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        Duration::from_micros(latencies.get(i).copied().unwrap_or(0).into())
    };
    run.p50 = at(0.50);
    run.p99 = at(0.99);
    drop(all);
    program.kill();
    Ok(run)
}

/// Reads what has arrived; returns how many whole lines (answers) it held. An error
/// (or end of stream) means the server closed or refused this client.
fn read_lines(client: &mut Client, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut lines = 0;
    loop {
        match client.stream.read(buffer) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                let chunk = &buffer[..n];
                if chunk.starts_with(b"server busy") {
                    return Err(ErrorKind::ConnectionRefused.into());
                }
                lines += chunk.iter().filter(|&&b| b == b'\n').count();
                if n < buffer.len() {
                    // A short read emptied the socket: the next would say WouldBlock
                    // (edge-triggered: new bytes raise a new event). One system call
                    // less per reply keeps the load from being the bottleneck.
                    return Ok(lines);
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(lines),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Sends this client's name (a few bytes: the socket's send buffer always has room).
fn send(client: &mut Client) {
    client.sent_at = Some(Instant::now());
    if client.stream.write_all(&client.request).is_err() {
        client.closed = true;
    }
}

fn show_time(time: Duration) -> String {
    if time >= Duration::from_millis(10) {
        format!("{:.0} ms", time.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} ms", time.as_secs_f64() * 1e3)
    }
}

fn print_row(server: Server, run: &Run) {
    let held = if run.refused > 0 {
        format!("{}/{} ({} refused)", run.held, run.clients, run.refused)
    } else {
        format!("{}/{}", run.held, run.clients)
    };
    let rss = match run.rss_per_connection {
        Some(bytes) if run.clients >= 100 => format!("{:.1} KiB", bytes / 1024.0),
        _ => "-".into(),
    };
    let cpu = match run.server_cpu {
        Some(share) => format!("{:.0}%", share * 100.0),
        None => "-".into(),
    };
    // The server's CPU time per reply: what serving costs, whichever side limits the rate.
    let per_reply = match run.server_cpu {
        Some(share) if run.replies_per_second > 0.0 => {
            format!("{:.1} us", share / run.replies_per_second * 1e6)
        }
        _ => "-".into(),
    };
    println!(
        "{:<22} {:>7} {:>13} {:>13} {:>10} {:>10} {:>12} {:>11} {:>10}",
        server.label(),
        run.clients,
        held,
        format!("{:.0}", run.replies_per_second),
        show_time(run.p50),
        show_time(run.p99),
        rss,
        cpu,
        per_reply
    );
}

fn print_targets(results: &[(Server, Run)], paired: &[(usize, f64)]) {
    let find = |server: Server, clients: usize| {
        results
            .iter()
            .find(|(s, run)| *s == server && run.clients == clients)
            .map(|(_, run)| run)
    };
    println!("\ntargets (reported, not asserted):");
    for clients in [100, 1000] {
        match (
            find(Server::EventLoop, clients),
            find(Server::Tokio, clients),
        ) {
            (Some(ours), Some(tokio)) if tokio.replies_per_second > 0.0 => {
                let of_medians = ours.replies_per_second / tokio.replies_per_second;
                let mut ratios: Vec<f64> = paired
                    .iter()
                    .filter(|(count, _)| *count == clients)
                    .map(|(_, ratio)| *ratio)
                    .collect();
                ratios.sort_by(f64::total_cmp);
                let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(of_medians);
                let verdict = if ratio >= 1.0 { "met" } else { "NOT met" };
                let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
                println!(
                    "  07 vs tokio at {clients} clients: {ratio:.2}x, the median of the rounds' ratios [{}] \
                     (the medians' ratio: {of_medians:.2}x) (target >= 1.0x): {verdict}",
                    each.join(" ")
                );
            }
            _ => println!("  07 vs tokio at {clients} clients: not measured"),
        }
    }
    match find(Server::EventLoop, 10_000) {
        Some(run) => {
            let verdict = if run.held == 10_000 && run.refused == 0 {
                "met"
            } else {
                "NOT met"
            };
            println!(
                "  07 holds 10,000 clients: {} held, {} refused: {verdict}",
                run.held, run.refused
            );
        }
        None => println!("  07 holds 10,000 clients: not measured"),
    }
    let biggest = results
        .iter()
        .filter(|(s, run)| *s == Server::EventLoop && run.rss_per_connection.is_some())
        .max_by_key(|(_, run)| run.clients);
    match biggest {
        Some((_, run)) => {
            let kib = run.rss_per_connection.unwrap_or(0.0) / 1024.0;
            let verdict = if kib <= 4.0 { "met" } else { "NOT met" };
            println!(
                "  07 memory per idle connection at {} clients: {kib:.2} KiB (target <= 4 KiB): {verdict}",
                run.clients
            );
        }
        None => println!("  07 memory per idle connection: not measured"),
    }
}
