//! `cargo xtask bench tftp`: how fast lesson 06's server and client move a big file on
//! loopback, next to the TFTP programs people actually use.
//!
//! It builds the lesson in release mode, writes a 64 MiB file of pseudo-random bytes into a
//! folder under the target dir, starts three servers on 127.0.0.1 (ours, tftpd-hpa and
//! atftpd, each by hand on a free port, never as a system service) and downloads the file
//! with each client (curl, the tftp-hpa client, busybox tftp, atftp and ours) in each class
//! of options, a few runs each. Every run is bounded by a timeout (a hang counts as
//! `timeout`, never stalls the bench) and its file is compared with the original (a wrong
//! file counts as `corrupt`). The table shows the median in MB/s (10^6 bytes per second,
//! timed from the client's start to its exit); `n/a` where a client cannot ask for a
//! class's options.
//!
//! A benchmark, not a test: the numbers depend on the machine. What it checks, and prints
//! at the end, are the lesson's targets: our server at least as fast as the fastest peer
//! server with every client and class; our pair at least 500 MB/s with blksize 1468 and
//! windowsize 16, and 1450 MB/s with blksize 65464; and every run of ours finishing
//! (with blksize 65464 and windowsize 4 several peer pairs stall). Exit status 1 if a run
//! involving our server or client failed or timed out.

use crate::cargo::{self, Profile};
use anyhow::{bail, Context as _};
use shared::testing::{find_on_path, Program};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Option classes: the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Class {
    label: &'static str,
    blksize: Option<u32>,
    windowsize: Option<u32>,
}

const CLASSES: &[Class] = &[
    Class {
        label: "512 lock-step",
        blksize: None,
        windowsize: None,
    },
    Class {
        label: "blksize 1468",
        blksize: Some(1468),
        windowsize: None,
    },
    Class {
        label: "blksize 65464",
        blksize: Some(65464),
        windowsize: None,
    },
    Class {
        label: "1468 w16",
        blksize: Some(1468),
        windowsize: Some(16),
    },
    Class {
        label: "1468 w64",
        blksize: Some(1468),
        windowsize: Some(64),
    },
    Class {
        label: "65464 w4",
        blksize: Some(65464),
        windowsize: Some(4),
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Curl,
    TftpHpa,
    Busybox,
    Atftp,
    Ours,
}

const CLIENTS: &[Client] = &[
    Client::Curl,
    Client::TftpHpa,
    Client::Busybox,
    Client::Atftp,
    Client::Ours,
];

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Curl => "curl",
            Client::TftpHpa => "tftp-hpa",
            Client::Busybox => "busybox",
            Client::Atftp => "atftp",
            Client::Ours => "ours",
        }
    }

    /// curl and busybox ask for blksize only, the tftp-hpa client for no option at all;
    /// atftp and ours for blksize and windowsize.
    fn supports(self, class: Class) -> bool {
        match self {
            Client::Curl | Client::Busybox => class.windowsize.is_none(),
            Client::TftpHpa => class.blksize.is_none() && class.windowsize.is_none(),
            Client::Atftp | Client::Ours => true,
        }
    }

    fn program(self, ours: &Path) -> Option<PathBuf> {
        match self {
            Client::Curl => find_on_path("curl"),
            Client::TftpHpa => find_on_path("tftp"),
            Client::Busybox => find_on_path("busybox"),
            Client::Atftp => find_on_path("atftp"),
            Client::Ours => Some(ours.to_path_buf()),
        }
    }

    /// The command that downloads `remote` from `server` into `local`.
    fn get(
        self,
        exe: &Path,
        server: SocketAddr,
        remote: &str,
        local: &Path,
        class: Class,
    ) -> Command {
        let mut command = pinned(CLIENT_CPU, exe);
        let (host, port) = (server.ip().to_string(), server.port().to_string());
        match self {
            Client::Curl => {
                command.args(["--silent", "--show-error"]);
                match class.blksize {
                    Some(n) => command.args(["--tftp-blksize", &n.to_string()]),
                    None => command.arg("--tftp-no-options"),
                };
                command.arg("--output").arg(local);
                command.arg(format!("tftp://{host}:{port}/{remote}"));
            }
            Client::TftpHpa => {
                command.args(["-m", "binary", &host, &port, "-c", "get", remote]);
                command.arg(local);
            }
            Client::Busybox => {
                command.args(["tftp", "-g", "-r", remote, "-l"]).arg(local);
                if let Some(n) = class.blksize {
                    command.args(["-b", &n.to_string()]);
                }
                command.args([&host, &port]);
            }
            Client::Atftp => {
                if let Some(n) = class.blksize {
                    command.args(["--option", &format!("blksize {n}")]);
                }
                if let Some(n) = class.windowsize {
                    command.args(["--option", &format!("windowsize {n}")]);
                }
                command.args(["--get", "-r", remote, "-l"]).arg(local);
                command.args([&host, &port]);
            }
            Client::Ours => {
                command
                    .args(["get", "--addr", &server.to_string(), remote])
                    .arg(local);
                if let Some(n) = class.blksize {
                    command.args(["--blksize", &n.to_string()]);
                }
                if let Some(n) = class.windowsize {
                    command.args(["--windowsize", &n.to_string()]);
                }
            }
        }
        command
    }
}

