//! # Lesson 05: the announcer
//!
//! "Who is out there?" without knowing anyone's address: send ONE datagram to a
//! broadcast address, and every listener on that network and port receives it. Here it
//! is an IPMsg BR_ENTRY ("I am here"); every listener answers with an ANSENTRY sent by
//! unicast to our own address, and we collect the answers until a deadline, since we
//! cannot know how many will come. At the end we broadcast BR_EXIT ("I am leaving").
//!
//! Sending to a broadcast address needs the socket option SO_BROADCAST: without it the
//! kernel refuses with EACCES ("Permission denied"), so that no program floods the
//! network by mistake. `--no-broadcast-flag` shows that refusal.
//!
//! ```text
//! cargo run -p broadcast -- listen --user one               # terminal 1
//! cargo run -p broadcast -- listen --user two               # terminal 2
//! cargo run -p broadcast -- announce                        # terminal 3
//! cargo run -p broadcast -- announce --no-broadcast-flag    # Permission denied
//! cargo run -p broadcast -- subnet 192.168.1.37/24          # your LAN's broadcast address
//! ```
//!
//! Observe: `answer 1 from 127.0.0.1:6868 ...`, `answer 2 from 127.0.0.1:6868 ...`:
//! listeners on one machine share the IP and the port, only their names tell them apart.
//! The default target, 127.255.255.255, is loopback's broadcast address: it works on a
//! single machine with no network at all. On a LAN, send to its broadcast address.
//!
//! What changed since lessons 03 and 04: there, each datagram went to one known peer and
//! one answer came back. Here one datagram goes to everyone, and any number of answers
//! come back, from peers we did not know about.

use anyhow::{anyhow, Context as _, Result};
use broadcast::ipmsg::{self, Packet};
use shared::{addr, duration, encoding::Encoding, hint, ready, trace::Tracer};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashSet;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// How many ignored datagrams (malformed, or not an answer) are reported one by one;
/// after that they are only counted, so a flood of them cannot flood the terminal too.
const REPORTED_IGNORED: u64 = 10;

/// How many answerers the summary line names; the others are on their `answer N` lines.
const NAMED_IN_SUMMARY: usize = 20;

/// Our BR_ENTRY is padded with NUL bytes (which every reader drops) to this size. A
/// listener answers with no more bytes than it was sent (see `listen.rs`), so a padded
/// request leaves room for its whole answer. QUIC does the same: a client pads its first
/// packet to 1200 bytes, so the server may answer it (RFC 9000, section 14.1).
const ENTRY_SIZE: usize = 256;

/// The longest `--wait`: a minute.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Options of `broadcast announce`.
#[derive(clap::Args)]
pub struct Args {
    /// Our own address, IP:PORT: the answers come back here, so port 0 (any free port)
    /// is right. To send to 255.255.255.255 from a machine with no default route, give
    /// the IP of the interface to send from, e.g. --addr 10.203.0.3:0.
    #[arg(long, default_value = "0.0.0.0:0", value_parser = addr::parse)]
    addr: SocketAddr,

    /// Where to send, BROADCAST-IP:PORT: the listeners' port, and loopback's broadcast
    /// address (127.255.255.255), a LAN's directed broadcast (`broadcast subnet` computes
    /// it) or the limited broadcast 255.255.255.255.
    #[arg(long, default_value = addr::BROADCAST_TARGET, value_parser = addr::parse)]
    to: SocketAddr,

    /// How long to collect answers, with a unit: 500ms, 1s, up to 1m.
    #[arg(long, default_value = "1s", value_parser = parse_wait)]
    wait: Duration,

    /// Stop collecting after this many answers: the answers are kept in memory, and
    /// anyone can send them, so their number is bounded.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_answers: u32,

    /// Our user name in the packets we send.
    #[arg(long, default_value_t = broadcast::default_user())]
    user: String,

    /// Our host name in the packets we send.
    #[arg(long, default_value_t = broadcast::default_host())]
    host: String,

