//! # Lesson 03: the UDP client
//!
//! A UDP client connects to nothing: it sends each line as one datagram with `sendto()`,
//! addressed to the server, and waits for a datagram to come back with `recvfrom()`.
//! Nothing tells it whether its datagram arrived: UDP promises nothing. So it waits only
//! so long (`--timeout`), then sends again, a few times (`--retries`), and then reports
//! the message as lost and goes on with the next one.
//!
//! The client does not choose its port: it binds port 0 and the OS picks a free
//! *ephemeral* port (it prints which; run it twice and see it change). The server learns
//! that address from each datagram and answers there.
//!
//! ```text
//! cargo run -p udp-echo -- server                        # terminal 1
//! cargo run -p udp-echo -- client                        # terminal 2: type, Ctrl-D ends
//! printf 'hello\nworld\n' | cargo run -p udp-echo -- client --trace
//! cargo run -p udp-echo -- client --drop 0.5             # lose half our datagrams
//! cargo run -p udp-echo -- client --encoding gbk          # send 你好 as GBK: c4 e3 ba c3
//! cargo run -p udp-echo -- client --talk                  # to `server --talk`: a person answers
//! ```
//!
//! Observe: stop the server and type a line: no error, only silence, then the retries and
//! `lost`. With `--drop 0.5` the client prints `dropped (simulated)`, waits out its
//! timeout, and sends again. With a server started as `server --drop 0.5`, it is the
//! echo that gets lost, and the server sees the same line twice: a retry can duplicate.
//!
//! `--talk` is the other half of a half-duplex talk (`server --talk`, or the tutorials'
//! UDP chat room): each line is sent once, and the answer is whatever the server sends
//! back, typed by a person, so the client waits longer (5 minutes unless `--timeout`
//! says otherwise) and never sends a line twice.
//!
//! Changed since lesson 02: no `connect()`, no handshake, no `\n` at the end of each
//! message (the datagram itself is the message), and loss is now our problem.

