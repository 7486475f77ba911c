//! # Lesson 05: the listener
//!
//! A broadcast is one datagram that the network delivers to every host on it, and on
//! each host to every socket bound to its port. To see that on one machine we need
//! several listeners on the SAME port, which `bind()` normally refuses ("address already
//! in use"). The socket options SO_REUSEADDR (and SO_REUSEPORT on the systems that need
//! it) allow it, but only if they are set BEFORE `bind()`: that is why this role builds
//! its socket step by step with socket2 instead of calling `UdpSocket::bind`.
//!
//! Each datagram is one IPMsg packet (`version:packet-no:user:host:command:extra`, see
//! `ipmsg.rs`). The listener prints every packet with its sender, answers a BR_ENTRY
//! ("I am here") with an ANSENTRY ("me too") sent by unicast to whoever asked, and
//! reports malformed datagrams and keeps listening. A packet's text is UTF-8 if it has
//! UTF8OPT, else in `--encoding` (default `auto`: UTF-8 where valid, else GBK, as FeiQ
//! sends). Anyone can send us a BR_ENTRY, so answers are bounded: never larger than the
//! request, and at most a few a second.
//!
//! ```text
//! cargo run -p broadcast -- listen --user one           # terminal 1
//! cargo run -p broadcast -- listen --user 李四 --encoding gbk   # terminal 2: the same port!
//! cargo run -p broadcast -- announce                    # terminal 3: both answer
//! echo hello | nc -u -w1 127.0.0.1 6868                 # a malformed datagram
//! ```
//!
//! Observe: both listeners print the same BR_ENTRY, with the announcer's address. Start
//! a listener with `--no-reuse`: "address already in use". Since lesson 03 (UDP echo),
//! what changed is the destination: not one server's address, but a broadcast address.

use anyhow::{anyhow, Context as _, Result};
use broadcast::ipmsg::{self, Packet};
use broadcast::rate::TokenBucket;
use shared::{addr, encoding::Encoding, hint, ready, trace::Tracer};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

/// How many answers may go at once, and then how many a second (see [`TokenBucket`]):
/// enough for a class that starts at the same moment, too few to flood anyone.
const ANSWER_BURST: u32 = 32;
const ANSWERS_PER_SECOND: u32 = 8;

