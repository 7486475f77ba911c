//! # Lesson 01: the TCP server
//!
//! A TCP server is a program that waits at a known address (IP + port) for clients to
//! connect. Getting there takes three system calls: `socket()` makes an endpoint,
//! `bind()` gives it the address, `listen()` tells the kernel to accept connections on
//! it. Then `accept()` hands us one connected client at a time, as a new socket of its
//! own; we `read()` what it sends, `write()` our answer, and `close()` when done.
//!
//! This server echoes every byte back exactly as received, and prints each `read` and
//! each message it finds in the stream, which shows the big surprise of TCP: **a read is
//! not a message**. TCP carries a stream of bytes; where one message ends is for the
//! program to mark (here: `--framing line`, each message ends with `\n`).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run -p tcp-basic -- server             # terminal 1
//! cargo run -p tcp-basic -- client             # terminal 2: type lines, `bye` to quit
//! cargo run -p tcp-basic -- burst              # three messages back to back: one read!
//! nc 127.0.0.1 8888                            # any TCP client works, netcat too
//! cargo run -p tcp-basic -- server --talk      # half duplex: you type each reply
//! ```
//!
//! Observe: the server serves ONE client at a time. Start two clients: the second one
//! connects at once (the kernel completes its handshake and queues it, see `--backlog`)
//! but hears nothing until the first one says `bye`.
//!
//! Since one client holds everyone else up, a client that sends no whole message, or
//! reads none of the echo, for `--idle-timeout` (default 30s) is dropped, and the server
//! moves on to the next one.
//!
//! `--talk` makes it a half-duplex talk (半双工), as in the tutorial where two people
//! type in turn: after each message, the server's operator types the reply on stdin.
//! `bye` from either side ends the talk, and the program. With `--framing none` it talks
//! with the tutorial's client, which sends each line without a line end.
//!
//! This is the first lesson; the next one (02) serves many clients at once.

use anyhow::{Context as _, Result};
use shared::encoding::{trim_newline, Encoding};
use shared::{addr, hint, ready, trace::Tracer};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, BufRead as _, ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use tcp_basic::{is_quit, Deframer, Framing, MAX_MESSAGE};

/// Options of `tcp-basic server`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on, IP:PORT. Port 0 lets the OS pick a free one; `[::]:8888`
    /// listens on IPv6 (and, on Linux, IPv4 too).
    #[arg(long, default_value = addr::TCP_BASIC, value_parser = addr::parse)]
    addr: SocketAddr,

    /// listen()'s backlog: how many connected clients the kernel may queue while we are
    /// busy with one. Past it, new clients wait in their handshake or are refused.
    #[arg(long, default_value_t = 8)]
    backlog: i32,

    /// How to find messages in the byte stream: `line` (each ends with \n), `length`
    /// (each starts with a 4-byte length) or `none` (every read is a "message", as the
    /// tutorials' programs assume: wrong as soon as two arrive in one read).
    #[arg(long, value_enum, default_value_t = Framing::Line)]
    framing: Framing,

    /// Half duplex: instead of the echo, you type the reply to each message on stdin.
    /// `bye` from either side ends the talk, and the program.
    #[arg(long)]
    talk: bool,

    /// How to show the text of each message (and, with --talk, send your replies):
    /// utf-8, or gbk (Windows in China, the tutorials' tools). The echo is the bytes
    /// received either way.
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Drop a client that completes no message, or takes in none of our echo, for this
    /// long (e.g. `30s`, `500ms`): while we serve one, everyone else waits.
    #[arg(long, default_value = "30s", value_parser = positive_time)]
    idle_timeout: Duration,

    /// Print every segment received and sent, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

/// The classic tutorial's `recv(1024)`: at most this many bytes per read.
const READ_BUFFER: usize = 1024;

/// `--idle-timeout`'s parser: a time with its unit (`shared::duration`), more than zero.
fn positive_time(text: &str) -> Result<Duration, String> {
    match shared::duration::parse(text)? {
        Duration::ZERO => Err("0 would drop every client at once: give e.g. `30s`".into()),
        time => Ok(time),
    }
}

/// What every conversation needs to know, from the command line.
#[derive(Clone, Copy)]
struct Settings {
    framing: Framing,
    idle_timeout: Duration,
    talk: bool,
    encoding: Encoding,
    tracer: Tracer,
}

