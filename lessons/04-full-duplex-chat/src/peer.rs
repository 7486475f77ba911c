//! # Lesson 04: a full-duplex chat, two threads on one socket
//!
//! Lesson 03's `--talk` took turns (half duplex): wait for a datagram, then for the
//! operator's answer. A chat cannot: the other side may talk while you are typing, and a
//! thread that waits for the keyboard cannot wait for the network too. So this peer has
//! one thread per wait, as the tutorials' chat does:
//!
//! - the **receive thread** waits in `recv()` and prints each datagram with its sender;
//! - the **main thread** waits for the lines you type and sends each one.
//!
//! A datagram is one message: the line as typed, no name, no line end. So the tutorials'
//! Python chat, `nc -u` and NetAssist can be the other side. Both roles are this one
//! program; only their defaults differ: alice binds 127.0.0.1:9090 and talks to
//! 127.0.0.1:9091, bob the other way round.
//!
//! ```text
//! cargo run -p full-duplex-chat -- alice                   # terminal 1
//! cargo run -p full-duplex-chat -- bob                     # terminal 2
//! cargo run -p full-duplex-chat -- bob --encoding gbk --trace
//! ```
//!
//! Observe: type in either terminal, whenever you like: the other side prints your line
//! at once, even while its own user is halfway through a line. Start alice alone and
//! type: "nobody at 127.0.0.1:9091 yet", because the kernel got an ICMP "port
//! unreachable" back. `/quit` ends only your own program; the other side is not told.
//!
//! Since lesson 03: the same `UdpSocket`, now `connect()`ed to one peer and used by two
//! threads at once (send in one, recv in the other).

use anyhow::{anyhow, Context as _, Result};
use full_duplex_chat::{datagram, is_quit, start_other_side, Side};
use shared::encoding::{trim_newline, Encoding};
use shared::{addr, hint, ready, trace::Tracer};
use std::io::{BufRead as _, ErrorKind, IsTerminal as _};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// Options of `full-duplex-chat alice` and `full-duplex-chat bob`.
#[derive(clap::Args)]
pub struct Args {
    /// Our own address, IP:PORT [default: alice 127.0.0.1:9090, bob 127.0.0.1:9091].
    /// Port 0 lets the OS pick a free port (shown on the first line); 0.0.0.0:9090
    /// takes messages from other machines too.
    #[arg(long, value_parser = addr::parse)]
    bind: Option<SocketAddr>,

    /// The other peer's address, IP:PORT [default: the other role's --bind].
    #[arg(long, value_parser = addr::parse)]
    peer: Option<SocketAddr>,

    /// How text becomes bytes: utf-8, or gbk to talk with the tutorials' programs and
    /// Windows tools such as NetAssist (auto shows UTF-8 or GBK, whichever fits, and sends
    /// UTF-8).
    #[arg(long, default_value = "utf-8", value_parser = Encoding::parse)]
    encoding: Encoding,

    /// Print every datagram sent and received, in hex and ASCII (on stderr).
    #[arg(long)]
    trace: bool,
}

/// How long the receive thread waits in `recv()` before it looks at the quit flag: the
/// longest `/quit` can take to end the program.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Bigger than any UDP payload (65,535 minus the 8-byte UDP header), so `recv` never
/// cuts a datagram short.
const RECV_BUFFER: usize = 65_536;

/// What both threads use. Every field is read-only or atomic, so the two threads share it
/// by reference, without a lock.
struct Chat {
    socket: UdpSocket,
    local: SocketAddr,
    peer: SocketAddr,
    side: Side,
    encoding: Encoding,
    tracer: Tracer,
    /// Set by the main thread when you leave; the receive thread checks it.
    quit: AtomicBool,
    /// Whether "nobody at PEER" was already explained since we last heard from the peer.
    warned: AtomicBool,
}

