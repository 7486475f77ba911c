//! Lesson 06 against the TFTP programs people use: every file must arrive byte for byte
//! (same length, same hash) whoever is on the other end.
//!
//! - Our server with curl (`tftp://`, with and without `--tftp-blksize`), the tftp-hpa
//!   client, busybox tftp and atftp (with blksize and windowsize), get and put.
//! - Our server on ::1 with every client; and with every client at once.
//! - Our client with tftpd-hpa and atftpd, get and put.
//! - Mode netascii with the tftp-hpa client, tftpd-hpa and atftpd (line ends translated
//!   on the wire and back: the file still arrives unchanged).
//! - Files of 0, 511, 512 and 513 bytes (the edges of the last-block rule: a block shorter
//!   than blksize ends the transfer, so 512 bytes take an extra empty block), 1 MiB, and
//!   one larger than 32 MiB, which at 512-byte blocks needs more than 65535 blocks, so
//!   the 16-bit block number rolls over to 0. That one goes both ways with every peer at
//!   512-byte blocks (and windowed with atftp and atftpd), one test per peer so that they
//!   run in parallel (the whole file takes about 7 s, plus the loss test's 30 s).
//! - atftp's own test suite (`test/test.sh` in madmartin/atftp) against our server: its
//!   files, block sizes, trace checks, refused option values and 50 gets at once.
//! - Loss: our server and client in a network namespace whose loopback drops 10% of all
//!   packets (Linux netem, or netfilter's `statistic` match where the kernel has no netem;
//!   needs root, so it skips when not root, except under CI).
//!
//! Peer servers are started by hand on 127.0.0.1 and a free port (never as system
//! services) and stopped by their PID; peers that are not installed skip the test locally
//! and fail it under `CI=true` (`.ci/run` installs them all). See `tests/peers/mod.rs`.

mod peers;

use peers::*;
use shared::testing::{require_tool, Finished, Program};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The edges of the last-block rule, and a file of many blocks.
const SMALL: &[usize] = &[0, 511, 512, 513, 1 << 20];
/// More than 32 MiB: at 512 bytes a block, more than 65535 blocks, so the block number
/// rolls over (65535 is followed by 0).
const BIG: usize = 32 * 1024 * 1024 + 1024 * 1024 + 1001;
const SMALL_TIMEOUT: Duration = Duration::from_secs(60);
const BIG_TIMEOUT: Duration = Duration::from_secs(600);

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tftp"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    TftpdHpa,
    Atftpd,
}

fn start(kind: Kind, root: &Path) -> Option<Server> {
    match kind {
        // Every client here comes from 127.0.0.1, and one test runs 18 transfers at once:
        // past the default cap per address (16), two would be refused as "busy".
        Kind::Ours => Some(our_server(
            ours(),
            root,
            &[
                "--allow-write",
                "--overwrite",
                "--max-upload",
                "100000000",
                "--max-per-client",
                "64",
            ],
        )),
        Kind::TftpdHpa => tftpd_hpa(root),
        Kind::Atftpd => atftpd(root),
    }
}

