//! # Lesson 03: max-size, the largest datagram and one byte more
//!
//! A datagram travels in one IP packet, and an IPv4 packet's length field has 16 bits: at
//! most 65,535 bytes, of which 20 are the IPv4 header and 8 the UDP header. That leaves
//! 65,507 bytes for the message (65,527 over IPv6, whose length field leaves out its own
//! header). `max-size` sends exactly that much to the echo server and checks that all of
//! it comes back; then it tries one byte more, which our own kernel refuses at once with
//! `EMSGSIZE`, "Message too long": nothing is sent.
//!
//! ```text
//! cargo run -p udp-echo -- server                  # terminal 1
//! cargo run -p udp-echo -- max-size                # terminal 2
//! cargo run -p udp-echo -- max-size --trace        # the dumps show the first 256 bytes
//! ```
//!
//! Observe: loopback's MTU is 65,536 bytes, so here the big datagram goes as one packet.
//! On Ethernet (MTU 1,500) IP cuts it into 45 fragments, and losing any one of them loses
//! the whole datagram. That is why DNS and TFTP keep their datagrams near 512 bytes.

use anyhow::{bail, Context as _, Result};
use shared::duration::show;
use shared::{addr, trace::Tracer};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;
use udp_echo::{any_local_for, max_payload, DEFAULT_BUFFER};

/// Options of `udp-echo max-size`.
#[derive(clap::Args)]
pub struct Args {
    /// The echo server, IP:PORT.
    #[arg(long, default_value = addr::UDP_ECHO, value_parser = addr::parse)]
    addr: SocketAddr,

    /// How long to wait for the echo, with a unit: 300ms, 2s, 1m.
    #[arg(long, default_value = "2s", value_parser = udp_echo::parse_timeout)]
    timeout: Duration,

    /// Print every datagram sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let server = args.addr;
    let max = max_payload(server);
    let family = if server.is_ipv4() { "IPv4" } else { "IPv6" };

    // 1. socket() + bind() to any address, port 0: the OS picks our port.
    let socket = UdpSocket::bind(any_local_for(server))
        .context("cannot bind a local UDP socket (port 0)")?;
    socket
        .set_read_timeout(Some(args.timeout))
        .context("cannot set the receive timeout")?;
    let local = socket.local_addr().context("cannot read our own address")?;
    println!(
        "sending from {local} to {server}: {max} bytes is the most one {family} datagram carries"
    );

    // ANCHOR: largest
    // 2. sendto() the largest datagram there is. A pattern rather than zeros, so a byte
    //    out of place would show in the comparison below.
    let largest = pattern(max);
    let n = socket
        .send_to(&largest, server)
        .with_context(|| format!("cannot send {max} bytes to {server}"))?;
    tracer.sent(server, &largest);
    println!("{n} bytes: sent as ONE datagram");

    // 3. recvfrom() its echo, into a buffer that holds any datagram.
    let mut buf = vec![0u8; DEFAULT_BUFFER];
    let (n, from) = socket.recv_from(&mut buf).map_err(|err| {
        let why = if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
            format!("no echo within {}", show(args.timeout))
        } else {
            err.to_string()
        };
        anyhow::anyhow!(
            "cannot receive the echo of {max} bytes from {server}: {why} (is the server running? \
             start it with: cargo run -p udp-echo -- server)"
        )
    })?;
    tracer.received(from, &buf[..n]);
    if buf[..n] != largest[..] {
        bail!("the echo from {from} is {n} bytes and differs from the {max} we sent (was the server started with a smaller --buffer?)");
    }
    println!("{n} bytes: echoed whole by {from}, in ONE recv_from");
    // ANCHOR_END: largest

    // ANCHOR: too_big
    // One byte more does not fit in one IP packet. Our own kernel refuses it at once:
    // send_to fails with EMSGSIZE and nothing goes on the wire.
    let too_big = pattern(max + 1);
    match socket.send_to(&too_big, server) {
        Ok(n) => bail!("{n} bytes were sent as one datagram; this system allows more than {max}?"),
        Err(err) => println!(
            "{} bytes: send_to refused it: {err} (EMSGSIZE: one byte past the {family} limit; \
             nothing was sent, split big messages yourself)",
            max + 1
        ),
    }
    // ANCHOR_END: too_big
    Ok(())
}

/// `len` bytes counting 0, 1, ... 250, 0, 1, ... (251 is prime, so the pattern does not
/// line up with any power-of-two buffer size).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}
