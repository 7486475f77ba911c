//! # Lesson 02: the client
//!
//! The same socket calls as lesson 01's client, for the greeting protocol: read the
//! server's greeting, then for each line you type, send it and read one answer. `exit`
//! ends the conversation (the tutorial's quit word).
//!
//! ```text
//! cargo run -p threaded-server -- server       # terminal 1
//! cargo run -p threaded-server -- client       # terminal 2: type a name, `exit` quits
//! printf 'Ada\nexit\n' | cargo run -p threaded-server -- client
//! ```
//!
//! Observe: start several clients at once; each is greeted at once and gets its own
//! answers. Against `server --workers 1`, the second client waits for its `Welcome!`.
//!
//! `--framing none` sends each name without a line end and takes each read as one
//! answer, as the tutorial's programs do: then this client talks with the tutorial's
//! server, which sends `Welcome!` and `Hello, X!` with no line end.

use anyhow::{bail, Context as _, Result};
use shared::encoding::{trim_newline, Encoding};
use shared::{addr, hint, trace::Tracer};
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use tcp_basic::{Deframer, Framing};
use threaded_server::{EXIT, MAX_LINE};

/// Options of `threaded-server client`.
#[derive(clap::Args)]
pub struct Args {
    /// The server to talk to, IP:PORT.
    #[arg(long, default_value = addr::THREADED_SERVER, value_parser = addr::parse)]
    addr: SocketAddr,

    /// How messages end: `line` (with \n), `length` (a 4-byte length first) or `none`
    /// (each read is one message, sent with no line end: the tutorial's programs). Use
    /// the same as the server.
    #[arg(long, value_enum, default_value_t = Framing::Line)]
    framing: Framing,

    /// The text encoding of the names you send and the answers shown: utf-8, or gbk
    /// (the tutorials' Windows tools).
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Print every segment sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let server = args.addr;
    let encoding = args.encoding;

    // 1. socket() + connect(): std does both in TcpStream::connect.
    let mut stream = TcpStream::connect(server).map_err(|err| {
        hint::cannot_connect(server, err, "cargo run -p threaded-server -- server")
    })?;

    let mut messages = Deframer::new(args.framing, MAX_LINE);
    let mut buf = [0u8; 4096];
    // 2. read() until one whole message has arrived; None when the server has closed.
    let mut next_message = |stream: &mut TcpStream| -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(message) = messages.next_message()? {
                return Ok(Some(message));
            }
            let n = stream
                .read(&mut buf)
                .with_context(|| format!("cannot receive from {server}"))?;
            if n == 0 {
                return Ok(None);
            }
            tracer.received(server, &buf[..n]);
            messages.feed(&buf[..n]);
        }
    };

    let Some(greeting) = next_message(&mut stream)? else {
        bail!("{server} closed the connection before greeting us");
    };
    println!("{}", encoding.display(&greeting));

    let mut stdin = std::io::stdin().lock();
    let mut typed = Vec::new();
    loop {
        typed.clear();
        if stdin
            .read_until(b'\n', &mut typed)
            .context("cannot read stdin")?
            == 0
        {
            break; // end of input: closing the connection ends the conversation too
        }
        let line = trim_newline(&typed);
        let name = match encoding.encode_typed(line) {
            Ok(name) => name,
            Err(why) => {
                println!("not sent: {why}");
                continue;
            }
        };

        // 3. write(): the name, framed (`line`: with its \n; `none`: bare).
        let message = args.framing.encode(&name);
        stream
            .write_all(&message)
            .with_context(|| format!("cannot send to {server}"))?;
        tracer.sent(server, &message);
        if line == EXIT {
            break; // the server answers `exit` by closing: nothing to wait for
        }

        match next_message(&mut stream)? {
            Some(answer) => println!("{}", encoding.display(&answer)),
            None => bail!("{server} closed the connection"),
        }
    }

    // 4. close(): dropping the stream closes it.
    drop(stream);
    println!("bye");
    Ok(())
}
