//! The other TFTP programs our lesson is checked against, and the small print of running
//! them from a test: scratch folders, test files and their hashes, free ports, peer
//! servers started by hand on loopback (never as system services) and stopped by their
//! PID, and one command line per peer client and option set.
//!
//! Peers: curl (`tftp://`), the tftp-hpa client (`tftp`), busybox `tftp`, atftp, the
//! tftpd-hpa server (`in.tftpd`) and atftpd. tftpd-hpa and atftpd conflict as Debian
//! packages, so atftpd is unpacked (`apt-get download atftpd && dpkg -x`) under the target
//! folder by `.ci/run`; [`atftpd_path`] says where it looks.

#![allow(dead_code)] // each test binary that includes this module uses a different part

use anyhow::{anyhow, bail, Context as _};
use shared::testing::{require_tool, Finished, Program};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether this run is CI (`CI=true`), where a missing peer is a failure, not a skip.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips locally (prints why and returns `None`), panics under CI: the rule of
/// [`require_tool`] for things that are not a tool on the PATH.
pub fn skip_or_fail(message: &str) {
    if under_ci() {
        panic!("{message}: CI must have it");
    }
    eprintln!("SKIPPED: {message}");
}

// ---------------------------------------------------------------------------------------
// Scratch folders and test files

/// A folder of its own for one test, under cargo's per-target temp folder; removed when
/// dropped (kept if the test panics, to look at).
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("tftp-interop")
            .join(format!("{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        Scratch { dir }
    }

    /// A sub-folder, created (e.g. a server's root, or where a client writes).
    pub fn folder(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        path
    }
}

impl Server {
    pub fn target(&self) -> Target {
        Target {
            name: self.name.clone(),
            addr: self.addr,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `len` reproducible pseudo-random bytes (xorshift64*): every byte value occurs,
/// including NUL, CR and LF, so a transfer that alters any byte is caught.
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
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

/// `len` bytes of text that is mostly line ends: LF, CR LF, bare CR (also as the last
/// byte), NUL, and letters; netascii translates most of them, so many translations fall
/// across block boundaries.
pub fn line_end_bytes(len: usize) -> Vec<u8> {
    let alphabet = b"ab\n\r\r\n\0\r";
    let mut bytes: Vec<u8> = test_bytes(len, 0x0d0a)
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()])
        .collect();
    if let Some(last) = bytes.last_mut() {
        *last = b'\r';
    }
    bytes
}

/// Writes a test file of `len` bytes into `dir` and returns its bytes.
pub fn make_file(dir: &Path, name: &str, len: usize) -> Vec<u8> {
    let bytes = test_bytes(len, len as u64 ^ 0x7f7f);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    bytes
}

/// FNV-1a, 64 bits: a fingerprint to compare files by and to show in messages.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Waits, at most 5 s, until the file a peer server is writing at `path` has `len` bytes.
///
/// A client's put is over when it has the last ACK, but atftpd writes through stdio and
/// closes the file only *after* it has sent that ACK: for a moment the last bytes are
/// still in atftpd's buffer, not in the file (seen in CI: a 512-byte put read back as 0
/// bytes). tftpd-hpa closes before its last ACK, and so does our server (it flushes
/// before it acknowledges the last block, see `transfer.rs`), so only peers need this.
/// There is no signal to wait for, so this polls; the content is checked afterwards.
fn wait_for_peer_to_close(path: &Path, len: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match std::fs::metadata(path) {
            Ok(meta) if meta.len() == len as u64 => return,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Checks that the file at `path` holds exactly `expected`: same length and same hash
/// (and, when they differ, says where the first difference is).
pub fn check_same(expected: &[u8], path: &Path, what: &str) -> anyhow::Result<()> {
    let got =
        std::fs::read(path).with_context(|| format!("{what}: cannot read {}", path.display()))?;
    let (want_hash, got_hash) = (fnv1a64(expected), fnv1a64(&got));
    if got.len() == expected.len() && got_hash == want_hash {
        return Ok(());
    }
    let first_difference = expected.iter().zip(&got).position(|(a, b)| a != b);
    bail!(
        "{what}: {} differs: {} bytes with hash {got_hash:016x}, expected {} bytes with hash \
         {want_hash:016x}; first different byte at {first_difference:?}",
        path.display(),
        got.len(),
        expected.len()
    )
}

// ---------------------------------------------------------------------------------------
// Ports and readiness

/// A UDP port on 127.0.0.1 that was free a moment ago: bind port 0, read the port, drop
/// the socket. Another program may take it before the peer binds it (a small race); the
/// peer server starters retry with another port when the peer exits at once.
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    socket.local_addr().expect("local_addr").port()
}

/// Waits until a TFTP server answers on `addr`: sends a read request for a file that does
/// not exist and waits for any reply (an ERROR packet, normally), a bounded number of
/// times. For peer servers that print nothing when they are ready. Fails at once if the
/// server has exited (its port was taken, or it rejected its flags).
pub fn wait_tftp_ready(program: &mut Program, addr: SocketAddr) -> anyhow::Result<()> {
    let probe = UdpSocket::bind("127.0.0.1:0")?;
    probe.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(b"no-such-file-readiness-probe\0octet\0");
    let mut reply = [0u8; 1024];
    for _ in 0..100 {
        if let Some(status) = program.try_status() {
            bail!("{} exited before it was ready ({status})", program.name());
        }
        probe.send_to(&rrq, addr)?;
        match probe.recv_from(&mut reply) {
            Ok((n, _)) if n >= 2 => return Ok(()),
            _ => continue,
        }
    }
    bail!(
        "{} did not answer a TFTP read request on {addr} within 100 tries",
        program.name()
    )
}

// ---------------------------------------------------------------------------------------
// Servers

/// Where a transfer goes: a server's name (for messages) and address. Unlike [`Server`],
/// it can be sent to other threads.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub addr: SocketAddr,
}

/// A running TFTP server (ours or a peer), stopped (killed by PID and reaped) when dropped.
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    pub program: Program,
}