pub fn run(args: Args) -> Result<()> {
    let settings = Settings {
        framing: args.framing,
        idle_timeout: args.idle_timeout,
        talk: args.talk,
        encoding: args.encoding,
        tracer: Tracer::new(args.trace),
    };

    // ANCHOR: setup
    // 1. socket(): a TCP endpoint (SOCK_STREAM) of the address's family, IPv4 or IPv6.
    //    std's TcpListener::bind does steps 1 to 3 in one call; we spell them out with
    //    socket2, which maps each one to its system call.
    let socket = Socket::new(
        Domain::for_address(args.addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .context("socket() failed")?;

    // SO_REUSEADDR lets a restarted server bind its port at once, even while connections
    // of the previous run wait out TIME_WAIT (std sets it too, on Unix).
    socket
        .set_reuse_address(true)
        .context("cannot set SO_REUSEADDR")?;

    // 2. bind(): claim the address. Fails if another program already listens there (or
    //    the port is below 1024 and we are not root, or the IP is not ours).
    socket
        .bind(&args.addr.into())
        .map_err(|err| hint::cannot_bind(args.addr, err, "--addr"))?;

    // 3. listen(): from now on the kernel completes handshakes for us, and queues up to
    //    `backlog` connected clients until we accept() them.
    socket
        .listen(args.backlog)
        .with_context(|| format!("listen() on {} failed", args.addr))?;
    let listener: TcpListener = socket.into();

    // The address we really got (port 0 becomes a real port): the readiness line.
    let local = listener
        .local_addr()
        .context("cannot read our own address")?;
    ready::announce(local);
    // ANCHOR_END: setup

    // ANCHOR: accept
    loop {
        // 4. accept(): take the next connected client off the queue, waiting if there is
        //    none. It returns a NEW socket for this one client; `listener` keeps listening.
        let (stream, peer) = match listener.accept() {
            Ok(client) => client,
            Err(err) => {
                // E.g. the client reset the connection before we got to it. Not fatal.
                eprintln!("accept() on {local} failed: {err}");
                continue;
            }
        };
        println!("{peer} connected");

        // One client at a time: the next accept() waits until this conversation ends.
        match converse(stream, peer, &settings) {
            Ok(why) => println!("{peer} left: {why}"),
            Err(err) => println!("{peer} left: {err:#}"),
        }
        if settings.talk {
            // A talk is one conversation, as in the tutorial; then the program ends.
            return Ok(());
        }
    }
    // ANCHOR_END: accept
}

/// Reads from one client until it quits or closes, echoing every byte (or, with
/// `--talk`, answering each message with the operator's reply), and prints each read and
/// each message found in the stream. Returns why the conversation ended.
// ANCHOR: read_write
fn converse(mut stream: TcpStream, peer: SocketAddr, settings: &Settings) -> Result<String> {
    let Settings {
        framing,
        idle_timeout,
        encoding,
        tracer,
        ..
    } = *settings;
    let mut buf = [0u8; READ_BUFFER];
    let mut deframer = Deframer::new(framing, MAX_MESSAGE);
    let (mut reads, mut messages) = (0, 0);
    // Everyone else waits while we serve this client, so it gets `idle_timeout` to
    // complete each message, and to take in our echo. A deadline, not a timeout per
    // read: a client sending a byte a second would pass each read's timeout forever.
    let mut deadline = Instant::now() + idle_timeout;
    let idle = shared::duration::show(idle_timeout);
    loop {
        // 5. read() (recv): wait for bytes, until the deadline at most. It returns as
        //    soon as ANY have arrived: one byte, half a message, or three messages run
        //    together. 0 means end of stream.
        let n = match read_before(&mut stream, &mut buf, deadline) {
            Ok(n) => n,
            Err(err) if timed_out(&err) => {
                return Ok(format!("timed out: no whole message for {idle}"))
            }
            Err(err) => return Err(err).with_context(|| format!("read from {peer} failed")),
        };
        if n == 0 {
            // EOF: the client closed the connection, or shut down its sending side
            // (half-close, see burst.rs). Either way it will send nothing more.
            let pending = deframer.pending();
            if pending.is_empty() {
                return Ok("end of stream (read returned 0)".into());
            }
            return Ok(format!(
                "end of stream (read returned 0), {} bytes of an unfinished message lost: {}",
                pending.len(),
                encoding.display(pending)
            ));
        }
        let bytes = &buf[..n];
        tracer.received(peer, bytes);
        reads += 1;
        println!("{peer} read #{reads}: {n} bytes");

        // 6. write() (send): echo exactly the bytes we got. write_all loops, because one
        //    write() may also take fewer bytes than offered; ours also stops at the
        //    deadline, since a client that never reads would block this write forever
        //    once its receive buffer and our send buffer are full. (With --talk there is
        //    no echo: the operator's reply is what we write, below.)
        if !settings.talk {
            match write_all_before(&mut stream, bytes, deadline) {
                Ok(()) => {}
                Err(err) if timed_out(&err) => {
                    return Ok(format!(
                        "timed out: could not send the echo within {idle} (is it reading?)"
                    ))
                }
                Err(err) => return Err(err).with_context(|| format!("write to {peer} failed")),
            }
            tracer.sent(peer, bytes);
        }

        // ANCHOR_END: read_write
        // ANCHOR: messages
        // Now find the messages in what has arrived so far: none, one or several.
        deframer.feed(bytes);
        while let Some(message) = deframer
            .next_message()
            .with_context(|| format!("{peer} broke the {framing:?} framing"))?
        {
            // A whole message: a new deadline for the next one.
            deadline = Instant::now() + idle_timeout;
            messages += 1;
            println!("{peer} message {messages}: {}", encoding.display(&message));
            if is_quit(&message) {
                // 7. close(): returning drops `stream`, which closes the socket; the
                //    client's next read returns 0.
                return Ok(format!("said {}", encoding.display(message.trim_ascii())));
            }
            // ANCHOR_END: messages
            if settings.talk {
                if let ControlFlow::Break(why) = reply(&mut stream, peer, messages, settings)? {
                    return Ok(why);
                }
                // Our turn is over: the client has the whole timeout for its next message.
                deadline = Instant::now() + idle_timeout;
            }
        }
    }
}

// ANCHOR: talk
/// Half duplex, our turn: the operator types the reply to message `n` on stdin, and we
/// send it. Breaks with the reason when the talk ends here: the operator said `bye`, or
/// stdin ended (nobody is left to type).
fn reply(
    stream: &mut TcpStream,
    peer: SocketAddr,
    n: u64,
    settings: &Settings,
) -> Result<ControlFlow<String>> {
    println!("{peer} waits: type reply {n} (one line; `bye` ends the talk)");
    let Some(line) = operator_line(settings.encoding)? else {
        return Ok(ControlFlow::Break(
            "end of input: nobody is left to type a reply".into(),
        ));
    };
    // The same write() as the echo, with the message framed as --framing says: with
    // `none`, the bare line, as the tutorial's client expects. The operator may have
    // taken minutes to type it: the deadline for sending it starts now.
    let bytes = settings.framing.encode(&line);
    let deadline = Instant::now() + settings.idle_timeout;
    match write_all_before(stream, &bytes, deadline) {
        Ok(()) => settings.tracer.sent(peer, &bytes),
        Err(err) if timed_out(&err) => {
            return Ok(ControlFlow::Break(
                "timed out: could not send the reply (is it reading?)".into(),
            ))
        }
        Err(err) => return Err(err).with_context(|| format!("write to {peer} failed")),
    }
    println!("{peer} reply {n}: {}", settings.encoding.display(&line));
    if is_quit(&line) {
        return Ok(ControlFlow::Break("we said bye".into()));
    }
    Ok(ControlFlow::Continue(()))
}

/// The operator's next line from stdin, without its line end, as bytes in `encoding`;
/// `None` at the end of input. A line the encoding cannot carry is reported, and the
/// operator types it again.
fn operator_line(encoding: Encoding) -> Result<Option<Vec<u8>>> {
    let mut typed = Vec::new();
    loop {
        typed.clear();
        let read = std::io::stdin().lock().read_until(b'\n', &mut typed);
        if read.context("cannot read stdin")? == 0 {
            return Ok(None);
        }
        match encoding.encode_typed(trim_newline(&typed)) {
            Ok(bytes) => return Ok(Some(bytes)),
            Err(why) => println!("not sent: {why}; type the reply again"),
        }
    }
}
// ANCHOR_END: talk

// ANCHOR: deadline
/// read(), waiting no later than `deadline`: the socket's read timeout (SO_RCVTIMEO) is
/// set to the time left before each read, so many slow reads cannot add up past it.
fn read_before(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
    stream.set_read_timeout(Some(time_left(deadline)?))?;
    stream.read(buf)
}

/// write_all(), waiting no later than `deadline`: each write() may wait only for the time
/// left (SO_SNDTIMEO), so a client that reads a byte now and then cannot stretch it. A
/// write that needs no wait always goes through, so bytes that came in just before the
/// deadline are still echoed; only a client that does not read makes it fail.
fn write_all_before(stream: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        // At least 1 ms: to the OS a timeout of 0 means "wait forever" (std refuses it).
        let left = deadline.saturating_duration_since(Instant::now());
        stream.set_write_timeout(Some(left.max(Duration::from_millis(1))))?;
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
