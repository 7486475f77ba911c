//! # Lesson 03: refused, or what `connect` means for UDP
//!
//! Send a datagram to a port where nobody listens, and the other machine's kernel answers
//! with an ICMP "port unreachable" message. Who hears about it?
//!
//! 1. An unconnected socket (`send_to` / `recv_from`, like our client): nobody. The
//!    socket may talk to many peers, so the kernel does not report one peer's ICMP error
//!    to it (on Linux). The program just waits, and times out.
//! 2. A `connect`ed socket: `connect()` on UDP sends nothing (there is no handshake); it
//!    only records the peer in the kernel. From then on `send()` goes there, `recv()`
//!    takes datagrams from there only, and errors about that peer are reported: the next
//!    `recv()` fails with "Connection refused" (ECONNREFUSED), though there never was a
//!    connection to refuse.
//!
//! ```text
//! cargo run -p udp-echo -- refused                   # with NO server running on 8080
//! cargo run -p udp-echo -- refused --addr 127.0.0.1:9999
//! ```
//!
//! Observe: part 1 waits its whole timeout and learns nothing; part 2 fails at once. Start
//! the server and run it again: now the echo comes back instead. (Firewalls often drop the
//! ICMP message; then part 2 hears nothing either, and only a timeout helps.)

use anyhow::{Context as _, Result};
use shared::duration::show;
use shared::encoding::Encoding;
use shared::{addr, trace::Tracer};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;
use udp_echo::{any_local_for, preview, DEFAULT_BUFFER};

/// Options of `udp-echo refused`.
#[derive(clap::Args)]
pub struct Args {
    /// Where to send: an IP:PORT where nobody listens (the server's, with the server stopped).
    #[arg(long, default_value = addr::UDP_ECHO, value_parser = addr::parse)]
    addr: SocketAddr,

    /// How long to wait for an answer or an error, with a unit: 300ms, 2s, 1m.
    #[arg(long, default_value = "500ms", value_parser = udp_echo::parse_timeout)]
    timeout: Duration,

    /// Print every datagram sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

/// What both parts send.
const PROBE: &[u8] = b"anyone there?";

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let target = args.addr;
    let timeout = args.timeout;
    let mut buf = vec![0u8; DEFAULT_BUFFER];

    // ANCHOR: unconnected
    // Part 1. socket() + bind() to any address, port 0; then sendto() and recvfrom().
    let socket = UdpSocket::bind(any_local_for(target))
        .context("cannot bind a local UDP socket (port 0)")?;
    socket
        .set_read_timeout(Some(timeout))
        .context("cannot set the receive timeout")?;
    let n = socket
        .send_to(PROBE, target)
        .with_context(|| format!("cannot send to {target}"))?;
    tracer.sent(target, PROBE);
    println!("1. unconnected socket: send_to {target}: {n} bytes handed to the kernel, no error");
    match socket.recv_from(&mut buf) {
        Ok((n, from)) => {
            tracer.received(from, &buf[..n]);
            println!(
                "   recv_from: {from} answered {}: somebody listens there. Stop the server \
                 (Ctrl-C) and run me again to see what happens when nobody does",
                preview(&buf[..n], Encoding::Utf8)
            );
            return Ok(());
        }
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => println!(
            "   recv_from: nothing within {}, and no error: an unconnected socket is not told why",
            show(timeout)
        ),
        // Some systems (Windows) do report it here.
        Err(err) => println!("   recv_from: {err}"),
    }
    // ANCHOR_END: unconnected

    // ANCHOR: connected
    // Part 2. A fresh socket, this time connect()ed: no packet is sent, the kernel only
    // notes the peer. Then send() and recv(), with no address: it is the connected one.
    let socket = UdpSocket::bind(any_local_for(target))
        .context("cannot bind a local UDP socket (port 0)")?;
    socket
        .set_read_timeout(Some(timeout))
        .context("cannot set the receive timeout")?;
    socket
        .connect(target)
        .with_context(|| format!("cannot connect the UDP socket to {target}"))?;
    println!(
        "2. connected socket: connect({target}) returned at once: UDP sends nothing to connect"
    );
    let outcome = socket.send(PROBE).and_then(|n| {
        tracer.sent(target, PROBE);
        println!("   send: {n} bytes, no error (yet)");
        socket.recv(&mut buf)
    });
    match outcome {
        Err(err) if err.kind() == ErrorKind::ConnectionRefused => println!(
            "   recv: {err}: {target} answered with ICMP port unreachable, and the kernel \
             reports it because the socket is connected"
        ),
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => println!(
            "   recv: nothing within {}: no ICMP came back (a firewall may drop it); silence is all UDP promises",
            show(timeout)
        ),
        Err(err) => return Err(err).with_context(|| format!("talking to {target}")),
        Ok(n) => {
            tracer.received(target, &buf[..n]);
            println!("   recv: {target} answered {}: somebody listens there after all", preview(&buf[..n], Encoding::Utf8));
        }
    }
    // ANCHOR_END: connected
    Ok(())
}
