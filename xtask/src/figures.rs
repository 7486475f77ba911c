//! `cargo xtask figures [--check]`: the book's pictures, drawn from what the programs do.
//!
//! The sequence diagrams are not drawn by hand: each comes from a scripted run of a
//! lesson on loopback with `--trace`, and every data arrow in the picture is a packet the
//! trace printed (its bytes, its size, its direction). What a trace cannot show (the
//! TCP segments the kernel sends by itself: SYN, ACK, FIN) is drawn from the TCP state
//! machine, and which side closed first is read from `ss` after the run, not assumed.
//! The packet layouts (IPv4, UDP, TFTP) are drawn from the RFCs' field tables.
//!
//! The SVG files go to `docs/src/figures/`. `--check` draws them again and fails if a
//! committed file differs, so a lesson that changes its conversation changes its
//! picture. Ports that change from run to run (ephemeral ports, port 0) never appear in
//! a figure; lanes show the lesson's default addresses.

use crate::cargo::{self, Profile};
use anyhow::{bail, Context as _};
use shared::testing::Program;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// How long any one program of a figure's run may take.
const STEP: Duration = Duration::from_secs(10);

/// `cargo xtask figures [--check]`.
pub fn run(check: bool) -> anyhow::Result<ExitCode> {
    let root = cargo::workspace_root();
    let bins = cargo::build_bins(
        &["tcp-basic", "udp-echo", "broadcast", "tftp"],
        Profile::Debug,
        true,
    )?;
    let out_dir = root.join("docs").join("src").join("figures");
    let mut figures: Vec<(&str, String)> = Vec::new();

    let tcp = run_tcp_basic(&bins)?;
    figures.push(("tcp-handshake.svg", handshake_diagram(&tcp).svg()));
    figures.push(("tcp-close.svg", close_diagram(&tcp)?.svg()));
    let udp = run_udp_echo(&bins)?;
    figures.push(("udp-echo.svg", udp_diagram(&udp).svg()));
    let answers = run_broadcast(&bins)?;
    figures.push(("broadcast.svg", broadcast_diagram(&answers).svg()));
    let tftp = run_tftp(&bins)?;
    figures.push(("tftp-loss.svg", tftp_diagram(&tftp).svg()));
    let payload = udp.first().map_or(0, |p| p.bytes.len());
    figures.push(("encapsulation.svg", encapsulation_figure(payload)));
    figures.push(("ipv4-udp-headers.svg", ipv4_udp_layout()));
    figures.push(("tftp-packets.svg", tftp_layout()));

    let mut stale = Vec::new();
    for (name, svg) in &figures {
        let path = out_dir.join(name);
        if check {
            let old = std::fs::read_to_string(&path).unwrap_or_default();
            if old != *svg {
                stale.push(name.to_string());
            }
        } else {
            std::fs::create_dir_all(&out_dir)?;
            std::fs::write(&path, svg)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "wrote {}",
                path.strip_prefix(&root).unwrap_or(&path).display()
            );
        }
    }
    if !stale.is_empty() {
        println!(
            "out of date (run `cargo xtask figures` and commit): {}",
            stale.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    if check {
        println!("figures: all {} up to date", figures.len());
    }
    Ok(ExitCode::SUCCESS)
}

// ---- traces -------------------------------------------------------------------------

/// One packet a `--trace` printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// We sent it (`-->`), or received it (`<--`).
    pub sent: bool,
    /// The peer, as printed.
    pub peer: String,
    /// Its length, from the header line.
    pub len: usize,
    /// The bytes shown (a trace shows at most 256).
    pub bytes: Vec<u8>,
    /// What the lesson said the packet is, on a `    = ...` line after the dump
    /// (lesson 06 decodes its TFTP packets: `= DATA block 1, 512 bytes`).
    pub decoded: Option<String>,
    /// A send the loss simulator (`--drop`) threw away: `-x- PEER  dropped ...: WHAT`.
    pub dropped: bool,
}

/// Reads the packets back out of `--trace` lines (see `shared::trace`).
pub fn parse_trace(lines: &[String]) -> Vec<Packet> {
    let mut packets: Vec<Packet> = Vec::new();
    for line in lines {
        if let Some(rest) = line.strip_prefix("-x- ") {
            let (peer, what) = rest.split_once("  ").unwrap_or((rest, ""));
            let what = what.split_once(": ").map_or(what, |(_, what)| what);
            packets.push(Packet {
                sent: true,
                peer: peer.to_string(),
                len: 0,
                bytes: Vec::new(),
                decoded: Some(what.to_string()),
                dropped: true,
            });
            continue;
        }
        if let Some(decoded) = line.strip_prefix("    = ") {
            if let Some(packet) = packets.last_mut() {
                packet.decoded = Some(decoded.to_string());
            }
            continue;
        }
        let header = line
            .strip_prefix("--> ")
            .map(|rest| (true, rest))
            .or_else(|| line.strip_prefix("<-- ").map(|rest| (false, rest)));
        if let Some((sent, rest)) = header {
            let mut words = rest.split_whitespace();
            let (Some(peer), Some(len), Some("bytes")) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let Ok(len) = len.parse() else { continue };
            packets.push(Packet {
                sent,
                peer: peer.to_string(),
                len,
                bytes: Vec::new(),
                decoded: None,
                dropped: false,
            });
            continue;
        }
        // `    0000  68 65 ...  hello`: the hex is between the offset and the ASCII column.
        let Some(packet) = packets.last_mut() else {
            continue;
        };
        let Some(dump) = line.strip_prefix("    ") else {
            continue;
        };
        let Some((offset, hex)) = dump.split_once("  ") else {
            continue;
        };
        if offset.len() != 4 || !offset.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let hex_area: String = hex.chars().take(16 * 3 + 1).collect();
        for word in hex_area.split_whitespace() {
            if let Ok(byte) = u8::from_str_radix(word, 16) {
                if word.len() == 2 {
                    packet.bytes.push(byte);
                }
            }
        }
    }
    packets
}