/// What one cell of the table (client × server × class) came to.
#[derive(Debug, Clone)]
enum Cell {
    /// The client cannot ask for the class's options.
    NotApplicable,
    /// The client or server is not installed.
    Missing,
    /// Every run finished with the right file: MB/s of each run.
    Speeds(Vec<f64>),
    /// Some runs did not finish in time or failed: (what happened, how many runs, of how many).
    Failed(&'static str, usize, usize),
}

impl Cell {
    fn median(&self) -> Option<f64> {
        let Cell::Speeds(speeds) = self else {
            return None;
        };
        let mut sorted = speeds.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied()
    }

    fn show(&self) -> String {
        match self {
            Cell::NotApplicable => "n/a".into(),
            Cell::Missing => "n/a (missing)".into(),
            Cell::Speeds(_) => format!("{:.0}", self.median().unwrap_or(0.0)),
            Cell::Failed(what, bad, runs) => format!("{what} {bad}/{runs}"),
        }
    }
}

/// `cargo xtask bench tftp`'s options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// A fast check: 1 run of an 8 MiB file per cell, 20 s timeout (other options still
    /// win).
    #[arg(long)]
    quick: bool,
    /// Runs per cell; the median is shown [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    runs: Option<u16>,
    /// File size in MiB [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    mib: Option<u16>,
    /// How long one run may take, with its unit (`5s`, `1m`) [default: 60s].
    #[arg(long, value_name = "TIME", value_parser = shared::duration::parse)]
    timeout: Option<Duration>,
}

struct Settings {
    runs: usize,
    mib: usize,
    timeout: Duration,
}

/// `cargo xtask bench tftp [OPTIONS]`.
pub fn run(options: &Options) -> anyhow::Result<ExitCode> {
    let (runs, mib, timeout) = if options.quick {
        (1, 8, Duration::from_secs(20))
    } else {
        (3, SPEED_TARGET_MIB, Duration::from_secs(60))
    };
    bench_tftp(&Settings {
        runs: options.runs.map_or(runs, usize::from),
        mib: options.mib.map_or(mib, usize::from),
        timeout: options.timeout.unwrap_or(timeout),
    })
}

