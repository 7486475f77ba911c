//! # Lesson 02: a threaded server
//!
//! The server of lesson 01 talks to one client at a time: while it reads from one, the
//! others wait. The classic fix is to give each connection a thread of its own: the main
//! thread only `accept()`s, and hands each new connection to a thread that runs the
//! conversation. That is step 1 below (`thread_per_connection`).
//!
//! A thread per connection is simple, but a thousand clients make a thousand threads,
//! each with its own stack. Step 2 (`--workers N`, `worker_pool`) keeps a fixed pool of N
//! threads fed through a channel: client N+1 is accepted by the kernel but waits, without
//! a greeting, until a worker is free. Production servers go further with non-blocking
//! sockets and an event loop (epoll via mio, or async Rust with tokio).
//!
//! The protocol, one line at a time: the server greets with `Welcome!`, answers each line
//! `X` with `Hello, X!`, and ends the conversation on `exit` or when the client closes.
//!
//! ```text
//! cargo run -p threaded-server -- server                  # terminal 1
//! cargo run -p threaded-server -- client                  # terminals 2, 3, 4 ...
//! cargo run -p threaded-server -- server --workers 2      # then start 3 clients
//! ```
//!
//! Observe: every client is greeted at once (lesson 01 made them wait). With
//! `--workers 2`, the third client connects but gets no `Welcome!` until one of the
//! first two types `exit`; the server prints that it waits for a free worker.
//!
//! Since lesson 01: std's `TcpListener::bind` does socket/bind/listen in one call, and
//! messages are lines, found with a line decoder that copes with partial and coalesced
//! reads and refuses lines over 64 KiB.

use anyhow::{bail, Context as _, Result};
use crossbeam_channel::TrySendError;
use shared::encoding::{display, LineDecoder};
use shared::{addr, ready, trace::Tracer};
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;
use threaded_server::{reply, EXIT, MAX_LINE, WELCOME};

/// Options of `threaded-server server`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on, IP:PORT (port 0: the OS picks; [::]:1234 for IPv6).
    #[arg(long, default_value = addr::THREADED_SERVER, value_parser = addr::parse)]
    addr: SocketAddr,

    /// Serve with a fixed pool of N worker threads (step 2) instead of a thread per
    /// connection (step 1).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,

    /// Close a connection that sends nothing for this many seconds, so a silent client
    /// cannot hold a thread forever (0: never).
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,

    /// Print every segment received and sent, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

/// What every conversation needs to know; small and `Copy`, so each thread gets its own.
#[derive(Clone, Copy)]
struct Settings {
    idle_timeout: Option<Duration>,
    tracer: Tracer,
}

pub fn run(args: Args) -> Result<()> {
    let settings = Settings {
        idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        tracer: Tracer::new(args.trace),
    };

    // 1. socket() + bind() + listen(): std does all three in TcpListener::bind (with a
    //    backlog of 128). Lesson 01 spelled them out.
    let listener = TcpListener::bind(args.addr).with_context(|| {
        format!(
            "cannot listen on {} (is another server using this port? try --addr 127.0.0.1:0)",
            args.addr
        )
    })?;
    let local = listener
        .local_addr()
        .context("cannot read our own address")?;
    ready::announce(local);

    match args.workers {
        None => thread_per_connection(&listener, settings),
        Some(workers) => worker_pool(&listener, workers, settings),
    }
}

// ANCHOR: spawn
/// Step 1: the main thread accepts; every client gets a new thread.
fn thread_per_connection(listener: &TcpListener, settings: Settings) -> Result<()> {
    loop {
        // 2. accept(): wait for the next client.
        let (stream, peer) = match listener.accept() {
            Ok(client) => client,
            Err(err) => {
                eprintln!("accept() failed: {err}");
                continue;
            }
        };
        // 3. Hand the connection to a thread of its own. `move` gives the thread the
        //    stream; the main thread goes straight back to accept().
        thread::spawn(move || serve(stream, peer, settings));
    }
}
// ANCHOR_END: spawn

