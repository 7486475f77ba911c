//! Lesson 05 beyond loopback: a small LAN made of Linux network namespaces.
//!
//! ```text
//!   host-1 (10.203.0.1)   host-2 (10.203.0.2)   host-3 (10.203.0.3)
//!        eth0                  eth0                  eth0
//!         |  veth pair          |                     |
//!         p1 ------------------ p2 --- br0 --------- p3      "switch" namespace
//! ```
//!
//! Each host is a namespace with its own interfaces, addresses and routes; the switch is
//! a namespace holding a bridge that joins the hosts' cables (veth pairs). The addresses
//! exist ONLY inside these namespaces, which have no route anywhere else, so nothing the
//! test sends can leave them. A guard deletes the namespaces (and with them every
//! interface) when the test ends, also when it fails.
//!
//! Needs root and iproute2 (`ip`). Without root the tests are skipped with a message,
//! except under CI=true, where they must run (CI is root).

use broadcast::Subnet;
use shared::testing::{require_tool, Program};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);
/// The LAN: 10.203.0.0/24, host N has 10.203.0.N.
const LAN_PREFIX: u8 = 24;

fn host_address(n: u8) -> Subnet {
    Subnet::new([10, 203, 0, n].into(), LAN_PREFIX).unwrap()
}

/// `ip`, if this test can make namespaces; `None` (test skipped) if not.
fn ip_tool() -> Option<PathBuf> {
    let ip = require_tool("ip", "iproute2")?;
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !is_root() && !ci {
        eprintln!("SKIPPED: network namespaces need root (run as root, or CI=true)");
        return None;
    }
    Some(ip)
}

