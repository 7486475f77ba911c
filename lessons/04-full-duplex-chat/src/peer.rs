//! # Lesson 04: a full-duplex chat, two threads on one socket
//!
//! A link is *simplex* when data only ever goes one way (a radio broadcast),
//! *half-duplex* when it goes both ways but in turns (a walkie-talkie: "over!"), and
//! *full-duplex* when both ways run at the same time (a telephone). A UDP socket is
//! full-duplex: the kernel will deliver a datagram to us while we send one. Whether a
//! *program* is, depends on how it waits. Lesson 03's client took turns: send a line,
//! wait for the echo, send the next. A chat cannot: the other side may talk while you
//! are typing, and a thread waiting for the keyboard cannot wait for the network too.
//!
//! So this peer gives each wait a thread of its own and merges them with channels:
//!
//! - the **stdin thread** waits for the lines you type and passes each on;
//! - the **receive thread** waits in `recv()` for datagrams and passes each on;
//! - the **main thread** waits for both at once with crossbeam's `select!`: it sends
//!   what you typed and prints what arrived. When you type `/quit` or end the input
//!   (Ctrl-D), it tells the peer `BYE`, gives the quit signal, and joins both threads.
//!
//! Both roles are this one program; only their defaults differ: alice binds
//! 127.0.0.1:9090 and talks to 127.0.0.1:9091, bob the other way round.
//!
//! ```text
//! cargo run -p full-duplex-chat -- alice             # terminal 1
//! cargo run -p full-duplex-chat -- bob               # terminal 2
//! cargo run -p full-duplex-chat -- bob --name ada --trace
//! ```
//!
//! Observe: type in either terminal, whenever you like: the other side prints your line
//! at once, even while its own user is halfway through a line. Start alice alone and
//! type: "nobody at 127.0.0.1:9091 yet": the kernel got an ICMP "port unreachable" back,
//! and tells us because the socket is connected. `/quit` in one terminal prints "alice
//! left" in the other, which keeps running: the peer may come back.
//!
//! Since lesson 03: the same `UdpSocket`, now `connect()`ed to one peer and used by two
//! threads at once (send in one, recv in the other), and no more taking turns.

use anyhow::{anyhow, bail, Context as _, Result};
use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender, TryRecvError};
use full_duplex_chat::{is_quit, parse_name, Message};
use shared::encoding::{display, trim_newline};
use shared::{addr, ready, trace::Tracer};
use std::io::{BufRead as _, ErrorKind, IsTerminal as _};
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

/// Which of the two roles runs: it only picks the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Alice,
    Bob,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Alice => "alice",
            Side::Bob => "bob",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Alice => Side::Bob,
            Side::Bob => Side::Alice,
        }
    }

    /// Where this role binds by default; the other role's default `--peer`.
    fn default_bind(self) -> &'static str {
        match self {
            Side::Alice => addr::CHAT_ALICE,
            Side::Bob => addr::CHAT_BOB,
        }
    }
}

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

    /// The name the other side sees before each of your lines, one word [default: the
    /// role, alice or bob].
    #[arg(long, value_parser = parse_name)]
    name: Option<String>,

    /// Print every datagram sent and received, in hex and ASCII (on stderr).
    #[arg(long)]
    trace: bool,
}

/// How long the receive thread waits in `recv()` before it looks at the quit signal. It
/// is also the longest `/quit` can take to end the program.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Bigger than any UDP payload (65,535 minus the 8-byte UDP header), so `recv` never
/// cuts a datagram short: what does not fit in the buffer is silently dropped.
const RECV_BUFFER: usize = 65_536;

/// What the receive thread passes on to the main thread.
enum Heard {
    /// A datagram from the peer (a connected socket receives no one else's).
    Datagram(Vec<u8>),
    /// `recv()` failed; `ConnectionRefused` means an ICMP "port unreachable" came back.
    Error(std::io::Error),
}

