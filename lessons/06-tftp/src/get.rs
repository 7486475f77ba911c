//! # Lesson 06: `tftp get`, reading a file from a TFTP server
//!
//! The client sends a read request (RRQ) to the server's well-known port and waits. The
//! answer comes from a NEW port: the server opened a socket just for this transfer (its
//! transfer ID, TID), and from then on the client talks only to that one. The file
//! arrives as DATA blocks; the client acknowledges them (ACK) and the first block shorter
//! than the block size ends the transfer.
//!
//! ```text
//! cargo run -p tftp -- server --root /tmp/served                  # terminal 1
//! cargo run -p tftp -- get hello.txt                               # terminal 2
//! cargo run -p tftp -- get big.bin --blksize 1468 --windowsize 16 --tsize
//! cargo run -p tftp -- get big.bin --drop 0.2 --timeout 200ms --trace  # watch the retries
//! ```
//!
//! Observe with `--trace`: the RRQ goes to port 6969, the first DATA (or OACK, if you
//! asked for options) comes back from another port. With `--drop 0.2`, 20% of what we
//! send is lost: the summary counts the retransmissions that repaired it.
//!
//! Since lesson 05: still UDP, but now a protocol on top that makes it reliable:
//! numbered blocks, acknowledgments, timeouts and retransmission.

