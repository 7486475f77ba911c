//! # Lesson 06, first program: `tftp download`, the smallest correct TFTP client
//!
//! One file, one loop, every socket call in view: send a read request (RRQ), then
//! receive DATA, write it, send ACK, until a block shorter than 512 bytes. Lock-step
//! (one block in flight), octet mode, no options. `get` does the same job with options,
//! windows and a faster engine; read this first.
//!
//! ```text
//! cargo run -p tftp -- server --root /tmp/served              # terminal 1
//! cargo run -p tftp -- download hello.txt --trace              # terminal 2
//! ```
//!
//! Observe with `--trace`: the RRQ goes to port 6969, but DATA 1 comes back from ANOTHER
//! port, the server's transfer ID (TID). Every ACK goes to that port.
//!
//! Since lesson 05: still `send_to` and `recv_from`, now under a protocol that numbers
//! the blocks, acknowledges each one, and resends after silence.

use anyhow::{bail, Context as _, Result};
use shared::{addr, ready, trace::Tracer};
use std::fs::File;
use std::io::{ErrorKind, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of `tftp download`.
#[derive(clap::Args)]
pub struct Args {
    /// The file's name on the server.
    remote: String,
    /// Where to save it (default: the remote name's last part, in this folder).
    local: Option<PathBuf>,
    /// The server, IP:PORT.
    #[arg(long, default_value = addr::TFTP, value_parser = addr::parse)]
    addr: SocketAddr,
    /// How long to wait for the server before sending again (e.g. 500ms, 2s).
    #[arg(long, default_value = "1s", value_parser = shared::duration::parse)]
    timeout: Duration,
    /// Print every datagram sent and received, in hex and ASCII.
    #[arg(long)]
    trace: bool,
}

// RFC 1350, section 5: "TFTP supports five types of packets ... opcode operation".
const RRQ: u16 = 1;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
/// RFC 1350: "A data packet of less than 512 bytes signals termination of a transfer."
const BLOCK_SIZE: usize = 512;
const TRIES: u32 = 5; // silences in a row before we give up

pub fn run(args: Args) -> Result<()> {
    let local = match &args.local {
        Some(path) => path.clone(),
        None => PathBuf::from(args.remote.rsplit(['/', '\\']).next().unwrap_or_default()),
    };
    if local.as_os_str().is_empty() || local.ends_with("..") {
        bail!(
            "cannot name a local file after {:?}: give one, e.g. tftp download NAME out.bin",
            args.remote
        );
    }
    // The file is created at DATA 1, so a missing file leaves nothing behind; a failed
    // download removes its half file, so nobody takes it for the whole one.
    let mut file = None;
    let result = download(&args, &local, &mut file);
    if result.is_err() && file.take().is_some() {
        let _ = std::fs::remove_file(&local);
    }
    let (bytes, server) = result?;
    let saved = local.display();
    println!("downloaded {bytes} bytes from {server} into {saved}");
    Ok(())
}

fn download(args: &Args, local: &Path, file: &mut Option<File>) -> Result<(u64, SocketAddr)> {
    let tracer = Tracer::new(args.trace);
    let wait = shared::duration::show(args.timeout);

    // 1. socket() + bind(): std does both in UdpSocket::bind. Port 0 lets the kernel pick
    //    a free port: that port is OUR transfer ID (TID) for this one download.
    let any = match args.addr {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0)).context("cannot bind a UDP socket")?;
    ready::announce(socket.local_addr().context("cannot read our own address")?);
    // A recv_from that waits longer fails with WouldBlock or TimedOut: our cue to resend.
    let timeout = Some(args.timeout);
    socket
        .set_read_timeout(timeout)
        .context("cannot set a read timeout")?;

    // 2. sendto(RRQ): | 00 01 | filename | 0 | "octet" | 0 |, to the server's known port.
    let mut last_sent = RRQ.to_be_bytes().to_vec(); // resent after silence; later the last ACK
    last_sent.extend_from_slice(args.remote.as_bytes());
    last_sent.extend_from_slice(b"\0octet\0");
    let mut peer = args.addr;
    socket
        .send_to(&last_sent, peer)
        .with_context(|| format!("cannot send to {peer}"))?;
    tracer.sent(peer, &last_sent);

    let mut server_tid: Option<SocketAddr> = None; // learned from the first answer
    let mut expected: u16 = 1; // the block we wait for; 16 bits, so it wraps after 65535
    let (mut silences, mut bytes) = (0, 0u64); // timeouts in a row; bytes written
    let mut buf = [0u8; 4 + BLOCK_SIZE + 1]; // one byte more: a too-long DATA shows as such
    loop {
        // 3. recvfrom(): the next datagram, or a timeout: then send the last packet again.
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                silences += 1;
                if silences == TRIES {
                    bail!("no answer from {peer} after {TRIES} tries of {wait}: is the server running?");
                }
                eprintln!("no answer for {wait}: sending again");
                socket
                    .send_to(&last_sent, peer)
                    .with_context(|| format!("cannot send to {peer}"))?;
                tracer.sent(peer, &last_sent);
                continue;
            }
            Err(err) => return Err(err).with_context(|| format!("cannot receive from {peer}")),
        };
        let packet = &buf[..len];
        tracer.received(from, packet);

        // 4. Check the TID. The first answer must come from the server's machine; its port
        //    is the server's TID. After that only that address counts: anything else is
        //    "erroneously sent from somewhere else" (RFC 1350, section 4), so we ignore it.
        match server_tid {
            None if from.ip() == args.addr.ip() => server_tid = Some(from),
            Some(tid) if tid == from => {}
            _ => {
                eprintln!("ignored {len} bytes from {from}: not the server of this transfer");
                continue;
            }
        }
        peer = from;
        if len < 4 {
            bail!("{from} sent {len} bytes, too short for a TFTP packet");
        }
        let opcode = u16::from_be_bytes([packet[0], packet[1]]);
        let block = u16::from_be_bytes([packet[2], packet[3]]); // in an ERROR: the error code
        let data = &packet[4..];
        match opcode {
            // | 00 05 | error code | message | 0 |: the server gave up; a missing file is code 1.
            ERROR => {
                let text = data.split(|&b| b == 0).next().unwrap_or_default();
                let text = shared::encoding::display(text);
                bail!("{from} sent ERROR {block}: {text}");
            }
            // | 00 03 | block | 0 to 512 bytes |
            DATA if data.len() > BLOCK_SIZE => bail!("{from} sent {} bytes of DATA", data.len()),
            DATA if block == expected => {
                silences = 0;
                // 5. write(). File::create truncates an older file; the tutorial opens it
                //    for append, which glues a second download onto the first.
                let out = match file {
                    Some(out) => out,
                    None => file.insert(
                        File::create(local)
                            .with_context(|| format!("cannot create {}", local.display()))?,
                    ),
                };
                out.write_all(data)
                    .with_context(|| format!("cannot write {}", local.display()))?;
                bytes += data.len() as u64;
                // 6. sendto(ACK): | 00 04 | block |, to the server's TID.
                last_sent = [ACK.to_be_bytes(), block.to_be_bytes()].concat();
                socket
                    .send_to(&last_sent, from)
                    .with_context(|| format!("cannot send to {from}"))?;
                tracer.sent(from, &last_sent);
                // A short block (0 to 511 bytes) is the last one; it is ACKed like the others.
                if data.len() < BLOCK_SIZE {
                    // 7. close(): the socket closes as `socket` goes out of scope.
                    return Ok((bytes, from));
                }
                // After block 65535 comes block 0, as tftpd-hpa, atftpd and our server do.
                expected = expected.wrapping_add(1);
            }
            // The block before: our ACK was lost and the server sent the block again.
            // ACK it again, but do not write it twice.
            DATA if block == expected.wrapping_sub(1) => {
                socket
                    .send_to(&last_sent, from)
                    .with_context(|| format!("cannot send to {from}"))?;
                tracer.sent(from, &last_sent);
            }
            DATA => eprintln!("ignored DATA {block}: we wait for block {expected}"),
            _ => {
                bail!("{from} sent opcode {opcode}, where a download expects DATA (3) or ERROR (5)")
            }
        }
    }
}