/// Starts our server on 127.0.0.1:0 serving `root`, with `extra` flags, and waits for its
/// `listening on` line.
pub fn our_server(exe: &Path, root: &Path, extra: &[&str]) -> Server {
    our_server_at(exe, root, "127.0.0.1:0", extra)
}

/// Like [`our_server`], bound to `bind` (`[::1]:0` for IPv6).
pub fn our_server_at(exe: &Path, root: &Path, bind: &str, extra: &[&str]) -> Server {
    let mut command = Command::new(exe);
    command
        .arg("server")
        .arg("--root")
        .arg(root)
        .args(["--addr", bind])
        .args(extra);
    let mut program = Program::spawn("our server", command).expect("start our server");
    let addr = program
        .wait_ready(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e:#}"));
    Server {
        name: "our server".into(),
        addr,
        program,
    }
}

/// Whether the tests run as root (user id 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The user name to run a peer server as: the one running the tests (both peers would
/// otherwise switch to `nobody` and fail to read or write the scratch folder).
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

/// Starts a peer server with `make(port)` on a free port, and waits until it answers.
fn start_peer(name: &str, make: impl Fn(u16) -> Command) -> Server {
    let mut last_error = None;
    for _ in 0..5 {
        let port = free_udp_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut program = Program::spawn(name, make(port))
            .unwrap_or_else(|e| panic!("cannot start {name}: {e:#}"));
        match wait_tftp_ready(&mut program, addr) {
            Ok(()) => {
                return Server {
                    name: name.into(),
                    addr,
                    program,
                }
            }
            Err(err) => {
                program.kill();
                let transcript = program
                    .finish(Duration::from_secs(1))
                    .map(|f| f.stderr.join("\n"));
                last_error = Some(format!("{err:#}; its stderr: {transcript:?}"));
            }
        }
    }
    panic!(
        "{name} did not start in 5 tries: {}",
        last_error.unwrap_or_default()
    )
}

/// tftpd-hpa on 127.0.0.1 and a free port, in the foreground (`-L`), serving `root`
/// (`-s`: chrooted there), creating files on upload (`-c`), with no checks beyond the
/// file system's (`-p`: no "world-readable only" rule). `None` (skipped) if it is not
/// installed, or if we are not root (`-s` is chroot(2), which needs root; CI runs as root).
pub fn tftpd_hpa(root: &Path) -> Option<Server> {
    let exe = require_tool("in.tftpd", "tftpd-hpa")?;
    if !is_root() {
        skip_or_fail("tftpd-hpa needs root here (its -s is a chroot)");
        return None;
    }
    let user = current_user();
    Some(start_peer("tftpd-hpa", |port| {
        let mut command = Command::new(&exe);
        command
            .args(["-L", "-p", "-c", "-u", &user, "-s"])
            .arg(root)
            .args(["-a", &format!("127.0.0.1:{port}")]);
        command
    }))
}

/// Where atftpd is: `$ATFTPD`, else unpacked under the target folder
/// (`target/peer-tools/atftpd/usr/sbin/atftpd`, as `.ci/run` does), else on the PATH.
pub fn atftpd_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ATFTPD") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()?
        .to_path_buf();
    let workspace_target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    [target, workspace_target]
        .iter()
        .map(|dir| dir.join("peer-tools/atftpd/usr/sbin/atftpd"))
        .find(|p| p.is_file())
        .or_else(|| shared::testing::find_on_path("atftpd"))
}

