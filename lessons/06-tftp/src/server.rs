//! # Lesson 06: the TFTP server
//!
//! TFTP (RFC 1350) moves files over UDP. UDP loses, duplicates and reorders datagrams and
//! says nothing about it, so TFTP adds the least that makes a transfer reliable: the file
//! is cut into numbered blocks, each block (or window of blocks, RFC 7440) is
//! acknowledged, and what is not acknowledged in time is sent again.
//!
//! The server waits for requests on one well-known port (69; 6969 in this course, as
//! ports below 1024 need root). For each request it opens a NEW socket on a fresh port,
//! the transfer ID (TID), and runs the whole transfer from there, on a thread of its own:
//! **a thread per transfer**, the lesson's design (lesson 02 did the same for TCP
//! connections). The well-known port stays free for the next request, and many transfers
//! run at once. (A production server might use one thread and non-blocking sockets with
//! an event loop, like tokio; a thread per transfer is the clearest, and fast.)
//!
//! ```text
//! mkdir -p /tmp/served && echo hello > /tmp/served/hello.txt
//! cargo run -p tftp -- server --root /tmp/served                # terminal 1
//! cargo run -p tftp -- get hello.txt                             # terminal 2
//! curl -s tftp://127.0.0.1:6969/hello.txt                        # any client works
//! cargo run -p tftp -- server --root /tmp/served --allow-write --drop 0.2 --trace
//! ```
//!
//! Observe: one line per finished transfer (peer, file, mode, options, bytes, time,
//! retransmissions). With `--drop 0.2` the server loses a fifth of what it sends and the
//! retransmission count grows, yet the file arrives whole. Ask for `../etc/passwd`: ERROR
//! 2. The server refuses every name outside `--root` (see `path.rs`).
//!
//! Hostile clients are part of the design: a transfer that makes no progress ends after
//! `--idle-timeout`, one address holds at most `--max-per-client` of the
//! `--max-transfers` slots, no ERROR is ever answered, and no answer to a refused
//! request is larger than the request (see the chapter's "Hostile clients").
//!
//! Since lesson 05: UDP again, but now with a protocol that makes it reliable, and a
//! socket per conversation, which is how a UDP server tells its clients apart.

use anyhow::{Context as _, Result};
use shared::loss::{self, Dropper};
use shared::{addr, hint, ready, trace::Tracer};
use socket2::SockRef;
use std::fs::{File, OpenOptions};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use tftp::driver::{self, Link, Timer, TokenBucket};
use tftp::netascii::{NetasciiReader, NetasciiWriter};
use tftp::options::{self, Negotiated, RequestKind};
use tftp::packet::{self, encode_ack, ErrorCode, Mode, Packet, Request, MAX_PACKET};
use tftp::partial::PartialFile;
use tftp::path::{self, PathError};
use tftp::transfer::{
    self as machine, Completion, Machine, Receiver, Sender, Stats, Status, TransferError,
};

/// Options of `tftp server`.
#[derive(clap::Args)]
pub struct Args {
    /// The folder to serve. Nothing outside it is ever read or written.
    #[arg(long)]
    root: PathBuf,

    /// Address for requests, IP:PORT (port 0: the OS picks one).
    #[arg(long, default_value = addr::TFTP, value_parser = addr::parse)]
    addr: SocketAddr,

    /// Accept uploads (WRQ). They may only create new files.
    #[arg(long)]
    allow_write: bool,

    /// With --allow-write: uploads may replace existing files.
    #[arg(long)]
    overwrite: bool,

    /// With --allow-write: refuse uploads larger than this many bytes (ERROR 3).
    #[arg(long)]
    max_upload: Option<u64>,

    /// Transfers at once; more requests get ERROR 0 "busy" until one ends.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    max_transfers: u32,

    /// Transfers at once from one IP address, so that one client cannot take every slot
    /// [default: a quarter of --max-transfers, at least 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_per_client: Option<u32>,

    /// End a transfer whose client has made no progress for this long (e.g. 30s, 500ms),
    /// whatever timeout the client negotiated. The same flag as the TCP servers' idle
    /// timeout in lessons 01, 02 and 07: the same idea, one name.
    #[arg(long, default_value = "30s", value_parser = shared::duration::parse)]
    idle_timeout: Duration,

