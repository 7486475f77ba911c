//! # Lesson 07: an event loop
//!
//! Lesson 02's server, from ONE thread. It speaks the same protocol (`Welcome!`, then
//! `Hello, X!` for each line, `exit` ends), so lesson 02's client talks to it unchanged.
//!
//! ```text
//! cargo run -p event-loop -- server                                   # terminal 1
//! cargo run -p threaded-server -- client --addr 127.0.0.1:1235        # terminals 2, 3 ...
//! cargo run -p event-loop -- server --framing none                    # the tutorial's Python client
//! ```
//!
//! Observe: every client is greeted at once and answered at once, as in lesson 02, but
//! `ps -o nlwp -p PID` (number of threads) says 1, with 1 client or 10,000.
//!
//! The file reads in the order a student needs:
//!
//! 1. **Why a thread per client stops scaling.** Lesson 02 gives each client a thread that
//!    sleeps in `read()` until its client speaks. Each thread has a stack, a kernel task
//!    and a turn on the scheduler. At 1,000 clients the kernel switches between 1,000
//!    threads, and each idle client costs about 14 KiB of memory. Yet at any moment most
//!    clients say nothing. One thread could serve them all, if it knew which ones have
//!    something to say.
//! 2. **Non-blocking sockets (非阻塞套接字) and `WouldBlock`.** A non-blocking `read()`
//!    never waits: with no data it fails at once with `EAGAIN`, which Rust calls
//!    `ErrorKind::WouldBlock`. It means "not now", not "broken".
//! 3. **Readiness (就绪).** `epoll_wait()` sleeps until one of many sockets is ready, and
//!    says which. Only then do we read or write, so no call ever waits. This loop of
//!    "wait for events, handle each" is the event loop (事件循环).
//! 4. **Per-connection state and buffers.** With no thread per client, there is no stack
//!    to keep "where was I" for each conversation. A [`Connection`] keeps it: half a line
//!    received, answers not yet sent, and a deadline.
//! 5. **Partial writes, and waiting for writability.** A non-blocking `write()` may take
//!    only part of the bytes. We keep the rest and ask the kernel to tell us when the
//!    socket is writable again. A client that never reads cannot make us wait.
//! 6. **Closing.** A conversation ends on `exit`, at end of stream, on an error, or when
//!    idle. Dropping the socket closes it and takes it out of epoll.
//! 7. **How tokio and other runtimes build on the same loop:** see [`run`]'s last comment.
//!
//! The crate `mio` is our window on epoll: `Poll::new()` is `epoll_create1()`,
//! `Registry::register` is `epoll_ctl(ADD)`, `Poll::poll` is `epoll_wait()`, a `Token` is
//! the number the kernel gives back with each event, and `Interest` is
//! `EPOLLIN`/`EPOLLOUT`. On macOS and BSD mio uses kqueue, on Windows IOCP. Tokio is built
//! on mio. `--trace` prints every segment, as in every lesson.
//!
//! Since lesson 02: one thread instead of one per client; sockets in non-blocking mode;
//! our own buffers instead of a stack per conversation; a timer list for the idle timeout
//! instead of `SO_RCVTIMEO`.