/// How to unpack atftpd by hand (what `.ci/run` does).
pub const ATFTPD_HOWTO: &str = "mkdir -p target/peer-tools && cd target/peer-tools && \
     apt-get download atftpd && dpkg -x atftpd_*.deb atftpd (or set ATFTPD=/path/to/atftpd)";

/// atftpd on 127.0.0.1 and a free port, in the foreground, serving `root`. `None`
/// (skipped) if it is not unpacked; a failure under CI.
pub fn atftpd(root: &Path) -> Option<Server> {
    let Some(exe) = atftpd_path() else {
        skip_or_fail(&format!("atftpd is not unpacked ({ATFTPD_HOWTO})"));
        return None;
    };
    let user = current_user();
    Some(start_peer("atftpd", |port| {
        let mut command = Command::new(&exe);
        command
            .args(["--daemon", "--no-fork", "--logfile", "-"])
            .args(["--user", &user, "--group", &user])
            .args(["--port", &port.to_string(), "--bind-address", "127.0.0.1"])
            .arg(root);
        command
    }))
}

// ---------------------------------------------------------------------------------------
// Clients

/// Options a transfer asks for; `None` leaves an option out of the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opts {
    pub blksize: Option<u16>,
    pub windowsize: Option<u16>,
    /// Mode `netascii` instead of `octet`: line ends travel as CR LF and a bare CR as
    /// CR NUL, and each side translates, so on Unix the file still arrives unchanged.
    pub netascii: bool,
}

/// Plain RFC 1350: no options, 512-byte blocks, one block per acknowledgement.
pub const LOCKSTEP: Opts = Opts {
    blksize: None,
    windowsize: None,
    netascii: false,
};

/// Lock-step in mode netascii.
pub const NETASCII: Opts = Opts {
    blksize: None,
    windowsize: None,
    netascii: true,
};

pub const fn blksize(n: u16) -> Opts {
    Opts {
        blksize: Some(n),
        windowsize: None,
        netascii: false,
    }
}

pub const fn window(blksize: u16, windowsize: u16) -> Opts {
    Opts {
        blksize: Some(blksize),
        windowsize: Some(windowsize),
        netascii: false,
    }
}

/// A TFTP client program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// curl: `--tftp-blksize` only; `--tftp-no-options` for plain lock-step.
    Curl,
    /// The tftp-hpa client: no options at all (always 512-byte lock-step).
    TftpHpa,
    /// busybox tftp: `-b BLKSIZE` only.
    Busybox,
    /// atftp: `--option "blksize N"` and `--option "windowsize N"`.
    Atftp,
    /// Ours: `tftp get|put --blksize N --windowsize N`.
    Ours,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Curl => "curl",
            Client::TftpHpa => "tftp-hpa",
            Client::Busybox => "busybox",
            Client::Atftp => "atftp",
            Client::Ours => "our client",
        }
    }

    /// The program, or `None` (skipped; a failure under CI) if it is not installed.
    fn program(self, ours: &Path) -> Option<PathBuf> {
        match self {
            Client::Curl => require_tool("curl", "curl"),
            Client::TftpHpa => require_tool("tftp", "tftp-hpa"),
            Client::Busybox => require_tool("busybox", "busybox"),
            Client::Atftp => require_tool("atftp", "atftp"),
            Client::Ours => Some(ours.to_path_buf()),
        }
    }

    /// Whether this client can ask for `opts`.
    pub fn supports(self, opts: Opts) -> bool {
        match self {
            // curl's --use-ascii asks for netascii but does not translate what it receives.
            Client::Curl | Client::Busybox => opts.windowsize.is_none() && !opts.netascii,
            Client::TftpHpa => opts == LOCKSTEP || opts == NETASCII,
            Client::Atftp => !opts.netascii,
            Client::Ours => true,
        }
    }

    /// The command that downloads `remote` from `server` into `local` (get) or uploads
    /// `local` as `remote` (put). `None` if the client is not installed.
    pub fn command(
        self,
        ours: &Path,
        put: bool,
        server: SocketAddr,
        remote: &str,
        local: &Path,
        opts: Opts,
    ) -> Option<Command> {
        assert!(
            self.supports(opts),
            "{} cannot ask for {opts:?}",
            self.name()
        );
        let mut command = Command::new(self.program(ours)?);
        let (host, port) = (server.ip().to_string(), server.port().to_string());
        match self {
            Client::Curl => {
                command.args(["--silent", "--show-error"]);
                match opts.blksize {
                    Some(n) => command.args(["--tftp-blksize", &n.to_string()]),
                    None => command.arg("--tftp-no-options"),
                };
                command.arg(if put { "--upload-file" } else { "--output" });
                command.arg(local);
                // SocketAddr shows an IPv6 address in brackets, as URLs want it.
                command.arg(format!("tftp://{server}/{remote}"));
            }
            Client::TftpHpa => {
                // -v: it says "Received N bytes" or "Error code ...": its exit status is 0
                // even when the transfer failed, so `run` reads what it printed too.
                let mode = if opts.netascii { "netascii" } else { "binary" };
                if server.is_ipv6() {
                    command.arg("-6");
                }
                command.args(["-v", "-m", mode, &host, &port, "-c"]);
                command.arg(if put { "put" } else { "get" });
                if put {
                    command.arg(local).arg(remote);
                } else {
                    command.arg(remote).arg(local);
                }
            }
            Client::Busybox => {
                command.args(["tftp", if put { "-p" } else { "-g" }]);
                command.arg("-l").arg(local).args(["-r", remote]);
                if let Some(n) = opts.blksize {
                    command.args(["-b", &n.to_string()]);
                }
                command.args([&host, &port]);
            }
            Client::Atftp => {
                if let Some(n) = opts.blksize {
                    command.args(["--option", &format!("blksize {n}")]);
                }
                if let Some(n) = opts.windowsize {
                    command.args(["--option", &format!("windowsize {n}")]);
                }
                command.arg(if put { "--put" } else { "--get" });
                command.arg("-l").arg(local).args(["-r", remote]);
                command.args([&host, &port]);
            }
            Client::Ours => {
                command.arg(if put { "put" } else { "get" });
                command.args(["--addr", &server.to_string()]);
                if put {
                    command.arg(local).arg(remote);
                } else {
                    command.arg(remote).arg(local);
                }
                if let Some(n) = opts.blksize {
                    command.args(["--blksize", &n.to_string()]);
                }
                if let Some(n) = opts.windowsize {
                    command.args(["--windowsize", &n.to_string()]);
                }
                if opts.netascii {
                    command.args(["--mode", "netascii"]);
                }
            }
        }
        Some(command)
    }
}

