//! # Lesson 01: burst, or why a read is not a message
//!
//! TCP is a byte stream. The sender's writes are not kept apart: the kernel may glue
//! several of them into one segment, or cut one into several, and the receiver's `read`
//! returns whatever has arrived. Messages sent back to back therefore often arrive run
//! together ("sticky packets", 粘包), and a long one may arrive in pieces.
//!
//! `burst` reads all its messages from stdin first, then sends them in ONE write, one
//! after the other, framed as `--framing` says. Then it half-closes: `shutdown(Write)`
//! sends a FIN ("I will send no more") while it keeps reading the echo until the server
//! closes too, and `read` returns 0.
//!
//! ```text
//! cargo run -p tcp-basic -- server                        # terminal 1
//! printf 'one\ntwo\nthree\n' | cargo run -p tcp-basic -- burst
//! ```
//!
//! Observe on the server: `read #1: 14 bytes`, then `message 1`, `message 2`, `message
//! 3`: three messages in one read, split again by the line framing. Now restart the
//! server with `--framing none` (every read is a message): one "message" of 14 bytes.
//! And `burst --chunk 2` sends two bytes per write: one message, many reads.

use anyhow::{bail, Context as _, Result};
use shared::encoding::Encoding;
use shared::{addr, hint, trace::Tracer};
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use tcp_basic::Framing;

/// Options of `tcp-basic burst`.
#[derive(clap::Args)]
pub struct Args {
    /// The server to talk to, IP:PORT.
    #[arg(long, default_value = addr::TCP_BASIC, value_parser = addr::parse)]
    addr: SocketAddr,

    /// How to mark where each message ends; use the same as the server's --framing.
    #[arg(long, value_enum, default_value_t = Framing::Line)]
    framing: Framing,

    /// The text encoding of the messages and of the echo shown: utf-8, or gbk.
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Send the bytes in writes of at most this many bytes (with Nagle's algorithm off),
    /// instead of one write: watch one message arrive over several reads.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    chunk: Option<u16>,

    /// Print every segment sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let server = args.addr;

    // The messages: one per stdin line, all read before anything is sent.
    let mut wire = Vec::new();
    let mut count = 0;
    for line in std::io::stdin().lock().split(b'\n') {
        let line = line.context("cannot read stdin")?;
        let text = args
            .encoding
            .encode_typed(line.trim_ascii_end())
            .map_err(anyhow::Error::msg)?;
        wire.extend(args.framing.encode(&text));
        count += 1;
    }
    if count == 0 {
        bail!("no messages: give them on stdin, one per line, e.g. printf 'one\\ntwo\\n' | cargo run -p tcp-basic -- burst");
    }

    let mut stream = TcpStream::connect(server)
        .map_err(|err| hint::cannot_connect(server, err, "cargo run -p tcp-basic -- server"))?;
    println!(
        "connected to {server}; sending {count} messages, {} bytes",
        wire.len()
    );

    // All messages back to back: one write, or many small ones with --chunk.
    match args.chunk {
        None => {
            stream.write_all(&wire).context("cannot send")?;
            tracer.sent(server, &wire);
        }
        Some(size) => {
            // TCP_NODELAY turns off Nagle's algorithm, which would otherwise hold small
            // writes back and glue them together again.
            stream.set_nodelay(true).context("cannot set TCP_NODELAY")?;
            for piece in wire.chunks(usize::from(size)) {
                stream.write_all(piece).context("cannot send")?;
                tracer.sent(server, piece);
            }
        }
    }

    // ANCHOR: half_close
    // Half-close: send FIN, keep the receiving side open. The server's next read
    // returns 0 (end of stream) once it has read everything we sent.
    stream
        .shutdown(Shutdown::Write)
        .context("shutdown(Write) failed")?;
    println!("half-closed: we send no more, but still read");

    // Read the echo until the server closes: then read returns 0.
    let mut echo = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).context("cannot receive")?;
        if n == 0 {
            break;
        }
        tracer.received(server, &buf[..n]);
        echo.extend_from_slice(&buf[..n]);
    }
    println!(
        "echoed {} bytes: {}",
        echo.len(),
        args.encoding.display(&echo)
    );
    println!("server closed its side too (read returned 0)");
    // ANCHOR_END: half_close
    if echo != wire {
        bail!("the echo differs from what we sent");
    }
    Ok(())
}