    /// How long to wait before a retransmission, with its unit (`1s`, `200ms`), unless the
    /// client negotiates RFC 2349's `timeout` (whole seconds, 1 to 255).
    #[arg(long, default_value = "1s", value_parser = tftp::client::parse_timeout)]
    timeout: Duration,

    /// Lose this share of the datagrams we send (0.0 to 1.0, or 20%).
    #[arg(long, default_value = "0", value_parser = loss::parse_rate)]
    drop: f64,

    /// Seed of the loss simulator: the same seed loses the same datagrams.
    #[arg(long, default_value_t = loss::DEFAULT_SEED)]
    seed: u64,

    /// Print every datagram sent and received, in hex and decoded.
    #[arg(long)]
    trace: bool,
}

/// Why `--root` cannot be served, with the hint that fits: a file where a folder belongs,
/// a folder that does not exist yet, or what the operating system said.
fn root_error(root: &std::path::Path, err: io::Error) -> anyhow::Error {
    let shown = root.display();
    if root.is_file() {
        let parent = match root.parent() {
            Some(folder) if !folder.as_os_str().is_empty() => folder.display().to_string(),
            _ => ".".into(),
        };
        return anyhow::anyhow!(
            "cannot serve {shown}: it is a file, and --root takes a folder (to serve this \
             file, give the folder it is in: --root {parent})"
        );
    }
    let hint = match err.kind() {
        io::ErrorKind::NotFound => format!("create it first: mkdir -p {shown}"),
        io::ErrorKind::NotADirectory => "a part of the path is a file, not a folder".into(),
        io::ErrorKind::PermissionDenied => "you may not read it: pick a folder of yours".into(),
        _ => "check that it is a folder you may read".into(),
    };
    anyhow::anyhow!("cannot serve {shown}: {err} ({hint})")
}

/// What every transfer thread needs to know.
struct Config {
    root: PathBuf,
    /// The address to open transfer sockets on (the request socket's IP).
    ip: IpAddr,
    allow_write: bool,
    overwrite: bool,
    max_upload: Option<u64>,
    timeout: Duration,
    max_silence: Duration,
    trace: bool,
}

/// Bytes of file read or written at a time: few, large disk operations.
const FILE_BUFFER: usize = 256 * 1024;

/// Blocks from this size (a page) up are read without a BufReader (measured with curl
/// on loopback: faster at 4 KiB and more, slower at 1468 bytes).
const DIRECT_READ: usize = 4096;

/// The longest a finished upload dallies, whatever timeout the client negotiated (with
/// `timeout=255`, six timeouts held the slot for 25 minutes).
const MAX_DALLY: Duration = Duration::from_secs(5);

/// Answers from the request socket (ERRORs to refused or malformed requests) at once...
const ANSWER_BURST: u32 = 20;
/// ...and per second after that: a flood of requests gets a trickle of answers and of
/// log lines.
const ANSWER_RATE: u32 = 20;