/// Whether we run as root: the effective uid in /proc/self/status (std has no geteuid).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// Runs `ip ARGS`, panicking with ip's own message if it fails.
fn ip(tool: &PathBuf, args: &[&str]) {
    let output = Command::new(tool).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// The namespaces of one test: removed on drop, whatever happened.
struct Lan {
    ip: PathBuf,
    switch: String,
    hosts: Vec<String>,
}

impl Lan {
    /// A switch namespace and `count` host namespaces, each host cabled to the switch's
    /// bridge, host N at 10.203.0.N/24 (`count` 0 gives a lone host with no cable).
    fn new(ip: PathBuf, test: &str, count: u8) -> Lan {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // Unique per process and per test (tests of one binary share the pid).
        let tag = format!(
            "b05-{}-{}-{test}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut lan = Lan {
            ip,
            switch: format!("{tag}-sw"),
            hosts: Vec::new(),
        };
        lan.ip(&["netns", "add", &lan.switch.clone()]);
        let switch = lan.switch.clone();
        lan.ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]);
        lan.ip(&["-n", &switch, "link", "set", "br0", "up"]);
        for n in 1..=count.max(1) {
            let host = format!("{tag}-h{n}");
            lan.ip(&["netns", "add", &host]);
            lan.hosts.push(host.clone());
            lan.ip(&["-n", &host, "link", "set", "lo", "up"]);
            if count == 0 {
                break;
            }
            // A cable: a veth pair, port `pN` in the switch, `eth0` in the host.
            let port = format!("p{n}");
            lan.ip(&[
                "-n", &switch, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &host,
            ]);
            lan.ip(&["-n", &switch, "link", "set", &port, "master", "br0"]);
            lan.ip(&["-n", &switch, "link", "set", &port, "up"]);
            let address = host_address(n).to_string();
            lan.ip(&["-n", &host, "addr", "add", &address, "dev", "eth0"]);
            lan.ip(&["-n", &host, "link", "set", "eth0", "up"]);
        }
        if count > 0 {
            lan.wait_links_up();
        }
        lan
    }

    fn ip(&self, args: &[&str]) {
        ip(&self.ip, args);
    }

    /// Waits (bounded) until every host's eth0 reports carrier (LOWER_UP): a datagram
    /// sent before that is dropped.
    fn wait_links_up(&self) {
        let deadline = Instant::now() + TIMEOUT;
        for host in &self.hosts {
            loop {
                let output = Command::new(&self.ip)
                    .args(["-n", host, "-o", "link", "show", "dev", "eth0"])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&output.stdout).contains("LOWER_UP") {
                    break;
                }
                assert!(Instant::now() < deadline, "{host}: eth0 never came up");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Our binary with `args`, run inside host `n` (1-based).
    fn command(&self, n: usize, args: &[&str]) -> Command {
        let mut command = Command::new(&self.ip);
        command
            .args([
                "netns",
                "exec",
                &self.hosts[n - 1],
                env!("CARGO_BIN_EXE_broadcast"),
            ])
            .args(args);
        command
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Deleting a namespace deletes its interfaces; a veth pair goes with either end.
        for name in self.hosts.iter().chain([&self.switch]) {
            let _ = Command::new(&self.ip).args(["netns", "del", name]).status();
        }
    }
}

/// Listeners in hosts 1 and 2 on one port (the first picks it).
fn two_listeners(lan: &Lan) -> (Vec<Program>, u16) {
    let mut first = Program::spawn(
        "host-1",
        lan.command(
            1,
            &[
                "listen",
                "--addr",
                "0.0.0.0:0",
                "--user",
                "one",
                "--host",
                "host-1",
            ],
        ),
    )
    .unwrap();
    let port = first.wait_ready(TIMEOUT).unwrap().port();
    let addr = format!("0.0.0.0:{port}");
    let mut second = Program::spawn(
        "host-2",
        lan.command(
            2,
            &[
                "listen", "--addr", &addr, "--user", "two", "--host", "host-2",
            ],
        ),
    )
    .unwrap();
    second.wait_ready(TIMEOUT).unwrap();
    (vec![first, second], port)
}

/// Runs announce in host 3 and returns its stdout, asserting it succeeded.
fn announce_from_host_3(lan: &Lan, args: &[&str]) -> Vec<String> {
    let mut announcer = Program::spawn("host-3", lan.command(3, args)).unwrap();
    announcer.wait_ready(TIMEOUT).unwrap();
    let lines = announcer.rest_of_stdout(TIMEOUT);
    let status = announcer.wait_exit(TIMEOUT).unwrap();
    assert!(status.success(), "{status}: {}", announcer.transcript());
    lines
}

fn assert_both_answered(lines: &[String], port: u16) {
    for (n, user) in [(1, "one"), (2, "two")] {
        let from = format!("from {}:{port}: {user}@host-{n}", host_address(n).address());
        assert!(
            lines.iter().any(|l| l.contains(&from)),
            "no {from:?} in {lines:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with("2 answered")),
        "{lines:?}"
    );
}

#[test]
fn directed_broadcast_crosses_the_bridge() {
    let Some(ip) = ip_tool() else { return };
    let lan = Lan::new(ip, "directed", 3);
    let (mut listeners, port) = two_listeners(&lan);
    // The directed broadcast of host 3's own subnet, computed as the lesson teaches.
    let broadcast = host_address(3).broadcast().unwrap();
    assert_eq!(broadcast.to_string(), "10.203.0.255");
    let to = format!("{broadcast}:{port}");
    let lines = announce_from_host_3(&lan, &["announce", "--to", &to, "--wait", "1500ms"]);
    assert_both_answered(&lines, port);
    for listener in &mut listeners {
        listener.expect_stdout("10.203.0.3:", TIMEOUT).unwrap();
    }
}

/// 255.255.255.255 has no route in a namespace without a default route: the kernel
/// answers ENETUNREACH, and the lesson's hint says what to do. Bound to the interface's
/// own address, the same send goes out of that interface and reaches everyone.
#[test]
fn limited_broadcast_needs_a_route_or_a_bound_interface_address() {
    let Some(ip) = ip_tool() else { return };
    let lan = Lan::new(ip, "limited", 3);
    let (_listeners, port) = two_listeners(&lan);
    let to = format!("255.255.255.255:{port}");

    let output = lan.command(3, &["announce", "--to", &to]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("Network is unreachable"), "{stderr}");
    assert!(
        stderr.contains("bind the interface's address with --addr"),
        "{stderr}"
    );

    let own = format!("{}:0", host_address(3).address());
    let lines = announce_from_host_3(
        &lan,
        &["announce", "--addr", &own, "--to", &to, "--wait", "1500ms"],
    );
    assert_both_answered(&lines, port);
}

/// A host with no network but loopback: any other destination is unreachable, with a
/// hint, while loopback's broadcast still works there.
#[test]
fn an_unreachable_network_gets_a_clear_hint() {
    let Some(ip) = ip_tool() else { return };
    let lan = Lan::new(ip, "alone", 0);
    let output = lan
        .command(1, &["announce", "--to", "10.203.0.255:6868"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("cannot send to 10.203.0.255:6868: Network is unreachable"),
        "{stderr}"
    );
    assert!(
        stderr.contains("on one machine, use 127.255.255.255"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("listening on 0.0.0.0:"), "{stdout}");

    let lines = {
        let mut announcer = Program::spawn(
            "alone",
            lan.command(
                1,
                &[
                    "announce",
                    "--to",
                    "127.255.255.255:6868",
                    "--wait",
                    "100ms",
                ],
            ),
        )
        .unwrap();
        announcer.wait_ready(TIMEOUT).unwrap();
        let lines = announcer.rest_of_stdout(TIMEOUT);
        assert!(announcer.wait_exit(TIMEOUT).unwrap().success());
        lines
    };
    assert!(
        lines.iter().any(|l| l.contains("nobody answered")),
        "{lines:?}"
    );
}
