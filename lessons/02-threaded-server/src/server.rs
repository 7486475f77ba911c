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
//! With `--framing none` the messages are bare, as in the tutorial's programs: each read
//! is one name, and nothing ends with a line end (so the tutorial's client is served).
//!
//! ```text
//! cargo run -p threaded-server -- server                  # terminal 1
//! cargo run -p threaded-server -- client                  # terminals 2, 3, 4 ...
//! cargo run -p threaded-server -- server --workers 2      # then start 3 clients
//! cargo run -p threaded-server -- server --framing none   # for the tutorial's client
//! ```
//!
//! Observe: every client is greeted at once (lesson 01 made them wait). With
//! `--workers 2`, the third client connects but gets no `Welcome!` until one of the
//! first two types `exit`; the server prints that it waits for a free worker.
//!
//! A server that strangers can reach must bound what each of them can make it hold.
//! This one serves at most `--max-clients` at once (one more gets a `server busy` line),
//! closes a conversation that completes no line within `--idle-timeout`, refuses lines
//! over 64 KiB, and when the OS refuses it a thread, refuses that one client instead of
//! dying.
//!
//! Since lesson 01: std's `TcpListener::bind` does socket/bind/listen in one call, and
//! messages are found with lesson 01's `Deframer` (`tcp_basic::framing`), which handles
//! partial and coalesced reads and refuses lines over 64 KiB. The quit word is `exit`,
//! from the tutorial this lesson follows (lesson 01's, `bye`, comes from another one).

use anyhow::{bail, Context as _, Result};
use shared::encoding::Encoding;
use shared::{addr, duration, hint, ready, trace::Tracer};
use std::io::{self, ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tcp_basic::{Deframer, Framing};
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

    /// Hold at most this many clients at once (with --workers: those served plus those
    /// waiting for a worker). One more gets a one-line `server busy` and is closed, so a
    /// flood of connections cannot use up our threads, memory or file descriptors.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_clients: u32,

    /// Close a conversation that completes no line for this long (e.g. `30s`, `500ms`), so
    /// a client that is silent, or sends a byte now and then, cannot hold a thread forever.
    #[arg(long, default_value = "60s", value_parser = positive_time)]
    idle_timeout: Duration,

    /// How messages end: `line` (with \n), `length` (a 4-byte length first) or `none`
    /// (each read is one message, sent with no line end: the tutorial's programs).
    #[arg(long, value_enum, default_value_t = Framing::Line)]
    framing: Framing,

    /// How to show the names: utf-8, or gbk (the tutorials' Windows tools). The answer
    /// repeats the name's bytes as they came, whatever the encoding.
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Print every segment received and sent, in hex and ASCII.
    #[arg(long)]
    trace: bool,

    /// Print no line per client or message (for load tests, e.g. `cargo xtask bench
    /// hello`); errors and refusals still print.
    #[arg(long)]
    quiet: bool,
}

/// `--idle-timeout`'s parser: a time with its unit (`shared::duration`), more than zero.
fn positive_time(text: &str) -> Result<Duration, String> {
    match duration::parse(text)? {
        Duration::ZERO => Err("0 would close every conversation at once: give e.g. `30s`".into()),
        time => Ok(time),
    }
}

/// What every conversation needs to know; small and `Copy`, so each thread gets its own.
#[derive(Clone, Copy)]
struct Settings {
    idle_timeout: Duration,
    framing: Framing,
    encoding: Encoding,
    tracer: Tracer,
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let settings = Settings {
        idle_timeout: args.idle_timeout,
        framing: args.framing,
        encoding: args.encoding,
        tracer: Tracer::new(args.trace),
        quiet: args.quiet,
    };
    // u32 to usize cannot fail on the 32- and 64-bit machines Rust runs servers on.
    let clients = Clients::new(usize::try_from(args.max_clients)?);

    // 1. socket() + bind() + listen(): std does all three in TcpListener::bind (with a
    //    backlog of 128). Lesson 01 spelled them out.
    let listener =
        TcpListener::bind(args.addr).map_err(|err| hint::cannot_bind(args.addr, err, "--addr"))?;
    let local = listener
        .local_addr()
        .context("cannot read our own address")?;
    ready::announce(local);

    match args.workers {
        None => thread_per_connection(&listener, &clients, settings),
        Some(workers) => worker_pool(&listener, workers, &clients, settings),
    }
}