pub fn run(side: Side, args: Args) -> Result<()> {
    let tracer = Tracer::new(args.trace);
    let bind = args.bind.map_or_else(|| default_addr(side), Ok)?;
    let peer = args.peer.map_or_else(|| default_addr(side.other()), Ok)?;
    let name = args.name.unwrap_or_else(|| side.name().to_string());

    // ANCHOR: setup
    // 1. socket() + bind(): std does both in UdpSocket::bind. Each peer binds its own
    //    port, since each one is the receiver of the other's datagrams.
    let socket = UdpSocket::bind(bind).with_context(|| {
        format!(
            "cannot bind {bind} (is another peer using this port? pick another with --bind 127.0.0.1:0)"
        )
    })?;
    let local = socket.local_addr().context("cannot read our own address")?;

    // 2. connect(): on UDP it sends nothing; the kernel only remembers the peer. From now
    //    on send() goes there, recv() returns ONLY the peer's datagrams (the kernel drops
    //    anyone else's before we see them: strangers are ignored, not shown), and errors
    //    the network reports about the peer, like ICMP "port unreachable", come back to
    //    us as ConnectionRefused. An unconnected socket (send_to/recv_from) would hear
    //    strangers and never learn that nobody listens.
    socket.connect(peer).with_context(|| {
        format!("cannot connect() to {peer} from {local} (check the address; --bind and --peer must both be IPv4 or both IPv6)")
    })?;

    // 3. A read timeout: recv() gives up after STOP_CHECK and the receive thread checks
    //    the quit signal, so it is never left blocked in recv() when the chat ends. The
    //    other way, a wake-up datagram sent to ourselves, fails here: the connected
    //    socket drops it (it does not come from the peer), and a full receive buffer
    //    would drop it too. Production code waits in poll/epoll with a waker (mio, tokio).
    socket
        .set_read_timeout(Some(STOP_CHECK))
        .context("cannot set the read timeout")?;

    // The readiness line comes last, once the socket is bound AND connected: whoever
    // acts on it (a test, the demo, bob's user) finds strangers already filtered out.
    // Printed right after bind(), a stranger's datagram sent on seeing it could arrive
    // before connect() and wait in the queue, to be read as if the peer had sent it.
    ready::announce(local);
    // ANCHOR_END: setup

    println!("{name} on {local}, talking to {peer}: type a line and press Enter to send it; /quit or Ctrl-D leaves");

    // ANCHOR: threads
    // The three channels. `typed`: lines from the stdin thread. `heard`: datagrams from
    // the receive thread. `stop`: the quit signal. Nothing is ever sent on it: dropping
    // `stop_tx` disconnects it, which its receiver sees at once and cannot miss.
    let (typed_tx, typed) = unbounded::<Vec<u8>>();
    let (heard_tx, heard) = unbounded::<Heard>();
    let (stop_tx, stop) = bounded::<()>(0);

    // The stdin thread is not scoped: std cannot interrupt a blocked read of stdin, so
    // it is joined only once it has ended by itself (after `/quit` or end of input).
    let keyboard = thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read_lines(typed_tx))
        .context("cannot start the stdin thread")?;

    let mut chat = Chat {
        socket: &socket,
        local,
        peer,
        side,
        name,
        tracer,
        // A terminal already shows what you type; piped input (the demo, the tests,
        // `printf ... |`) does not, so then we echo each line we sent.
        echo: !std::io::stdin().is_terminal(),
        warned: false,
    };
    let why = thread::scope(|scope| {
        // One socket, two threads: UdpSocket's send and recv take &self, and the kernel
        // lets one thread wait in recv() while another sends.
        let receiver = thread::Builder::new()
            .name("receive".into())
            .spawn_scoped(scope, || receive(&socket, peer, tracer, heard_tx, stop))
            .context("cannot start the receive thread")?;
        let why = chat.converse(&typed, &heard);
        chat.say_bye();
        // The quit signal; the receive thread sees it within STOP_CHECK and returns.
        drop(stop_tx);
        receiver
            .join()
            .map_err(|_| anyhow!("the receive thread panicked"))?;
        why
    })?;
    keyboard
        .join()
        .map_err(|_| anyhow!("the stdin thread panicked"))?;
    println!("left the chat ({why}); the stdin and receive threads have both ended");
    Ok(())
    // ANCHOR_END: threads
}

