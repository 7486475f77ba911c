//! # Lesson 01: the TCP client
//!
//! A client needs no `bind()` and no `listen()`: `connect()` picks a free local port for
//! it (an *ephemeral* port) and performs the three-way handshake with the server. Then
//! it is the same socket calls as the server's: `write()` to send, `read()` to receive,
//! `close()` at the end.
//!
//! Each line you type (or pipe in) is sent with its `\n`; the client then reads until
//! the whole line has come back, since one `read` may return only part of it.
//!
//! ```text
//! cargo run -p tcp-basic -- server                      # terminal 1
//! cargo run -p tcp-basic -- client                      # terminal 2: type, `bye` quits
//! printf 'hello\nbye\n' | cargo run -p tcp-basic -- client --trace
//! ```
//!
//! Observe: `connected ... from 127.0.0.1:PORT` shows the ephemeral port (it changes
//! every run). Stop the server and run the client: the connection is refused.

use anyhow::{bail, Context as _, Result};
use shared::encoding::{display, trim_newline, LineDecoder};
use shared::{addr, hint, trace::Tracer};
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use tcp_basic::{is_quit, MAX_MESSAGE};

/// Options of `tcp-basic client`.
#[derive(clap::Args)]
pub struct Args {
    /// The server to talk to, IP:PORT (e.g. [::1]:8888 for IPv6).
    #[arg(long, default_value = addr::TCP_BASIC, value_parser = addr::parse)]
    addr: SocketAddr,

    /// Print every segment sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let server = args.addr;

    // ANCHOR: connect
    // 1. socket() + connect(): std does both in TcpStream::connect. connect() also
    //    bind()s us to an ephemeral port, and returns once the handshake is done.
    let mut stream = TcpStream::connect(server)
        .map_err(|err| hint::cannot_connect(server, err, "cargo run -p tcp-basic -- server"))?;
    let local = stream.local_addr().context("cannot read our own address")?;
    println!("connected to {server} from {local}");
    // ANCHOR_END: connect

    let mut replies = LineDecoder::new(MAX_MESSAGE);
    let mut buf = [0u8; 1024];
    let mut stdin = std::io::stdin().lock();
    let mut typed = Vec::new();
    loop {
        typed.clear();
        if stdin
            .read_until(b'\n', &mut typed)
            .context("cannot read stdin")?
            == 0
        {
            break; // end of input (Ctrl-D, or the end of a piped file)
        }
        let line = trim_newline(&typed);

        // 2. write() (send): the line and its \n, so the server can tell where it ends.
        let message = [line, b"\n"].concat();
        stream
            .write_all(&message)
            .with_context(|| format!("cannot send to {server}"))?;
        tracer.sent(server, &message);

        // 3. read() (recv) until the echo of the whole line is back.
        let echo = loop {
            if let Some(echo) = replies.next_frame()? {
                break echo;
            }
            let n = stream
                .read(&mut buf)
                .with_context(|| format!("cannot receive from {server}"))?;
            if n == 0 {
                bail!(
                    "{server} closed the connection before echoing {:?}",
                    display(line)
                );
            }
            tracer.received(server, &buf[..n]);
            replies.feed(&buf[..n]);
        };
        println!("echo: {}", display(&echo));

        if is_quit(line) {
            break;
        }
    }

    // 4. close(): dropping the stream closes the socket; the server's read returns 0.
    drop(stream);
    println!("closed the connection to {server}");
    Ok(())
}