use anyhow::{Context as _, Result};
use event_loop::{take_message, write_reply, Framing, Taken, EXIT, MAX_LINE, WELCOME};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use shared::encoding::Encoding;
use shared::{addr, duration, hint, ready, trace::Tracer};
use slab::Slab;
use socket2::{Domain, Socket, Type};
use std::collections::BTreeSet;
use std::io::{self, ErrorKind, Read as _, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Options of `event-loop server`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on, IP:PORT (port 0: the OS picks; [::]:1235 for IPv6).
    #[arg(long, default_value = addr::EVENT_LOOP, value_parser = addr::parse)]
    addr: SocketAddr,

    /// Hold at most this many clients at once; one more gets a one-line `server busy` and
    /// is closed. Each client costs one file descriptor: the server raises its limit
    /// (`ulimit -n`) as far as the system allows.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_clients: u32,

    /// Close a conversation that completes no line for this long (e.g. `30s`, `500ms`).
    #[arg(long, default_value = "30s", value_parser = positive_time)]
    idle_timeout: Duration,

    /// How messages end: `line` (lesson 02's protocol) or `none` (each read is one
    /// message, answers have no line end: the original tutorial's Python client).
    #[arg(long, value_enum, default_value_t = Framing::Line)]
    framing: Framing,

    /// How to show the names clients send: utf-8, gbk or auto (UTF-8 where valid, else GBK).
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Print no line per client or message (for load tests); errors still print.
    #[arg(long)]
    quiet: bool,

    /// Print every segment received and sent, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

/// `--idle-timeout`'s parser: a time with its unit (`shared::duration`), more than zero.
fn positive_time(text: &str) -> Result<Duration, String> {
    match duration::parse(text)? {
        Duration::ZERO => Err("0 would close every conversation at once: give e.g. `30s`".into()),
        time => Ok(time),
    }
}

/// The listening socket's token. Connections get their place in the slab (0, 1, 2 ...),
/// so the listener takes a number no slab reaches.
const LISTENER: Token = Token(usize::MAX);

/// One buffer for every `read()`: 64 KiB, owned by the loop, not by a connection. A
/// connection keeps only the bytes it cannot answer yet (usually none).
const READ_BUFFER: usize = 64 * 1024;

/// At most this many answer bytes wait for one client. Past it we stop reading that
/// client's lines (see [`Connection::wanted`]): a client that sends and never reads is
/// slowed down by TCP itself, and cannot make us hold more.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// An empty output buffer up to this size is kept for the next answers: a `Hello, X!`
/// fits many times over, and an idle client costs at most this much more.
const KEEP_OUTPUT: usize = 256;

/// How many events one `epoll_wait()` may return; more wait for the next turn.
const EVENTS_PER_TURN: usize = 1024;

/// What the loop knows about one client: the "where was I" that lesson 02 kept on each
/// thread's stack. About 150 bytes while the client is idle: the input buffer is empty
/// and owns no memory, the output buffer at most [`KEEP_OUTPUT`] bytes.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Bytes received that are not answered yet: half a line, or lines we stopped at.
    input: Vec<u8>,
    /// Answer bytes the kernel has not taken yet (a partial write).
    output: Vec<u8>,
    /// What we asked epoll to tell us about this socket.
    interest: Interest,
    /// Closed if no whole line arrives before this.
    deadline: Instant,
    /// This connection's entry in the timer list (see [`Timers`]).
    timer: Instant,
    /// Set when the conversation is over and only the last answers remain to be sent.
    closing: Option<String>,
}

/// What the loop needs to know to serve every connection.
struct Settings {
    idle_timeout: Duration,
    framing: Framing,
    encoding: Encoding,
    quiet: bool,
    tracer: Tracer,
}