fn default_addr(side: Side) -> Result<SocketAddr> {
    addr::parse(side.default_bind()).map_err(|err| anyhow!(err))
}

// ANCHOR: stdin
/// The stdin thread: each line you type goes to `typed`, without its line ending. It
/// returns after `/quit` or at the end of input, and dropping `typed` then tells the
/// main thread "no more lines".
fn read_lines(typed: Sender<Vec<u8>>) {
    let mut stdin = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line) {
            Ok(0) => return, // end of input: Ctrl-D, or the end of a piped file
            Ok(_) => {}
            Err(err) => {
                eprintln!("cannot read stdin: {err}");
                return;
            }
        }
        let line = trim_newline(&line).to_vec();
        let quit = is_quit(&line);
        if typed.send(line).is_err() || quit {
            return;
        }
    }
}
// ANCHOR_END: stdin

// ANCHOR: receive
/// The receive thread: waits for datagrams and passes each on, until the quit signal.
fn receive(
    socket: &UdpSocket,
    peer: SocketAddr,
    tracer: Tracer,
    heard: Sender<Heard>,
    stop: Receiver<()>,
) {
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        // 4. recv(): wait for the next datagram from the peer, at most STOP_CHECK. One
        //    recv is one whole datagram: UDP keeps message boundaries.
        let news = match socket.recv(&mut buf) {
            Ok(n) => {
                tracer.received(peer, &buf[..n]);
                Some(Heard::Datagram(buf[..n].to_vec()))
            }
            // The timeout ran out (Unix says WouldBlock, Windows TimedOut): no news.
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(err) if err.kind() == ErrorKind::Interrupted => None,
            Err(err) => Some(Heard::Error(err)),
        };
        if let Some(news) = news {
            if heard.send(news).is_err() {
                return; // the main thread is gone
            }
        }
        // The quit signal, checked after every datagram and every timeout.
        if let Err(TryRecvError::Disconnected) = stop.try_recv() {
            return;
        }
    }
}
// ANCHOR_END: receive

/// What the main thread needs to send, print and explain.
struct Chat<'a> {
    socket: &'a UdpSocket,
    local: SocketAddr,
    peer: SocketAddr,
    side: Side,
    name: String,
    tracer: Tracer,
    echo: bool,
    /// Whether "nobody at PEER" was already explained since we last heard from the peer.
    warned: bool,
}

