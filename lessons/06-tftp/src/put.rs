//! # Lesson 06: `tftp put`, writing a file to a TFTP server
//!
//! The mirror image of `get`: the client sends a write request (WRQ), the server answers
//! from its new port (its TID) with ACK 0 (or an OACK, if we asked for options), and now
//! the CLIENT sends the DATA blocks and the server acknowledges them. The same state
//! machine sends DATA here and in the server's answer to a `get`: [`Sender`].
//!
//! ```text
//! cargo run -p tftp -- server --root /tmp/served --allow-write    # terminal 1
//! cargo run -p tftp -- put notes.txt                               # terminal 2
//! cargo run -p tftp -- put notes.txt notes.txt                     # again: ERROR 6, exists
//! cargo run -p tftp -- put big.bin --blksize 65464 --tsize --drop 0.1 --timeout 200ms
//! ```
//!
//! Observe: a server started without `--allow-write` refuses with ERROR 2; uploading a
//! name that exists gives ERROR 6 unless the server runs with `--overwrite`; the server
//! prints one line per transfer with the bytes, the time and the retransmissions.

use anyhow::{bail, Context as _, Result};
use shared::{loss::Dropper, ready, trace::Tracer};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Instant;
use tftp::client::{self, ClientArgs, Progress};
use tftp::driver::{self, Link, Timer};
use tftp::netascii::NetasciiReader;
use tftp::options::{self, Params};
use tftp::packet::{self, ErrorCode, Mode, Packet, Request};
use tftp::transfer::{Machine, Sender, Status, TransferError, MAX_RETRIES};

/// Options of `tftp put`.
#[derive(clap::Args)]
pub struct Args {
    /// The file to send.
    local: PathBuf,

    /// Its name on the server (default: the local file's name).
    remote: Option<String>,

    #[command(flatten)]
    client: ClientArgs,
}

/// Bytes of file read from disk at a time: few, large reads.
const READ_BUFFER: usize = 1 << 20;