use anyhow::{bail, Context as _, Result};
use shared::duration::show;
use shared::encoding::{trim_newline, Encoding};
use shared::loss::{self, Dropper, Sent};
use shared::{addr, trace::Tracer};
use std::io::{BufRead as _, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use udp_echo::{any_local_for, classify, encode_line, max_payload, preview, Reply, DEFAULT_BUFFER};

/// Options of `udp-echo client`.
#[derive(clap::Args)]
pub struct Args {
    /// The server to talk to, IP:PORT (e.g. [::1]:8080 for IPv6).
    #[arg(long, default_value = addr::UDP_ECHO, value_parser = addr::parse)]
    addr: SocketAddr,

    /// How long to wait for each echo before sending again, with a unit: 300ms, 2s, 1m.
    /// [default: 1s; with --talk, 5m]
    #[arg(long, value_parser = udp_echo::parse_timeout)]
    timeout: Option<Duration>,

    /// How many times to send a message again when its echo does not come.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=100))]
    retries: u32,

    /// The encoding of the text: each typed line is sent in it, and what comes back is
    /// shown in it. utf-8, gbk (the tutorials' Windows tools) or auto (shows UTF-8 where
    /// valid, else GBK; sends UTF-8).
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Half duplex, to `server --talk` or the tutorials' chat room: each line is sent once
    /// and the answer is whatever the server sends back (a person types it).
    #[arg(long, conflicts_with = "retries")]
    talk: bool,

    /// Lose this share of our datagrams on purpose (0.0 to 1.0, or a percentage like 30%),
    /// to watch the timeouts and retries on loopback.
    #[arg(long = "drop", default_value = "0", value_parser = loss::parse_rate)]
    drop_rate: f64,

    /// Seed of the --drop choices: the same seed drops the same datagrams, run after run.
    #[arg(long, default_value_t = loss::DEFAULT_SEED)]
    seed: u64,

    /// Print every datagram sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

pub fn run(args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let server = args.addr;
    let encoding = args.encoding;
    // A person types the answer to a talk: wait longer, and never ask twice.
    let (default_timeout, tries) = match args.talk {
        true => (Duration::from_secs(5 * 60), 1),
        false => (Duration::from_secs(1), args.retries + 1),
    };
    let timeout = args.timeout.unwrap_or(default_timeout);
    let mut dropper = Dropper::new(args.drop_rate, args.seed);

    // ANCHOR: bind
    // 1. socket() + bind(). In C a client skips bind(): its first sendto() binds the
    //    socket by itself to "any address, any free port". std has no UDP socket without
    //    bind, so we ask for exactly that: the wildcard IP (0.0.0.0, or [::] for an IPv6
    //    server) and port 0, which means "OS, pick a free port for me".
    let socket = UdpSocket::bind(any_local_for(server))
        .context("cannot bind a local UDP socket (port 0)")?;
    let local = socket.local_addr().context("cannot read our own address")?;
    println!(
        "sending from {local} to {server} (port {} picked by the OS: run me again and it changes)",
        local.port()
    );
    // ANCHOR_END: bind
    if dropper.is_active() {
        println!(
            "simulating loss: dropping {:.0}% of our datagrams (--seed {})",
            dropper.rate() * 100.0,
            args.seed
        );
    }

    let mut buf = vec![0u8; DEFAULT_BUFFER];
    let (mut total, mut lost, mut unsent) = (0, 0, 0);
    let mut stdin = std::io::stdin().lock();
    let mut typed = Vec::new();
    loop {
        typed.clear();
        let n = stdin.read_until(b'\n', &mut typed);
        if n.context("cannot read stdin")? == 0 {
            break; // end of input (Ctrl-D, or the end of a piped file)
        }
        // No `\n` on the wire: the datagram's own edges mark where the message ends.
        // The text becomes bytes in the chosen encoding; a line it cannot carry is
        // reported and skipped.
        let message = match encode_line(trim_newline(&typed), encoding) {
            Ok(bytes) => bytes,
            Err(why) => {
                unsent += 1;
                eprintln!("udp-echo: line not sent: {why}");
                continue;
            }
        };
        let message = &message[..];
        total += 1;

        // ANCHOR: retry
        let mut answered = false;
        for attempt in 1..=tries {
            // 2. sendto(): one datagram, addressed to the server. `dropper.send_to` is
            //    `socket.send_to`, unless --drop loses this one.
            let sent = dropper
                .send_to(&socket, message, server)
                .with_context(|| send_failed(message, server))?;
            match sent {
                Sent::Sent(_) => tracer.sent(server, message),
                Sent::Dropped => println!(
                    "try {attempt}: dropped (simulated, --drop): {} never left",
                    preview(message, encoding)
                ),
            }

            // 3. recvfrom(), waiting at most `timeout` for the echo.
            let wait = Wait {
                server,
                timeout,
                encoding,
                talk: args.talk,
            };
            if wait_for_echo(&socket, &wait, message, &mut buf, &tracer)? {
                answered = true;
                break;
            }
            if attempt < tries {
                println!(
                    "no echo within {} (try {attempt} of {tries}); sending again",
                    show(timeout)
                );
            }
        }
        if !answered && args.talk {
            lost += 1;
            println!(
                "no reply to {} within {}: nobody answered (is `server --talk` running at {server}?)",
                preview(message, encoding),
                show(timeout)
            );
        } else if !answered {
            lost += 1;
            println!(
                "lost: no echo of {} after {tries} tries. UDP promises nothing: the datagram or \
                 its echo was lost, or nobody listens at {server}",
                preview(message, encoding)
            );
        }
        // ANCHOR_END: retry
    }

    // 4. close(): dropping the socket closes it. Nobody is told: there is no connection.
    drop(socket);
    let answered = if args.talk { "answered" } else { "echoed" };
    print!("{} of {total} messages {answered}", total - lost);
    if dropper.is_active() {
        print!(
            ", {} of {} datagrams dropped (simulated)",
            dropper.dropped(),
            dropper.decided()
        );
    }
    if unsent > 0 {
        print!(", lines not sent: {unsent} (--encoding {encoding} cannot carry them)");
    }
    println!();
    if lost > 0 {
        bail!(
            "{lost} of {total} messages got no {} from {server} (is the server running? \
             start it with: cargo run -p udp-echo -- server{})",
            if args.talk { "reply" } else { "echo" },
            if args.talk { " --talk" } else { "" }
        );
    }
    if unsent > 0 {
        bail!("lines not sent: {unsent} (--encoding {encoding} cannot carry them; each is named above)");
    }
    Ok(())
}

/// What to say when sending `message` to `server` failed.
fn send_failed(message: &[u8], server: SocketAddr) -> String {
    let limit = max_payload(server);
    if message.len() > limit {
        format!(
            "cannot send {} bytes to {server}: one datagram carries at most {limit} bytes",
            message.len()
        )
    } else {
        format!("cannot send to {server}")
    }
}

/// What [`wait_for_echo`] waits for, and how long.
#[derive(Clone, Copy)]
struct Wait {
    server: SocketAddr,
    timeout: Duration,
    encoding: Encoding,
    /// Any datagram from the server is the answer (a person typed it), not only the echo.
    talk: bool,
}

// ANCHOR: wait
/// Receives until the echo of `message` arrives (`true`) or `timeout` has passed
/// (`false`). Datagrams that are not that echo are shown and ignored: an unconnected
/// socket accepts datagrams from anyone, and a late echo of an earlier try may still come.
/// With `--talk`, whatever the server sends is the answer.
fn wait_for_echo(
    socket: &UdpSocket,
    wait: &Wait,
    message: &[u8],
    buf: &mut [u8],
    tracer: &Tracer,
) -> Result<bool> {
    let Wait {
        server,
        timeout,
        encoding,
        talk,
    } = *wait;
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        // SO_RCVTIMEO: recv_from gives up after `left` with WouldBlock (TimedOut on some
        // systems) instead of waiting for ever.
        socket
            .set_read_timeout(Some(left))
            .context("cannot set the receive timeout")?;
        let (n, from) = match socket.recv_from(buf) {
            Ok(received) => received,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(false)
            }
            // Windows (not Linux) reports an ICMP port unreachable to an unconnected
            // socket too, as WSAECONNRESET: nobody listens at `server`. Like a timeout.
            Err(err) if err.kind() == ErrorKind::ConnectionReset => {
                println!("{server} says nobody listens there ({err})");
                return Ok(false);
            }
            Err(err) => return Err(err).with_context(|| format!("cannot receive from {server}")),
        };
        let reply = &buf[..n];
        tracer.received(from, reply);
        if talk && from == server {
            println!("reply: {}", preview(reply, encoding));
            return Ok(true);
        }
        match classify(message, server, reply, from) {
            Reply::Echo => {
                println!("echo: {}", preview(reply, encoding));
                return Ok(true);
            }
            Reply::CutShort => {
                println!(
                    "echo cut short: {n} of {} bytes came back: {} (the server's buffer is smaller than our datagram)",
                    message.len(),
                    preview(reply, encoding)
                );
                return Ok(true);
            }
            Reply::Other => println!(
                "ignored {n} bytes from {from}: not the echo of this message: {}",
                preview(reply, encoding)
            ),
        }
    }
}
// ANCHOR_END: wait