/// Bytes as a short label: printable text quoted, `\n` escaped, long ones cut.
fn quoted(bytes: &[u8]) -> String {
    let text = shared::encoding::display(bytes);
    let text: String = if text.chars().count() > 24 {
        text.chars().take(22).chain("…".chars()).collect()
    } else {
        text
    };
    format!("\"{text}\"")
}

/// Starts `exe args` and waits for its readiness line.
fn server(
    name: &str,
    exe: &Path,
    args: &[&str],
) -> anyhow::Result<(Program, std::net::SocketAddr)> {
    let mut command = Command::new(exe);
    command.args(args);
    let mut program = Program::spawn(name, command)?;
    let addr = program.wait_ready(STEP)?;
    Ok((program, addr))
}

/// Runs `exe args` with `stdin`, to the end; its stdout and stderr lines.
fn client(
    name: &str,
    exe: &Path,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut command = Command::new(exe);
    command.args(args);
    let mut program = Program::spawn(name, command)?;
    program.send(stdin)?;
    program.close_stdin();
    let finished = program.finish(STEP)?;
    if !finished.status.success() {
        bail!("{name} failed ({}): {:?}", finished.status, finished.stderr);
    }
    Ok((finished.stdout, finished.stderr))
}

/// Stops a server and returns everything it printed on stderr (its trace), including
/// lines already read while waiting for something on stdout.
fn stop(mut program: Program) -> Vec<String> {
    program.kill();
    let deadline = Instant::now() + Duration::from_secs(2);
    while program.next_line(deadline).is_some() {}
    program
        .transcript()
        .lines()
        .filter_map(|line| line.strip_prefix("(stderr) "))
        .map(str::to_string)
        .collect()
}

/// Lesson 01's conversations, as the clients traced them.
pub struct TcpRun {
    /// `client`: `hello` and `bye`, each echoed.
    pub packets: Vec<Packet>,
    /// `burst`: its one write and the echo it read after its half-close.
    pub burst: Vec<Packet>,
    /// Whether `burst` closed first (its end, not the server's, was in TIME_WAIT after
    /// the run). It always should: it half-closes, and the server closes only when its
    /// read returns 0. The close figure is drawn only if `ss` agrees.
    pub burst_closed_first: bool,
}

fn run_tcp_basic(bins: &Path) -> anyhow::Result<TcpRun> {
    let exe = bins.join("tcp-basic");
    let (server_program, addr) = server("server", &exe, &["server", "--addr", "127.0.0.1:0"])?;
    let addr = addr.to_string();
    let client_args = ["client", "--addr", &addr, "--trace"];
    let (_, stderr) = client("client", &exe, &client_args, "hello\nbye\n")?;
    drop(stop(server_program));

    // A server of its own for burst, so the only TIME_WAIT on its port is burst's.
    let (server_program, addr) = server("server", &exe, &["server", "--addr", "127.0.0.1:0"])?;
    let port = addr.port();
    let addr = addr.to_string();
    let burst_args = ["burst", "--addr", &addr, "--trace"];
    let (_, burst_stderr) = client("burst", &exe, &burst_args, "one\ntwo\n")?;
    // The side that closed first holds the TIME-WAIT socket; ss shows its local port.
    let waiting = time_wait_local_ports(&format!("sport = :{port} or dport = :{port}"))?;
    let burst_closed_first = !waiting.is_empty()
        && waiting
            .iter()
            .all(|local| !local.ends_with(&format!(":{port}")));
    drop(stop(server_program));
    Ok(TcpRun {
        packets: parse_trace(&stderr),
        burst: parse_trace(&burst_stderr),
        burst_closed_first,
    })
}

/// The local addresses of the TCP sockets in TIME-WAIT that match an `ss` filter.
fn time_wait_local_ports(filter: &str) -> anyhow::Result<Vec<String>> {
    let output = Command::new("ss")
        .args(["-tanH", "state", "time-wait", filter])
        .output()
        .context("cannot run `ss` (iproute2), which tells which side closed first")?;
    let text = String::from_utf8_lossy(&output.stdout);
    // Columns without the state: Recv-Q Send-Q Local Peer.
    Ok(text
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2).map(str::to_string))
        .collect())
}

fn run_udp_echo(bins: &Path) -> anyhow::Result<Vec<Packet>> {
    let exe = bins.join("udp-echo");
    let (server_program, addr) = server("server", &exe, &["server", "--addr", "127.0.0.1:0"])?;
    let addr = addr.to_string();
    let (_, stderr) = client(
        "client",
        &exe,
        &["client", "--addr", &addr, "--trace"],
        "hello\nworld\n",
    )?;
    drop(stop(server_program));
    Ok(parse_trace(&stderr))
}

/// What `announce --trace` saw: its broadcast, and the answers (sorted by who answered,
/// since their order differs from run to run).
pub struct BroadcastRun {
    pub sent: Vec<Packet>,
    pub answers: Vec<Packet>,
}

