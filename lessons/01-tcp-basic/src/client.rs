//! # Lesson 01: the TCP client
//!
//! A client needs no `bind()` and no `listen()`: `connect()` picks a free local port for
//! it (an *ephemeral* port) and performs the three-way handshake with the server. Then
//! it is the same socket calls as the server's: `write()` to send, `read()` to receive,
//! `close()` at the end.
//!
//! Each line you type (or pipe in) is sent with its `\n`; the client then reads until
//! the whole reply has come back, since one `read` may return only part of it. Against
//! the echo server the reply is your line; against `server --talk` it is what the
//! server's operator typed. `bye` from either side ends the conversation.
//!
//! ```text
//! cargo run -p tcp-basic -- server                      # terminal 1
//! cargo run -p tcp-basic -- client                      # terminal 2: type, `bye` quits
//! printf 'hello\nbye\n' | cargo run -p tcp-basic -- client --trace
//! ```
//!
//! Observe: `connected ... from 127.0.0.1:PORT` shows the ephemeral port (it changes
//! every run). Stop the server and run the client: the connection is refused.
//!
//! `--framing none` sends each line without its line end and takes each read as one
//! reply: the tutorials' programs work so, and this client then talks with them.

use anyhow::{bail, Context as _, Result};
use shared::encoding::{trim_newline, Encoding};
use shared::{addr, hint, trace::Tracer};
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use tcp_basic::{is_quit, Deframer, Framing, MAX_MESSAGE};

/// Options of `tcp-basic client`.
#[derive(clap::Args)]
pub struct Args {
    /// The server to talk to, IP:PORT (e.g. [::1]:8888 for IPv6).
    #[arg(long, default_value = addr::TCP_BASIC, value_parser = addr::parse)]
    addr: SocketAddr,

    /// How to mark where each message ends: `line` (with \n), `length` (a 4-byte length
    /// first) or `none` (the bare line, and each read is one reply: the tutorials' way).
    /// Use the same as the server's --framing.
    #[arg(long, value_enum, default_value_t = Framing::Line)]
    framing: Framing,

    /// The text encoding of what you send and what is shown: utf-8, or gbk (the
    /// tutorials' Windows tools).
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

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

    let mut replies = Deframer::new(args.framing, MAX_MESSAGE);
    let mut buf = [0u8; 1024];
    // read() (recv) until one whole reply has arrived; None when the server closed.
    let mut next_reply = |stream: &mut TcpStream| -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(reply) = replies.next_message()? {
                return Ok(Some(reply));
            }
            let n = stream
                .read(&mut buf)
                .with_context(|| format!("cannot receive from {server}"))?;
            if n == 0 {
                return Ok(None);
            }
            tracer.received(server, &buf[..n]);
            replies.feed(&buf[..n]);
        }
    };

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
        let text = match args.encoding.encode_typed(line) {
            Ok(text) => text,
            Err(why) => {
                println!("not sent: {why}");
                continue;
            }
        };

        // 2. write() (send): the line, framed so the server can tell where it ends
        //    (with `line`: the line and its \n).
        let message = args.framing.encode(&text);
        stream
            .write_all(&message)
            .with_context(|| format!("cannot send to {server}"))?;
        tracer.sent(server, &message);

        // 3. read() until the whole reply is back. After our bye there may be none: the
        //    echo server echoes it, but a talking server just closes (read returns 0).
        let reply = next_reply(&mut stream)?;
        if is_quit(line) {
            if let Some(reply) = reply {
                println!("reply: {}", args.encoding.display(&reply));
            }
            break;
        }
        let Some(reply) = reply else {
            bail!(
                "{server} closed the connection before replying to {}",
                args.encoding.display(line)
            );
        };
        println!("reply: {}", args.encoding.display(&reply));
        if is_quit(&reply) {
            println!("{server} said bye");
            break;
        }
    }

    // 4. close(): dropping the stream closes the socket; the server's read returns 0.
    drop(stream);
    println!("closed the connection to {server}");
    Ok(())
}