// ANCHOR: spawn
/// Step 1: the main thread accepts; every client gets a new thread.
fn thread_per_connection(
    listener: &TcpListener,
    clients: &Clients,
    settings: Settings,
) -> Result<()> {
    loop {
        // 2. accept(): wait for the next client.
        let (stream, peer) = match listener.accept() {
            Ok(client) => client,
            Err(err) => {
                eprintln!("accept() failed: {err}");
                continue;
            }
        };
        // Past --max-clients, a refusal line costs us no thread at all.
        let Some(slot) = clients.take() else {
            refuse(stream, peer, &clients.full(), settings);
            continue;
        };

        // 3. Hand the connection to a thread of its own. `move` gives the thread the
        //    stream; the main thread goes straight back to accept(). The OS may refuse a
        //    thread (out of memory, or a task limit: `ulimit -u`, systemd's TasksMax):
        //    `thread::spawn` would then panic and end the server for everyone, while
        //    `Builder::spawn` returns the error. A second handle on the socket (a dup()
        //    of it) lets us tell this one client why, since a failed spawn drops the
        //    closure, and the stream in it.
        let for_refusal = stream.try_clone();
        let spawned = thread::Builder::new().spawn(move || serve(stream, peer, slot, settings));
        if let Err(err) = spawned {
            let why = format!("cannot start a thread for you ({err})");
            match for_refusal {
                Ok(stream) => refuse(stream, peer, &why, settings),
                Err(_) => println!("{peer} refused: {why}"),
            }
        }
    }
}
// ANCHOR_END: spawn