/// Runs a client to the end (at most `timeout`) and checks that it succeeded: exit status
/// 0 and, for the tftp-hpa client (which exits 0 on failure), no error in its output.
pub fn run(name: &str, command: Command, timeout: Duration) -> anyhow::Result<Finished> {
    let shown = format!("{command:?}");
    let mut program = Program::spawn(name, command)?;
    program.close_stdin();
    let started = Instant::now();
    let finished = program
        .finish(timeout)
        .with_context(|| format!("{name}: {shown}"))?;
    let said_error = finished
        .stdout
        .iter()
        .chain(&finished.stderr)
        .any(|line| line.contains("Error code") || line.contains("Transfer timed out"));
    if !finished.status.success() || said_error {
        return Err(anyhow!(
            "{name} failed ({}) after {:.1}s: {shown}\nstdout: {}\nstderr: {}",
            finished.status,
            started.elapsed().as_secs_f64(),
            finished.stdout.join("\n"),
            finished.stderr.join("\n")
        ));
    }
    Ok(finished)
}

/// One transfer, checked byte for byte: with `client` and `opts`, a get of `name` from
/// `server` (whose root holds it) or a put of it (from `local_dir`) into the server's
/// `root`. `expected` is the file's content. Returns false if the client is missing
/// (skipped).
#[allow(clippy::too_many_arguments)]
pub fn transfer(
    ours: &Path,
    client: Client,
    put: bool,
    server: &Target,
    root: &Path,
    local_dir: &Path,
    name: &str,
    expected: &[u8],
    opts: Opts,
    timeout: Duration,
) -> anyhow::Result<bool> {
    let what = format!(
        "{} {} {} ({} bytes, {opts:?}) {} {}",
        client.name(),
        if put { "put" } else { "get" },
        name,
        expected.len(),
        if put { "to" } else { "from" },
        server.name
    );
    // A name of its own for each transfer, so a stale file never passes for a new one.
    let tag = format!(
        "{}-{}-{}-{}{}",
        client.name().replace(' ', "_"),
        if put { "put" } else { "get" },
        opts.blksize.unwrap_or(512),
        opts.windowsize.unwrap_or(1),
        if opts.netascii { "-netascii" } else { "" }
    );
    let (local, remote, result_path) = if put {
        let remote = format!("up-{tag}-{name}");
        (local_dir.join(name), remote.clone(), root.join(remote))
    } else {
        let local = local_dir.join(format!("down-{tag}-{name}"));
        (local.clone(), name.to_string(), local)
    };
    if put {
        std::fs::write(&local, expected)?;
    }
    let _ = std::fs::remove_file(&result_path);
    let Some(command) = client.command(ours, put, server.addr, &remote, &local, opts) else {
        return Ok(false);
    };
    run(client.name(), command, timeout).with_context(|| what.clone())?;
    if put && server.name != "our server" {
        wait_for_peer_to_close(&result_path, expected.len());
    }
    check_same(expected, &result_path, &what)?;
    let _ = std::fs::remove_file(&result_path);
    Ok(true)
}