fn bench_tftp(settings: &Settings) -> anyhow::Result<ExitCode> {
    let release = cargo::build_bins(&["tftp"], Profile::Release, false)?;
    let target = cargo::target_dir();
    let ours = release.join(format!("tftp{}", std::env::consts::EXE_SUFFIX));
    let work = target.join("bench-tftp");
    let _ = std::fs::remove_dir_all(&work);
    let (root, out) = (work.join("root"), work.join("out"));
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    std::fs::create_dir_all(&out)?;
    let size = settings.mib * 1024 * 1024;
    let remote = format!("bench-{}MiB.bin", settings.mib);
    let original = pseudo_random(size);
    std::fs::write(root.join(&remote), &original)?;

    let servers = [
        ("ours", start_ours(&ours, &root)),
        ("tftpd-hpa", start_tftpd_hpa(&root)),
        ("atftpd", start_atftpd(&root)),
    ];
    println!(
        "\nbench: get {remote} ({size} bytes) on loopback; {} run(s) per cell, timeout {:?}; \
         median MB/s (10^6 bytes/s); servers pinned to CPU {SERVER_CPU}, clients to CPU {CLIENT_CPU}",
        settings.runs, settings.timeout
    );
    for (name, server) in &servers {
        match server {
            Ok(server) => println!("  server {name}: {}", server.addr),
            Err(err) => println!("  server {name}: not started: {err:#}"),
        }
    }

    // cells[client][server][class]. The runs of one client and class take turns between
    // the servers (run 1 on each server, then run 2 ...), so that whatever else the machine
    // does meanwhile weighs on every server alike.
    let mut cells: Vec<Vec<Vec<Cell>>> = Vec::new();
    for &client in CLIENTS {
        let exe = client.program(&ours);
        let mut by_server: Vec<Vec<Cell>> = vec![Vec::new(); servers.len()];
        for &class in CLASSES {
            let mut speeds = vec![Vec::new(); servers.len()];
            let mut failed: Vec<Option<(&'static str, usize)>> = vec![None; servers.len()];
            for run in 0..settings.runs {
                for (index, (server_name, server)) in servers.iter().enumerate() {
                    let (Some(exe), Ok(server)) = (&exe, server) else {
                        continue;
                    };
                    if !client.supports(class) || failed[index].is_some() {
                        continue;
                    }
                    let local = out.join(format!("{}-{server_name}", client.name()));
                    let command = client.get(exe, server.addr, &remote, &local, class);
                    match one_run(command, &local, &original, settings.timeout) {
                        Ok(speed) => speeds[index].push(speed),
                        // A client that hung once would only make the bench slower.
                        Err(what) => failed[index] = Some((what, settings.runs - run)),
                    }
                }
            }
            for (index, (server_name, server)) in servers.iter().enumerate() {
                let cell = if !client.supports(class) {
                    Cell::NotApplicable
                } else if exe.is_none() || server.is_err() {
                    Cell::Missing
                } else if let Some((what, bad)) = failed[index] {
                    Cell::Failed(what, bad, settings.runs)
                } else {
                    Cell::Speeds(std::mem::take(&mut speeds[index]))
                };
                if !matches!(cell, Cell::NotApplicable) {
                    eprintln!(
                        "  {:<9} <- {server_name:<9} {:<14} {}",
                        client.name(),
                        class.label,
                        cell.show()
                    );
                }
                by_server[index].push(cell);
            }
        }
        cells.push(by_server);
    }
    let rows: Vec<(Client, &str, Vec<Cell>)> = CLIENTS
        .iter()
        .zip(cells)
        .flat_map(|(&client, by_server)| {
            servers
                .iter()
                .zip(by_server)
                .map(move |((name, _), cells)| (client, *name, cells))
        })
        .collect();
    drop(servers);
    let _ = std::fs::remove_dir_all(&work);

    print_table(&rows);
    let ours_ok = print_targets(&rows, settings.mib);
    Ok(if ours_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One download: its speed in MB/s, or what went wrong (`timeout`, `failed`, `corrupt`).
fn one_run(
    command: Command,
    local: &Path,
    original: &[u8],
    timeout: Duration,
) -> Result<f64, &'static str> {
    let _ = std::fs::remove_file(local);
    let started = Instant::now();
    let outcome = run_bounded(command, timeout);
    let took = started.elapsed();
    match outcome {
        Err(RunError::Timeout) => return Err("timeout"),
        Err(RunError::Failed) => return Err("failed"),
        Ok(()) => {}
    }
    let right = std::fs::read(local).is_ok_and(|bytes| bytes == original);
    let _ = std::fs::remove_file(local);
    if !right {
        return Err("corrupt");
    }
    Ok(original.len() as f64 / took.as_secs_f64() / 1e6)
}

enum RunError {
    Timeout,
    Failed,
}

/// Runs a client with its output discarded, killing it at the timeout.
fn run_bounded(mut command: Command, timeout: Duration) -> Result<(), RunError> {
    let mut child: Child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| RunError::Failed)?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(_)) | Err(_) => return Err(RunError::Failed),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Timeout);
            }
            // Polling the exit (std has no wait with a timeout); short, so that it adds
            // well under 1% to a 64 MiB run even at 1.5 GB/s.
            Ok(None) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}