/// Every file of `sizes`, in each direction of `puts` (false: get, true: put), with
/// `client` asking for each of `option_sets`, against a `kind` server. Runs them all and
/// then fails with the list of every transfer that went wrong.
fn matrix(
    test: &str,
    kind: Kind,
    client: Client,
    option_sets: &[Opts],
    sizes: &[usize],
    puts: &[bool],
    timeout: Duration,
) {
    let scratch = Scratch::new(test);
    let root = scratch.folder("root");
    let local = scratch.folder("local");
    let mut files: Vec<(String, Vec<u8>)> = sizes
        .iter()
        .map(|&len| {
            let name = format!("file-{len}.bin");
            let bytes = make_file(&root, &name, len);
            (name, bytes)
        })
        .collect();
    if option_sets.iter().any(|opts| opts.netascii) {
        let bytes = line_end_bytes(100_000);
        std::fs::write(root.join("line-ends.txt"), &bytes).expect("write line-ends.txt");
        files.push(("line-ends.txt".into(), bytes));
    }
    let Some(mut server) = start(kind, &root) else {
        return;
    };
    let mut failures = Vec::new();
    let mut done = 0;
    for &opts in option_sets {
        for &put in puts {
            // No skip for curl and empty files: curl 7.88 rejects "tsize 0" in an OACK,
            // so our server leaves tsize out for an empty file (see options.rs), and
            // curl gets the 0-byte file like any other.
            for (name, bytes) in &files {
                let result = transfer(
                    ours(),
                    client,
                    put,
                    &server.target(),
                    &root,
                    &local,
                    name,
                    bytes,
                    opts,
                    timeout,
                );
                match result {
                    Ok(true) => done += 1,
                    Ok(false) => return, // the client is not installed: skipped (not under CI)
                    Err(err) => failures.push(format!("{err:#}")),
                }
            }
        }
    }
    if let Some(status) = server.program.try_status() {
        failures.push(format!("{} exited during the test ({status})", server.name));
    }
    assert!(
        failures.is_empty(),
        "{} of {} transfers failed:\n\n{}",
        failures.len(),
        failures.len() + done,
        failures.join("\n\n")
    );
    assert!(done > 0, "no transfer ran");
}

const BOTH: &[bool] = &[false, true];

// ---------------------------------------------------------------------------------------
// Our server, peer clients