pub fn run(side: Side, args: Args) -> Result<()> {
    let bind = args.bind.unwrap_or(side.default_addr());
    let peer = args.peer.unwrap_or(side.other().default_addr());

    // ANCHOR: setup
    // 1. socket() + bind(): std does both in UdpSocket::bind. Each peer binds its own
    //    port, since each one is the receiver of the other's datagrams.
    let socket = UdpSocket::bind(bind).map_err(|err| hint::cannot_bind(bind, err, "--bind"))?;
    let local = socket.local_addr().context("cannot read our own address")?;

    // 2. connect(): on UDP it sends nothing; the kernel only remembers the peer. From now
    //    on send() goes there, recv() returns ONLY the peer's datagrams (the kernel drops
    //    anyone else's), and an ICMP "port unreachable" about the peer comes back to us
    //    as an error. An unconnected socket (send_to/recv_from) would hear strangers and
    //    never learn that nobody listens.
    socket.connect(peer).with_context(|| {
        format!("cannot connect() to {peer} from {local} (check the address; --bind and --peer must both be IPv4 or both IPv6)")
    })?;

    // 3. A read timeout: recv() gives up after STOP_CHECK, so the receive thread looks at
    //    the quit flag ten times a second and is never left blocked when we leave.
    socket
        .set_read_timeout(Some(STOP_CHECK))
        .context("cannot set the read timeout")?;

    // Ready only now, bound AND connected: whoever acts on this line finds strangers
    // already filtered out.
    ready::announce(local);
    // ANCHOR_END: setup
    println!(
        "talking to {peer} in {}: type a line and press Enter to send it; /quit or Ctrl-D leaves",
        args.encoding
    );

    // ANCHOR: threads
    let chat = Chat {
        socket,
        local,
        peer,
        side,
        encoding: args.encoding,
        tracer: Tracer::new(args.trace),
        quit: AtomicBool::new(false),
        warned: AtomicBool::new(false),
    };
    let why = thread::scope(|scope| {
        // One socket, two threads: send() and recv() take &self, and the kernel lets one
        // thread wait in recv() while another sends.
        let receiver = thread::Builder::new()
            .name("receive".into())
            .spawn_scoped(scope, || chat.receive_and_print())
            .context("cannot start the receive thread")?;
        let why = chat.read_and_send();
        // We leave: raise the flag; the receive thread sees it within STOP_CHECK.
        chat.quit.store(true, Ordering::Relaxed);
        receiver
            .join()
            .map_err(|_| anyhow!("the receive thread panicked"))?;
        Ok::<_, anyhow::Error>(why)
    })?;
    println!("left the chat ({why}); both threads have ended");
    Ok(())
    // ANCHOR_END: threads
}

impl Chat {
    // ANCHOR: send
    /// The main thread: sends each line you type, as typed, until `/quit` or the end of
    /// input. Returns why it stopped.
    fn read_and_send(&self) -> &'static str {
        // A terminal shows what you type; piped input (the demo, the tests) does not, so
        // then we show each line before we send it.
        let echo = !std::io::stdin().is_terminal();
        let mut stdin = std::io::stdin().lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) => return "end of input",
                Ok(_) => {}
                Err(err) => {
                    eprintln!("cannot read stdin: {err}");
                    return "stdin failed";
                }
            }
            let line = trim_newline(&line);
            if is_quit(line) {
                return "/quit"; // local: nothing is sent
            }
            let bytes = match datagram(line, self.encoding) {
                Ok(bytes) => bytes,
                Err(why) => {
                    eprintln!("not sent: {why}");
                    continue;
                }
            };
            if echo {
                println!("you: {}", self.encoding.display(&bytes));
            }
            // 4. send(): one datagram to the connected peer. It returns once the kernel
            //    has it; whether it arrives, UDP never says.
            match self.socket.send(&bytes) {
                Ok(_) => self.tracer.sent(self.peer, &bytes),
                Err(err) => self.failed("send", &err),
            }
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    /// The receive thread: prints each datagram with its sender, until the quit flag.
    fn receive_and_print(&self) {
        let mut buf = vec![0u8; RECV_BUFFER];
        while !self.quit.load(Ordering::Relaxed) {
            // 5. recv(): the next datagram from the peer, or a timeout after STOP_CHECK.
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    self.tracer.received(self.peer, &buf[..n]);
                    self.warned.store(false, Ordering::Relaxed);
                    // What cannot be decoded is shown as \xNN; control characters too.
                    println!("{}: {}", self.peer, self.encoding.display(&buf[..n]));
                }
                // The timeout ran out (Unix says WouldBlock, Windows TimedOut).
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(err) => self.failed("recv", &err),
            }
        }
    }
    // ANCHOR_END: receive

    // ANCHOR: refused
    /// A send or recv failed. Nothing here ends the chat: the next datagram may go through.
    fn failed(&self, call: &str, err: &std::io::Error) {
        // An earlier datagram reached a machine where no socket has the peer's port: its
        // kernel answered ICMP "port unreachable", and ours reports it on this connected
        // socket's next call. Linux and macOS say ConnectionRefused, Windows
        // ConnectionReset. The line is lost.
        if !matches!(
            err.kind(),
            ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
        ) {
            eprintln!("{call}() on {} failed: {err}; the chat goes on", self.local);
        } else if self.warned.swap(true, Ordering::Relaxed) {
            println!("nobody at {} yet (ICMP port unreachable)", self.peer);
        } else {
            let start = start_other_side(self.side, self.local, self.peer);
            println!(
                "nobody at {} yet (ICMP port unreachable); start the other side with: {start}",
                self.peer
            );
        }
    }
    // ANCHOR_END: refused
}