pub fn run(args: Args) -> Result<()> {
    let opts = &args.client;
    let server = opts.addr;
    let remote = match &args.remote {
        Some(name) => name.clone(),
        None => match args.local.file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => bail!(
                "{} has no file name; give the remote name too",
                args.local.display()
            ),
        },
    };
    let file =
        File::open(&args.local).with_context(|| format!("cannot open {}", args.local.display()))?;
    let size = file
        .metadata()
        .with_context(|| format!("cannot read the size of {}", args.local.display()))?
        .len();

    // RFC 2349: "In Write Request packets, the size of the file, in octets, is specified
    // in the request". In netascii the size on the wire is not the size on disk: not sent.
    let mut wanted = opts.wanted((opts.mode == Mode::Octet).then_some(size));
    // We send: the server's receive buffer must hold a whole window, and we cannot know
    // its size. Ask for no more than a default Linux buffer holds (as our server does).
    if let Some(asked) = wanted.windowsize {
        let blksize = wanted.blksize.unwrap_or(packet::DEFAULT_BLKSIZE);
        let fits = options::window_that_fits(options::PEER_RCVBUF_GUESS, blksize);
        if fits < asked {
            eprintln!("note: --windowsize {asked} lowered to {fits}: a larger window of {blksize}-byte blocks overflows a default receive buffer");
            wanted.windowsize = Some(fits);
        }
    }

    // 1. socket() + bind() on port 0: our TID. Its send buffer is sized for a window.
    let blksize = wanted.blksize.unwrap_or(packet::DEFAULT_BLKSIZE);
    let buffer = driver::buffer_for(blksize, wanted.windowsize.unwrap_or(1));
    let ours = SocketAddr::new(opts.bind_ip(), 0);
    let socket = Socket::new(Domain::for_address(ours), Type::DGRAM, Some(Protocol::UDP))
        .context("cannot open a UDP socket")?;
    // setsockopt(SO_RCVBUF, SO_SNDBUF): the engine's sizing (driver.rs, `size_buffers`).
    driver::size_buffers(&SockRef::from(&socket), buffer);
    socket
        .bind(&ours.into())
        .with_context(|| format!("cannot bind a UDP socket on {ours}"))?;
    let socket: UdpSocket = socket.into();
    ready::announce(socket.local_addr().context("cannot read our own address")?);
    let mut link = Link::new(
        socket,
        server,
        Dropper::new(opts.drop, opts.seed),
        Tracer::new(opts.trace),
    );

    // 2. sendto(WRQ), recvfrom() the answer: its source port is the server's TID.
    let wrq = Packet::Wrq(Request {
        filename: remote.clone(),
        mode: opts.mode,
        options: wanted.to_options(),
    })
    .to_bytes();
    let started = Instant::now();
    // The first answer comes from the server's machine; the port it comes from is its
    // TID (RFC 1350: "The response to the request ... uses a TID chosen by the server as
    // its source TID"). After silence, send the request again and wait longer: twice,
    // then four times the timeout. Each retry gets a line: no silent wait.
    link.on_resend(|line| eprintln!("{line}"));
    let io = |message: String| client::explain(TransferError::Io { message }, server);
    let mut answer = None;
    for attempt in 0..=MAX_RETRIES {
        let wait = opts.timeout() * (1 << attempt.min(2));
        if attempt > 0 {
            link.resending(opts.timeout() * (1 << (attempt - 1).min(2)), "WRQ");
        }
        link.send_to(&wrq, server)
            .map_err(|err| io(format!("send_to {server} failed: {err}")))?;
        let deadline = Instant::now() + wait;
        while let Some((len, from)) = link
            .recv(deadline)
            .map_err(|err| io(format!("recv_from failed: {err}")))?
        {
            if from.ip() == server.ip() {
                link.set_peer(from); // the TID switch: from now on, only this port
                answer = Some(len);
                break;
            }
        }
        if answer.is_some() {
            break;
        }
    }
    let Some(len) = answer else {
        let tries = MAX_RETRIES + 1;
        let only_final_ack_missing = false;
        return Err(client::explain(
            TransferError::TimedOut {
                tries,
                only_final_ack_missing,
            },
            server,
        ));
    };

    // 3. RFC 2347: to a WRQ with options, "OACK - acknowledge of Write Request and the
    //    options; ACK - acknowledge of Write Request, but not the options; ERROR - the
    //    request has been denied."
    let params = match Packet::decode(link.received(len)) {
        Ok(Packet::Oack { options }) => match wanted.accept_oack(&options) {
            Ok(params) => params,
            Err(why) => {
                let _ = link.send(&packet::error_packet(ErrorCode::OPTION_REFUSED, &why));
                bail!("{why}; sent ERROR 8 to the server");
            }
        },
        Ok(Packet::Ack { block: 0 }) => Params::default(),
        Ok(Packet::Error { code, message }) => {
            return Err(client::explain(
                TransferError::Peer { code, message },
                server,
            ))
        }
        other => {
            let what = match other {
                Ok(packet) => packet.to_string(),
                Err(err) => err.to_string(),
            };
            let _ = link.send(&packet::error_packet(
                ErrorCode::ILLEGAL_OPERATION,
                "expected OACK or ACK 0",
            ));
            bail!("the server answered our WRQ with {what}, not OACK or ACK 0");
        }
    };

    // 4. The transfer: sendto() a window of DATA, recvfrom() its ACK, until the short
    //    block is acknowledged. The file streams through a buffer: memory stays flat.
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    let reader: Box<dyn Read> = match opts.mode {
        Mode::Netascii => Box::new(NetasciiReader::new(reader)),
        _ => Box::new(reader),
    };
    let mut sender = Sender::new(reader, &params, opts.timeout(), None);
    // The loop is get's, with the roles turned round: the sender queues a window of DATA,
    // and the server's ACKs move it on. What a packet means is the sender's business
    // (transfer.rs); when to send again is the timer's (driver.rs).
    let mut timer = Timer::new(&sender, None);
    let mut progress = Progress::new(Some(size), &mut link);
    let result = 'transfer: loop {
        // sendto(): the window of DATA the sender queued (or an ERROR), to the server's
        // TID, through the `--drop` simulator and the tracer (`Link::send_to`).
        while let Some(bytes) = sender.poll_transmit() {
            timer.sending(bytes);
            if let Err(err) = link.send(bytes) {
                let message = format!("send_to {} failed: {err}", link.peer());
                break 'transfer Err(TransferError::Io { message });
            }
        }
        if let Some((waited, what)) = timer.sent(&sender) {
            link.resending(waited, &what); // "no answer for 1s: sending DATA 5 to DATA 8 again"
        }
        match sender.status() {
            Status::Running => {}
            Status::Done => break Ok(sender.stats()),
            Status::Failed(err) => break Err(err.clone()),
        }
        // While the server works: read the next blocks of the file (the engine's
        // read-ahead). A read error queues an ERROR: go round and send it now.
        sender.prepare();
        if *sender.status() != Status::Running {
            continue;
        }
        // recvfrom() with a timeout: the server's ACK, or nothing before the deadline.
        let (len, from) = match link.recv(timer.wake()) {
            Ok(Some(datagram)) => datagram,
            Ok(None) => {
                // Silence: the sender sends its window again, or gives up after its tries.
                sender.on_timeout();
                timer.timed_out(&sender);
                continue;
            }
            Err(err) => {
                let message = format!("recv_from failed: {err}");
                break Err(TransferError::Io { message });
            }
        };
        // Check the TID: only the port that answered our WRQ is the server.
        if from != link.peer() {
            link.unknown_tid(from, len); // ERROR 5 to it; our transfer goes on
            continue;
        }
        // Hand it to the sender: it decodes it, and an ACK slides the window.
        let progressed = sender.on_datagram(link.received(len));
        if progressed {
            timer.progressed(&sender);
            progress.update(&sender.stats());
        }
    };
    progress.finish();
    let stats = result.map_err(|err| client::explain(err, link.peer()))?;

    let what = format!(
        "put {} to {} as {remote:?}",
        args.local.display(),
        link.peer()
    );
    println!(
        "{}",
        client::summary(&what, &stats, &params, started.elapsed(), link.dropped())
    );
    Ok(())
}