// ANCHOR: pool
/// Step 2: N workers take connections from a channel; the main thread accepts and
/// hands each connection over.
fn worker_pool(
    listener: &TcpListener,
    workers: u16,
    clients: &Clients,
    settings: Settings,
) -> Result<()> {
    // Clients that wait for a free worker wait in this channel. It never holds more than
    // --max-clients, since a client past that is refused before it gets here: the queue,
    // and the memory it takes, are bounded.
    let (to_workers, from_acceptor) = crossbeam_channel::bounded::<Job>(clients.max);
    for id in 1..=workers {
        let jobs = from_acceptor.clone();
        thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || {
                // Each worker serves one client after another, until the channel closes.
                for (stream, peer, slot) in jobs {
                    serve(stream, peer, slot, settings);
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
        let held = clients.now();
        let Some(slot) = clients.take() else {
            refuse(stream, peer, &clients.full(), settings);
            continue;
        };
        if held >= usize::from(workers) {
            // Connected (the kernel did the handshake), but no worker is free: it waits
            // in the channel, without a greeting, until one is.
            println!("{peer} waits: all {workers} workers are busy");
        }
        // Never blocks: the channel has room for every client we hold.
        to_workers
            .send((stream, peer, slot))
            .context("every worker thread has stopped")?;
    }
}
// ANCHOR_END: pool

/// A connection on its way to a worker, with its place among the --max-clients.
type Job = (TcpStream, SocketAddr, Slot);

// ANCHOR: limits
/// How many clients the server holds now, against `--max-clients`. The acceptor takes a
/// [`Slot`] for each client it keeps; the slot is given back when the conversation ends.
/// (Async servers use a semaphore for this, e.g. tokio's `Semaphore` in mini-redis;
/// nginx's `limit_conn` and HAProxy's `maxconn` are the same cap.)
struct Clients {
    now: Arc<AtomicUsize>,
    max: usize,
}

/// One client's place: dropping it frees the place.
struct Slot(Arc<AtomicUsize>);

impl Clients {
    fn new(max: usize) -> Clients {
        Clients {
            now: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// How many clients are held now.
    fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// A place for one more client, or `None` when all `max` are taken. Only the
    /// acceptor takes places, so none can be taken between the check and the count.
    fn take(&self) -> Option<Slot> {
        if self.now() >= self.max {
            return None;
        }
        self.now.fetch_add(1, Ordering::SeqCst);
        Some(Slot(Arc::clone(&self.now)))
    }

    /// Why a client is refused when every place is taken.
    fn full(&self) -> String {
        format!("all {} client places are taken (--max-clients)", self.max)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Tells a client in one message that it is not served, and why, then closes the
/// connection; the server prints it too.
fn refuse(mut stream: TcpStream, peer: SocketAddr, why: &str, settings: Settings) {
    println!("{peer} refused: {why}");
    let text = format!("server busy: {why}; try again later");
    let sent = last_words(&mut stream, &text, settings.framing);
    settings.tracer.sent(peer, &sent);
}
// ANCHOR_END: limits

/// Sends a last message without waiting, and returns its bytes: the acceptor, or a
/// conversation that is over, must not wait on a client that may not read. In
/// non-blocking mode a write that would wait fails instead; a short message into a socket
/// whose send buffer has room never does.
fn last_words(stream: &mut TcpStream, text: &str, framing: Framing) -> Vec<u8> {
    let bytes = framing.encode(text.as_bytes());
    let _ = stream.set_nonblocking(true);
    let _ = stream.write_all(&bytes);
    bytes
}

/// Runs one conversation and prints how it ended. Errors stay with this client: the
/// server goes on serving everyone else.
fn serve(stream: TcpStream, peer: SocketAddr, slot: Slot, settings: Settings) {
    if !settings.quiet {
        println!("{peer} connected");
    }
    let why = match converse(stream, peer, settings) {
        Ok(why) => why,
        Err(err) => format!("{err:#}"),
    };
    // The connection is closed (converse owned the stream); free its place before we
    // say so, so that whoever reads `left` can count on the place being free.
    drop(slot);
    if !settings.quiet {
        println!("{peer} left: {why}");
    }
}

// ANCHOR: converse
/// The protocol: greet, then answer each line until `exit`, end of stream, a line that is
/// too long, or the idle timeout. Returns why the conversation ended.
fn converse(mut stream: TcpStream, peer: SocketAddr, settings: Settings) -> Result<String> {
    let Settings {
        idle_timeout,
        framing,
        encoding,
        tracer,
        quiet,
    } = settings;
    // Idle means "no whole line for `idle_timeout`", not "no byte": a client sending one
    // byte a second would pass a per-read timeout forever. So each line has a deadline;
    // the greeting, the reads and the answers must all be done by it, and it moves on
    // only when a whole line has arrived (nginx's client_header_timeout works so too).
    let mut deadline = Instant::now() + idle_timeout;
    // 4. write(): one message, framed as --framing says (`line`: with its \n).
    let send = |stream: &mut TcpStream, message: &[u8], deadline: Instant| -> Result<()> {
        let bytes = framing.encode(message);
        match write_all_before(stream, &bytes, deadline) {
            Ok(()) => {
                tracer.sent(peer, &bytes);
                Ok(())
            }
            Err(err) if timed_out(&err) => bail!(
                "cannot send to {peer} within the idle timeout of {} (it reads nothing?)",
                duration::show(idle_timeout)
            ),
            Err(err) => Err(err).with_context(|| format!("cannot send to {peer}")),
        }
    };

    send(&mut stream, WELCOME, deadline)?;
    let mut names = Deframer::new(framing, MAX_LINE);
    let mut buf = [0u8; 4096];
    loop {
        // First answer every whole message already received: one read may carry several
        // lines (with `--framing none`, a read is one message, whatever it holds).
        match names.next_message() {
            Ok(Some(name)) => {
                // A whole message: the client is not idle. A new deadline, for our answer
                // and the next message.
                deadline = Instant::now() + idle_timeout;
                if !quiet {
                    println!("{peer} says: {}", encoding.display(&name));
                }
                if name == EXIT {
                    return Ok("said exit".into());
                }
                send(&mut stream, &reply(&name), deadline)?;
                continue;
            }
            Ok(None) => {} // no whole message yet: read more
            Err(too_long) => {
                // Past the limit the rest of the stream cannot be framed: say why, close.
                last_words(&mut stream, &format!("error: {too_long}; closing"), framing);
                return Ok(format!("sent a line longer than {MAX_LINE} bytes"));
            }
        }

        // 5. read(): whatever has arrived (half a line, or several lines), waiting no
        //    later than the deadline.
        let n = match read_before(&mut stream, &mut buf, deadline) {
            Ok(0) if names.pending().is_empty() => return Ok("closed the connection".into()),
            Ok(0) => {
                return Ok(format!(
                    "closed the connection in the middle of a line ({} bytes unanswered)",
                    names.pending().len()
                ))
            }
            Ok(n) => n,
            Err(err) if timed_out(&err) => {
                let idle = duration::show(idle_timeout);
                last_words(&mut stream, &format!("idle for {idle}, closing"), framing);
                return Ok(format!("idle for {idle} (no whole line in that time)"));
            }
            Err(err) => return Err(err).context(format!("cannot read from {peer}")),
        };
        tracer.received(peer, &buf[..n]);
        names.feed(&buf[..n]);
    }
}
// ANCHOR_END: converse

// ANCHOR: deadline
/// read(), waiting no later than `deadline`: the socket's read timeout (SO_RCVTIMEO) is
/// set to the time left before each read, so many slow reads cannot add up past it.
fn read_before(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
    stream.set_read_timeout(Some(time_left(deadline)?))?;
    stream.read(buf)
}

/// write_all(), done by `deadline`: each write() may wait only for the time left
/// (SO_SNDTIMEO), so a client that reads a byte now and then cannot stretch it.
fn write_all_before(stream: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.set_write_timeout(Some(time_left(deadline)?))?;
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// The time until `deadline`; a `TimedOut` error once it has passed.
fn time_left(deadline: Instant) -> io::Result<Duration> {
    match deadline.saturating_duration_since(Instant::now()) {
        Duration::ZERO => Err(ErrorKind::TimedOut.into()),
        left => Ok(left),
    }
}

/// Whether a socket call failed because its deadline passed: a timed-out read or write
/// fails with EAGAIN (`WouldBlock`; `TimedOut` on some systems), and so does [`time_left`].
fn timed_out(err: &io::Error) -> bool {
    matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}
// ANCHOR_END: deadline