fn run_broadcast(bins: &Path) -> anyhow::Result<BroadcastRun> {
    let exe = bins.join("broadcast");
    let (first, addr) = server(
        "listen-1",
        &exe,
        &["listen", "--addr", "0.0.0.0:0", "--user", "listen-1"],
    )?;
    let shared_port = format!("0.0.0.0:{}", addr.port());
    let (second, _) = server(
        "listen-2",
        &exe,
        &["listen", "--addr", &shared_port, "--user", "listen-2"],
    )?;
    let target = format!("127.255.255.255:{}", addr.port());
    let args = [
        "announce", "--to", &target, "--user", "teacher", "--wait", "1s", "--trace",
    ];
    let (_, stderr) = client("announce", &exe, &args, "")?;
    drop(stop(first));
    drop(stop(second));
    let packets = parse_trace(&stderr);
    let (sent, mut answers): (Vec<Packet>, Vec<Packet>) = packets.into_iter().partition(|p| p.sent);
    answers.sort_by_key(|p| ipmsg_user(&p.bytes));
    Ok(BroadcastRun { sent, answers })
}

/// IPMsg `version:packet:user:host:command:extra`: the user field.
fn ipmsg_user(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split(':')
        .nth(2)
        .unwrap_or("")
        .to_string()
}

/// IPMsg's command number as its name (IPMSG_BR_ENTRY ...), the low byte only.
fn ipmsg_command(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let number: u32 = text
        .split(':')
        .nth(4)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    match number & 0xff {
        1 => "BR_ENTRY".into(),
        2 => "BR_EXIT".into(),
        3 => "ANSENTRY".into(),
        other => format!("command {other}"),
    }
}

/// Lesson 06: `get` of a 1100-byte file (three blocks) from a server that loses one
/// datagram. The server's trace shows the loss; the client's shows the ports.
pub struct TftpRun {
    /// The server's trace: what it received, sent, and lost.
    pub server: Vec<Packet>,
    /// The client's trace: the RRQ went to the server's port, the DATA came from another.
    pub client: Vec<Packet>,
}

/// The seed of `--drop 0.3` that loses DATA block 2 (and nothing else) of this run; if
/// the loss simulator changes, `figures --check` says the picture changed.
const TFTP_SEED: &str = "2";

fn run_tftp(bins: &Path) -> anyhow::Result<TftpRun> {
    let exe = bins.join("tftp");
    let dir = std::env::temp_dir().join(format!("xtask-figures-tftp-{}", std::process::id()));
    let (root, here) = (dir.join("root"), dir.join("here"));
    std::fs::create_dir_all(&root)?;
    std::fs::create_dir_all(&here)?;
    let file: Vec<u8> = (0..1100u32)
        .map(|i| b"0123456789abcdef"[(i % 16) as usize])
        .collect();
    std::fs::write(root.join("notes.txt"), &file)?;
    let root_arg = root.to_string_lossy().into_owned();
    let local = here.join("notes.txt").to_string_lossy().into_owned();
    let args = [
        "server",
        "--root",
        &root_arg,
        "--addr",
        "127.0.0.1:0",
        "--drop",
        "0.3",
        "--seed",
        TFTP_SEED,
        "--trace",
    ];
    let (mut server_program, addr) = server("server", &exe, &args)?;
    let addr = addr.to_string();
    // The client waits 2.5 s (a fraction: not asked of the server, which keeps its 1 s),
    // so the server's retransmission comes first and the run is the same every time.
    let get = [
        "get",
        "notes.txt",
        &local,
        "--addr",
        &addr,
        "--timeout",
        "2.5s",
        "--trace",
    ];
    let result = client("get", &exe, &get, "");
    // The server logs each transfer when it ends; then its trace is complete.
    let logged = server_program.expect_stdout("RRQ", STEP);
    let server_trace = stop(server_program);
    let _ = std::fs::remove_dir_all(&dir);
    let (_, client_trace) = result?;
    logged?;
    Ok(TftpRun {
        server: parse_trace(&server_trace),
        client: parse_trace(&client_trace),
    })
}

/// RRQ, DATA and ACK in lock-step, one DATA lost and sent again after the timeout.
pub fn tftp_diagram(run: &TftpRun) -> Diagram {
    let (c, s) = (0, 1);
    let mut rows = Vec::new();
    let mut lost: Option<String> = None;
    for (i, packet) in run.server.iter().enumerate() {
        // The server does not decode the request it receives; the client's trace did.
        let decoded = match (i, &packet.decoded) {
            (0, None) => run.client.first().and_then(|p| p.decoded.clone()),
            (_, decoded) => decoded.clone(),
        };
        let what = decoded.unwrap_or_else(|| quoted(&packet.bytes));
        if packet.dropped {
            rows.push(Row::Message {
                from: s,
                to: vec![c],
                label: what.clone(),
                detail: "lost (--drop)".into(),
                style: Style::Lost,
            });
            lost = Some(what);
            continue;
        }
        if packet.sent && lost.as_deref() == Some(what.as_str()) {
            let short = what.split(',').next().unwrap_or(&what);
            rows.push(Row::Remark(format!(
                "no ACK within the server's timeout (1 s): {short} is sent again"
            )));
            lost = None;
        }
        let (from, to) = if packet.sent { (s, c) } else { (c, s) };
        rows.push(Row::Message {
            from,
            to: vec![to],
            label: what,
            detail: format!("{} bytes", packet.len),
            style: Style::Data,
        });
        // After the request: does the client's trace show the answer from a new port?
        if i == 0 {
            let ports: Vec<&str> = run
                .client
                .iter()
                .take(2)
                .map(|p| p.peer.rsplit(':').next().unwrap_or(""))
                .collect();
            if ports.len() == 2 && ports[0] != ports[1] {
                rows.push(Row::Remark(
                    "the server answers from a new port (the transfer's TID), used to the end"
                        .into(),
                ));
            }
        }
    }
    Diagram {
        lanes: vec![
            ("tftp get".into(), "ephemeral port".into()),
            ("tftp server".into(), format!("{} (default)", shared::addr::TFTP)),
        ],
        rows,
        caption: "Lesson 06: a 1100-byte file in 512-byte blocks, from the server's --trace with --drop 0.3 --seed 2. A DATA shorter than 512 bytes ends the transfer.".into(),
    }
}