/// Options of `broadcast listen`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on, IP:PORT. Keep the IP 0.0.0.0 (every local address): a
    /// socket bound to 127.0.0.1 gets only datagrams sent to exactly 127.0.0.1, never a
    /// broadcast. Port 0 picks a free port; start more listeners on the port it printed.
    #[arg(long, default_value = addr::BROADCAST_LISTEN, value_parser = addr::parse)]
    addr: SocketAddr,

    /// Our user name in the packets we send.
    #[arg(long, default_value_t = broadcast::default_user())]
    user: String,

    /// Our host name in the packets we send.
    #[arg(long, default_value_t = broadcast::default_host())]
    host: String,

    /// The encoding of packets without UTF8OPT, and of what we send: utf-8, gbk (FeiQ,
    /// Chinese Windows), or auto (show UTF-8 where valid, else GBK; send UTF-8). We set
    /// UTF8OPT exactly when we send UTF-8.
    #[arg(long, default_value = "auto", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Do not set SO_REUSEADDR / SO_REUSEPORT: a second listener on the port then fails
    /// with "address already in use".
    #[arg(long)]
    no_reuse: bool,

    /// Print every datagram received and sent, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    // Check our own names now, not at the first answer.
    answer(0, &args, usize::MAX).context("bad --user or --host")?;

    // ANCHOR: socket
    // 1. socket(): a UDP endpoint (SOCK_DGRAM). std's UdpSocket::bind would do socket()
    //    and bind() in one call, and the options below must come between the two.
    let socket = Socket::new(
        Domain::for_address(args.addr),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .context("socket() failed")?;

    // 2. setsockopt(): let other sockets bind this port too, before bind() checks it.
    //    Every listener must set it, the first one included. On Linux SO_REUSEADDR is
    //    enough for UDP; BSD and macOS need SO_REUSEPORT to share a port fully. We set
    //    both. Broadcasts reach every socket on the port; a unicast datagram reaches ONE
    //    of them (Linux picks by a hash of the sender's address and port).
    if !args.no_reuse {
        socket
            .set_reuse_address(true)
            .context("cannot set SO_REUSEADDR")?;
        // socket2 has set_reuse_port on Unix only (not Solaris and a few others); on
        // Windows SO_REUSEADDR alone lets UDP sockets share a port.
        #[cfg(all(
            unix,
            not(any(
                target_os = "solaris",
                target_os = "illumos",
                target_os = "cygwin",
                target_os = "nuttx"
            ))
        ))]
        socket
            .set_reuse_port(true)
            .context("cannot set SO_REUSEPORT")?;
    }

    // 3. bind(): claim the port on every local address (0.0.0.0), so datagrams sent to
    //    any of our addresses, broadcast addresses included, reach us.
    socket.bind(&args.addr.into()).map_err(|err| {
        let hint = match err.kind() {
            ErrorKind::AddrInUse if args.no_reuse => {
                "another socket has this port, and without SO_REUSEADDR we may not share it: drop --no-reuse"
            }
            ErrorKind::AddrInUse => {
                "a program that did not set SO_REUSEADDR holds this port; stop it or pick another port"
            }
            _ => return hint::cannot_bind(args.addr, err, "--addr"),
        };
        anyhow!("cannot bind {}: {err} ({hint})", args.addr)
    })?;
    // ANCHOR_END: socket
    let socket: UdpSocket = socket.into();
    let local = socket.local_addr().context("cannot read our own address")?;
    ready::announce(local);

    let mut packet_no = broadcast::first_packet_no();
    let mut bucket = TokenBucket::new(ANSWER_BURST, ANSWERS_PER_SECOND, Instant::now());
    let mut not_answered = 0u64;
    // One byte more than the longest packet: a full buffer means recv cut a datagram off.
    let mut buf = vec![0u8; ipmsg::MAX_PACKET + 1];
    loop {
        // ANCHOR: receive
        // 4. recvfrom(): one whole datagram, and the address of whoever sent it.
        let (n, peer) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(err) => {
                eprintln!("recvfrom() on {local} failed: {err}");
                continue;
            }
        };
        let datagram = &buf[..n];
        tracer.received(peer, datagram);

        // One datagram is one packet; a bad one is reported and skipped, never fatal.
        let packet = match Packet::parse(datagram) {
            Ok(packet) => packet,
            Err(err) => {
                eprintln!(
                    "{peer}: ignored a malformed datagram of {n} bytes ({err}): {}",
                    args.encoding.display(&datagram[..n.min(80)])
                );
                continue;
            }
        };
        println!("{peer}: {}", packet.show(args.encoding));
        // ANCHOR_END: receive

        // ANCHOR: answer
        // 5. sendto(): answer a BR_ENTRY by UNICAST, to the address it came from. Only
        //    the one who asked hears it, and it arrives at their own port, not the shared
        //    one, so it cannot land in another listener by mistake.
        if packet.mode() != ipmsg::BR_ENTRY {
            continue;
        }
        // Anyone can send a BR_ENTRY, with any source address: a forged one makes us
        // send our answer to a victim. IP Messenger answers every BR_ENTRY, with an
        // ANSENTRY that carries its nickname and group, often several times the size of
        // the request: a reflector that amplifies (as DNS and NTP were, in famous
        // attacks). So we bound both: no answer larger than the request (a short answer
        // without the nickname, or none), and at most ANSWER_BURST at once, then
        // ANSWERS_PER_SECOND a second, whoever asks.
        packet_no += 1;
        let Some(bytes) = answer(packet_no, &args, n)? else {
            println!("{peer}: not answered: even our shortest ANSENTRY is longer than its {n}-byte BR_ENTRY");
            continue;
        };
        if !bucket.take(Instant::now()) {
            not_answered += 1;
            if not_answered == 1 {
                println!("{peer}: not answered: over the limit of {ANSWER_BURST} answers at once, {ANSWERS_PER_SECOND} a second (more are only counted)");
            }
            continue;
        }
        if not_answered > 0 {
            println!("({not_answered} BR_ENTRY were not answered: over the rate limit)");
            not_answered = 0;
        }
        match socket.send_to(&bytes, peer) {
            Ok(_) => {
                tracer.sent(peer, &bytes);
                println!("{peer}: answered ANSENTRY as {}@{}", args.user, args.host);
            }
            Err(err) => eprintln!("{peer}: cannot answer: {err}"),
        }
        // ANCHOR_END: answer
    }
}

/// Our ANSENTRY, no larger than the `request_len`-byte BR_ENTRY it answers: with our
/// nickname (our user name) if that fits, else without it; `None` if even that is larger.
fn answer(packet_no: u64, args: &Args, request_len: usize) -> Result<Option<Vec<u8>>> {
    for nickname in [args.user.as_str(), ""] {
        let names = [args.user.as_str(), args.host.as_str(), nickname];
        let packet = Packet::encoded(packet_no, names, ipmsg::ANSENTRY, args.encoding)
            .map_err(|err| anyhow!(err))?;
        let bytes = packet.emit()?;
        if bytes.len() <= request_len {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}