use anyhow::{bail, Context as _, Result};
use shared::{loss::Dropper, ready, trace::Tracer};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::{BufWriter, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Instant;
use tftp::client::{self, ClientArgs, Progress};
use tftp::driver::{self, Link, Timer};
use tftp::netascii::NetasciiWriter;
use tftp::options::{self, Params};
use tftp::packet::{encode_ack, ErrorCode, Mode, Packet, Request};
use tftp::partial::PartialFile;
use tftp::transfer::{Machine, Receiver, Status, TransferError, MAX_RETRIES};

/// Options of `tftp get`.
#[derive(clap::Args)]
pub struct Args {
    /// The file's name on the server (relative to the folder it serves).
    remote: String,

    /// Where to save it (default: the remote name's last part, in this folder).
    local: Option<PathBuf>,

    #[command(flatten)]
    client: ClientArgs,
}

/// Bytes of file buffered before a write to disk: few, large writes.
const WRITE_BUFFER: usize = 1 << 20;

pub fn run(args: Args) -> Result<()> {
    let opts = &args.client;
    let server = opts.addr;
    let local = match &args.local {
        Some(path) => path.clone(),
        None => default_local_name(&args.remote)?,
    };

    // 1. socket() + bind(): port 0, a fresh port: our TID. The receive buffer must hold a
    //    whole window of blocks arriving back to back, so we size it, and ask for no
    //    bigger window than what the kernel granted can hold.
    let mut wanted = opts.wanted(Some(0));
    let blksize = wanted.blksize.unwrap_or(tftp::packet::DEFAULT_BLKSIZE);
    let window = wanted.windowsize.unwrap_or(1);
    let ours = SocketAddr::new(opts.bind_ip(), 0);
    let socket = Socket::new(Domain::for_address(ours), Type::DGRAM, Some(Protocol::UDP))
        .context("cannot open a UDP socket")?;
    // setsockopt(SO_RCVBUF, SO_SNDBUF): the engine's sizing (driver.rs, `size_buffers`).
    driver::size_buffers(&SockRef::from(&socket), driver::buffer_for(blksize, window));
    socket
        .bind(&ours.into())
        .with_context(|| format!("cannot bind a UDP socket on {ours}"))?;
    // Linux doubles what we asked for, and caps it at net.core.rmem_max: ask what it gave.
    let granted = socket
        .recv_buffer_size()
        .context("cannot read the receive buffer's size")?;
    let socket: UdpSocket = socket.into();
    if let Some(asked) = wanted.windowsize {
        let fits = options::window_that_fits(granted, blksize);
        if fits < asked {
            eprintln!("note: --windowsize {asked} lowered to {fits}, what our {granted}-byte receive buffer holds");
            wanted.windowsize = Some(fits);
        }
    }
    ready::announce(socket.local_addr().context("cannot read our own address")?);

    // The download goes to a temporary file beside `local`, renamed only when complete:
    // a failed transfer never leaves half a file under the real name. (Made before the
    // request, so that a folder we cannot write to fails here, not after the transfer.)
    let (partial, file) = PartialFile::create(&local)
        .with_context(|| format!("cannot create a file beside {}", local.display()))?;
    // Ctrl-C ends the process without running `Drop`: remove the partial file then too.
    partial
        .remove_on_ctrl_c()
        .context("cannot set up Ctrl-C handling")?;
    let tracer = Tracer::new(opts.trace);
    let mut link = Link::new(socket, server, Dropper::new(opts.drop, opts.seed), tracer);

    // 2. sendto(RRQ) to the server's known port, and recvfrom() its first answer; the
    //    port it comes from is the server's TID for this transfer.
    let rrq = Packet::Rrq(Request {
        filename: args.remote.clone(),
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
            link.resending(opts.timeout() * (1 << (attempt - 1).min(2)), "RRQ");
        }
        link.send_to(&rrq, server)
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

    // 3. The answer decides how the transfer runs. RFC 2347: to a request with options,
    //    "OACK - acknowledge of Read Request and the options; DATA - acknowledge of Read
    //    Request, but not the options; ERROR - the request has been denied."
    let writer: Box<dyn Write> = match opts.mode {
        Mode::Netascii => Box::new(NetasciiWriter::new(BufWriter::with_capacity(
            WRITE_BUFFER,
            file,
        ))),
        _ => Box::new(BufWriter::with_capacity(WRITE_BUFFER, file)),
    };
    let timeout = opts.timeout();
    let (mut receiver, params) = match Packet::decode(link.received(len)) {
        Ok(Packet::Oack { options }) => match wanted.accept_oack(&options) {
            Ok(params) => {
                // Confirm the OACK with ACK 0; the receiver resends it until DATA 1 comes.
                let ack0 = encode_ack(0).to_vec();
                (Receiver::new(writer, &params, timeout, Some(ack0)), params)
            }
            Err(why) => {
                let _ = link.send(&tftp::packet::error_packet(ErrorCode::OPTION_REFUSED, &why));
                bail!("{why}; sent ERROR 8 to the server");
            }
        },
        Ok(Packet::Data { block: 1, data }) => {
            // No OACK: the server ignored our options (or we asked none): RFC 1350 rules.
            let params = Params::default();
            let mut receiver = Receiver::new(writer, &params, timeout, None);
            receiver.on_packet(Packet::Data { block: 1, data });
            (receiver, params)
        }
        Ok(Packet::Error { code, message }) => {
            return Err(client::explain(
                tftp::transfer::TransferError::Peer { code, message },
                server,
            ))
        }
        other => {
            let what = match other {
                Ok(packet) => packet.to_string(),
                Err(err) => err.to_string(),
            };
            let _ = link.send(&tftp::packet::error_packet(
                ErrorCode::ILLEGAL_OPERATION,
                "expected OACK or DATA 1",
            ));
            bail!("the server answered our RRQ with {what}, not OACK or DATA 1");
        }
    };
    if let Some(size) = params.tsize {
        // If the reader of our output has gone (`tftp get x --tsize | head -1`), end
        // quietly now: returning drops `partial`, which removes the partial file.
        if writeln!(std::io::stdout(), "{} is {size} bytes", args.remote).is_err() {
            return Ok(());
        }
    }

    // ANCHOR: loop
    // 4. The transfer loop: the downloader's loop, with a state machine and a clock.
    //    sendto() what the receiver queued, recvfrom() the next datagram or nothing before
    //    the timer's deadline, check its TID, and hand it to the receiver: it writes DATA
    //    that comes in order and queues the ACK. What a packet means is the receiver's
    //    business (transfer.rs); when to send again is the timer's (driver.rs).
    let mut timer = Timer::new(&receiver, None);
    let mut progress = Progress::new(params.tsize, &mut link);
    let result = 'transfer: loop {
        // sendto(): the ACK (or an ERROR) to the server's TID. `link.send` goes through
        // the `--drop` simulator and the tracer: `Link::send_to` in driver.rs.
        while let Some(bytes) = receiver.poll_transmit() {
            timer.sending(bytes);
            if let Err(err) = link.send(bytes) {
                let message = format!("send_to {} failed: {err}", link.peer());
                break 'transfer Err(TransferError::Io { message });
            }
        }
        if let Some((waited, what)) = timer.sent(&receiver) {
            link.resending(waited, &what); // "no answer for 1s: sending ACK 17 again"
        }
        match receiver.status() {
            Status::Running => {}
            Status::Done => break Ok(receiver.stats()),
            Status::Failed(err) => break Err(err.clone()),
        }
        // recvfrom() with a timeout: the next datagram, or nothing before the deadline.
        let (len, from) = match link.recv(timer.wake()) {
            Ok(Some(datagram)) => datagram,
            Ok(None) => {
                // Silence: the receiver sends its ACK again, or gives up after its tries.
                receiver.on_timeout();
                timer.timed_out(&receiver);
                continue;
            }
            Err(err) => {
                let message = format!("recv_from failed: {err}");
                break Err(TransferError::Io { message });
            }
        };
        // Check the TID: only the port that answered our RRQ is the server.
        if from != link.peer() {
            link.unknown_tid(from, len); // ERROR 5 to it; our transfer goes on
            continue;
        }
        // Hand it to the receiver: it decodes it (a malformed packet ends the transfer),
        // writes DATA that comes in order and queues the ACK.
        let progressed = receiver.on_datagram(link.received(len));
        if progressed {
            timer.progressed(&receiver);
            progress.update(&receiver.stats());
        }
    };
    progress.finish();
    // ANCHOR_END: loop
    let stats = result.map_err(|err| client::explain(err, link.peer()))?;
    let took = started.elapsed();

    // 5. Complete: the file gets its real name (replacing an older one, like cp).
    drop(receiver.into_writer());
    partial
        .commit(true)
        .with_context(|| format!("cannot rename the download to {}", local.display()))?;
    let what = format!(
        "got {:?} from {} into {}",
        args.remote,
        link.peer(),
        local.display()
    );
    println!(
        "{}",
        client::summary(&what, &stats, &params, took, link.dropped())
    );
    // 6. close(): dropping the socket. We do not dally: if our last ACK is lost, the
    //    server retries a few times and gives up, but the file is complete here.
    Ok(())
}

/// The last part of the remote name: `boot/kernel.img` is saved as `kernel.img`.
fn default_local_name(remote: &str) -> Result<PathBuf> {
    match remote.rsplit(['/', '\\']).next() {
        Some(name) if !name.is_empty() && name != "." && name != ".." => Ok(PathBuf::from(name)),
        _ => bail!("cannot make a local file name from {remote:?}: give one, e.g. tftp get {remote} out.bin"),
    }
}
