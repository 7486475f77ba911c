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
//! cargo run -p udp-echo -- server --encoding gbk # show GBK text (the tutorials' Windows tools)
//! cargo run -p udp-echo -- server --talk         # half duplex: you type each answer
//! ```
//!
//! Observe: every datagram is printed with its sender's address; start two clients and
//! the server answers both, from one socket, without threads: there are no connections to
//! wait on. Each client has its own port, picked by its OS.
//!
//! `--talk` turns the echo into a half-duplex talk (半双工), the tutorials' UDP "chat room"
//! (聊天室): each datagram is shown with the time and its sender, then the server waits for
//! the operator's next line on stdin and sends it to that sender. One side speaks at a
//! time: while the operator types, new datagrams wait in the socket's receive buffer. When
//! stdin ends (Ctrl-D, or the end of a piped script), there is nobody left to answer: the
//! server says so at the next datagram and exits.
//!
//! Changed since lesson 02: no connections, so no thread per client and no `accept()`;
//! no byte stream, so no framing: one datagram is one message.

use anyhow::{Context as _, Result};
use shared::encoding::{trim_newline, Encoding};
use shared::loss::{self, Dropper, Sent};
use shared::{addr, hint, ready, trace::Tracer};
use std::io::BufRead;
use std::net::{SocketAddr, UdpSocket};
use std::time::SystemTime;
use udp_echo::{clock, encode_line, preview, DEFAULT_BUFFER};

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

    /// How to show the text of each datagram: utf-8, gbk (Windows in China, NetAssist,
    /// FeiQ) or auto (UTF-8 where valid, else GBK). The echo is the bytes received either
    /// way; with --talk, the replies are sent in this encoding (auto: UTF-8).
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Half duplex: show each datagram with the time and its sender, then send the next
    /// line typed on stdin back to that sender, instead of the echo. Ends at end of input.
    #[arg(long)]
    talk: bool,

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
    let socket =
        UdpSocket::bind(args.addr).map_err(|err| hint::cannot_bind(args.addr, err, "--addr"))?;
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
    let encoding = args.encoding;
    let mut stdin = std::io::stdin().lock();

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
                // Not fatal: report it and serve the next datagram. On Windows two more
                // things land here: a datagram longer than the buffer (WSAEMSGSIZE,
                // where Linux cuts it silently), and an ICMP port unreachable that came
                // back for an earlier echo (WSAECONNRESET, "connection reset").
                println!("recv_from on {local} failed: {err}");
                continue;
            }
        };
        count += 1;
        let bytes = &buf[..n.min(buffer)];
        tracer.received(peer, bytes);
        // With --talk, the time too: the operator answers people, at their own pace.
        let time = match args.talk {
            true => format!("{} UTC ", clock(SystemTime::now())),
            false => String::new(),
        };
        println!(
            "{time}#{count} from {peer}: {} bytes: {}",
            bytes.len(),
            preview(bytes, encoding)
        );
        if n > buffer {
            // The kernel copied what fit and threw the rest of the datagram away: unlike
            // TCP, the rest does not wait for the next read. It is gone.
            println!(
                "#{count} was truncated: longer than our {buffer}-byte buffer (--buffer), the rest is lost"
            );
        }
        // ANCHOR_END: receive

        // ANCHOR: talk
        // Half duplex: the answer is whatever the operator types next, not the echo. Until
        // it is typed we do not call recvfrom(): datagrams that come meanwhile wait in the
        // kernel's receive buffer, and each gets its turn.
        if args.talk {
            println!("#{count}: type the reply to {peer} (one line; Ctrl-D ends the talk)");
            let Some(reply) = read_reply(&mut stdin, encoding)? else {
                println!(
                    "end of input: no reply to #{count}, and no one to type more: the talk is over"
                );
                return Ok(());
            };
            match dropper.send_to(&socket, &reply, peer) {
                Ok(Sent::Sent(_)) => {
                    tracer.sent(peer, &reply);
                    let shown = preview(&reply, encoding);
                    println!("#{count} reply to {peer}: {} bytes: {shown}", reply.len());
                }
                Ok(Sent::Dropped) => {
                    println!("#{count} reply to {peer} dropped (simulated, --drop)")
                }
                Err(err) => println!("#{count} reply to {peer} failed: {err}"),
            }
            continue;
        }
        // ANCHOR_END: talk

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

/// The operator's next line from stdin, as bytes in `encoding`; `None` at end of input. A
/// line the encoding cannot carry is reported, and the operator types it again.
fn read_reply(stdin: &mut impl BufRead, encoding: Encoding) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if stdin
            .read_until(b'\n', &mut line)
            .context("cannot read stdin")?
            == 0
        {
            return Ok(None);
        }
        match encode_line(trim_newline(&line), encoding) {
            Ok(bytes) => return Ok(Some(bytes)),
            Err(why) => println!("not sent: {why}; type the reply again"),
        }
    }
}