pub fn run(args: Args) -> Result<()> {
    let root = path::canonical_root(&args.root).map_err(|err| root_error(&args.root, err))?;

    // 1. socket() + bind(): std does both in UdpSocket::bind. This is the well-known port;
    //    it only ever receives requests.
    let socket =
        UdpSocket::bind(args.addr).map_err(|err| hint::cannot_bind(args.addr, err, "--addr"))?;
    let local = socket.local_addr().context("cannot read our own address")?;
    ready::announce(local);

    let config = Arc::new(Config {
        root,
        ip: local.ip(),
        allow_write: args.allow_write,
        overwrite: args.overwrite,
        max_upload: args.max_upload,
        timeout: args.timeout,
        max_silence: args.idle_timeout,
        trace: args.trace,
    });
    let tracer = Tracer::new(args.trace);
    let max_transfers = args.max_transfers as usize;
    let slots = Arc::new(Slots {
        max_transfers,
        max_per_client: args
            .max_per_client
            .map_or((max_transfers / 4).max(1), |n| n as usize),
        held: Mutex::new(Vec::new()),
        next_id: AtomicU64::new(0),
    });
    let mut answers = Answers {
        socket: &socket,
        tracer: &tracer,
        bucket: TokenBucket::new(ANSWER_BURST, ANSWER_RATE),
        unanswered: 0,
    };
    // One simulator for the server, split into one per transfer, in request order: the
    // same requests with the same --seed lose the same datagrams.
    let mut dropper = Dropper::new(args.drop, args.seed);
    let mut buf = vec![0u8; MAX_PACKET];

    loop {
        // 2. recvfrom(): the next request, and who sent it (the client's TID).
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(err) => {
                eprintln!("recv_from on {local} failed: {err}");
                continue;
            }
        };
        let bytes = &buf[..len];
        tracer.received(peer, bytes);
        let (is_write, request) = match Packet::decode(bytes) {
            Ok(Packet::Rrq(request)) => (false, request),
            Ok(Packet::Wrq(request)) => (true, request),
            // Never answer an ERROR with an ERROR: two programs could do it forever.
            Ok(Packet::Error { .. }) => continue,
            Ok(other) => {
                let why = format!("port {} takes only RRQ and WRQ, not {other}", local.port());
                answers.refuse(peer, len, ErrorCode::ILLEGAL_OPERATION, &why);
                continue;
            }
            Err(err) => {
                let why = format!("not a TFTP request: {err}");
                answers.refuse(peer, len, ErrorCode::ILLEGAL_OPERATION, &why);
                continue;
            }
        };

        // The limits on transfers at once, in all and per client: past one, say "busy"
        // instead of starting a transfer.
        let slot = match slots.admit(peer, bytes) {
            Admission::Start(slot) => slot,
            // The same request again from the same client port (its timer fired before
            // our answer came): its transfer is running and answers it. A second
            // transfer would only fight the first one (the client talks to the first
            // that answers, and sends the other ERROR 5).
            Admission::Repeat => continue,
            Admission::Refused(why) => {
                if answers.refuse(peer, len, ErrorCode::NOT_DEFINED, &why) {
                    let more = answers.take_unanswered();
                    println!("{peer} {:?}: refused, {why}{more}", request.filename);
                }
                continue;
            }
        };

        // 3. One thread per transfer; it opens its own socket (the server's TID).
        let (config, transfer_dropper) = (config.clone(), dropper.split());
        let spawned = thread::Builder::new()
            .name(format!("tftp {peer}"))
            .spawn(move || serve(&config, slot, is_write, request, len, transfer_dropper));
        // (On failure the closure, and with it the slot, is dropped: the slot is free.)
        if let Err(err) = spawned {
            eprintln!("cannot start a thread for {peer}: {err}");
        }
    }
}

// ANCHOR: slots
/// Who holds the transfer slots: the limit on transfers at once, the limit per client
/// IP (one address must not take every slot: tftpd-hpa leaves that to a firewall, e.g.
/// iptables' `hashlimit`), and the guard against starting one request twice.
struct Slots {
    max_transfers: usize,
    max_per_client: usize,
    /// One entry per transfer thread.
    held: Mutex<Vec<Held>>,
    next_id: AtomicU64,
}

/// A slot's holder.
#[derive(Debug, Clone)]
struct Held {
    id: u64,
    /// The client's address: its TID.
    peer: SocketAddr,
    /// A hash of the request's bytes, to know a repeat from a new request.
    request: u64,
    /// Whether the transfer still runs (`false`: finished, the thread only dallies).
    running: bool,
    /// Set to end the dally early: a new request needs the slot.
    stop: Arc<AtomicBool>,
}

enum Admission {
    /// A new transfer, holding this slot until its thread ends.
    Start(Slot),
    /// A repeat of a request whose transfer is running.
    Repeat,
    /// Over a limit: why.
    Refused(String),
}

impl Slots {
    /// Whether the request `bytes` from `peer` may start a transfer.
    fn admit(self: &Arc<Self>, peer: SocketAddr, bytes: &[u8]) -> Admission {
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        let request = hasher.finish();
        // A thread that panicked while holding the lock left the list consistent (each
        // change is one push or remove): go on with it.
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held
            .iter()
            .any(|h| h.running && h.peer == peer && h.request == request)
        {
            return Admission::Repeat;
        }
        // At a limit, a finished upload that only dallies gives its slot first: a
        // client that uploads many small files one after another must not find its
        // own finished uploads in the way.
        if held.len() >= self.max_transfers && !give_way(&mut held, |_| true) {
            let max = self.max_transfers;
            return Admission::Refused(format!("busy: all {max} transfer slots are taken"));
        }
        let from_ip = |h: &Held| h.peer.ip() == peer.ip();
        let count = held.iter().filter(|h| from_ip(h)).count();
        if count >= self.max_per_client && !give_way(&mut held, from_ip) {
            return Admission::Refused(format!(
                "busy: {} already has {count} transfers, the most one address may have",
                peer.ip()
            ));
        }
        let me = Held {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            peer,
            request,
            running: true,
            stop: Arc::new(AtomicBool::new(false)),
        };
        held.push(me.clone());
        Admission::Start(Slot {
            slots: self.clone(),
            me,
        })
    }
}