fn print_table(rows: &[(Client, &str, Vec<Cell>)]) {
    println!();
    let mut header = format!("| {:<22} |", "client <- server");
    let mut rule = format!("|{}|", "-".repeat(24));
    for class in CLASSES {
        header.push_str(&format!(" {:>14} |", class.label));
        rule.push_str(&format!("{}:|", "-".repeat(15)));
    }
    println!("{header}\n{rule}");
    for (client, server, cells) in rows {
        let mut line = format!("| {:<22} |", format!("{} <- {server}", client.name()));
        for cell in cells {
            line.push_str(&format!(" {:>14} |", cell.show()));
        }
        println!("{line}");
    }
}

/// The file size the speed targets are stated for.
const SPEED_TARGET_MIB: usize = 64;

/// Prints the lesson's targets, met or missed; returns false if a run with our server or
/// client failed, timed out or brought a wrong file.
fn print_targets(rows: &[(Client, &str, Vec<Cell>)], mib: usize) -> bool {
    let cell = |client: Client, server: &str, class: usize| {
        rows.iter()
            .find(|(c, s, _)| *c == client && *s == server)
            .map(|(_, _, cells)| &cells[class])
    };
    println!("\ntargets:");
    let mut all_finished = true;
    for (client, server, cells) in rows {
        if *client != Client::Ours && *server != "ours" {
            continue;
        }
        for (class, cell) in CLASSES.iter().zip(cells) {
            if let Cell::Failed(what, bad, runs) = cell {
                all_finished = false;
                println!(
                    "  MISSED: {} <- {server}, {}: {what} in {bad} of {runs} runs",
                    client.name(),
                    class.label
                );
            }
        }
    }
    if all_finished {
        println!("  ok: every run with our server or our client finished with the right file");
    }
    if mib < SPEED_TARGET_MIB {
        // A small file is over in milliseconds: its MB/s says little, so no verdict.
        println!("  speed: not judged on a {mib} MiB file (the targets are for {SPEED_TARGET_MIB} MiB: run without --quick or --mib)");
        return all_finished;
    }
    let mut slower = 0;
    for &client in CLIENTS {
        for (index, class) in CLASSES.iter().enumerate() {
            let Some(ours) = cell(client, "ours", index).and_then(Cell::median) else {
                continue;
            };
            let best_peer = ["tftpd-hpa", "atftpd"]
                .iter()
                .filter_map(|peer| Some((*peer, cell(client, peer, index)?.median()?)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((peer, speed)) = best_peer {
                if ours < speed {
                    slower += 1;
                    println!(
                        "  MISSED: {} {}: our server {ours:.0} MB/s < {peer} {speed:.0} MB/s \
                         ({:.0}% of it)",
                        client.name(),
                        class.label,
                        100.0 * ours / speed
                    );
                }
            }
        }
    }
    if slower == 0 {
        println!("  ok: our server is at least as fast as the fastest peer server in every cell");
    }
    for (index, goal) in [(3, 500.0), (2, 1450.0)] {
        let label = CLASSES[index].label;
        match cell(Client::Ours, "ours", index).and_then(Cell::median) {
            Some(speed) if speed >= goal => {
                println!("  ok: our pair, {label}: {speed:.0} MB/s >= {goal:.0}")
            }
            Some(speed) => println!("  MISSED: our pair, {label}: {speed:.0} MB/s < {goal:.0}"),
            None => println!("  MISSED: our pair, {label}: no number"),
        }
    }
    all_finished
}

/// Reproducible bytes that do not compress or repeat (xorshift64*).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every server runs on this CPU, every client on [`CLIENT_CPU`]. Left to the scheduler,
/// a lock-step transfer is up to twice as fast when client and server happen to share a
/// CPU as when they do not, which swamps the differences between servers; pinned, every
/// server meets every client in the same placement (like two hosts, one CPU each).
const SERVER_CPU: usize = 0;
/// See [`SERVER_CPU`].
const CLIENT_CPU: usize = 1;

/// `exe` run through `taskset -c CPU` (util-linux), which sets the CPU affinity and then
/// becomes `exe` (same PID). Without taskset, or on one CPU, `exe` runs unpinned.
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

/// A running server, killed by its PID and reaped when dropped.
struct Server {
    addr: SocketAddr,
    _program: Program,
}

fn start_ours(exe: &Path, root: &Path) -> anyhow::Result<Server> {
    let mut command = pinned(SERVER_CPU, exe);
    command
        .arg("server")
        .arg("--root")
        .arg(root)
        .args(["--addr", "127.0.0.1:0"]);
    let mut program = Program::spawn("our server", command)?;
    let addr = program.wait_ready(Duration::from_secs(10))?;
    Ok(Server {
        addr,
        _program: program,
    })
}

fn start_tftpd_hpa(root: &Path) -> anyhow::Result<Server> {
    let exe = find_on_path("in.tftpd")
        .context("in.tftpd is not installed (apt-get install tftpd-hpa)")?;
    let user = current_user();
    if user != "root" {
        bail!("tftpd-hpa needs root here (its -s is a chroot)");
    }
    start_peer("tftpd-hpa", |port| {
        // -L: foreground; -p: no "world-readable only" rule; -s: chroot into the root.
        let mut command = pinned(SERVER_CPU, &exe);
        command.args(["-L", "-p", "-u", &user, "-s"]).arg(root);
        command.args(["-a", &format!("127.0.0.1:{port}")]);
        command
    })
}

fn start_atftpd(root: &Path) -> anyhow::Result<Server> {
    let exe = atftpd_path().context(
        "atftpd not found: unpack it as .ci/run does (apt-get download atftpd; dpkg -x ... \
         target/peer-tools/atftpd) or set ATFTPD=/path/to/atftpd",
    )?;
    let user = current_user();
    start_peer("atftpd", |port| {
        let mut command = pinned(SERVER_CPU, &exe);
        command.args(["--daemon", "--no-fork", "--logfile", "/dev/null"]);
        command.args(["--user", &user, "--group", &user]);
        command.args(["--port", &port.to_string(), "--bind-address", "127.0.0.1"]);
        command.arg(root);
        command
    })
}

fn atftpd_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ATFTPD") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    [cargo::target_dir(), cargo::workspace_root().join("target")]
        .iter()
        .map(|dir| dir.join("peer-tools/atftpd/usr/sbin/atftpd"))
        .find(|p| p.is_file())
        .or_else(|| find_on_path("atftpd"))
}

fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "root".into())
}