#[test]
fn our_server_with_curl() {
    matrix(
        "server-curl",
        Kind::Ours,
        Client::Curl,
        &[LOCKSTEP, blksize(1468), blksize(65464)],
        SMALL,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn our_server_with_tftp_hpa() {
    matrix(
        "server-tftp-hpa",
        Kind::Ours,
        Client::TftpHpa,
        &[LOCKSTEP],
        SMALL,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn our_server_with_busybox() {
    matrix(
        "server-busybox",
        Kind::Ours,
        Client::Busybox,
        &[LOCKSTEP, blksize(1468), blksize(65464)],
        SMALL,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn our_server_with_atftp() {
    matrix(
        "server-atftp",
        Kind::Ours,
        Client::Atftp,
        &[
            LOCKSTEP,
            blksize(1468),
            window(1468, 16),
            window(1468, 64),
            window(65464, 4),
        ],
        SMALL,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn our_server_netascii_with_tftp_hpa() {
    // tftp-hpa's default mode is netascii; it translates both ways, as we do.
    matrix(
        "server-tftp-hpa-netascii",
        Kind::Ours,
        Client::TftpHpa,
        &[NETASCII],
        SMALL,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn our_server_on_ipv6_loopback_with_every_client() {
    if !shared::testing::require_ipv6_loopback() {
        return;
    }
    let scratch = Scratch::new("server-ipv6");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    let expected = make_file(&root, "v6.bin", 100_000);
    let server = our_server_at(ours(), &root, "[::1]:0", &["--allow-write", "--overwrite"]);
    assert!(server.addr.is_ipv6(), "{}", server.addr);
    let mut done = 0;
    for client in [
        Client::Curl,
        Client::TftpHpa,
        Client::Busybox,
        Client::Atftp,
        Client::Ours,
    ] {
        for put in [false, true] {
            let opts = if client == Client::TftpHpa {
                LOCKSTEP
            } else {
                blksize(1468)
            };
            let ran = transfer(
                ours(),
                client,
                put,
                &server.target(),
                &root,
                &local,
                "v6.bin",
                &expected,
                opts,
                SMALL_TIMEOUT,
            )
            .unwrap_or_else(|e| panic!("over ::1: {e:#}"));
            done += usize::from(ran);
        }
    }
    assert!(done > 0, "no transfer ran");
}

/// Every client at once, each getting and putting its own copy: our server keeps one
/// transfer per client address and port (its transfer ID) and must not mix them up.
#[test]
fn our_server_with_every_client_at_once() {
    let scratch = Scratch::new("server-at-once");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    let expected = make_file(&root, "shared.bin", 1 << 20);
    let server = start(Kind::Ours, &root).expect("our server");
    let clients = [
        (Client::Curl, blksize(1468)),
        (Client::Curl, LOCKSTEP),
        (Client::TftpHpa, LOCKSTEP),
        (Client::Busybox, blksize(1468)),
        (Client::Busybox, LOCKSTEP),
        (Client::Atftp, window(1468, 16)),
        (Client::Atftp, LOCKSTEP),
        (Client::Ours, window(1468, 16)),
        (Client::Ours, LOCKSTEP),
    ];
    let results: Vec<anyhow::Result<bool>> = std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .flat_map(|(index, &(client, opts))| {
                [(index, client, opts, false), (index, client, opts, true)]
            })
            .map(|(index, client, opts, put)| {
                let (server, root, expected) = (server.target(), &root, &expected);
                // A folder per transfer, so that two transfers never share a local name.
                let local = local.join(format!("{index}-{put}"));
                scope.spawn(move || {
                    std::fs::create_dir_all(&local)?;
                    transfer(
                        ours(),
                        client,
                        put,
                        &server,
                        root,
                        &local,
                        "shared.bin",
                        expected,
                        opts,
                        SMALL_TIMEOUT,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("panicked")))
            })
            .collect()
    });
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| format!("{e:#}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        results.iter().any(|r| matches!(r, Ok(true))),
        "no transfer ran"
    );
}

// ---------------------------------------------------------------------------------------
// Our client, peer servers

#[test]
fn our_client_with_tftpd_hpa() {
    // tftpd-hpa 5.2 knows blksize but not windowsize: its OACK leaves windowsize out, and
    // our client must fall back to one block per acknowledgement (RFC 7440 section 4).
    matrix(
        "client-tftpd-hpa",
        Kind::TftpdHpa,
        Client::Ours,
        &[LOCKSTEP, blksize(1468), blksize(65464), window(1468, 16)],
        SMALL,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn our_client_with_atftpd() {
    matrix(
        "client-atftpd",
        Kind::Atftpd,
        Client::Ours,
        &[LOCKSTEP, blksize(1468), window(1468, 16), window(65464, 4)],
        SMALL,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn our_client_netascii_with_tftpd_hpa_and_atftpd() {
    for (test, kind) in [
        ("client-tftpd-hpa-netascii", Kind::TftpdHpa),
        ("client-atftpd-netascii", Kind::Atftpd),
    ] {
        matrix(
            test,
            kind,
            Client::Ours,
            &[NETASCII],
            SMALL,
            BOTH,
            SMALL_TIMEOUT,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Files larger than 32 MiB: block numbers roll over at 512-byte blocks. One test each, so
// that they run in parallel.

fn big(test: &str, kind: Kind, client: Client, puts: &[bool], opts: Opts) {
    matrix(test, kind, client, &[opts], &[BIG], puts, BIG_TIMEOUT);
}

#[test]
fn rollover_our_server_curl() {
    big("big-server-curl", Kind::Ours, Client::Curl, BOTH, LOCKSTEP);
}

#[test]
fn rollover_our_server_tftp_hpa() {
    big(
        "big-server-hpa",
        Kind::Ours,
        Client::TftpHpa,
        BOTH,
        LOCKSTEP,
    );
}

#[test]
fn rollover_our_server_busybox() {
    big(
        "big-server-busybox",
        Kind::Ours,
        Client::Busybox,
        BOTH,
        LOCKSTEP,
    );
}

#[test]
fn rollover_our_server_atftp() {
    big(
        "big-server-atftp",
        Kind::Ours,
        Client::Atftp,
        BOTH,
        LOCKSTEP,
    );
}

#[test]
fn big_our_server_atftp_windowed() {
    big(
        "big-server-atftp-window",
        Kind::Ours,
        Client::Atftp,
        BOTH,
        window(1468, 16),
    );
    // 256 KiB in flight: more than a default socket receive buffer holds.
    big(
        "big-server-atftp-window4",
        Kind::Ours,
        Client::Atftp,
        BOTH,
        window(65464, 4),
    );
}

#[test]
fn rollover_our_client_tftpd_hpa() {
    big(
        "big-client-hpa",
        Kind::TftpdHpa,
        Client::Ours,
        BOTH,
        LOCKSTEP,
    );
}

#[test]
fn rollover_our_client_atftpd() {
    big(
        "big-client-atftpd",
        Kind::Atftpd,
        Client::Ours,
        BOTH,
        LOCKSTEP,
    );
}

#[test]
fn big_our_client_atftpd_windowed() {
    big(
        "big-client-atftpd-window",
        Kind::Atftpd,
        Client::Ours,
        BOTH,
        window(1468, 16),
    );
    big(
        "big-client-atftpd-window4",
        Kind::Atftpd,
        Client::Ours,
        BOTH,
        window(65464, 4),
    );
}

// ---------------------------------------------------------------------------------------
// Loss in the kernel: a network namespace whose loopback drops 10% of the packets

/// A network namespace made for one test, deleted when dropped (on every path).
struct Namespace {
    name: String,
}

impl Namespace {
    fn create(test: &str) -> Namespace {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("tftp-{test}-{}-{nanos}", std::process::id());
        sh_ok("ip", &["netns", "add", &name]);
        Namespace { name }
    }

    /// `ip netns exec NAME program args...`
    fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Runs a command inside the namespace to the end: (success, stdout + stderr).
    fn run(&self, args: &[&str]) -> (bool, String) {
        let output = self
            .exec(args[0])
            .args(&args[1..])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {args:?} in {}: {e}", self.name));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn sh_ok(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{program} {args:?} failed: {text}");
    text
}

/// How the namespace loses packets, and how to read how many it lost.
enum Loss {
    Netem,
    Iptables,
}

/// Makes the namespace's loopback drop `percent`% of the packets: netem on `lo`'s queue;
/// where the kernel has no netem (`CONFIG_NET_SCH_NETEM` unset, "Specified qdisc kind is
/// unknown"), the same loss from netfilter's random `statistic` match on every UDP packet
/// `lo` delivers.
fn add_loss(ns: &Namespace, percent: u32) -> Option<Loss> {
    let (ok, text) = ns.run(&[
        "tc",
        "qdisc",
        "add",
        "dev",
        "lo",
        "root",
        "netem",
        "loss",
        &format!("{percent}%"),
    ]);
    if ok {
        return Some(Loss::Netem);
    }
    assert!(
        text.contains("qdisc kind is unknown"),
        "tc qdisc add dev lo root netem loss {percent}% failed: {text}"
    );
    eprintln!(
        "netem is not in this kernel (tc: {}); using iptables' statistic match instead",
        text.trim()
    );
    require_tool("iptables", "iptables")?;
    let probability = format!("{:.2}", f64::from(percent) / 100.0);
    let (ok, text) = ns.run(&[
        "iptables",
        "-A",
        "INPUT",
        "-i",
        "lo",
        "-p",
        "udp",
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        &probability,
        "-j",
        "DROP",
    ]);
    assert!(
        ok,
        "neither netem nor iptables can drop packets here: {text}"
    );
    Some(Loss::Iptables)
}

/// How many packets the loss rule has dropped so far.
fn dropped(ns: &Namespace, loss: &Loss) -> u64 {
    let (ok, text) = match loss {
        Loss::Netem => ns.run(&["tc", "-s", "qdisc", "show", "dev", "lo"]),
        Loss::Iptables => ns.run(&["iptables", "-L", "INPUT", "-v", "-n", "-x"]),
    };
    assert!(ok, "cannot read the drop counter: {text}");
    let number_after = |line: &str, word: &str| -> Option<u64> {
        let mut words = line.split(|c: char| c.is_whitespace() || c == ',');
        words.find(|w| *w == word)?;
        words.find(|w| !w.is_empty())?.parse().ok()
    };
    match loss {
        // "Sent 123 bytes 45 pkt (dropped 6, overlimits 0 requeues 0)"
        Loss::Netem => text
            .lines()
            .find_map(|line| number_after(line.replace('(', " ").as_str(), "dropped")),
        // "    pkts    bytes target ..." then "      17     9016 DROP ..."
        Loss::Iptables => text
            .lines()
            .find(|line| line.contains("DROP") && line.contains("statistic"))
            .and_then(|line| line.split_whitespace().next()?.parse().ok()),
    }
    .unwrap_or_else(|| panic!("no drop counter in: {text}"))
}

#[test]
fn loss_10_percent_in_a_network_namespace() {
    if !is_root() {
        // Making a namespace and changing its qdisc needs root (CI runs as root).
        assert!(
            !under_ci(),
            "this test must run under CI, which runs as root"
        );
        eprintln!("SKIPPED: not root (ip netns add needs CAP_SYS_ADMIN)");
        return;
    }
    if require_tool("ip", "iproute2").is_none() || require_tool("tc", "iproute2").is_none() {
        return;
    }
    let scratch = Scratch::new("netem");
    let root = scratch.folder("root");
    let local = scratch.folder("local");
    let original = make_file(&root, "lossy.bin", 1 << 20);
    let original_path = root.join("lossy.bin");

    let ns = Namespace::create("netem");
    let (ok, text) = ns.run(&["ip", "link", "set", "lo", "up"]);
    assert!(ok, "ip link set lo up in {}: {text}", ns.name);
    let Some(loss) = add_loss(&ns, 10) else {
        return;
    };

    // Short retransmission timeouts on both sides (the server's --timeout and the client's
    // local one accept fractions): at 10% loss a lock-step MiB loses hundreds of packets,
    // and each loss costs one timeout.
    let mut server_command = ns.exec(ours());
    server_command.arg("server").arg("--root").arg(&root).args([
        "--addr",
        "127.0.0.1:0",
        "--allow-write",
        "--timeout",
        "50ms",
    ]);
    let mut server = Program::spawn("our server (netns)", server_command).expect("start");
    let addr = server
        .wait_ready(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e:#}"));

    // Get, then put the file back under another name: windowed, then lock-step (get).
    let transfers: [(&str, &str, &[&str]); 3] = [
        (
            "get",
            "got-window.bin",
            &["--blksize", "1468", "--windowsize", "8"],
        ),
        (
            "put",
            "back-window.bin",
            &["--blksize", "1468", "--windowsize", "8"],
        ),
        ("get", "got-lockstep.bin", &[]),
    ];
    for (role, name, options) in transfers {
        let mut command = ns.exec(ours());
        command.args([role, "--addr", &addr.to_string()]);
        let result = if role == "get" {
            command.arg("lossy.bin").arg(local.join(name));
            local.join(name)
        } else {
            command.arg(&original_path).arg(name);
            root.join(name)
        };
        command.args(options).args(["--timeout", "50ms"]);
        let what = format!("our client (netns) {role} {options:?} at 10% loss");
        let finished = run(&what, command, Duration::from_secs(240)).unwrap_or_else(|e| {
            // What the server said of the transfer, too: a client that gave up (seen once,
            // in about 60 runs) is only half the story.
            server.kill();
            let said = server
                .finish(Duration::from_secs(5))
                .map(|end| end.stdout.into_iter().chain(end.stderr).collect::<Vec<_>>())
                .unwrap_or_default();
            panic!("{e:#}\nthe server said:\n{}", said.join("\n"))
        });
        check_same(&original, &result, &what).unwrap_or_else(|e| panic!("{e:#}"));
        eprintln!("{what}: {}", finished.stdout.join(" | "));
    }

    let lost = dropped(&ns, &loss);
    assert!(
        lost > 0,
        "the namespace dropped no packet: the test proved nothing"
    );
    eprintln!("3 MiB moved at 10% loss; the kernel dropped {lost} packets");
    drop(server);
}

// ---------------------------------------------------------------------------------------
// atftp's own test suite (test/test.sh in madmartin/atftp), against our server: the same
// files and the same checks. Left out: its 101 MB file (the 34 MB rollover tests above
// cover a file past 65535 blocks), its timeout test (it needs an atftp built with
// --delay) and its disk-full test (it needs root to mount a small tmpfs).

/// The suite's files: READ_0, READ_511, READ_512, READ_2K, READ_BIG, READ_128K, READ_1M.
const ATFTP_SUITE: &[usize] = &[0, 511, 512, 2048, 51111, 128 * 1024, 1 << 20];

#[test]
fn atftp_suite_get_and_put() {
    matrix(
        "atftp-suite",
        Kind::Ours,
        Client::Atftp,
        &[LOCKSTEP],
        ATFTP_SUITE,
        BOTH,
        SMALL_TIMEOUT,
    );
}

#[test]
fn atftp_suite_block_sizes() {
    // READ_BIG (51111 bytes) at the small sizes, READ_1M at the large ones, as the suite.
    matrix(
        "atftp-suite-small-blocks",
        Kind::Ours,
        Client::Atftp,
        &[blksize(8), blksize(256)],
        &[51111],
        BOTH,
        SMALL_TIMEOUT,
    );
    matrix(
        "atftp-suite-large-blocks",
        Kind::Ours,
        Client::Atftp,
        &[
            blksize(1428),
            blksize(1533),
            blksize(16000),
            blksize(40000),
            blksize(65464),
        ],
        &[1 << 20],
        BOTH,
        SMALL_TIMEOUT,
    );
}

/// Runs `atftp --trace ARGS HOST PORT` to the end, whatever its exit status, and returns
/// it with every line it printed (its trace goes to stderr). `None`: atftp is missing
/// (a skip; a failure under CI).
fn atftp_traced(server: SocketAddr, args: &[&str]) -> Option<(Finished, Vec<String>)> {
    let program = require_tool("atftp", "atftp")?;
    let mut command = Command::new(program);
    command.arg("--trace").args(args);
    command.args([server.ip().to_string(), server.port().to_string()]);
    let shown = format!("{command:?}");
    let mut atftp = Program::spawn("atftp", command).expect("start atftp");
    atftp.close_stdin();
    let finished = atftp
        .finish(SMALL_TIMEOUT)
        .unwrap_or_else(|e| panic!("{shown}: {e:#}"));
    let lines = finished
        .stdout
        .iter()
        .chain(&finished.stderr)
        .cloned()
        .collect();
    Some((finished, lines))
}

/// The suite's server: our server with the suite's files in its root.
fn atftp_suite_server(test: &str, extra: &[&str]) -> (Scratch, Server) {
    let scratch = Scratch::new(test);
    let root = scratch.folder("root");
    make_file(&root, "READ_2K.bin", 2048);
    make_file(&root, "READ_128K.bin", 128 * 1024);
    make_file(&root, "READ_1M.bin", 1 << 20);
    let server = our_server(ours(), &root, extra);
    (scratch, server)
}

#[test]
fn atftp_suite_trace_checks() {
    let (_scratch, mut server) = atftp_suite_server("atftp-suite-trace", &[]);
    let addr = server.addr;

    // "block size N": 128 KiB at N bytes a block is 128*1024/N DATA packets, and one more
    // (short or empty) that ends the transfer.
    for n in [256, 512, 1024, 1428, 16000, 65464] {
        let option = format!("blksize {n}");
        let args = [
            "--option",
            &option,
            "--get",
            "-r",
            "READ_128K.bin",
            "-l",
            "/dev/null",
        ];
        let Some((finished, lines)) = atftp_traced(addr, &args) else {
            return;
        };
        let data = lines.iter().filter(|line| line.contains("DATA")).count();
        assert!(
            finished.status.success() && data == 128 * 1024 / n + 1,
            "blksize {n}: {data} DATA lines, want {}:\n{}",
            128 * 1024 / n + 1,
            lines.join("\n")
        );
    }

    // "non-existing file name": RFC 1350's name for ERROR 1, as atftp shows it.
    let args = ["--get", "-r", "thisfiledoesntexist", "-l", "/dev/null"];
    let (finished, lines) = atftp_traced(addr, &args).expect("atftp");
    assert!(
        !finished.status.success() && lines.iter().any(|l| l.contains("<File not found>")),
        "{}",
        lines.join("\n")
    );

    // "tsize": the OACK says the file's size.
    let args = [
        "--option",
        "tsize",
        "--get",
        "-r",
        "READ_2K.bin",
        "-l",
        "/dev/null",
    ];
    let (finished, lines) = atftp_traced(addr, &args).expect("atftp");
    assert!(
        finished.status.success() && lines.iter().any(|l| l.contains("OACK <tsize: 2048")),
        "{}",
        lines.join("\n")
    );

    // Values outside the RFCs' ranges: refused. The suite greps atftpd's own text
    // ("<Failure to negotiate RFC1782 options>"); ours names the RFC's range instead, and
    // atftp's trace does not show the error code. So we check that atftp was refused,
    // and read the code and the whole text (atftp shows it cut to the request's size) in
    // our server's log line.
    for (option, text) in [
        ("blksize 7", "blksize 7 is outside RFC 2348's 8 to 65464"),
        (
            "blksize 65465",
            "blksize 65465 is outside RFC 2348's 8 to 65464",
        ),
        ("timeout 0", "timeout 0 is outside RFC 2349's 1 to 255"),
        ("timeout 256", "timeout 256 is outside RFC 2349's 1 to 255"),
    ] {
        let args = [
            "--option",
            option,
            "--get",
            "-r",
            "READ_2K.bin",
            "-l",
            "/dev/null",
        ];
        let (finished, lines) = atftp_traced(addr, &args).expect("atftp");
        assert!(
            !finished.status.success()
                && lines
                    .iter()
                    .any(|l| l.contains("error received from server")),
            "{option}: {}",
            lines.join("\n")
        );
        let logged = server
            .program
            .expect_stdout(text, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{option}: {e:#}"));
        assert!(
            logged.contains("sent ERROR 8 ") && logged.ends_with(text),
            "{option}: {logged}"
        );
    }
}

/// Whether an atftp line only reports a retry. The suite allows its own "timeout:
/// retrying...". Our server's timeout adapts to the round trip (RFC 1123 4.2.3.2), down to
/// 50 ms, where atftpd waits a fixed 5 s: on a busy machine an ACK can come later than
/// that, the server sends the block again, and atftp reports the copy as "got wrong block
/// <block: N>, sending extra ACK for <block: N>", or "got wrong block <block: N>,
/// ignoring" for a copy it does not answer (seen once in 20 soak runs beside two busy
/// loops). Those are retries too, not errors: the transfer goes on and succeeds.
fn is_a_retry(line: &str) -> bool {
    line.contains("timeout: retrying...")
        || (line.starts_with("got wrong block <block: ")
            && (line.contains("sending extra ACK") || line.ends_with(", ignoring")))
}

/// The suite's "high server load": 200 atftp gets of READ_1M at once. We run 50, to keep
/// CI's time sane, each to /dev/null; each must succeed and print nothing but lines
/// about retries (see `is_a_retry`). The server's slots are raised for it (all the clients
/// come from 127.0.0.1, and by default one address holds at most 16).
#[test]
fn atftp_suite_high_server_load() {
    const CLIENTS: usize = 50;
    let limits = ["--max-transfers", "64", "--max-per-client", "64"];
    let (_scratch, server) = atftp_suite_server("atftp-suite-load", &limits);
    let Some(program) = require_tool("atftp", "atftp") else {
        return;
    };
    let mut clients: Vec<Program> = (0..CLIENTS)
        .map(|i| {
            let mut command = Command::new(&program);
            command.args([
                "--get",
                "--remote-file",
                "READ_1M.bin",
                "--local-file",
                "/dev/null",
            ]);
            command.args([server.addr.ip().to_string(), server.addr.port().to_string()]);
            let mut client = Program::spawn(&format!("atftp-{i}"), command).expect("start");
            client.close_stdin();
            client
        })
        .collect();
    let mut failures = Vec::new();
    for client in &mut clients {
        let finished = client
            .finish(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{e:#}"));
        let errors: Vec<&String> = finished
            .stdout
            .iter()
            .chain(&finished.stderr)
            .filter(|line| !is_a_retry(line))
            .collect();
        if !finished.status.success() || !errors.is_empty() {
            failures.push(format!("{}: {} {errors:?}", client.name(), finished.status));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CLIENTS} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
