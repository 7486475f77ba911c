//! # Lesson 03: the UDP echo server
//!
//! UDP sends *datagrams*: single messages, each one delivered whole or not at all, with
//! no connection around them. So the server needs no `listen()` and no `accept()`: ONE
//! socket, bound to a known address, receives datagrams from every client. Each
//! `recvfrom()` returns one datagram and the address it came from, and `sendto()` sends
//! the echo back to that address.
//!
//! Why bind a *known* port? A client has to know where to send its first datagram: the
//! server's port is the meeting point (53 for DNS, 69 for TFTP, 8080 here). The client's
//! own port does not matter to anyone in advance; the server learns it from each datagram.
//!
//! Which IP to bind: `127.0.0.1` (the default) is loopback: only programs on this machine
//! can reach the server. `0.0.0.0` means every address this machine has: other machines
//! on your network can reach it too (and your firewall may have a say). `[::]` is the same
//! for IPv6 (and, on Linux, IPv4 too).
//!
//! ```text
//! cargo run -p udp-echo -- server                # terminal 1
//! cargo run -p udp-echo -- client                # terminal 2: type lines, Ctrl-D ends
//! nc -u 127.0.0.1 8080                           # any UDP client works, netcat too
//! cargo run -p udp-echo -- server --buffer 8     # a small buffer: long datagrams are cut
//! cargo run -p udp-echo -- server --drop 0.5     # lose half the echoes: clients retry
//! ```
//!
//! Observe: every datagram is printed with its sender's address; start two clients and
//! the server answers both, from one socket, without threads: there are no connections to
//! wait on. Each client has its own port, picked by its OS.
//!
//! Changed since lesson 02: no connections, so no thread per client and no `accept()`;
//! no byte stream, so no framing: one datagram is one message.

use anyhow::{Context as _, Result};
use shared::loss::{self, Dropper, Sent};
use shared::{addr, ready, trace::Tracer};
use std::net::{SocketAddr, UdpSocket};
use udp_echo::{preview, DEFAULT_BUFFER};

/// Options of `udp-echo server`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on, IP:PORT. 127.0.0.1 = only this machine; 0.0.0.0 = every
    /// address of this machine (reachable from your network); port 0 = any free port.
    #[arg(long, default_value = addr::UDP_ECHO, value_parser = addr::parse)]
    addr: SocketAddr,

    /// The receive buffer, in bytes: a datagram longer than this is cut (and the server
    /// says so). The default holds any datagram.
    #[arg(long, default_value_t = DEFAULT_BUFFER as u16, value_parser = clap::value_parser!(u16).range(1..))]
    buffer: u16,

    /// Lose this share of the echoes on purpose (0.0 to 1.0, or a percentage like 30%),
    /// to watch clients time out and retry.
    #[arg(long = "drop", default_value = "0", value_parser = loss::parse_rate)]
    drop_rate: f64,

    /// Seed of the --drop choices: the same seed drops the same echoes, run after run.
    #[arg(long, default_value_t = loss::DEFAULT_SEED)]
    seed: u64,

    /// Print every datagram received and sent, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let mut dropper = Dropper::new(args.drop_rate, args.seed);

    // ANCHOR: bind
    // 1. socket() + bind(): std does both in UdpSocket::bind. That is all the setup a UDP
    //    server needs: no listen(), no accept(); datagrams can arrive from now on.
    let socket = UdpSocket::bind(args.addr).with_context(|| {
        format!(
            "cannot bind {} (is another server using this port? pick another with --addr 127.0.0.1:0)",
            args.addr
        )
    })?;
    // ANCHOR_END: bind

    // The address we really got (port 0 becomes a real port): the readiness line.
    let local = socket.local_addr().context("cannot read our own address")?;
    ready::announce(local);
    if dropper.is_active() {
        println!(
            "simulating loss: dropping {:.0}% of the echoes (--seed {})",
            dropper.rate() * 100.0,
            args.seed
        );
    }

    // ANCHOR: receive
    // One byte more than --buffer: std's recv_from does not say when it cut a datagram
    // (recvmsg's MSG_TRUNC flag would), but if that extra byte gets filled, the datagram
    // was longer than --buffer.
    let buffer = usize::from(args.buffer);
    let mut buf = vec![0u8; buffer + 1];
    let mut count: u64 = 0;
    loop {
        // 2. recvfrom(): wait for the next datagram, from anyone. It returns ONE whole
        //    datagram (never half of one, never two) and the address of its sender.
        let (n, peer) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(err) => {
                // Not fatal: report it and serve the next datagram.
                println!("recv_from on {local} failed: {err}");
                continue;
            }
        };
        count += 1;
        let bytes = &buf[..n.min(buffer)];
        tracer.received(peer, bytes);
        println!(
            "#{count} from {peer}: {} bytes: {}",
            bytes.len(),
            preview(bytes)
        );
        if n > buffer {
            // The kernel copied what fit and threw the rest of the datagram away: unlike
            // TCP, the rest does not wait for the next read. It is gone.
            println!(
                "#{count} was truncated: longer than our {buffer}-byte buffer (--buffer), the rest is lost"
            );
        }
        // ANCHOR_END: receive

        // ANCHOR: echo
        // 3. sendto(): exactly the bytes received, back to the address they came from.
        //    `dropper.send_to` is `socket.send_to`, unless --drop loses this one.
        match dropper.send_to(&socket, bytes, peer) {
            Ok(Sent::Sent(_)) => tracer.sent(peer, bytes),
            Ok(Sent::Dropped) => println!("#{count} echo to {peer} dropped (simulated, --drop)"),
            // E.g. the client's network is gone. Not fatal either.
            Err(err) => println!("#{count} echo to {peer} failed: {err}"),
        }
        // ANCHOR_END: echo
    }
}