/// Ends the dally of one finished transfer that `which` picks, and frees its slot at
/// once; `false` if there is none.
fn give_way(held: &mut Vec<Held>, which: impl Fn(&Held) -> bool) -> bool {
    match held.iter().position(|h| !h.running && which(h)) {
        Some(at) => {
            held.swap_remove(at).stop.store(true, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

// ANCHOR_END: slots

/// One transfer's hold on a slot; dropping it frees the slot.
struct Slot {
    slots: Arc<Slots>,
    me: Held,
}

impl Slot {
    /// The transfer is over, only its dally is left: the same request again is then a
    /// new transfer, not a repeat.
    fn finished(&self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = held.iter_mut().find(|entry| entry.id == self.me.id) {
            entry.running = false;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // (Gone already if its dally gave way to a new transfer.)
        if let Some(at) = held.iter().position(|entry| entry.id == self.me.id) {
            held.swap_remove(at);
        }
    }
}

/// The request socket's answers to requests that get no transfer, limited in rate.
struct Answers<'a> {
    socket: &'a UdpSocket,
    tracer: &'a Tracer,
    bucket: TokenBucket,
    /// Refusals since the last answer that were neither answered nor logged.
    unanswered: u64,
}

impl Answers<'_> {
    /// Sends ERROR `code` to `peer`, whose datagram had `len` bytes: no larger than it,
    /// and only if the rate allows. Returns whether it did (and should log it).
    fn refuse(&mut self, peer: SocketAddr, len: usize, code: ErrorCode, message: &str) -> bool {
        if !self.bucket.take(Instant::now()) {
            self.unanswered += 1;
            return false;
        }
        if let Some(error) = packet::error_reply(code, message, len) {
            if self.socket.send_to(&error, peer).is_ok() {
                self.tracer.sent(peer, &error);
            }
        }
        true
    }

    /// For the next log line: how many refusals went unanswered before it.
    fn take_unanswered(&mut self) -> String {
        match std::mem::take(&mut self.unanswered) {
            0 => String::new(),
            n => format!(" ({n} more refused without an answer: rate limit)"),
        }
    }
}

/// What a transfer thread prints when it ends.
#[derive(Default)]
struct Report {
    /// When the last block was in (before dallying).
    finished: Option<Instant>,
    options: String,
    stats: Stats,
    dropped: u64,
}

/// One transfer, on its own thread, from its own socket; prints one line at the end.
/// `request_len`: the request's size, which no ERROR we answer it with may exceed.
fn serve(
    config: &Config,
    slot: Slot,
    is_write: bool,
    request: Request,
    request_len: usize,
    dropper: Dropper,
) {
    let peer = slot.me.peer;
    let started = Instant::now();
    let mut report = Report::default();
    // 4. socket() + bind() on port 0 (std does both in UdpSocket::bind): a fresh port,
    //    the server's TID for this transfer. Every answer from now on comes from it.
    let mut link = match UdpSocket::bind(SocketAddr::new(config.ip, 0)) {
        Ok(socket) => Link::new(socket, peer, dropper, Tracer::new(config.trace)),
        Err(err) => {
            let name = &request.filename;
            println!("{peer} {name:?}: FAILED: cannot open a socket for the transfer: {err}");
            return;
        }
    };
    let mut dally = None;
    let asked = Asked {
        request: &request,
        len: request_len,
    };
    let result = if is_write {
        receive_file(config, &mut link, &asked, &mut report).map(|done| dally = Some(done))
    } else {
        send_file(config, &mut link, &asked, &mut report)
    };
    // Over: the same request again would be a new transfer.
    slot.finished();
    report.dropped = link.dropped();
    // ANCHOR: log_line
    let took = (report.finished.unwrap_or_else(Instant::now) - started).as_secs_f64();
    let outcome = match result {
        Ok(()) => "ok".to_string(),
        Err(why) => format!("FAILED: {why}"),
    };
    let mut line = format!(
        "{peer} {} {:?} {} [{}] {} bytes in {took:.3} s ({:.1} MB/s), {} retransmissions",
        if is_write { "WRQ" } else { "RRQ" },
        request.filename,
        request.mode,
        report.options,
        report.stats.bytes,
        report.stats.bytes as f64 / took.max(1e-6) / 1e6,
        report.stats.retransmissions,
    );
    if report.dropped > 0 {
        line.push_str(&format!(", {} dropped by --drop", report.dropped));
    }
    println!("{line}: {outcome}");
    // ANCHOR_END: log_line

    // After an upload, stay a while to acknowledge the last block again if our ACK was
    // lost (RFC 1350: "dallying is encouraged"): as long as a client with this timeout
    // keeps resending it (its every try), but never more than MAX_DALLY, and not at
    // all once a new request needs the slot.
    if let Some((mut receiver, timeout)) = dally {
        let how_long = machine::retry_span(timeout).min(MAX_DALLY);
        driver::dally(&mut link, &mut receiver, how_long, &slot.me.stop);
    }
}

/// The request a transfer answers, and its size on the wire.
struct Asked<'a> {
    request: &'a Request,
    len: usize,
}

/// Tells the client why not (from our transfer socket), and returns the reason. The
/// ERROR is no larger than the request (its text may quote the request's name).
fn refuse<T>(
    link: &mut Link,
    asked: &Asked<'_>,
    code: ErrorCode,
    message: &str,
) -> Result<T, String> {
    if let Some(error) = packet::error_reply(code, message, asked.len) {
        let _ = link.send(&error);
    }
    Err(format!("sent ERROR {code}: {message}"))
}

fn path_refusal<T>(link: &mut Link, asked: &Asked<'_>, err: PathError) -> Result<T, String> {
    match err {
        PathError::NotFound => refuse(link, asked, ErrorCode::FILE_NOT_FOUND, "File not found"),
        PathError::Refused(why) => refuse(link, asked, ErrorCode::ACCESS_VIOLATION, &why),
    }
}

fn options_text(oack: &[packet::TftpOption]) -> String {
    let parts: Vec<String> = oack.iter().map(|(n, v)| format!("{n}={v}")).collect();
    parts.join(" ")
}

// ANCHOR: send_file
/// A RRQ: send the file with the Sender state machine.
fn send_file(
    config: &Config,
    link: &mut Link,
    asked: &Asked<'_>,
    report: &mut Report,
) -> Result<(), String> {
    let request = asked.request;
    if request.mode == Mode::Mail {
        return refuse(
            link,
            asked,
            ErrorCode::ILLEGAL_OPERATION,
            "mail mode is obsolete (RFC 1350)",
        );
    }
    let real = match path::resolve_read(&config.root, &request.filename) {
        Ok(real) => real,
        Err(err) => return path_refusal(link, asked, err),
    };
    let file = match File::open(&real) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
            return refuse(
                link,
                asked,
                ErrorCode::ACCESS_VIOLATION,
                "permission denied",
            )
        }
        Err(err) => {
            return refuse(
                link,
                asked,
                ErrorCode::FILE_NOT_FOUND,
                &format!("cannot open: {err}"),
            )
        }
    };
    let size = file.metadata().map(|m| m.len()).ok();
    let kind = RequestKind::Read {
        size: size.filter(|_| request.mode == Mode::Octet),
    };
    let mut negotiated = match options::negotiate(&request.options, kind) {
        Ok(negotiated) => negotiated,
        Err(refusal) => return refuse(link, asked, refusal.code, &refusal.message),
    };
    // We cannot know the client's receive buffer: never offer a window that a default
    // one cannot hold, or the client's kernel drops its end, every time.
    let blksize = negotiated.params.blksize;
    negotiated.clamp_window(options::window_that_fits(
        options::PEER_RCVBUF_GUESS,
        blksize,
    ));
    driver::size_buffers(
        &SockRef::from(link.socket()),
        driver::buffer_for(blksize, negotiated.params.windowsize),
    );

    // Large blocks are read from the file straight into their DATA packet: a BufReader
    // would only copy each one once more. Small ones go through a BufReader, as a read()
    // per 512-byte block would cost more than the block.
    let reader: Box<dyn Read> = match request.mode {
        Mode::Octet if blksize >= DIRECT_READ => Box::new(file),
        Mode::Netascii => Box::new(NetasciiReader::new(BufReader::with_capacity(
            FILE_BUFFER,
            file,
        ))),
        _ => Box::new(BufReader::with_capacity(FILE_BUFFER, file)),
    };
    let oack = negotiated.oack();
    report.options = options_text(&oack);
    // With options: OACK first, and the blocks once the client's ACK 0 confirms it.
    let opening = (!oack.is_empty()).then(|| Packet::Oack { options: oack }.to_bytes());
    let params = negotiated.params;
    let mut sender = Sender::new(reader, &params, timeout(config, &negotiated), opening);
    let result = transfer(link, &mut sender, config.max_silence);
    report.stats = sender.stats();
    result.map(|_| ()).map_err(|err| err.to_string())
}
// ANCHOR_END: send_file