/// Starts a peer server on a port that was free a moment ago (bind port 0, drop), and
/// waits until it answers a TFTP request; another port if it exits at once (the port was
/// taken in between).
fn start_peer(name: &str, make: impl Fn(u16) -> Command) -> anyhow::Result<Server> {
    let mut last = None;
    for _ in 0..5 {
        let port = UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut program = Program::spawn(name, make(port))?;
        match wait_tftp_ready(&mut program, addr) {
            Ok(()) => {
                return Ok(Server {
                    addr,
                    _program: program,
                })
            }
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("{name} did not start")))
}

/// Sends a read request for a missing file until any reply comes (bounded): readiness for
/// a server that prints nothing when it is ready.
fn wait_tftp_ready(program: &mut Program, addr: SocketAddr) -> anyhow::Result<()> {
    let probe = UdpSocket::bind("127.0.0.1:0")?;
    probe.set_read_timeout(Some(Duration::from_millis(100)))?;
    let rrq = b"\x00\x01no-such-file-readiness-probe\x00octet\x00";
    let mut reply = [0u8; 1024];
    for _ in 0..100 {
        if let Some(status) = program.try_status() {
            bail!("{} exited at once ({status})", program.name());
        }
        probe.send_to(rrq, addr)?;
        if let Ok((n, _)) = probe.recv_from(&mut reply) {
            if n >= 2 {
                return Ok(());
            }
        }
    }
    bail!("{} did not answer on {addr}", program.name())
}