// ANCHOR: pool
/// Step 2: N workers take connections from a channel; the main thread accepts and
/// hands each connection over.
fn worker_pool(listener: &TcpListener, workers: u16, settings: Settings) -> Result<()> {
    // A rendezvous channel (capacity 0): a send succeeds only when a worker is waiting
    // in recv(), that is, when a worker is free. Nothing piles up in our memory; clients
    // that cannot be served yet wait in the kernel's listen queue instead.
    let (to_workers, from_acceptor) = crossbeam_channel::bounded::<(TcpStream, SocketAddr)>(0);
    for id in 1..=workers {
        let jobs = from_acceptor.clone();
        thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || {
                // Each worker serves one client after another, until the channel closes.
                for (stream, peer) in jobs {
                    serve(stream, peer, settings);
                }
            })
            .context("cannot start a worker thread")?;
    }
    println!("pool of {workers} workers ready");

    loop {
        let (stream, peer) = match listener.accept() {
            Ok(client) => client,
            Err(err) => {
                eprintln!("accept() failed: {err}");
                continue;
            }
        };
        match to_workers.try_send((stream, peer)) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => {
                // The N+1-th client: connected (the kernel did the handshake) but no worker
                // is free. We wait here; meanwhile later clients queue in the kernel.
                println!("{peer} waits: all {workers} workers are busy");
                to_workers
                    .send(job)
                    .context("every worker thread has stopped")?;
            }
            Err(TrySendError::Disconnected(_)) => bail!("every worker thread has stopped"),
        }
    }
}
// ANCHOR_END: pool

/// Runs one conversation and prints how it ended. Errors stay with this client: the
/// server goes on serving everyone else.
fn serve(stream: TcpStream, peer: SocketAddr, settings: Settings) {
    println!("{peer} connected");
    match converse(stream, peer, settings) {
        Ok(why) => println!("{peer} left: {why}"),
        Err(err) => println!("{peer} left: {err:#}"),
    }
}

// ANCHOR: converse
/// The protocol: greet, then answer each line until `exit`, end of stream, a line that is
/// too long, or the idle timeout. Returns why the conversation ended.
fn converse(mut stream: TcpStream, peer: SocketAddr, settings: Settings) -> Result<String> {
    // A read that waits longer than this fails with WouldBlock (TimedOut on some systems)
    // instead of blocking forever. The same for writes, so a client that never reads
    // cannot block us either once its receive buffer is full.
    stream.set_read_timeout(settings.idle_timeout)?;
    stream.set_write_timeout(settings.idle_timeout)?;
    let tracer = settings.tracer;
    let send = |stream: &mut TcpStream, text: &str| -> Result<()> {
        stream
            .write_all(text.as_bytes())
            .with_context(|| format!("cannot send to {peer}"))?;
        tracer.sent(peer, text.as_bytes());
        Ok(())
    };

    send(&mut stream, WELCOME)?;
    let mut lines = LineDecoder::new(MAX_LINE);
    let mut buf = [0u8; 4096];
    loop {
        // First answer every whole line already received: one read may carry several.
        match lines.next_frame() {
            Ok(Some(line)) => {
                // The protocol is UTF-8; bytes that are not become U+FFFD.
                let name = String::from_utf8_lossy(&line);
                println!("{peer} says: {}", display(&line));
                if name == EXIT {
                    return Ok("said exit".into());
                }
                send(&mut stream, &reply(&name))?;
                continue;
            }
            Ok(None) => {} // no whole line yet: read more
            Err(too_long) => {
                // Past the limit the rest of the stream cannot be framed: say why, close.
                let _ = send(&mut stream, &format!("error: {too_long}; closing\n"));
                return Ok(format!("sent a line longer than {MAX_LINE} bytes"));
            }
        }

        // 4. read(): whatever has arrived; half a line, or several lines.
        let n = match stream.read(&mut buf) {
            Ok(0) if lines.pending().is_empty() => return Ok("closed the connection".into()),
            Ok(0) => {
                return Ok(format!(
                    "closed the connection in the middle of a line ({} bytes unanswered)",
                    lines.pending().len()
                ))
            }
            Ok(n) => n,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let secs = settings.idle_timeout.map_or(0, |t| t.as_secs());
                let _ = send(&mut stream, &format!("idle for {secs}s, closing\n"));
                return Ok(format!("idle for {secs}s"));
            }
            Err(err) => return Err(err).context(format!("cannot read from {peer}")),
        };
        tracer.received(peer, &buf[..n]);
        lines.feed(&buf[..n]);
    }
}
// ANCHOR_END: converse