// ANCHOR: transfer
/// Step 5, the transfer loop, the same for a read (the Sender) and a write (the Receiver):
/// send what the state machine queued, wait for a datagram or the timer, check its TID,
/// hand it to the machine. What each packet means is the machine's business
/// (`transfer.rs`); when to retransmit is the timer's (`driver.rs`, [`Timer`]). Both are
/// the engine; the socket calls are here.
fn transfer(
    link: &mut Link,
    machine: &mut impl Machine,
    max_silence: Duration,
) -> Result<Stats, TransferError> {
    let io_error = |what: String| TransferError::Io { message: what };
    let mut timer = Timer::new(machine, Some(max_silence));
    loop {
        // sendto() whatever the machine queued: a window of DATA, an ACK, an ERROR.
        // (`link.send` is `send_to` to the client's TID, through the `--drop` simulator
        // and the tracer: `Link::send_to` in driver.rs.)
        while let Some(bytes) = machine.poll_transmit() {
            timer.sending(bytes);
            let peer = link.peer();
            link.send(bytes)
                .map_err(|err| io_error(format!("send_to {peer} failed: {err}")))?;
        }
        timer.sent(machine); // restarts the retransmission timer
        match machine.status() {
            Status::Running => {}
            Status::Done => return Ok(machine.stats()),
            Status::Failed(err) => return Err(err.clone()),
        }
        // Before waiting, the Sender reads the next blocks of the file (the engine's
        // read-ahead). If that failed, go round and send its ERROR now.
        machine.prepare();
        if *machine.status() != Status::Running {
            continue;
        }
        // A silent client does not hold its slot for long, whatever timeout it asked.
        if let Some(why) = timer.silent_too_long() {
            machine.abort(ErrorCode::NOT_DEFINED, &why);
            continue; // sends the ERROR, and ends
        }
        // recvfrom() with a timeout: the next datagram, or nothing in time.
        let received = link
            .recv(timer.wake())
            .map_err(|err| io_error(format!("recv_from failed: {err}")))?;
        let Some((len, from)) = received else {
            if timer.expired() {
                machine.on_timeout(); // it queues a retransmission, or gives up
                timer.timed_out(machine);
            }
            continue;
        };
        // Check the TID: a datagram from anyone but our client gets ERROR 5 (rate
        // limited, never to an ERROR) and the transfer goes on.
        if from != link.peer() {
            link.unknown_tid(from, len);
            continue;
        }
        // Hand the packet to the state machine. Decoding never panics; RFC 1350 ends a
        // transfer on "an incorrectly formed packet".
        let progressed = machine.on_datagram(link.received(len));
        if progressed {
            timer.progressed(machine);
        }
    }
}
// ANCHOR_END: transfer