impl Chat<'_> {
    // ANCHOR: select
    /// The main thread's loop: whichever comes first, a typed line or a datagram. Returns
    /// why the chat ended.
    fn converse(
        &mut self,
        typed: &Receiver<Vec<u8>>,
        heard: &Receiver<Heard>,
    ) -> Result<&'static str> {
        loop {
            select! {
                recv(typed) -> line => match line {
                    Ok(line) if is_quit(&line) => return Ok("/quit"),
                    Ok(line) => self.say(&line),
                    // The stdin thread ended without /quit: end of input.
                    Err(_) => return Ok("end of input"),
                },
                recv(heard) -> news => match news {
                    Ok(Heard::Datagram(bytes)) => self.show(&bytes),
                    Ok(Heard::Error(err)) => self.failed("recv", &err),
                    Err(_) => bail!("the receive thread stopped early"),
                },
            }
        }
    }
    // ANCHOR_END: select

    /// Sends one typed line as `MSG NAME TEXT`.
    fn say(&mut self, text: &[u8]) {
        let datagram = Message::Say {
            from: self.name.as_bytes(),
            text,
        }
        .emit();
        // 5. send(): one datagram to the connected peer. It returns once the kernel has
        //    the datagram; whether it arrives, UDP never says.
        match self.socket.send(&datagram) {
            Ok(_) => {
                self.tracer.sent(self.peer, &datagram);
                if self.echo {
                    println!("you: {}", display(text));
                }
            }
            Err(err) => self.failed("send", &err),
        }
    }

    /// Prints one datagram from the peer.
    fn show(&mut self, datagram: &[u8]) {
        self.warned = false;
        match Message::parse(datagram) {
            Ok(message @ Message::Say { .. }) => println!("{}", message.show()),
            Ok(message @ Message::Bye { .. }) => println!(
                "{}; the chat goes on (they may come back), /quit leaves too",
                message.show()
            ),
            Err(err) => {
                const PREVIEW: usize = 64;
                let more = match datagram.len() {
                    n if n > PREVIEW => format!("... ({n} bytes)"),
                    _ => String::new(),
                };
                println!(
                    "(a datagram from {} that is not a chat message, {err}: {}{more})",
                    self.peer,
                    display(&datagram[..datagram.len().min(PREVIEW)])
                );
            }
        }
    }

    /// Tells the peer we leave, so it can say so; if it is not there, nothing is lost.
    fn say_bye(&self) {
        let datagram = Message::Bye {
            from: self.name.as_bytes(),
        }
        .emit();
        if self.socket.send(&datagram).is_ok() {
            self.tracer.sent(self.peer, &datagram);
        }
    }

    // ANCHOR: refused
    /// A send or recv failed. Nothing here ends the chat: each error is about one
    /// datagram, and the next may well go through.
    fn failed(&mut self, call: &str, err: &std::io::Error) {
        if err.kind() != ErrorKind::ConnectionRefused {
            eprintln!("{call}() on {} failed: {err}; the chat goes on", self.local);
            return;
        }
        // An earlier datagram reached a machine where no socket has the peer's port: its
        // kernel answered with ICMP "port unreachable", and ours reports that on this
        // connected socket's next call (whichever thread makes it). The line is lost.
        if self.warned {
            println!("nobody at {} yet (ICMP port unreachable)", self.peer);
            return;
        }
        self.warned = true;
        println!(
            "nobody at {} yet (ICMP port unreachable); start the other side with: {}",
            self.peer,
            start_other_side(self.side, self.local, self.peer)
        );
    }
    // ANCHOR_END: refused
}

/// The command that starts the missing peer: just its role when both sides use the
/// defaults, else with the addresses that make it talk to us.
fn start_other_side(side: Side, local: SocketAddr, peer: SocketAddr) -> String {
    let other = side.other();
    let mut command = format!("cargo run -p full-duplex-chat -- {}", other.name());
    let defaults =
        peer.to_string() == other.default_bind() && local.to_string() == side.default_bind();
    if !defaults {
        command += &format!(" --bind {peer} --peer {local}");
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// Two terminals work with no arguments: each role's defaults are the other's peer.
    #[test]
    fn defaults_pair_up() {
        assert_eq!(default_addr(Side::Alice).unwrap(), at("127.0.0.1:9090"));
        assert_eq!(default_addr(Side::Bob).unwrap(), at("127.0.0.1:9091"));
        for side in [Side::Alice, Side::Bob] {
            assert_eq!(side.other().other(), side);
            assert_ne!(side.other(), side);
            assert_ne!(side.default_bind(), side.other().default_bind());
        }
    }

    #[test]
    fn the_hint_names_the_other_role_and_only_the_flags_it_needs() {
        let (alice, bob) = (at(addr::CHAT_ALICE), at(addr::CHAT_BOB));
        assert_eq!(
            start_other_side(Side::Alice, alice, bob),
            "cargo run -p full-duplex-chat -- bob"
        );
        assert_eq!(
            start_other_side(Side::Bob, bob, alice),
            "cargo run -p full-duplex-chat -- alice"
        );
        assert_eq!(
            start_other_side(Side::Alice, at("127.0.0.1:4000"), bob),
            "cargo run -p full-duplex-chat -- bob --bind 127.0.0.1:9091 --peer 127.0.0.1:4000"
        );
    }
}
