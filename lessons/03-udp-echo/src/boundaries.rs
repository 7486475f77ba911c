//! # Lesson 03: boundaries, or why a datagram IS a message
//!
//! Lesson 01's `burst` sent three messages back to back over TCP, and they arrived as
//! ONE read: TCP carries a stream of bytes and keeps no message boundaries. UDP keeps
//! them: every `sendto()` makes one datagram, and every `recvfrom()` returns exactly one,
//! whole. No framing needed, no `\n`, no length prefix.
//!
//! `boundaries` reads all its messages from stdin first, sends them back to back (one
//! datagram per line, before reading anything), then reads the echoes: one `recv_from`
//! per datagram. An empty line becomes an empty datagram, 0 bytes: a message like any
//! other (in TCP, a read of 0 bytes means the end of the stream).
//!
//! ```text
//! cargo run -p udp-echo -- server                                   # terminal 1
//! printf 'one\ntwo\nthree\n' | cargo run -p udp-echo -- boundaries  # terminal 2
//! ```
//!
//! Observe: three sends, three datagrams at the server (`#1`, `#2`, `#3`), three
//! receives here, each exactly one line. On loopback they even arrive in order; on a
//! real network UDP does not promise that either.

use anyhow::{bail, Context as _, Result};
use shared::duration::show;
use shared::encoding::{trim_newline, Encoding};
use shared::{addr, trace::Tracer};
use std::io::{BufRead as _, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;
use udp_echo::{any_local_for, encode_line, preview, DEFAULT_BUFFER};

/// Options of `udp-echo boundaries`.
#[derive(clap::Args)]
pub struct Args {
    /// The echo server, IP:PORT.
    #[arg(long, default_value = addr::UDP_ECHO, value_parser = addr::parse)]
    addr: SocketAddr,

    /// How long to wait for each echo, with a unit: 300ms, 2s, 1m.
    #[arg(long, default_value = "1s", value_parser = udp_echo::parse_timeout)]
    timeout: Duration,

    /// The encoding of the text: each line is sent in it, and the echoes are shown in
    /// it. utf-8, gbk or auto (shows UTF-8 where valid, else GBK; sends UTF-8).
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Print every datagram sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let server = args.addr;
    let encoding = args.encoding;

    // The messages: one per stdin line, all read before anything is sent, each turned
    // into bytes in --encoding (a line it cannot carry stops us before anything is sent).
    let mut messages = Vec::new();
    for (number, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let line = line.context("cannot read stdin")?;
        let message = encode_line(trim_newline(&line), encoding)
            .map_err(|why| anyhow::anyhow!("line {}: {why}", number + 1))?;
        messages.push(message);
    }
    if messages.is_empty() {
        bail!("no messages: give them on stdin, one per line, e.g. printf 'one\\ntwo\\n' | cargo run -p udp-echo -- boundaries");
    }

    // 1. socket() + bind() to any address, port 0: the OS picks our port.
    let socket = UdpSocket::bind(any_local_for(server))
        .context("cannot bind a local UDP socket (port 0)")?;
    let local = socket.local_addr().context("cannot read our own address")?;
    println!(
        "sending {} datagrams back to back from {local} to {server}, before reading any echo",
        messages.len()
    );

    // ANCHOR: send_all
    // 2. sendto() once per message: each call makes exactly one datagram.
    for (i, message) in messages.iter().enumerate() {
        socket
            .send_to(message, server)
            .with_context(|| format!("cannot send to {server}"))?;
        tracer.sent(server, message);
        println!(
            "sent #{}: {} bytes: {}",
            i + 1,
            message.len(),
            preview(message, encoding)
        );
    }
    // ANCHOR_END: send_all

    // ANCHOR: receive_all
    // 3. recvfrom() once per datagram: each call returns exactly one, whole, however
    //    many are waiting, and however big our buffer is.
    socket
        .set_read_timeout(Some(args.timeout))
        .context("cannot set the receive timeout")?;
    let mut buf = vec![0u8; DEFAULT_BUFFER];
    let mut received = 0;
    while received < messages.len() {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                bail!(
                    "only {received} of {} echoes came back within {} (is the server running? \
                     start it with: cargo run -p udp-echo -- server)",
                    messages.len(),
                    show(args.timeout)
                );
            }
            Err(err) => return Err(err).with_context(|| format!("cannot receive from {server}")),
        };
        let echo = &buf[..n];
        tracer.received(from, echo);
        if from != server {
            println!("ignored {n} bytes from {from}: not our server");
            continue;
        }
        received += 1;
        println!("recv #{received}: {n} bytes: {}", preview(echo, encoding));
        if !messages.iter().any(|m| m == echo) {
            bail!(
                "recv #{received} is not one of the datagrams we sent: {}",
                preview(echo, encoding)
            );
        }
    }
    // ANCHOR_END: receive_all
    println!(
        "boundaries kept: {} datagrams sent, {received} received, each one whole (TCP would have run them together)",
        messages.len()
    );
    Ok(())
}