pub fn run(args: Args) -> Result<()> {
    let settings = Settings {
        idle_timeout: args.idle_timeout,
        framing: args.framing,
        encoding: args.encoding,
        quiet: args.quiet,
        tracer: Tracer::new(args.trace),
    };
    let max_clients = usize::try_from(args.max_clients)?;
    // Every connection is a file descriptor. Linux's usual soft limit is 1024, far below
    // 10,000 clients; a process may raise its soft limit up to the hard one.
    raise_file_limit(max_clients);

    // 1. socket() + bind() + listen(), spelled out as in lesson 01 for two reasons: the
    //    backlog (connections the kernel accepts before we call accept(); std uses 128,
    //    too few when thousands connect at once) and the non-blocking flag (O_NONBLOCK).
    let listener = listen(args.addr)?;
    let mut listener = TcpListener::from_std(listener);
    let local = listener
        .local_addr()
        .context("cannot read our own address")?;

    // 2. epoll_create1(): a kernel object that watches many sockets for us.
    let mut poll = Poll::new().context("cannot create an epoll instance")?;
    // 3. epoll_ctl(ADD): tell us when the listener is readable, that is, when a new
    //    connection waits in the backlog.
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .context("cannot register the listener with epoll")?;
    ready::announce(local);

    let mut events = Events::with_capacity(EVENTS_PER_TURN);
    // Every connection's state, found by its token. A `Slab` is a Vec whose free slots are
    // reused: the token is the index, so finding a connection is one array access. (A
    // HashMap<Token, Connection> works too, with a hash per event; tokio and mio's own
    // examples use a slab.)
    let mut connections: Slab<Connection> = Slab::new();
    let mut timers = Timers::default();
    let mut buffer = vec![0u8; READ_BUFFER];
    // ANCHOR: loop
    loop {
        // 4. epoll_wait(): sleep until a socket is ready or the next deadline comes.
        //    This is the ONLY place the thread waits.
        let timeout = timers.time_to_next(Instant::now());
        if let Err(err) = poll.poll(&mut events, timeout) {
            if err.kind() == ErrorKind::Interrupted {
                continue; // a signal woke us: just wait again
            }
            return Err(err).context("epoll_wait() failed");
        }

        for event in events.iter() {
            if event.token() == LISTENER {
                // 5. accept() every waiting client (see accept_all).
                accept_all(
                    &listener,
                    &poll,
                    &mut connections,
                    &mut timers,
                    max_clients,
                    &settings,
                );
                continue;
            }
            let token = event.token();
            // (A token freed earlier in this turn may already name a new client: then
            // this event is stale, and serving it finds nothing to read. Harmless.)
            let Some(connection) = connections.get_mut(token.0) else {
                continue; // closed earlier in this turn
            };
            // 6. read() and write() what the kernel said is ready; neither ever waits.
            //    Readable or writable, we do all we can: a read that finds nothing costs
            //    one WouldBlock. The event also says if the client has closed or reset
            //    (EPOLLRDHUP, EPOLLERR): then we read on until read() tells us so.
            let hung_up = event.is_read_closed() || event.is_error();
            let ended = serve(connection, hung_up, &mut buffer, &settings);
            // 7. epoll_ctl(MOD): ask for what this connection needs next, or close it.
            let ended = ended.or_else(|| update_interest(connection, &poll, token));
            if let Some(why) = ended {
                close(&mut connections, &mut timers, token, &why, &settings);
            }
        }

        // 8. The idle timeout: close every connection whose deadline has passed.
        for token in timers.expired(Instant::now(), &mut connections) {
            let Some(connection) = connections.get_mut(token.0) else {
                continue;
            };
            let idle = duration::show(settings.idle_timeout);
            last_words(connection, &format!("idle for {idle}, closing"), &settings);
            let why = format!("idle for {idle} (no whole line in that time)");
            close(&mut connections, &mut timers, token, &why, &settings);
        }
    }
    // ANCHOR_END: loop
    //
    // How runtimes build on this loop. Tokio's `current_thread` runtime is this loop with
    // one change: the code that serves a connection is an `async fn`, which the compiler
    // turns into a state machine like `Connection` (it remembers where it stopped). When a
    // read would block, the task returns `Poll::Pending` and its `Waker` is stored with
    // the socket's token; when epoll reports the token, the runtime polls the task again.
    // Its timers live in a timer wheel instead of our sorted set. Node.js (libuv), nginx,
    // Redis and Netty run the same loop; io_uring changes the question from "which
    // sockets are ready?" to "which operations are done?".
}

/// socket() + bind() + listen() with a backlog of 4096 (Linux caps it at
/// `net.core.somaxconn`), in non-blocking mode.
fn listen(addr: SocketAddr) -> Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .context("cannot create a TCP socket")?;
    // As std does: a restarted server can bind again while old connections linger in
    // TIME_WAIT.
    socket
        .set_reuse_address(true)
        .context("cannot set SO_REUSEADDR")?;
    socket
        .bind(&addr.into())
        .map_err(|err| hint::cannot_bind(addr, err, "--addr"))?;
    socket
        .listen(4096)
        .with_context(|| format!("cannot listen on {addr}"))?;
    // O_NONBLOCK: accept() on this socket never waits; with no client it fails with
    // WouldBlock. mio requires it (and sets it itself on every accepted socket).
    socket
        .set_nonblocking(true)
        .context("cannot make the listener non-blocking")?;
    Ok(socket.into())
}

/// getrlimit() + setrlimit(RLIMIT_NOFILE): raise our soft limit on open files to the hard
/// limit, so `max` clients fit. Says so if the hard limit is too low (`ulimit -Hn`).
#[cfg(unix)]
fn raise_file_limit(max: usize) {
    let wanted = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(64);
    let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() else {
        return;
    };
    if soft >= wanted {
        return;
    }
    let raised = wanted.min(hard);
    if rlimit::Resource::NOFILE.set(raised, hard).is_err() || raised < wanted {
        eprintln!(
            "note: this process may open only {} files (ulimit -n), so fewer than --max-clients \
             {max} can connect; raise the hard limit (ulimit -Hn, /etc/security/limits.conf)",
            raised.max(soft)
        );
    }
}

