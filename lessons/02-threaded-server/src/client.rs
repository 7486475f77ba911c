//! # Lesson 02: the client
//!
//! The same socket calls as lesson 01's client, for a line protocol: read the server's
//! greeting, then for each line you type, send it and read one answer line.
//!
//! ```text
//! cargo run -p threaded-server -- server       # terminal 1
//! cargo run -p threaded-server -- client       # terminal 2: type a name, `exit` quits
//! printf 'Ada\nexit\n' | cargo run -p threaded-server -- client
//! ```
//!
//! Observe: start several clients at once; each is greeted at once and gets its own
//! answers. Against `server --workers 1`, the second client waits for its `Welcome!`.

use anyhow::{bail, Context as _, Result};
use shared::encoding::{display, trim_newline, LineDecoder};
use shared::{addr, hint, trace::Tracer};
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use threaded_server::{EXIT, MAX_LINE};

/// Options of `threaded-server client`.
#[derive(clap::Args)]
pub struct Args {
    /// The server to talk to, IP:PORT.
    #[arg(long, default_value = addr::THREADED_SERVER, value_parser = addr::parse)]
    addr: SocketAddr,

    /// Print every segment sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let server = args.addr;

    // 1. socket() + connect(): std does both in TcpStream::connect.
    let mut stream = TcpStream::connect(server).map_err(|err| {
        hint::cannot_connect(server, err, "cargo run -p threaded-server -- server")
    })?;

    let mut lines = LineDecoder::new(MAX_LINE);
    let mut buf = [0u8; 4096];
    // 2. read() until one whole line has arrived; None when the server has closed.
    let mut read_line = |stream: &mut TcpStream| -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(line) = lines.next_frame()? {
                return Ok(Some(line));
            }
            let n = stream
                .read(&mut buf)
                .with_context(|| format!("cannot receive from {server}"))?;
            if n == 0 {
                return Ok(None);
            }
            tracer.received(server, &buf[..n]);
            lines.feed(&buf[..n]);
        }
    };

    let Some(greeting) = read_line(&mut stream)? else {
        bail!("{server} closed the connection before greeting us");
    };
    println!("{}", display(&greeting));

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

        // 3. write(): the line with its \n.
        let message = [line, b"\n"].concat();
        stream
            .write_all(&message)
            .with_context(|| format!("cannot send to {server}"))?;
        tracer.sent(server, &message);
        if line == EXIT.as_bytes() {
            break;
        }

        match read_line(&mut stream)? {
            Some(answer) => println!("{}", display(&answer)),
            None => bail!("{server} closed the connection"),
        }
    }

    // 4. close(): dropping the stream closes it.
    drop(stream);
    println!("bye");
    Ok(())
}