// ---- sequence diagrams --------------------------------------------------------------

/// How an arrow is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Application data the trace printed: solid blue.
    Data,
    /// A segment the kernel sends by itself (SYN, ACK, FIN): dashed grey.
    Kernel,
    /// A packet that was sent and lost: red, ends in a cross halfway.
    Lost,
}

/// One row of a sequence diagram.
#[derive(Debug, Clone)]
pub enum Row {
    /// An arrow from lane to lane(s), with a label above and a detail below.
    Message {
        from: usize,
        to: Vec<usize>,
        label: String,
        detail: String,
        style: Style,
    },
    /// A state or a call, in a box on one lane.
    State { lane: usize, text: String },
    /// Two states side by side on one row.
    States(Vec<(usize, String)>),
    /// A remark across the diagram, in italics.
    Remark(String),
}

/// A sequence diagram: lanes (title, subtitle), rows, a caption.
pub struct Diagram {
    pub lanes: Vec<(String, String)>,
    pub rows: Vec<Row>,
    pub caption: String,
}

const WIDTH: usize = 760;
const TOP: usize = 70;
const ROW: usize = 46;

/// Splits `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Diagram {
    fn lane_x(&self, lane: usize) -> usize {
        let margin = 150;
        let lanes = self.lanes.len().max(2);
        margin + lane * (WIDTH - 2 * margin) / (lanes - 1)
    }

    /// The diagram as an SVG document.
    pub fn svg(&self) -> String {
        let caption = wrap(&self.caption, 110);
        let height = TOP + self.rows.len() * ROW + 30 + 16 * caption.len();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">"
        );
        out.push_str(STYLE);
        let _ = writeln!(
            out,
            "<rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        for (lane, (title, subtitle)) in self.lanes.iter().enumerate() {
            let x = self.lane_x(lane);
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"10\" width=\"180\" height=\"40\" rx=\"6\" class=\"lane\"/>\
                 <text x=\"{x}\" y=\"27\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
                 <text x=\"{x}\" y=\"43\" text-anchor=\"middle\" class=\"small\">{}</text>",
                x - 90,
                esc(title),
                esc(subtitle)
            );
            let _ = writeln!(
                out,
                "<line x1=\"{x}\" y1=\"50\" x2=\"{x}\" y2=\"{}\" class=\"life\"/>",
                height - 40
            );
        }
        for (i, row) in self.rows.iter().enumerate() {
            let y = TOP + i * ROW + ROW / 2;
            match row {
                Row::Message {
                    from,
                    to,
                    label,
                    detail,
                    style,
                } => {
                    let x1 = self.lane_x(*from);
                    for target in to {
                        let x2 = self.lane_x(*target);
                        let class = match style {
                            Style::Data => "data",
                            Style::Kernel => "kernel",
                            Style::Lost => "lost",
                        };
                        let end = if *style == Style::Lost {
                            (x1 + x2) / 2
                        } else {
                            x2
                        };
                        let marker = if *style == Style::Lost {
                            ""
                        } else {
                            " marker-end=\"url(#head)\""
                        };
                        let _ = writeln!(
                            out,
                            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{end}\" y2=\"{y}\" class=\"{class}\"{marker}/>"
                        );
                        if *style == Style::Lost {
                            let _ = writeln!(
                                out,
                                "<path d=\"M{a} {b} L{c} {d} M{a} {d} L{c} {b}\" class=\"lost\"/>",
                                a = end - 7,
                                b = y - 7,
                                c = end + 7,
                                d = y + 7
                            );
                        }
                    }
                    // The label goes over the first stretch of the arrow: with several
                    // targets (a broadcast), between the sender and the nearest one.
                    let near = to
                        .iter()
                        .map(|&t| self.lane_x(t))
                        .min_by_key(|&x| x.abs_diff(x1))
                        .unwrap_or(x1);
                    let mid = if *style == Style::Lost {
                        // Over the stretch before the cross: the cross is halfway.
                        (3 * x1 + near) / 4
                    } else {
                        (x1 + near) / 2
                    };
                    let _ = writeln!(
                        out,
                        "<text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" class=\"label {}\">{}</text>",
                        y - 6,
                        if *style == Style::Kernel { "klabel" } else { "" },
                        esc(label)
                    );
                    if !detail.is_empty() {
                        let _ = writeln!(
                            out,
                            "<text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" class=\"small\">{}</text>",
                            y + 15,
                            esc(detail)
                        );
                    }
                }
                Row::State { lane, text } => self.state_box(&mut out, *lane, y, text),
                Row::States(states) => {
                    for (lane, text) in states {
                        self.state_box(&mut out, *lane, y, text);
                    }
                }
                Row::Remark(text) => {
                    let _ = writeln!(
                        out,
                        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"remark\">{}</text>",
                        WIDTH / 2,
                        y + 4,
                        esc(text)
                    );
                }
            }
        }
        for (i, line) in caption.iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"small\">{}</text>",
                WIDTH / 2,
                height + 16 * i - 12 - 16 * (caption.len() - 1),
                esc(line)
            );
        }
        out.push_str("</svg>\n");
        out
    }

    fn state_box(&self, out: &mut String, lane: usize, y: usize, text: &str) {
        let x = self.lane_x(lane);
        let width = 14 + text.chars().count() * 7;
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{width}\" height=\"22\" rx=\"4\" class=\"state\"/>\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" class=\"statetext\">{}</text>",
            x.saturating_sub(width / 2),
            y - 11,
            y + 4,
            esc(text)
        );
    }
}