/// Windows limits sockets by memory, not by a per-process count: nothing to raise.
#[cfg(not(unix))]
fn raise_file_limit(_max: usize) {}

// ANCHOR: accept
/// Accepts every client waiting in the backlog. mio's events are edge-triggered
/// (EPOLLET): epoll says "readable" once when clients arrive, not again for clients we
/// leave waiting. So we accept until `WouldBlock` says the backlog is empty.
fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    connections: &mut Slab<Connection>,
    timers: &mut Timers,
    max_clients: usize,
    settings: &Settings,
) {
    loop {
        let (mut stream, peer) = match listener.accept() {
            Ok(client) => client,
            Err(err) if err.kind() == ErrorKind::WouldBlock => return, // backlog empty
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => {
                // E.g. EMFILE (out of file descriptors): the client stays in the backlog.
                // We hear of it again when the next client connects.
                eprintln!("accept() failed: {err}");
                return;
            }
        };
        if connections.len() >= max_clients {
            println!("{peer} refused: all {max_clients} client places are taken (--max-clients)");
            let line = format!(
                "server busy: all {max_clients} client places are taken (--max-clients); try again later\n"
            );
            // One try, never a wait: the socket is non-blocking and the line is short.
            if stream.write(line.as_bytes()).is_ok() {
                settings.tracer.sent(peer, line.as_bytes());
            }
            continue; // dropping the stream closes it
        }
        // The connection's place in the slab is its token.
        let entry = connections.vacant_entry();
        let token = Token(entry.key());
        // epoll_ctl(ADD): tell us when this client sends something.
        if let Err(err) = poll
            .registry()
            .register(&mut stream, token, Interest::READABLE)
        {
            eprintln!("{peer}: cannot register with epoll: {err}");
            continue;
        }
        let deadline = Instant::now() + settings.idle_timeout;
        let mut connection = Connection {
            stream,
            peer,
            input: Vec::new(),
            output: Vec::new(),
            interest: Interest::READABLE,
            deadline,
            timer: deadline,
            closing: None,
        };
        if !settings.quiet {
            println!("{peer} connected");
        }
        // The greeting. A new socket's send buffer is empty, so this write takes it all.
        let welcome = settings.framing.encode(WELCOME);
        connection.output.extend_from_slice(&welcome);
        let ended = flush(&mut connection, settings)
            .err()
            .map(|err| format!("cannot send to {peer}: {err}"));
        timers.add(deadline, token);
        entry.insert(connection);
        if let Some(why) = ended {
            close(connections, timers, token, &why, settings);
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: serve
/// Does everything that can be done for one connection without waiting: sends what is
/// waiting, answers every whole line, reads what has arrived, and again, until a read
/// says `WouldBlock`. Returns why the conversation ended, if it did.
///
/// mio's events are edge-triggered (EPOLLET): epoll reports a socket when it BECOMES
/// readable, not again for bytes we leave in it. So we read until `WouldBlock` (or a
/// short read, which says the same), unless too many answers wait; then [`Connection::wanted`] asks for WRITABLE, and when the
/// client has read some we come back here and go on.
fn serve(
    connection: &mut Connection,
    hung_up: bool,
    buffer: &mut [u8],
    settings: &Settings,
) -> Option<String> {
    let peer = connection.peer;
    let mut drained = false;
    loop {
        // Answers waiting (from a partial write, or from the lines below): the socket
        // may take them now.
        if let Err(err) = flush(connection, settings) {
            return Some(format!("cannot send to {peer}: {err}"));
        }
        // Lines kept from earlier reads (the end of a line came, or we had stopped).
        if !connection.input.is_empty() {
            let input = std::mem::take(&mut connection.input);
            match answer_lines(connection, &input, settings) {
                Ok(used) => connection.input = keep(&input[used..]),
                Err(why) => return Some(why),
            }
        }
        if connection.output.len() >= OUTPUT_LIMIT {
            if let Err(err) = flush(connection, settings) {
                return Some(format!("cannot send to {peer}: {err}"));
            }
            if connection.output.len() >= OUTPUT_LIMIT {
                return None; // the client reads nothing: wait until it does
            }
            continue; // the kernel took them: answer the lines we stopped at
        }
        if connection.closing.is_some() || drained {
            break;
        }
        // read(): returns at once, with what has arrived or WouldBlock.
        let n = match connection.stream.read(buffer) {
            // End of stream: the client has closed (or shut down its sending half).
            // Answers still waiting are sent first (see below).
            Ok(0) => {
                connection.closing = Some(match connection.input.len() {
                    0 => "closed the connection".into(),
                    n => format!(
                        "closed the connection in the middle of a line ({n} bytes unanswered)"
                    ),
                });
                break;
            }
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::WouldBlock => break, // all read: not now
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Some(format!("cannot read from {peer}: {err}")),
        };
        settings.tracer.received(peer, &buffer[..n]);
        if connection.input.is_empty() {
            // The usual case: answer straight from the loop's buffer, and keep only
            // what is left (half a line, or lines past OUTPUT_LIMIT).
            match answer_lines(connection, &buffer[..n], settings) {
                Ok(used) => connection.input = keep(&buffer[used..n]),
                Err(why) => return Some(why),
            }
        } else {
            connection.input.extend_from_slice(&buffer[..n]); // answered at the loop's top
        }
        // A read that did not fill the buffer emptied the socket: the next read would only
        // say WouldBlock, and bytes that arrive later raise a new edge. Skipping that
        // read saves a system call per message (tokio does the same). Not after a hang-up:
        // its edge has come already, and only a read finds the end of the stream.
        drained = n < buffer.len() && !hung_up;
    }
    // Answers go out once per read, not once per line: a client that sent ten lines in
    // one segment gets ten answers in one write().
    if let Err(err) = flush(connection, settings) {
        return Some(format!("cannot send to {peer}: {err}"));
    }
    match &connection.closing {
        Some(why) if connection.output.is_empty() => Some(why.clone()),
        _ => None, // closing: the last answers go when the socket is writable
    }
}

/// Answers the whole lines at the start of `bytes`, while fewer than OUTPUT_LIMIT answer
/// bytes wait. Returns how many bytes it used (the caller keeps the rest), or why the
/// conversation ended.
fn answer_lines(
    connection: &mut Connection,
    bytes: &[u8],
    settings: &Settings,
) -> Result<usize, String> {
    let peer = connection.peer;
    let mut used = 0;
    while connection.closing.is_none() && connection.output.len() < OUTPUT_LIMIT {
        let (message, length) = match take_message(&bytes[used..], settings.framing) {
            Taken::Message(message, length) => (message, length),
            Taken::NeedMore => break,
            Taken::TooLong => {
                // Past the limit the rest of the stream cannot be framed: say why, close.
                let error = format!("error: a line longer than {MAX_LINE} bytes; closing");
                last_words(connection, &error, settings);
                return Err(format!("sent a line longer than {MAX_LINE} bytes"));
            }
        };
        used += length;
        if !settings.quiet {
            println!("{peer} says: {}", settings.encoding.display(message));
        }
        if message == EXIT {
            // Send what is still waiting, then close (see serve's end).
            connection.closing = Some("said exit".into());
            break;
        }
        write_reply(message, settings.framing, &mut connection.output);
    }
    if used > 0 {
        // Whole messages came: the client is not idle (one clock read for them all).
        connection.deadline = Instant::now() + settings.idle_timeout;
    }
    Ok(used)
}

/// The bytes a connection must keep for later, in a `Vec` of their own. Nothing to keep
/// gives `Vec::new()`, which owns no memory: an idle client whose lines were all
/// answered costs no buffer at all.
fn keep(rest: &[u8]) -> Vec<u8> {
    rest.to_vec()
}
// ANCHOR_END: serve

// ANCHOR: flush
/// write() what is waiting in `output`, as much as the kernel takes now. A partial write
/// is normal for a non-blocking socket: the kernel's send buffer is full because the
/// client reads slowly (or not at all). The rest stays in `output`, and
/// [`Connection::wanted`] asks epoll to say when the socket is writable again.
fn flush(connection: &mut Connection, settings: &Settings) -> io::Result<()> {
    while !connection.output.is_empty() {
        match connection.stream.write(&connection.output) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => {
                settings
                    .tracer
                    .sent(connection.peer, &connection.output[..n]);
                if n == connection.output.len() {
                    connection.output.clear(); // all taken: the usual case
                } else {
                    connection.output.drain(..n);
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()), // full: later
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    // All sent. A small buffer is kept for the next answer (no malloc and free per
    // message); a big one, left by a slow reader, is given back.
    if connection.output.capacity() > KEEP_OUTPUT {
        connection.output = Vec::new();
    }
    Ok(())
}
// ANCHOR_END: flush

impl Connection {
    /// What to ask epoll for next:
    /// - answers waiting: WRITABLE too, to send them when the client has read some;
    /// - OUTPUT_LIMIT answer bytes waiting, or closing: WRITABLE only. We read no more
    ///   lines from this client, so its bytes fill our receive buffer, TCP's window
    ///   closes, and its own writes wait: the client is slowed down, not us. If it never
    ///   reads, the idle timeout closes it.
    fn wanted(&self) -> Interest {
        if self.closing.is_some() || self.output.len() >= OUTPUT_LIMIT {
            Interest::WRITABLE
        } else if self.output.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        }
    }
}

/// epoll_ctl(MOD) when what the connection needs has changed. Re-arming READABLE also
/// reports bytes that arrived while we were not reading. Returns why the conversation
/// must end, if epoll refused.
fn update_interest(connection: &mut Connection, poll: &Poll, token: Token) -> Option<String> {
    let wanted = connection.wanted();
    if wanted == connection.interest {
        return None;
    }
    if let Err(err) = poll
        .registry()
        .reregister(&mut connection.stream, token, wanted)
    {
        return Some(format!("epoll_ctl() failed: {err}"));
    }
    if wanted == Interest::WRITABLE && connection.closing.is_none() {
        // Printed even with --quiet: it is rare, and it is what an operator must see.
        println!(
            "{} reads nothing: {} KiB of answers wait; reading no more from it until it does",
            connection.peer,
            OUTPUT_LIMIT / 1024
        );
    }
    connection.interest = wanted;
    None
}

/// Sends one last line after the answers still waiting, without waiting (one try: a
/// client that does not read gets nothing more), then the caller closes.
fn last_words(connection: &mut Connection, line: &str, settings: &Settings) {
    let bytes = settings.framing.encode(line.as_bytes());
    connection.output.extend_from_slice(&bytes);
    let _ = flush(connection, settings);
}

// ANCHOR: close
/// close(): dropping the mio stream closes the socket, and the kernel takes a closed
/// socket out of epoll by itself. Its timer entry goes too.
fn close(
    connections: &mut Slab<Connection>,
    timers: &mut Timers,
    token: Token,
    why: &str,
    settings: &Settings,
) {
    if let Some(connection) = connections.try_remove(token.0) {
        timers.remove(connection.timer, token);
        if !settings.quiet {
            println!("{} left: {why}", connection.peer);
        }
    }
}
// ANCHOR_END: close

// ANCHOR: timers
/// The timer list: every connection once, sorted by when to look at it next. The loop
/// sleeps in epoll_wait() no longer than until the first entry.
///
/// A line moves a connection's deadline, and lines are frequent, so the list is not
/// updated for each one: an entry may be earlier than the real deadline. When it comes,
/// we look at the connection: still idle, it is closed; otherwise its entry moves to the
/// real deadline. (Tokio uses a timer wheel; nginx a red-black tree, as BTreeSet is.)
#[derive(Default)]
struct Timers {
    entries: BTreeSet<(Instant, Token)>,
}

impl Timers {
    fn add(&mut self, when: Instant, token: Token) {
        self.entries.insert((when, token));
    }

    fn remove(&mut self, when: Instant, token: Token) {
        self.entries.remove(&(when, token));
    }

    /// How long epoll_wait() may sleep: until the first entry; `None` (for ever) if
    /// there are no connections.
    fn time_to_next(&self, now: Instant) -> Option<Duration> {
        let (first, _) = self.entries.first()?;
        // Rounded up to whole milliseconds (epoll's unit), so we never wake just before.
        let left = first.saturating_duration_since(now);
        Some(left + Duration::from_micros(999))
    }

    /// The connections whose deadline has passed; every other entry that came due is
    /// moved to its connection's real deadline.
    fn expired(&mut self, now: Instant, connections: &mut Slab<Connection>) -> Vec<Token> {
        let mut expired = Vec::new();
        while let Some(&(when, token)) = self.entries.first() {
            if when > now {
                break;
            }
            self.entries.pop_first();
            match connections.get_mut(token.0) {
                Some(connection) if connection.deadline > now => {
                    connection.timer = connection.deadline;
                    self.entries.insert((connection.timer, token));
                }
                Some(_) => expired.push(token), // its entry is gone already

                None => {}
            }
        }
        expired
    }
}
// ANCHOR_END: timers