fn timeout(config: &Config, negotiated: &Negotiated) -> Duration {
    negotiated
        .params
        .timeout
        .map_or(config.timeout, |secs| Duration::from_secs(u64::from(secs)))
}

/// A writer that refuses to go past `--max-upload` bytes: ERROR 3 for the client.
struct Limited<W> {
    inner: W,
    left: u64,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let len = data.len() as u64;
        if len > self.left {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "the upload is larger than this server's --max-upload",
            ));
        }
        self.left -= len;
        self.inner.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// ANCHOR: receive_file
/// A WRQ: receive the file with the Receiver state machine, into a temporary file that
/// gets its real name only once complete.
fn receive_file(
    config: &Config,
    link: &mut Link,
    asked: &Asked<'_>,
    report: &mut Report,
) -> Result<(Receiver<Box<dyn Write>>, Duration), String> {
    let request = asked.request;
    if !config.allow_write {
        return refuse(
            link,
            asked,
            ErrorCode::ACCESS_VIOLATION,
            "this server is read-only (start it with --allow-write to accept uploads)",
        );
    }
    if request.mode == Mode::Mail {
        return refuse(
            link,
            asked,
            ErrorCode::ILLEGAL_OPERATION,
            "mail mode is obsolete (RFC 1350)",
        );
    }
    let target = match path::resolve_write(&config.root, &request.filename) {
        Ok(target) => target,
        Err(err) => return path_refusal(link, asked, err),
    };
    // New files only, unless --overwrite (symlink_metadata: a dangling link exists too).
    if !config.overwrite && target.symlink_metadata().is_ok() {
        return refuse(
            link,
            asked,
            ErrorCode::FILE_EXISTS,
            "file already exists (the server replaces files only with --overwrite)",
        );
    }
    let kind = RequestKind::Write {
        max_upload: config.max_upload,
    };
    let mut negotiated = match options::negotiate(&request.options, kind) {
        Ok(negotiated) => negotiated,
        Err(refusal) => return refuse(link, asked, refusal.code, &refusal.message),
    };
    // We receive: size our buffer for the window, and offer no more than it holds.
    let blksize = negotiated.params.blksize;
    let sock = SockRef::from(link.socket());
    driver::size_buffers(
        &sock,
        driver::buffer_for(blksize, negotiated.params.windowsize),
    );
    let granted = sock
        .recv_buffer_size()
        .unwrap_or(options::PEER_RCVBUF_GUESS);
    negotiated.clamp_window(options::window_that_fits(granted, blksize));

    let (partial, file) = match PartialFile::create(&target) {
        Ok(created) => created,
        Err(err) => {
            return refuse(
                link,
                asked,
                ErrorCode::ACCESS_VIOLATION,
                &format!("cannot create the file: {err}"),
            )
        }
    };
    let writer = Limited {
        inner: BufWriter::with_capacity(FILE_BUFFER, file),
        left: config.max_upload.unwrap_or(u64::MAX),
    };
    let writer: Box<dyn Write> = match request.mode {
        Mode::Netascii => Box::new(NetasciiWriter::new(writer)),
        _ => Box::new(writer),
    };
    let oack = negotiated.oack();
    report.options = options_text(&oack);
    // RFC 1350: "A WRQ is acknowledged with an ACK packet having a block number of zero";
    // with options, the OACK takes its place (RFC 2347).
    let opening = if oack.is_empty() {
        encode_ack(0).to_vec()
    } else {
        Packet::Oack { options: oack }.to_bytes()
    };
    let wait = timeout(config, &negotiated);
    // Once the last block is written, and before its ACK: the file gets its real name.
    // Without --overwrite that fails if the name was taken meanwhile: ERROR 6.
    let overwrite = config.overwrite;
    let commit: Completion = Box::new(move || {
        // The receiver's flush() only handed the bytes to the kernel, which writes them
        // to the disk later. sync_all (fsync(2)) waits until the disk has them, so the
        // last ACK does not promise a file that a power cut could still lose. (The new
        // name itself reaches the disk on the kernel's schedule: a server that must
        // survive that too also syncs the folder after the rename.)
        let synced = OpenOptions::new()
            .write(true)
            .open(partial.temp_path())
            .and_then(|file| file.sync_all());
        if let Err(err) = synced {
            return Err((
                ErrorCode::NOT_DEFINED,
                format!("cannot save the file: {err}"),
            ));
        }
        partial.commit(overwrite).map_err(|err| {
            let code = match err.kind() {
                io::ErrorKind::AlreadyExists => ErrorCode::FILE_EXISTS,
                _ => ErrorCode::NOT_DEFINED,
            };
            (code, format!("cannot give the file its name: {err}"))
        })
    });
    let mut receiver =
        Receiver::new(writer, &negotiated.params, wait, Some(opening)).on_complete(commit);
    let result = transfer(link, &mut receiver, config.max_silence);
    report.stats = receiver.stats();
    report.finished = Some(Instant::now());
    // On failure the receiver (and with it `partial`) is dropped: the temporary file
    // is removed.
    result.map_err(|err| err.to_string())?;
    Ok((receiver, wait))
}
// ANCHOR_END: receive_file