const STYLE: &str = "<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"11\" markerHeight=\"11\" orient=\"auto-start-reverse\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"#333\"/></marker></defs>
<style>
.lane{fill:#eef3fb;stroke:#4a6fa5;stroke-width:1.5}
.life{stroke:#9aa5b1;stroke-width:1.5;stroke-dasharray:2 4}
.data{stroke:#1f5fbf;stroke-width:2}
.kernel{stroke:#777;stroke-width:1.5;stroke-dasharray:6 4}
.lost{stroke:#c62828;stroke-width:2;fill:none}
.label{fill:#1a1a1a;font-family:DejaVu Sans Mono, Menlo, Consolas, monospace;font-size:13px}
.klabel{fill:#555}
.small{fill:#555;font-size:11.5px}
.remark{fill:#444;font-style:italic;font-size:12.5px}
.state{fill:#fff7e0;stroke:#c9a227;stroke-width:1.2}
.statetext{fill:#5a4500;font-size:11.5px;font-family:DejaVu Sans Mono, Menlo, Consolas, monospace}
</style>
";

/// A data arrow for each traced packet, as seen from lane `me` talking to lane `peer`.
/// `send` and `receive` name the calls (`write()`/`read()`); the detail line says who
/// made which: the sender's send, the receiver's receive.
fn data_rows(packets: &[Packet], me: usize, peer: usize, send: &str, receive: &str) -> Vec<Row> {
    packets
        .iter()
        .map(|p| {
            let (from, to, who) = if p.sent {
                (me, peer, ("client", "server"))
            } else {
                (peer, me, ("server", "client"))
            };
            Row::Message {
                from,
                to: vec![to],
                label: quoted(&p.bytes),
                detail: format!("{} bytes: {} {send}, {} {receive}", p.len, who.0, who.1),
                style: Style::Data,
            }
        })
        .collect()
}

fn kernel(from: usize, to: usize, label: &str, detail: &str) -> Row {
    Row::Message {
        from,
        to: vec![to],
        label: label.into(),
        detail: detail.into(),
        style: Style::Kernel,
    }
}

fn state(lane: usize, text: &str) -> Row {
    Row::State {
        lane,
        text: text.into(),
    }
}

fn tcp_lanes() -> Vec<(String, String)> {
    vec![
        ("tcp-basic client".into(), "127.0.0.1:ephemeral port".into()),
        (
            "tcp-basic server".into(),
            format!("{} (default)", shared::addr::TCP_BASIC),
        ),
    ]
}

/// The handshake, then the first line and its echo (from the trace).
pub fn handshake_diagram(run: &TcpRun) -> Diagram {
    let (c, s) = (0, 1);
    let mut rows = vec![
        Row::States(
            vec![(c, "socket()"), (s, "socket() bind() listen()")]
                .into_iter()
                .map(|(l, t)| (l, t.to_string()))
                .collect(),
        ),
        Row::States(vec![
            (c, "connect(): SYN_SENT".to_string()),
            (s, "LISTEN".to_string()),
        ]),
        kernel(c, s, "SYN  seq=x", "kernel: \"my bytes start at x\""),
        state(s, "SYN_RCVD"),
        kernel(
            s,
            c,
            "SYN+ACK  seq=y ack=x+1",
            "kernel: \"mine at y; I got x\"",
        ),
        kernel(c, s, "ACK  ack=y+1", "kernel: \"I got y\""),
        Row::States(vec![
            (c, "ESTABLISHED: connect() returns".to_string()),
            (s, "ESTABLISHED: accept() returns".to_string()),
        ]),
    ];
    rows.extend(data_rows(
        &run.packets[..run.packets.len().min(2)],
        c,
        s,
        "write()",
        "read()",
    ));
    Diagram {
        lanes: tcp_lanes(),
        rows,
        caption: "Lesson 01. Grey dashed: segments the kernels exchange by themselves. Blue: the bytes client --trace printed (each one also ACKed; those ACKs are not drawn).".into(),
    }
}

/// `burst`: its write, its half-close, the echo it still reads, then the server's close.
/// An error if `ss` did not see burst close first: then this picture would not be true.
pub fn close_diagram(run: &TcpRun) -> anyhow::Result<Diagram> {
    if !run.burst_closed_first {
        bail!("after burst, ss did not show its end in TIME_WAIT; the close figure would be wrong");
    }
    let (c, s) = (0, 1);
    let sent: Vec<Packet> = run.burst.iter().filter(|p| p.sent).cloned().collect();
    let echo: Vec<Packet> = run.burst.iter().filter(|p| !p.sent).cloned().collect();
    let mut rows = data_rows(&sent, c, s, "write()", "read()");
    rows.extend([
        state(c, "shutdown(Write): FIN_WAIT_1"),
        kernel(c, s, "FIN  seq=u", "kernel: \"the client sends no more\""),
        kernel(s, c, "ACK  ack=u+1", ""),
        Row::States(vec![
            (c, "FIN_WAIT_2: still reads".to_string()),
            (s, "CLOSE_WAIT".to_string()),
        ]),
    ]);
    rows.push(Row::Remark(
        "half-close: the server may still send, and the client still reads".into(),
    ));
    rows.extend(data_rows(&echo, c, s, "write()", "read()"));
    rows.extend([
        state(s, "read() returns 0, close(): LAST_ACK"),
        kernel(
            s,
            c,
            "FIN  seq=v",
            "the server sends no more: the client's read() returns 0",
        ),
        kernel(c, s, "ACK  ack=v+1", ""),
        Row::States(vec![
            (c, "TIME_WAIT: 2 MSL (60 s)".to_string()),
            (s, "CLOSED".to_string()),
        ]),
    ]);
    Ok(Diagram {
        lanes: vec![
            ("tcp-basic burst".into(), "127.0.0.1:ephemeral port".into()),
            ("tcp-basic server".into(), format!("{} (default)", shared::addr::TCP_BASIC)),
        ],
        rows,
        caption: "Lesson 01's burst closes first: it half-closes (shutdown(Write)) and reads the echo until the server closes too. After the run, ss showed the TIME_WAIT on the client's side, the side that closed first.".into(),
    })
}

/// Lesson 03: each line one datagram, each echoed; nothing else on the wire.
pub fn udp_diagram(packets: &[Packet]) -> Diagram {
    let (c, s) = (0, 1);
    let mut rows = vec![Row::States(vec![
        (c, "socket() bind(0.0.0.0:0)".to_string()),
        (s, "socket() bind()".to_string()),
    ])];
    rows.push(Row::Remark(
        "no handshake: the first packet already carries data".into(),
    ));
    rows.extend(data_rows(packets, c, s, "send_to()", "recv_from()"));
    rows.push(Row::Remark(
        "no close: the client just stops; the server never knows".into(),
    ));
    Diagram {
        lanes: vec![
            ("udp-echo client".into(), "0.0.0.0:ephemeral port".into()),
            ("udp-echo server".into(), format!("{} (default)", shared::addr::UDP_ECHO)),
        ],
        rows,
        caption: "Lesson 03: two lines typed into the client, as client --trace printed them. One send_to() is one datagram is one recv_from().".into(),
    }
}

/// Lesson 05: one broadcast, reaching every listener; each answers by unicast.
pub fn broadcast_diagram(run: &BroadcastRun) -> Diagram {
    let mut rows = vec![Row::States(vec![
        (0, "SO_BROADCAST".to_string()),
        (1, "bind(0.0.0.0:6868)".to_string()),
        (2, "bind(0.0.0.0:6868)".to_string()),
    ])];
    let lane_of = |user: &str| if user == "listen-2" { 2 } else { 1 };
    let entry = run.sent.first();
    if let Some(p) = entry {
        rows.push(Row::Message {
            from: 0,
            to: vec![1, 2],
            label: format!("{} from {}", ipmsg_command(&p.bytes), ipmsg_user(&p.bytes)),
            detail: format!("{} bytes to 127.255.255.255:6868", p.len),
            style: Style::Data,
        });
    }
    rows.push(Row::Remark(
        "one datagram sent; the kernel delivers a copy to every socket bound to port 6868".into(),
    ));
    for answer in &run.answers {
        let user = ipmsg_user(&answer.bytes);
        rows.push(Row::Message {
            from: lane_of(&user),
            to: vec![0],
            label: format!("{} from {user}", ipmsg_command(&answer.bytes)),
            detail: format!("{} bytes, unicast back to the sender", answer.len),
            style: Style::Data,
        });
    }
    if let Some(p) = run.sent.get(1) {
        rows.push(Row::Message {
            from: 0,
            to: vec![1, 2],
            label: format!("{} from {}", ipmsg_command(&p.bytes), ipmsg_user(&p.bytes)),
            detail: format!("{} bytes: \"I am leaving\"", p.len),
            style: Style::Data,
        });
    }
    Diagram {
        lanes: vec![
            ("broadcast announce".into(), "--user teacher".into()),
            ("broadcast listen".into(), "--user listen-1".into()),
            ("broadcast listen".into(), "--user listen-2".into()),
        ],
        rows,
        caption: "Lesson 05: the IPMsg packets announce --trace printed (the answers sorted by name: their order varies from run to run).".into(),
    }
}

// ---- packet layouts -----------------------------------------------------------------

/// Rows of 32 bits, each a list of (field, bits).
fn bit_layout(title: &str, rows: &[&[(&str, usize)]], y0: usize, out: &mut String) -> usize {
    let left = 60;
    let unit = 20; // pixels per bit
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"{}\" font-weight=\"bold\">{}</text>",
        y0 + 16,
        esc(title)
    );
    let ruler = y0 + 36;
    for bit in 0..32 {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{ruler}\" text-anchor=\"middle\" class=\"tiny\">{bit}</text>",
            left + bit * unit + unit / 2
        );
    }
    let mut y = ruler + 6;
    for row in rows {
        let mut x = left;
        for (name, bits) in row.iter() {
            let width = bits * unit;
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"34\" class=\"field\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + width / 2,
                y + 22,
                esc(name)
            );
            x += width;
        }
        y += 34;
    }
    y
}

fn layout_svg(height: usize, body: &str) -> String {
    let width = 760;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n\
         <style>.field{{fill:#eef3fb;stroke:#4a6fa5;stroke-width:1.2}}.hdr{{fill:#fff7e0;stroke:#c9a227;stroke-width:1.2}}.data{{fill:#e8f5e9;stroke:#2e7d32;stroke-width:1.2}}.eth{{fill:#f3e5f5;stroke:#7b1fa2;stroke-width:1.2}}.tiny{{fill:#777;font-size:9.5px}}.small{{fill:#555;font-size:11.5px}}</style>\n\
         <rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n{body}</svg>\n"
    )
}

/// RFC 791's IPv4 header and RFC 768's UDP header, 32 bits a row.
pub fn ipv4_udp_layout() -> String {
    let mut body = String::new();
    let ip: [&[(&str, usize)]; 5] = [
        &[
            ("version", 4),
            ("IHL", 4),
            ("DSCP/ECN", 8),
            ("total length", 16),
        ],
        &[
            ("identification", 16),
            ("flags", 3),
            ("fragment offset", 13),
        ],
        &[
            ("TTL", 8),
            ("protocol (17 = UDP)", 8),
            ("header checksum", 16),
        ],
        &[("source address (127.0.0.1)", 32)],
        &[("destination address (127.0.0.1)", 32)],
    ];
    let y = bit_layout(
        "IPv4 header (RFC 791): 20 bytes without options",
        &ip,
        0,
        &mut body,
    );
    let udp: [&[(&str, usize)]; 3] = [
        &[("source port", 16), ("destination port (8080)", 16)],
        &[("length (8 + data)", 16), ("checksum", 16)],
        &[("data: \"hello\" ...", 32)],
    ];
    let y = bit_layout(
        "UDP header (RFC 768): 8 bytes, then the data",
        &udp,
        y + 14,
        &mut body,
    );
    layout_svg(y + 16, &body)
}

/// RFC 1350's five packets (and RFC 2347's OACK), byte fields in one row each.
pub fn tftp_layout() -> String {
    type Field = (&'static str, &'static str, usize); // name, size, width in pixels
    let packets: [(&str, &[Field]); 5] = [
        (
            "RRQ / WRQ",
            &[
                ("opcode 1 / 2", "2 bytes", 100),
                ("filename", "string", 150),
                ("0", "1", 30),
                ("mode", "\"octet\"", 110),
                ("0", "1", 30),
                ("options ...", "optional", 120),
            ],
        ),
        (
            "DATA",
            &[
                ("opcode 3", "2 bytes", 100),
                ("block #", "2 bytes", 100),
                ("data", "0 to 512 bytes (blksize)", 340),
            ],
        ),
        (
            "ACK",
            &[("opcode 4", "2 bytes", 100), ("block #", "2 bytes", 100)],
        ),
        (
            "ERROR",
            &[
                ("opcode 5", "2 bytes", 100),
                ("error code", "2 bytes", 100),
                ("message", "string", 200),
                ("0", "1", 30),
            ],
        ),
        (
            "OACK",
            &[
                ("opcode 6", "2 bytes", 100),
                ("option", "string", 110),
                ("0", "1", 30),
                ("value", "string", 110),
                ("0", "1", 30),
                ("...", "", 60),
            ],
        ),
    ];
    let mut body = String::from(
        "<text x=\"20\" y=\"22\" font-weight=\"bold\">TFTP packets (RFC 1350; OACK from RFC 2347): numbers are big-endian</text>\n",
    );
    let mut y = 40;
    for (name, fields) in packets {
        let _ = writeln!(
            body,
            "<text x=\"20\" y=\"{}\" font-weight=\"bold\">{}</text>",
            y + 23,
            esc(name)
        );
        let mut x = 120;
        for (i, (field, size, width)) in fields.iter().enumerate() {
            let class = if i == 0 {
                "hdr"
            } else if *field == "data" {
                "data"
            } else {
                "field"
            };
            let _ = writeln!(
                body,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"34\" class=\"{class}\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"small\">{}</text>",
                x + width / 2,
                y + 22,
                esc(field),
                x + width / 2,
                y + 48,
                esc(size)
            );
            x += width;
        }
        y += 62;
    }
    layout_svg(y + 4, &body)
}

/// The parcel: data, wrapped by UDP, by IP, by Ethernet, with the sizes of lesson 03's
/// datagram (`payload` is the number of data bytes its trace printed). Not to scale:
/// each header gets a box wide enough for its name.
pub fn encapsulation_figure(payload: usize) -> String {
    let mut body = String::from(
        "<text x=\"20\" y=\"24\" font-weight=\"bold\">Encapsulation: each layer wraps what the layer above hands it (not to scale)</text>\n",
    );
    // (layer, header, header bytes, box width, class)
    let layers: [(&str, &str, usize, usize, &str); 4] = [
        ("application", "data", 0, 0, "data"),
        ("transport", "UDP header", 8, 110, "hdr"),
        ("internet", "IPv4 header", 20, 120, "field"),
        ("link", "Ethernet header", 14, 140, "eth"),
    ];
    let data_width = 150;
    let right = 720;
    let mut y = 44;
    let mut wrapped = payload;
    let mut wrapped_width = data_width;
    for (layer, header, size, width, class) in layers {
        let data_x = right - wrapped_width;
        let _ = writeln!(
            body,
            "<text x=\"20\" y=\"{}\" font-weight=\"bold\">{layer}</text>",
            y + 23
        );
        if size > 0 {
            let x = data_x - width;
            let _ = writeln!(
                body,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"34\" class=\"{class}\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"small\">{header}</text>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"small\">{size} bytes</text>",
                x + width / 2,
                y + 15,
                x + width / 2,
                y + 29
            );
        }
        let label = if size == 0 {
            format!("\"hello\": {payload} bytes")
        } else {
            format!("{wrapped} bytes from above")
        };
        let _ = writeln!(
            body,
            "<rect x=\"{data_x}\" y=\"{y}\" width=\"{wrapped_width}\" height=\"34\" class=\"data\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"small\">{}</text>",
            data_x + wrapped_width / 2,
            y + 22,
            esc(&label)
        );
        wrapped += size;
        wrapped_width += width;
        y += 50;
    }
    let _ = writeln!(
        body,
        "<text x=\"20\" y=\"{}\" class=\"small\">Lesson 03's datagram: the program wrote {payload} bytes, {wrapped} went on the wire (loopback adds no checksum trailer).</text>",
        y + 10
    );
    layout_svg(y + 24, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn traces_are_read_back_with_their_bytes() {
        let trace = shared::trace::format(
            shared::trace::Direction::Sent,
            "127.0.0.1:8080".parse().unwrap(),
            b"hello, a line longer than sixteen bytes\n",
            256,
        ) + &shared::trace::format(
            shared::trace::Direction::Received,
            "127.0.0.1:8080".parse().unwrap(),
            b"ok",
            256,
        );
        let mut all = lines(&trace);
        all.insert(1, "some other stderr line".into());
        let packets = parse_trace(&all);
        assert_eq!(packets.len(), 2);
        assert!(packets[0].sent && !packets[1].sent);
        assert_eq!(packets[0].peer, "127.0.0.1:8080");
        assert_eq!(
            packets[0].bytes,
            b"hello, a line longer than sixteen bytes\n"
        );
        assert_eq!(packets[0].len, 40);
        assert_eq!(packets[1].bytes, b"ok");
    }

    #[test]
    fn decoded_lines_and_simulated_losses_are_read() {
        let trace = lines(
            "--> 127.0.0.1:1  4 bytes\n    0000  00 04 00 01                                       ....\n    = ACK block 1\n-x- 127.0.0.1:1  dropped (simulated loss): DATA block 2, 512 bytes",
        );
        let packets = parse_trace(&trace);
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].bytes, [0, 4, 0, 1]);
        assert_eq!(packets[0].decoded.as_deref(), Some("ACK block 1"));
        assert!(packets[1].dropped && packets[1].sent);
        assert_eq!(
            packets[1].decoded.as_deref(),
            Some("DATA block 2, 512 bytes")
        );
    }

    #[test]
    fn a_cut_trace_keeps_its_real_length() {
        let trace = shared::trace::format(
            shared::trace::Direction::Received,
            "[::1]:69".parse().unwrap(),
            &[7u8; 600],
            32,
        );
        let packets = parse_trace(&lines(&trace));
        assert_eq!(packets[0].len, 600);
        assert_eq!(packets[0].bytes.len(), 32);
    }

    fn packet(sent: bool, bytes: &[u8]) -> Packet {
        Packet {
            sent,
            peer: "127.0.0.1:1".into(),
            len: bytes.len(),
            bytes: bytes.to_vec(),
            decoded: None,
            dropped: false,
        }
    }

    #[test]
    fn the_close_is_drawn_only_if_ss_saw_burst_close_first() {
        let burst = vec![packet(true, b"one\n"), packet(false, b"one\n")];
        let run = |burst_closed_first| TcpRun {
            packets: Vec::new(),
            burst: burst.clone(),
            burst_closed_first,
        };
        let svg = close_diagram(&run(true)).unwrap().svg();
        // The client's FIN comes before the server's, and the echo between them.
        let at = |needle: &str| svg.find(needle).unwrap();
        assert!(at("shutdown(Write)") < at("FIN  seq=u"));
        assert!(at("FIN  seq=u") < at("server write(), client read()"));
        assert!(at("server write(), client read()") < at("FIN  seq=v"));
        assert!(close_diagram(&run(false)).is_err());
    }

    #[test]
    fn labels_are_escaped_and_svg_is_well_formed() {
        let svg = udp_diagram(&[packet(true, b"<a&b>"), packet(false, b"<a&b>")]).svg();
        assert!(svg.contains("\"&lt;a&amp;b&gt;\""), "{svg}");
        assert!(!svg.contains("<a&b>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }

    #[test]
    fn ipmsg_fields_name_the_command_and_user() {
        let answer = b"1:42:listen-2:vm:3:listen-2";
        assert_eq!(ipmsg_user(answer), "listen-2");
        assert_eq!(ipmsg_command(answer), "ANSENTRY");
        assert_eq!(ipmsg_command(b"1:1:t:h:1:t"), "BR_ENTRY");
        assert_eq!(ipmsg_command(b"garbage"), "command 0");
    }

    #[test]
    fn layouts_fill_whole_32_bit_rows() {
        let svg = ipv4_udp_layout();
        assert!(svg.contains("protocol (17 = UDP)"));
        let encapsulation = encapsulation_figure(5);
        assert!(encapsulation.contains("wrote 5 bytes, 47 went on the wire"));
    }
}