    /// The encoding of answers without UTF8OPT, and of what we send: utf-8, gbk (FeiQ,
    /// Chinese Windows) or auto (show UTF-8 where valid, else GBK; send UTF-8).
    #[arg(long, default_value = "auto", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Do not set SO_BROADCAST: watch the kernel refuse the send with EACCES.
    #[arg(long)]
    no_broadcast_flag: bool,

    /// Print every datagram sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    match duration::parse(text)? {
        wait if wait.is_zero() || wait > MAX_WAIT => Err(format!(
            "`{text}` is out of range: wait more than 0 and at most {}",
            duration::show(MAX_WAIT)
        )),
        wait => Ok(wait),
    }
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let to = args.to;
    let wait = duration::show(args.wait);
    let mut packet_no = broadcast::first_packet_no();
    let names = [args.user.as_str(), args.host.as_str(), args.user.as_str()];
    let mut entry = Packet::encoded(packet_no, names, ipmsg::BR_ENTRY, args.encoding)
        .map_err(|err| anyhow!(err))
        .context("bad --user or --host")?
        .emit()
        .context("bad --user or --host")?;
    // Padding: room for every listener's whole answer (see ENTRY_SIZE).
    if entry.len() < ENTRY_SIZE {
        entry.resize(ENTRY_SIZE, 0);
    }

    // 1. socket(): a UDP endpoint, built with socket2 so we can set an option before bind().
    let socket = Socket::new(
        Domain::for_address(args.addr),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .context("socket() failed")?;

    // ANCHOR: so_broadcast
    // 2. setsockopt(SO_BROADCAST): "yes, I mean to send to broadcast addresses". Without
    //    it sendto() a broadcast address fails with EACCES: a safety catch, since one
    //    datagram there costs every host on the network some work.
    if !args.no_broadcast_flag {
        socket
            .set_broadcast(true)
            .context("cannot set SO_BROADCAST")?;
    }
    // ANCHOR_END: so_broadcast

    // 3. bind(): our own address, where the unicast answers will come to. std would
    //    bind an unbound socket at the first send_to anyway; we bind first to print it.
    socket
        .bind(&args.addr.into())
        .map_err(|err| hint::cannot_bind(args.addr, err, "--addr"))?;
    let socket: UdpSocket = socket.into();
    let local = socket.local_addr().context("cannot read our own address")?;
    ready::announce(local);

    // ANCHOR: send
    // 4. sendto() the broadcast address: ONE datagram, however many listeners there are.
    socket
        .send_to(&entry, to)
        .map_err(|err| send_error(err, to))?;
    tracer.sent(to, &entry);
    println!("sent BR_ENTRY to {to}; collecting answers for {wait}");
    // ANCHOR_END: send

    // ANCHOR: collect
    // 5. recvfrom() until the deadline: each ANSENTRY is one listener. UDP gives no
    //    "that was everyone", so a deadline is the only way to stop waiting.
    //    Anyone can send us answers, as fast as loopback goes (a flood of 200,000 in 3 s
    //    once took 527 MB to keep): so one listener (address and names) counts once, and
    //    we stop at --max-answers. Avahi (mDNS) bounds its cache the same way.
    let deadline = Instant::now() + args.wait;
    let max_answers = usize::try_from(args.max_answers).unwrap_or(usize::MAX);
    let mut answers: Vec<(SocketAddr, Packet)> = Vec::new();
    let mut seen: HashSet<(SocketAddr, Vec<u8>, Vec<u8>)> = HashSet::new();
    let (mut repeated, mut ignored) = (0u64, 0u64);
    let mut buf = vec![0u8; ipmsg::MAX_PACKET + 1];
    while answers.len() < max_answers {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // SO_RCVTIMEO: recvfrom() gives up after `left` (never 0: that means "forever").
        socket
            .set_read_timeout(Some(left))
            .context("cannot set the receive timeout")?;
        let (n, peer) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            // The timeout shows as WouldBlock on Unix and TimedOut on Windows.
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(err) => {
                eprintln!("recvfrom() on {local} failed: {err}");
                continue;
            }
        };
        let datagram = &buf[..n];
        tracer.received(peer, datagram);
        let packet = match Packet::parse(datagram) {
            Ok(packet) if packet.mode() == ipmsg::ANSENTRY => packet,
            other => {
                ignored += 1;
                if ignored <= REPORTED_IGNORED {
                    match other {
                        Ok(packet) => println!(
                            "{peer}: ignored {} (not an answer)",
                            packet.show(args.encoding)
                        ),
                        Err(err) => eprintln!(
                            "{peer}: ignored a malformed datagram of {n} bytes ({err}): {}",
                            args.encoding.display(&datagram[..n.min(80)])
                        ),
                    }
                }
                if ignored == REPORTED_IGNORED {
                    println!(
                        "(reported {REPORTED_IGNORED} ignored datagrams; more are only counted)"
                    );
                }
                continue;
            }
        };
        // The same listener answering twice (or someone repeating its answer) counts once.
        let key = (peer, packet.user.clone(), packet.host.clone());
        if !seen.insert(key) {
            repeated += 1;
            continue;
        }
        // Names come from the network: decoded and shown escaped (Packet::sender).
        println!(
            "answer {} from {peer}: {}",
            answers.len() + 1,
            packet.sender(args.encoding)
        );
        answers.push((peer, packet));
    }
    // ANCHOR_END: collect

    if answers.len() >= max_answers {
        println!(
            "stopped collecting at {max_answers} answers, the limit (--max-answers): a bigger network, or someone flooding us"
        );
    }
    if repeated > 0 || ignored > REPORTED_IGNORED {
        println!("also received: {repeated} repeated answers, {ignored} ignored datagrams");
    }

    if answers.is_empty() {
        println!(
            "nobody answered within {wait} (is a listener running on port {}? start one with: cargo run -p broadcast -- listen)",
            to.port()
        );
    } else {
        let who: Vec<String> = answers
            .iter()
            .take(NAMED_IN_SUMMARY)
            .map(|(peer, packet)| format!("{} at {peer}", packet.sender(args.encoding)))
            .collect();
        let more = match answers.len().saturating_sub(NAMED_IN_SUMMARY) {
            0 => String::new(),
            more => format!(" and {more} more (see above)"),
        };
        println!("{} answered: {}{more}", answers.len(), who.join(", "));
    }

    // 6. sendto() once more: BR_EXIT, "I am leaving", as IPMsg clients do when they quit.
    packet_no += 1;
    let names = [args.user.as_str(), args.host.as_str(), ""];
    let exit = Packet::encoded(packet_no, names, ipmsg::BR_EXIT, args.encoding)
        .map_err(|err| anyhow!(err))?
        .emit()
        .context("cannot build BR_EXIT")?;
    socket
        .send_to(&exit, to)
        .map_err(|err| send_error(err, to))?;
    tracer.sent(to, &exit);
    println!("sent BR_EXIT to {to}");
    Ok(())
}

// ANCHOR: send_error
/// The error for a failed send, with what the error number means here and what to try.
fn send_error(err: io::Error, to: SocketAddr) -> anyhow::Error {
    let hint = match err.kind() {
        // EACCES: the kernel's safety catch.
        ErrorKind::PermissionDenied => {
            "sending to a broadcast address needs SO_BROADCAST, which this socket did not set (drop --no-broadcast-flag)"
        }
        // ENETUNREACH: no route says which interface would carry it.
        ErrorKind::NetworkUnreachable => {
            "no network here has that address: see `ip addr`, then `broadcast subnet ADDRESS/PREFIX` for its broadcast address; for 255.255.255.255 without a default route, bind the interface's address with --addr IP:0; on one machine, use 127.255.255.255"
        }
        _ => "check the address with `broadcast subnet ADDRESS/PREFIX`",
    };
    anyhow!("cannot send to {to}: {err} ({hint})")
}
// ANCHOR_END: send_error
