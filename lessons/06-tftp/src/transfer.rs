//! The two state machines of a transfer: the [`Sender`] of DATA and the [`Receiver`] of
//! DATA. A server answering a RRQ and a client doing a put both send DATA, so both use
//! the Sender; a server answering a WRQ and a client doing a get both use the Receiver.
//!
//! Neither touches a socket or a clock. Each is told what arrived ([`Machine::on_packet`])
//! or that the retransmission timeout fired ([`Machine::on_timeout`]), and answers with
//! the datagrams to send next ([`Machine::poll_transmit`]). A thin loop over a real
//! `UdpSocket` drives them (`driver.rs`); the tests drive them by hand, losing,
//! duplicating and reordering packets at will.
//!
//! The rules they follow, from the RFCs:
//!
//! - Lock step (RFC 1350) or windows (RFC 7440): the Sender sends `windowsize` blocks,
//!   then waits for the ACK of the last one. "Traffic with windowsize = 1 MUST be
//!   equivalent to traffic specified by [RFC1350]."
//! - Retransmit only on timeout. A duplicate ACK is never answered: that is what avoids
//!   the Sorcerer's Apprentice bug (RFC 1123, 4.2.3.1), where answering every duplicate
//!   ACK doubles every packet from then on.
//! - Bounded tries: RFC 7440: "Implementations SHOULD always set a maximum number of
//!   retries for datagram retransmissions"; the timeout doubles after each try (backoff).
//! - An ERROR from the peer ends the transfer at once and is not answered; RFC 1350: "This
//!   packet is not acknowledged, and not retransmitted".

use crate::options::Params;
use crate::packet::{self, encode_ack, encode_data_header, ErrorCode, Packet, DATA_HEADER_LEN};
use std::fmt;
use std::io::{self, Read, Write};
use std::time::Duration;

/// RFC 1350 gives no number; tftp-hpa, atftp and RFC 7440's example all start at 1 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Retransmissions of the same packet (or window) before the transfer is given up.
/// RFC 7440 suggests "maximum retransmission attempts per block/window = 6" in all.
pub const MAX_RETRIES: u32 = 5;

/// The timeout doubles after each retransmission, up to this many times the base.
pub const MAX_BACKOFF: u32 = 4;

/// How a transfer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Still going.
    Running,
    /// Finished: every byte is delivered (Sender: the last block is acknowledged;
    /// Receiver: the last block is written and acknowledged).
    Done,
    /// Ended by an error; any ERROR packet to send about it has been queued.
    Failed(TransferError),
}

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferError {
    /// The peer sent an ERROR packet.
    Peer {
        /// Its code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// We ended the transfer and told the peer so with an ERROR packet.
    Local {
        /// The code we sent.
        code: ErrorCode,
        /// The message we sent.
        message: String,
    },
    /// The peer stopped answering.
    TimedOut {
        /// How many times we sent the same thing.
        tries: u32,
        /// Every block, the last one included, had been sent at least once, and only
        /// acknowledgments were missing: the peer may well have the whole file (RFC 1350: "the transfer may still have been completed
        /// successfully").
        only_final_ack_missing: bool,
    },
    /// Our own socket failed (not the peer's doing).
    Io {
        /// What failed.
        message: String,
    },
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::Peer { code, message } => {
                write!(f, "the peer sent ERROR {code}: {message:?}")
            }
            TransferError::Local { code, message } => {
                write!(f, "we ended the transfer with ERROR {code}: {message}")
            }
            TransferError::TimedOut {
                tries,
                only_final_ack_missing,
            } => {
                write!(f, "no answer after {tries} tries")?;
                if *only_final_ack_missing {
                    f.write_str(" (every block was sent, only the last ACK never came: the peer probably has the whole file)")?;
                }
                Ok(())
            }
            TransferError::Io { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for TransferError {}

/// Counters of one transfer, for the server's log line and the client's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Payload bytes delivered (as they are on the wire: netascii counts CR LF as 2).
    pub bytes: u64,
    /// Datagrams sent again: DATA after a timeout or a partial-window ACK, repeated
    /// ACKs, repeated OACKs.
    pub retransmissions: u64,
}

/// What a transfer loop needs from either state machine.
pub trait Machine {
    /// A packet arrived from the peer. Returns whether it was progress (new data or a new
    /// acknowledgment), which restarts the retransmission timer.
    fn on_packet(&mut self, packet: Packet<'_>) -> bool;
    /// A datagram arrived from the peer: decodes it (never panics) and hands it to
    /// [`Machine::on_packet`]. RFC 1350 ends a transfer on "receiving a packet which
    /// cannot be explained by a delay or duplication in the network (e.g., an incorrectly
    /// formed packet)": one that does not decode is answered with ERROR 4.
    fn on_datagram(&mut self, bytes: &[u8]) -> bool {
        match Packet::decode(bytes) {
            Ok(packet) => self.on_packet(packet),
            Err(err) => {
                let message = format!("malformed packet: {err}");
                self.abort(ErrorCode::ILLEGAL_OPERATION, &message);
                false
            }
        }
    }
    /// Nothing useful arrived for [`Machine::timeout`]: retransmit, or give up.
    fn on_timeout(&mut self);
    /// The next datagram to send, if any. Call until `None` after every event.
    fn poll_transmit(&mut self) -> Option<&[u8]>;
    /// Called after sending and before waiting: work that can be done while the peer
    /// handles what we sent. The [`Sender`] reads the next blocks of the file here, so the
    /// ACK finds them ready. Optional: a machine that is never told still works.
    fn prepare(&mut self) {}
    /// How long to wait for the peer before [`Machine::on_timeout`].
    fn timeout(&self) -> Duration;
    /// Running, done or failed.
    fn status(&self) -> &Status;
    /// The counters so far.
    fn stats(&self) -> Stats;
    /// Ends the transfer from our side: queues ERROR `code` for the peer.
    fn abort(&mut self, code: ErrorCode, message: &str);
}

/// How long a peer whose timeout is `base` keeps trying before it gives up: the sum of
/// its waits, `base` doubled after each try up to [`MAX_BACKOFF`] times, for the first
/// send and [`MAX_RETRIES`] retransmissions (19 x `base`). A receiver that dallies this
/// long hears every retransmission of the last block such a peer sends.
pub fn retry_span(base: Duration) -> Duration {
    (0..=MAX_RETRIES)
        .map(|tries| Backoff { base, tries }.timeout())
        .sum()
}

/// The retransmission timer's state: the base timeout and how often it fired in a row.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    base: Duration,
    tries: u32,
}

impl Backoff {
    fn timeout(&self) -> Duration {
        self.base * (1u32 << self.tries.min(16)).min(MAX_BACKOFF)
    }

    /// Counts one more timeout; `false` once the tries are used up (the transfer fails).
    fn retry(&mut self) -> bool {
        self.tries += 1;
        self.tries <= MAX_RETRIES
    }
}

/// The failure that an I/O error on the file becomes, and the ERROR code it is sent as.
fn io_failure(err: &io::Error, doing: &str) -> (ErrorCode, String) {
    let code = match err.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge | io::ErrorKind::QuotaExceeded => {
            ErrorCode::DISK_FULL
        }
        io::ErrorKind::PermissionDenied => ErrorCode::ACCESS_VIOLATION,
        _ => ErrorCode::NOT_DEFINED,
    };
    (code, format!("{doing}: {err}"))
}

/// Reads until `buf` is full or the end of the file; returns how many bytes it got.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

// ANCHOR: sender_struct
/// Sends a file as DATA blocks, `windowsize` at a time, and retransmits on timeout.
///
/// The blocks live in one buffer of slots, each a whole DATA packet: the file is read
/// straight into a slot behind its 4-byte header, and a retransmission sends the slot
/// again. No allocation per packet, no copy per block. There are slots for two windows,
/// used as a ring: the window on the wire, and the next one, read ahead while the peer
/// handles this one ([`Machine::prepare`]; tftpd-hpa reads ahead the same way), so that
/// an ACK is answered at once, without waiting for the disk.
#[derive(Debug)]
pub struct Sender<R> {
    reader: R,
    blksize: usize,
    window: usize,
    /// `2 * window` slots of `DATA_HEADER_LEN + blksize` bytes. Block `b` (absolute)
    /// lives in slot `b % (2 * window)`.
    slots: Vec<u8>,
    /// The length of the packet in each slot.
    lens: Vec<usize>,
    /// The absolute number (1, 2, ... never wrapping) of the oldest unacknowledged block.
    base: u64,
    /// How many blocks, from `base` on, are in the slots (sent, or read ahead).
    loaded: usize,
    /// The last (short) block of the file is in the slots.
    last_loaded: bool,
    /// Blocks `base + next_send ..` of the window are still to be sent in this round.
    next_send: usize,
    /// The highest absolute block sent so far: sending one at or below it again is a
    /// retransmission.
    highest_sent: u64,
    /// A partial-window ACK already sent us back since the last ACK of everything sent
    /// (or the last timeout): another one then means the peer acknowledges blocks as
    /// they come, not a loss (see `on_ack`).
    went_back: bool,
    /// Waiting for the ACK 0 of our OACK (a server answering a RRQ with options).
    opening: bool,
    /// The OACK, or an ERROR, to send (not a block).
    control: Vec<u8>,
    control_queued: bool,
    control_sent: bool,
    status: Status,
    backoff: Backoff,
    stats: Stats,
}
// ANCHOR_END: sender_struct

impl<R: Read> Sender<R> {
    /// A sender of `reader`'s bytes with the negotiated `params`. `opening` is the OACK a
    /// server sends first (the blocks start once it is acknowledged with ACK 0); `None`
    /// starts sending DATA 1 at once (a server without options, a client after the
    /// server's ACK 0 or OACK).
    pub fn new(reader: R, params: &Params, timeout: Duration, opening: Option<Vec<u8>>) -> Self {
        let window = usize::from(params.windowsize.max(1));
        let slot = DATA_HEADER_LEN + params.blksize;
        let mut sender = Sender {
            reader,
            blksize: params.blksize,
            window,
            slots: vec![0; 2 * window * slot],
            lens: vec![0; 2 * window],
            base: 1,
            loaded: 0,
            last_loaded: false,
            next_send: 0,
            highest_sent: 0,
            went_back: false,
            opening: opening.is_some(),
            control_queued: opening.is_some(),
            control: opening.unwrap_or_default(),
            control_sent: false,
            status: Status::Running,
            backoff: Backoff {
                base: timeout,
                tries: 0,
            },
            stats: Stats::default(),
        };
        if !sender.opening {
            sender.load(window);
        }
        sender
    }

    fn slot_size(&self) -> usize {
        DATA_HEADER_LEN + self.blksize
    }

    /// The slot of absolute block `block`.
    fn slot_of(&self, block: u64) -> usize {
        (block % self.lens.len() as u64) as usize
    }

    /// The blocks of the current window that are in the slots (all of it, except at the
    /// end of the file).
    fn in_window(&self) -> usize {
        self.loaded.min(self.window)
    }

    /// Reads blocks from the file into free slots until `count` blocks from `base` on are
    /// loaded: `window` for what must be sent now, all the slots to read ahead.
    fn load(&mut self, count: usize) {
        let slot_size = self.slot_size();
        while self.loaded < count && !self.last_loaded {
            let block = self.base + self.loaded as u64;
            let i = self.slot_of(block);
            let slot = &mut self.slots[i * slot_size..(i + 1) * slot_size];
            let n = match read_full(&mut self.reader, &mut slot[DATA_HEADER_LEN..]) {
                Ok(n) => n,
                Err(err) => {
                    let (code, message) = io_failure(&err, "cannot read the file");
                    self.fail_local(code, &message);
                    return;
                }
            };
            // Block numbers are 16 bits on the wire: after 65535 comes 0 again (what
            // tftp-hpa, atftp and curl do), so files of any size can be sent.
            encode_data_header(slot, block as u16);
            self.lens[i] = DATA_HEADER_LEN + n;
            self.loaded += 1;
            // RFC 2348: "If the amount of data to be transfered is an integral multiple of
            // the blocksize, an extra data packet containing no data is sent".
            if n < self.blksize {
                self.last_loaded = true;
            }
        }
    }

    fn fail_local(&mut self, code: ErrorCode, message: &str) {
        self.control = packet::error_packet(code, message);
        self.control_queued = true;
        self.control_sent = false;
        self.status = Status::Failed(TransferError::Local {
            code,
            message: message.to_string(),
        });
    }

    // ANCHOR: sender_ack
    fn on_ack(&mut self, block: u16) -> bool {
        if self.opening {
            // Waiting for the ACK 0 that confirms our OACK (RFC 2347).
            if block != 0 {
                return false;
            }
            self.opening = false;
            self.control_queued = false;
            self.load(self.window);
            return true;
        }
        // How many blocks of the window this ACK covers: 1..=in_window() is new progress.
        // Anything else is a duplicate (or a delayed ACK of an older window): ignored,
        // NOT answered. Answering it by sending the next block again is the Sorcerer's
        // Apprentice bug: every block would then travel twice, then four times...
        let previous = (self.base - 1) as u16;
        let covered = usize::from(block.wrapping_sub(previous));
        if covered == 0 || covered > self.in_window() {
            return false;
        }
        for acked in self.base..self.base + covered as u64 {
            self.stats.bytes += (self.lens[self.slot_of(acked)] - DATA_HEADER_LEN) as u64;
        }
        if self.last_loaded && covered == self.loaded {
            self.status = Status::Done;
            return true;
        }
        // Slide the window: it now starts at the first block not acknowledged (RFC 7440:
        // "the last received ACK SHALL set the beginning of the next windowsize data
        // block window"). Its blocks are in their slots already (read ahead), or are
        // read now.
        let sent_beyond = (self.highest_sent + 1).saturating_sub(self.base + covered as u64);
        self.base += covered as u64;
        self.loaded -= covered;
        self.load(self.window);
        // Which blocks to send now. An ACK of everything sent: the next window, all of
        // it. An ACK of part of it is, from a receiver that follows RFC 7440, a notice
        // that the block after it was lost: "The notified DSND SHOULD send a new data
        // block window whose beginning MUST be set based on the ACK", so go back and
        // send the window from its new start. But only once until the next ACK of
        // everything sent: a peer that acknowledges EVERY block sends partial ACKs one
        // after another, and going back on each resent the rest of the window each
        // time (windowsize 127, 400 blocks: 50,400 retransmissions). After the first,
        // slide: send only the blocks the ACK newly allows; a loss among them is
        // repaired by the timeout.
        if sent_beyond == 0 {
            self.went_back = false;
            self.next_send = 0;
        } else if !self.went_back {
            self.went_back = true;
            self.next_send = 0;
        } else {
            self.next_send = usize::try_from(sent_beyond).unwrap_or(usize::MAX);
        }
        true
    }
    // ANCHOR_END: sender_ack
}

impl<R: Read> Machine for Sender<R> {
    fn on_packet(&mut self, packet: Packet<'_>) -> bool {
        if self.status != Status::Running {
            return false;
        }
        let progress = match packet {
            Packet::Ack { block } => self.on_ack(block),
            Packet::Error { code, message } => {
                self.status = Status::Failed(TransferError::Peer { code, message });
                false
            }
            // A repeated OACK (the server did not hear our DATA 1 yet): the timeout will
            // resend it; answering would be the Sorcerer's Apprentice again.
            Packet::Oack { .. } => false,
            other => {
                let message = format!("expected an ACK, got {other}");
                self.fail_local(ErrorCode::ILLEGAL_OPERATION, &message);
                false
            }
        };
        if progress {
            self.backoff.tries = 0;
        }
        progress
    }

    fn on_timeout(&mut self) {
        if self.status != Status::Running {
            return;
        }
        if !self.backoff.retry() {
            self.status = Status::Failed(TransferError::TimedOut {
                tries: self.backoff.tries,
                only_final_ack_missing: self.last_loaded
                    && self.highest_sent == self.base + self.loaded as u64 - 1,
            });
            return;
        }
        if self.opening {
            self.control_queued = true;
        } else {
            // Go back to the first unacknowledged block and send the window again.
            self.next_send = 0;
            self.went_back = false;
        }
    }

    fn poll_transmit(&mut self) -> Option<&[u8]> {
        // The OACK (while we wait for its ACK 0) or an ERROR (after a failure).
        if std::mem::take(&mut self.control_queued) {
            if std::mem::replace(&mut self.control_sent, true) {
                self.stats.retransmissions += 1;
            }
            return Some(&self.control);
        }
        if self.status != Status::Running || self.opening || self.next_send >= self.in_window() {
            return None;
        }
        let absolute = self.base + self.next_send as u64;
        self.next_send += 1;
        if absolute <= self.highest_sent {
            self.stats.retransmissions += 1;
        }
        self.highest_sent = self.highest_sent.max(absolute);
        let i = self.slot_of(absolute);
        let start = i * self.slot_size();
        Some(&self.slots[start..start + self.lens[i]])
    }

    // ANCHOR: read_ahead
    fn prepare(&mut self) {
        // Read ahead: fill every free slot now, while the peer handles the window we just
        // sent, instead of after its ACK. The file read leaves the round trip.
        if self.status == Status::Running {
            self.load(self.lens.len());
        }
    }
    // ANCHOR_END: read_ahead

    fn timeout(&self) -> Duration {
        self.backoff.timeout()
    }

    fn status(&self) -> &Status {
        &self.status
    }

    fn stats(&self) -> Stats {
        self.stats
    }

    fn abort(&mut self, code: ErrorCode, message: &str) {
        if self.status == Status::Running {
            self.fail_local(code, message);
        }
    }
}

// ANCHOR: receiver_struct
/// Receives DATA blocks in order, writes them, and acknowledges each window.
pub struct Receiver<W> {
    writer: W,
    blksize: usize,
    window: usize,
    /// The absolute number of the next block we want (1, 2, ... never wrapping).
    expected: u64,
    /// Blocks received in order since our last ACK.
    in_window: usize,
    /// The block number of the last block that came out of order since the last one
    /// that came in order (see `on_data`).
    last_stray: Option<u16>,
    /// What we send until the first block arrives: the server's OACK or ACK 0, or the
    /// client's ACK 0 after an OACK. `None` once DATA flows.
    opening: Option<Vec<u8>>,
    /// The next datagram to send (an ACK, the opening, or an ERROR).
    out: Vec<u8>,
    queued: bool,
    /// The block number of the last block, once it is in.
    final_block: Option<u16>,
    /// Runs after the last block is written and before it is acknowledged.
    on_complete: Option<Completion>,
    status: Status,
    backoff: Backoff,
    stats: Stats,
}
// ANCHOR_END: receiver_struct

/// What a [`Receiver`] does with the complete file before its last ACK (e.g. give it
/// its real name); an error becomes an ERROR packet instead of the ACK.
pub type Completion = Box<dyn FnOnce() -> Result<(), (ErrorCode, String)> + Send>;

impl<W: Write> Receiver<W> {
    /// A receiver writing into `writer` with the negotiated `params`; `opening` is sent
    /// first, and again on every timeout until the first block arrives.
    pub fn new(writer: W, params: &Params, timeout: Duration, opening: Option<Vec<u8>>) -> Self {
        let mut receiver = Receiver {
            writer,
            blksize: params.blksize,
            window: usize::from(params.windowsize.max(1)),
            expected: 1,
            in_window: 0,
            last_stray: None,
            opening,
            out: Vec::with_capacity(packet::ACK_LEN),
            queued: false,
            final_block: None,
            on_complete: None,
            status: Status::Running,
            backoff: Backoff {
                base: timeout,
                tries: 0,
            },
            stats: Stats::default(),
        };
        if let Some(opening) = &receiver.opening {
            receiver.out.clone_from(opening);
            receiver.queued = true;
        }
        receiver
    }

    /// Runs `completion` once the last block is written and flushed, before the last
    /// ACK: the ACK then means "the file is complete, under its real name". A server
    /// renames the upload here, so a client that sees its put succeed finds the file.
    pub fn on_complete(mut self, completion: Completion) -> Self {
        self.on_complete = Some(completion);
        self
    }

    /// The writer, to finish with it (e.g. to rename the file) once the transfer is done.
    pub fn into_writer(self) -> W {
        self.writer
    }

    /// Queues `bytes` as the next datagram (a repeat counts as a retransmission).
    fn queue(&mut self, bytes: &[u8], again: bool) {
        self.out.clear();
        self.out.extend_from_slice(bytes);
        self.queued = true;
        if again {
            self.stats.retransmissions += 1;
        }
    }

    /// Acknowledges the last block received in order.
    fn queue_last_good_ack(&mut self, again: bool) {
        if let Some(opening) = self.opening.take() {
            self.queue(&opening, again);
            self.opening = Some(opening);
        } else {
            let last_good = (self.expected - 1) as u16;
            self.queue(&encode_ack(last_good), again);
        }
        self.in_window = 0;
    }

    fn fail_local(&mut self, code: ErrorCode, message: &str) {
        let error = packet::error_packet(code, message);
        self.queue(&error, false);
        self.status = Status::Failed(TransferError::Local {
            code,
            message: message.to_string(),
        });
    }

    // ANCHOR: receiver_data
    fn on_data(&mut self, block: u16, data: &[u8]) -> bool {
        if block != self.expected as u16 {
            // A duplicate (our ACK was lost, the sender timed out and resent) or a block
            // after a lost one. RFC 7440: "the DRCV SHOULD notify the DSND by sending an
            // ACK corresponding to the last data block correctly received." Once per
            // burst: the rest of a window after a lost block would otherwise bring one
            // ACK each, and a sender that restarts its window on each of them would send
            // it again and again. A burst ends when a block comes in order, or when the
            // numbers start again (the sender resent).
            let new_burst = self
                .last_stray
                .is_none_or(|previous| block.wrapping_sub(previous) as i16 <= 0);
            self.last_stray = Some(block);
            if new_burst {
                self.queue_last_good_ack(true);
            }
            return false;
        }
        self.last_stray = None;
        if data.len() > self.blksize {
            let message = format!(
                "block of {} bytes, more than blksize {}",
                data.len(),
                self.blksize
            );
            self.fail_local(ErrorCode::ILLEGAL_OPERATION, &message);
            return false;
        }
        if let Err(err) = self.writer.write_all(data) {
            let (code, message) = io_failure(&err, "cannot write the file");
            self.fail_local(code, &message);
            return false;
        }
        self.opening = None;
        self.expected += 1;
        self.in_window += 1;
        self.stats.bytes += data.len() as u64;
        // RFC 1350: "A data packet of less than 512 bytes signals termination of a
        // transfer" (RFC 2348: less than the negotiated blocksize).
        if data.len() < self.blksize {
            // Everything must be written before the last ACK says so. flush() hands
            // what is buffered to the kernel; the completion (the server's) then asks
            // the kernel to put it on the disk (sync_all) before renaming the file.
            if let Err(err) = self.writer.flush() {
                let (code, message) = io_failure(&err, "cannot write the file");
                self.fail_local(code, &message);
                return false;
            }
            if let Some(completion) = self.on_complete.take() {
                if let Err((code, message)) = completion() {
                    self.fail_local(code, &message);
                    return false;
                }
            }
            self.final_block = Some(block);
            self.status = Status::Done;
            self.queue(&encode_ack(block), false);
        } else if self.in_window == self.window {
            // RFC 7440: "The DRCV MUST send to the DSND the ACK of the last data block of
            // the window in order to confirm a successful data block window reception."
            self.queue(&encode_ack(block), false);
            self.in_window = 0;
        }
        true
    }
    // ANCHOR_END: receiver_data
}

impl<W: Write> Machine for Receiver<W> {
    fn on_packet(&mut self, packet: Packet<'_>) -> bool {
        if let Status::Done = self.status {
            // Dallying (RFC 1350 section 6): the sender did not hear our last ACK and sent
            // the last block again; acknowledge it again.
            if let (Packet::Data { block, .. }, Some(last)) = (&packet, self.final_block) {
                if *block == last {
                    self.queue(&encode_ack(last), true);
                }
            }
            return false;
        }
        if self.status != Status::Running {
            return false;
        }
        let progress = match packet {
            Packet::Data { block, data } => self.on_data(block, data),
            Packet::Error { code, message } => {
                self.status = Status::Failed(TransferError::Peer { code, message });
                false
            }
            // A repeated OACK: the server did not hear our ACK 0. Say it again, once per
            // OACK received (each OACK is itself a retransmission, so this cannot grow).
            Packet::Oack { .. } if self.opening.is_some() => {
                self.queue_last_good_ack(true);
                false
            }
            Packet::Oack { .. } => false,
            other => {
                let message = format!("expected DATA, got {other}");
                self.fail_local(ErrorCode::ILLEGAL_OPERATION, &message);
                false
            }
        };
        if progress {
            self.backoff.tries = 0;
        }
        progress
    }

    fn on_timeout(&mut self) {
        if self.status != Status::Running {
            return;
        }
        if !self.backoff.retry() {
            self.status = Status::Failed(TransferError::TimedOut {
                tries: self.backoff.tries,
                only_final_ack_missing: false,
            });
            return;
        }
        // RFC 1350: "If a packet gets lost in the network, the intended recipient will
        // timeout and may retransmit his last packet". With windows, that is the ACK of
        // the last block received in order, so the sender restarts right after it.
        self.queue_last_good_ack(true);
    }

    fn poll_transmit(&mut self) -> Option<&[u8]> {
        if std::mem::take(&mut self.queued) {
            Some(&self.out)
        } else {
            None
        }
    }

    fn timeout(&self) -> Duration {
        self.backoff.timeout()
    }

    fn status(&self) -> &Status {
        &self.status
    }

    fn stats(&self) -> Stats {
        self.stats
    }

    fn abort(&mut self, code: ErrorCode, message: &str) {
        if self.status == Status::Running {
            self.fail_local(code, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tests::Rng;
    use crate::packet::OP_DATA;
    use std::collections::VecDeque;

    fn params(blksize: usize, windowsize: u16) -> Params {
        Params {
            blksize,
            windowsize,
            ..Params::default()
        }
    }

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn decode(bytes: &[u8]) -> Packet<'_> {
        Packet::decode(bytes).unwrap()
    }

    fn drain(machine: &mut impl Machine) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(bytes) = machine.poll_transmit() {
            out.push(bytes.to_vec());
        }
        out
    }

    /// A simulated network between a Sender and a Receiver: each datagram may be lost,
    /// duplicated or delivered out of order, decided by a seeded generator. When nothing
    /// is in flight, both sides' timeouts fire. Returns the bytes received, the final
    /// statuses, and the number of DATA packets sent.
    struct Faults {
        loss: usize,      // percent
        duplicate: usize, // percent
        reorder: usize,   // percent
    }

    fn simulate(
        data: &[u8],
        p: Params,
        faults: Faults,
        seed: u64,
    ) -> (Vec<u8>, Status, Status, usize) {
        let mut rng = Rng::new(seed);
        let mut sender = Sender::new(data, &p, DEFAULT_TIMEOUT, None);
        let mut receiver = Receiver::new(Vec::new(), &p, DEFAULT_TIMEOUT, None);
        let mut to_receiver: VecDeque<Vec<u8>> = VecDeque::new();
        let mut to_sender: VecDeque<Vec<u8>> = VecDeque::new();
        let mut data_sent = 0;
        let push = |queue: &mut VecDeque<Vec<u8>>, bytes: Vec<u8>, rng: &mut Rng| {
            if rng.below(100) < faults.loss {
                return;
            }
            let copies = if rng.below(100) < faults.duplicate {
                2
            } else {
                1
            };
            for _ in 0..copies {
                if rng.below(100) < faults.reorder && !queue.is_empty() {
                    let at = rng.below(queue.len());
                    queue.insert(at, bytes.clone());
                } else {
                    queue.push_back(bytes.clone());
                }
            }
        };
        for step in 0..2_000_000 {
            for bytes in drain(&mut sender) {
                data_sent += usize::from(bytes[1] == OP_DATA as u8);
                push(&mut to_receiver, bytes, &mut rng);
            }
            // Every other step the sender reads ahead, as the driver has it do: with and
            // without, the same bytes must arrive.
            if step % 2 == 0 {
                sender.prepare();
            }
            for bytes in drain(&mut receiver) {
                push(&mut to_sender, bytes, &mut rng);
            }
            let finished = |s: &Status| *s != Status::Running;
            if finished(sender.status()) && (finished(receiver.status()) || to_receiver.is_empty())
            {
                break;
            }
            match (to_receiver.is_empty(), to_sender.is_empty()) {
                (true, true) => {
                    sender.on_timeout();
                    receiver.on_timeout();
                }
                (false, true) => {
                    let bytes = to_receiver.pop_front().unwrap();
                    receiver.on_packet(decode(&bytes));
                }
                (true, false) => {
                    let bytes = to_sender.pop_front().unwrap();
                    sender.on_packet(decode(&bytes));
                }
                (false, false) => {
                    if rng.below(2) == 0 {
                        let bytes = to_receiver.pop_front().unwrap();
                        receiver.on_packet(decode(&bytes));
                    } else {
                        let bytes = to_sender.pop_front().unwrap();
                        sender.on_packet(decode(&bytes));
                    }
                }
            }
        }
        let (s, r) = (sender.status().clone(), receiver.status().clone());
        (receiver.into_writer(), s, r, data_sent)
    }

    #[test]
    fn clean_transfers_of_every_edge_size() {
        for (blksize, window) in [(512, 1), (512, 4), (8, 3), (1468, 16)] {
            for len in [0, 1, blksize - 1, blksize, blksize + 1, 3 * blksize, 5000] {
                let data = file(len);
                let faults = Faults {
                    loss: 0,
                    duplicate: 0,
                    reorder: 0,
                };
                let (got, s, r, sent) = simulate(&data, params(blksize, window), faults, 1);
                assert_eq!((s, r), (Status::Done, Status::Done), "len {len}");
                assert_eq!(got, data, "len {len} blksize {blksize}");
                // Exactly one DATA per block, the empty final one included.
                assert_eq!(
                    sent,
                    len / blksize + 1,
                    "len {len} blksize {blksize} window {window}"
                );
            }
        }
    }

    /// RFC 1350 section 2: "A data packet of less than 512 bytes signals termination", so
    /// a file of exactly 512 bytes needs a second, empty block.
    #[test]
    fn a_multiple_of_blksize_ends_with_an_empty_block() {
        let data = file(1024);
        let mut sender = Sender::new(&data[..], &params(512, 1), DEFAULT_TIMEOUT, None);
        let mut blocks = Vec::new();
        for ack in 1..=3u16 {
            let sent = drain(&mut sender);
            assert_eq!(sent.len(), 1);
            let Packet::Data { block, data } = decode(&sent[0]) else {
                panic!()
            };
            blocks.push((block, data.len()));
            sender.on_packet(Packet::Ack { block: ack });
        }
        assert_eq!(blocks, [(1, 512), (2, 512), (3, 0)]);
        assert_eq!(*sender.status(), Status::Done);
        assert_eq!(sender.stats().bytes, 1024);
    }

    /// A reader that counts the bytes taken from it.
    struct Counting<'a> {
        data: &'a [u8],
        taken: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.read(buf)?;
            self.taken.set(self.taken.get() + n);
            Ok(n)
        }
    }

    /// `prepare` reads the next window while the peer works; the ACK then sends it
    /// without touching the file, and the blocks on the wire are the same.
    #[test]
    fn prepare_reads_the_next_window_ahead() {
        let data = file(5 * 512 + 10);
        let taken = std::rc::Rc::new(std::cell::Cell::new(0));
        let reader = Counting {
            data: &data,
            taken: taken.clone(),
        };
        let mut sender = Sender::new(reader, &params(512, 2), DEFAULT_TIMEOUT, None);
        assert_eq!(taken.get(), 2 * 512, "the first window, to send at once");
        assert_eq!(drain(&mut sender).len(), 2);
        sender.prepare();
        assert_eq!(taken.get(), 4 * 512, "and the next one, read ahead");
        sender.prepare();
        assert_eq!(taken.get(), 4 * 512, "no slot free: nothing more");

        assert!(sender.on_packet(Packet::Ack { block: 2 }));
        assert_eq!(taken.get(), 4 * 512, "blocks 3 and 4 were ready: no read");
        let sent: Vec<(u16, usize)> = drain(&mut sender)
            .iter()
            .map(|b| match decode(b) {
                Packet::Data { block, data } => (block, data.len()),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(sent, [(3, 512), (4, 512)]);
        sender.prepare();
        assert_eq!(taken.get(), data.len(), "the rest of the file");

        // A partial ACK: the window restarts at block 4, from the slots.
        assert!(sender.on_packet(Packet::Ack { block: 3 }));
        let blocks: Vec<u16> = drain(&mut sender)
            .iter()
            .map(|b| match decode(b) {
                Packet::Data { block, .. } => block,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(blocks, [4, 5]);
        assert!(sender.on_packet(Packet::Ack { block: 5 }));
        let last = drain(&mut sender);
        assert!(matches!(decode(&last[0]), Packet::Data { block: 6, data } if data.len() == 10));
        assert!(sender.on_packet(Packet::Ack { block: 6 }));
        assert_eq!(*sender.status(), Status::Done);
        assert_eq!(sender.stats().bytes, data.len() as u64);
    }

    // ANCHOR: sorcerer
    /// The Sorcerer's Apprentice bug (RFC 1123, 4.2.3.1): if a sender answers a duplicate
    /// ACK n by sending DATA n+1 again, one delayed ACK makes every later block travel
    /// twice. Ours never sends anything for a duplicate ACK.
    #[test]
    fn sorcerers_apprentice_a_duplicate_ack_sends_nothing() {
        let data = file(4 * 512);
        let mut sender = Sender::new(&data[..], &params(512, 1), DEFAULT_TIMEOUT, None);
        assert_eq!(drain(&mut sender).len(), 1, "DATA 1");
        assert!(sender.on_packet(Packet::Ack { block: 1 }));
        assert_eq!(drain(&mut sender).len(), 1, "DATA 2");
        // ACK 1 again (delayed in the network, or the receiver re-acknowledged a
        // retransmitted DATA 1): no DATA 2 again.
        assert!(!sender.on_packet(Packet::Ack { block: 1 }));
        assert!(drain(&mut sender).is_empty());
        assert!(sender.on_packet(Packet::Ack { block: 2 }));
        assert_eq!(drain(&mut sender).len(), 1, "DATA 3, once");
        assert_eq!(sender.stats().retransmissions, 0);
    }

    /// The same over a whole transfer where the network duplicates EVERY packet: each
    /// block is still sent once, not 2, 4, 8... times.
    #[test]
    fn sorcerers_apprentice_every_packet_duplicated() {
        let data = file(100 * 512 + 17);
        let faults = Faults {
            loss: 0,
            duplicate: 100,
            reorder: 0,
        };
        let (got, s, r, sent) = simulate(&data, params(512, 1), faults, 7);
        assert_eq!((s, r, got == data), (Status::Done, Status::Done, true));
        assert_eq!(
            sent, 101,
            "one DATA per block despite every ACK arriving twice"
        );
    }
    // ANCHOR_END: sorcerer

    #[test]
    fn loss_duplication_and_reordering_still_deliver_every_byte() {
        for (seed, window) in [(1, 1), (2, 1), (3, 4), (4, 8), (5, 16)] {
            let data = file(300 * 64 + 5);
            let faults = Faults {
                loss: 10,
                duplicate: 10,
                reorder: 10,
            };
            let (got, s, r, sent) = simulate(&data, params(64, window), faults, seed);
            assert_eq!(
                (&s, &r),
                (&Status::Done, &Status::Done),
                "seed {seed} window {window}"
            );
            assert_eq!(got, data, "seed {seed}");
            assert!(sent > 302, "losses were repaired by retransmissions");
        }
    }

    /// More than 65535 blocks: the block number wraps to 0 and the transfer goes on.
    #[test]
    fn block_numbers_roll_over_past_65535() {
        let blocks = 65_536 + 100;
        let data = file(blocks * 8 + 3);
        let faults = Faults {
            loss: 0,
            duplicate: 0,
            reorder: 0,
        };
        let (got, s, r, sent) = simulate(&data, params(8, 1), faults, 9);
        assert_eq!((s, r), (Status::Done, Status::Done));
        assert_eq!(sent, blocks + 1);
        assert!(got == data, "every byte, in order, across the wrap");

        // And on the wire: block 65535 is followed by block 0.
        let data = file(65_537 * 8);
        let mut sender = Sender::new(&data[..], &params(8, 1), DEFAULT_TIMEOUT, None);
        for ack in 1..=65_535u32 {
            drain(&mut sender);
            sender.on_packet(Packet::Ack { block: ack as u16 });
        }
        let sent = drain(&mut sender);
        assert!(matches!(decode(&sent[0]), Packet::Data { block: 0, .. }));
    }

    #[test]
    fn a_window_is_resent_from_the_last_good_block() {
        let data = file(8 * 512);
        let mut sender = Sender::new(&data[..], &params(512, 4), DEFAULT_TIMEOUT, None);
        let mut receiver = Receiver::new(Vec::new(), &params(512, 4), DEFAULT_TIMEOUT, None);
        let window = drain(&mut sender);
        assert_eq!(window.len(), 4);
        // Block 2 is lost: the receiver takes 1, then acknowledges 1 on seeing 3.
        receiver.on_packet(decode(&window[0]));
        assert!(drain(&mut receiver).is_empty(), "mid-window: no ACK yet");
        receiver.on_packet(decode(&window[2]));
        let ack = drain(&mut receiver);
        assert_eq!(decode(&ack[0]), Packet::Ack { block: 1 });
        // The sender restarts the window at block 2 (blocks 2..=5).
        sender.on_packet(decode(&ack[0]));
        let again: Vec<u16> = drain(&mut sender)
            .iter()
            .map(|b| match decode(b) {
                Packet::Data { block, .. } => block,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(again, [2, 3, 4, 5]);
        assert_eq!(sender.stats().retransmissions, 3, "2, 3 and 4 went twice");
    }

    /// After a lost block, the rest of the window brings ONE ACK, not one per block.
    #[test]
    fn one_ack_per_burst_of_out_of_order_blocks() {
        let data = file(8 * 512);
        let mut sender = Sender::new(&data[..], &params(512, 8), DEFAULT_TIMEOUT, None);
        let mut receiver = Receiver::new(Vec::new(), &params(512, 8), DEFAULT_TIMEOUT, None);
        let window = drain(&mut sender);
        receiver.on_packet(decode(&window[0]));
        let mut acks = Vec::new();
        for packet in &window[2..] {
            // Block 2 was lost.
            receiver.on_packet(decode(packet));
            acks.extend(drain(&mut receiver));
        }
        assert_eq!(acks.len(), 1, "one ACK for blocks 3..=8");
        assert_eq!(decode(&acks[0]), Packet::Ack { block: 1 });
        // The same blocks again (a new burst: the numbers start again): one more ACK.
        receiver.on_packet(decode(&window[4]));
        assert_eq!(drain(&mut receiver).len(), 1);
        // Lock step: every duplicate of the last block is a burst of its own.
        let mut lockstep = Receiver::new(Vec::new(), &params(512, 1), DEFAULT_TIMEOUT, None);
        let one = Packet::Data {
            block: 1,
            data: &[0; 512],
        };
        lockstep.on_packet(one.clone());
        assert_eq!(drain(&mut lockstep).len(), 1);
        for _ in 0..3 {
            lockstep.on_packet(one.clone());
            assert_eq!(drain(&mut lockstep).len(), 1, "each duplicate is answered");
        }
    }

    /// A peer that acknowledges EVERY block of a large window, as each arrives. Going
    /// back to the start of the window on each of those partial ACKs resent the rest of
    /// the window each time (windowsize 127, 400 blocks: 50,400 retransmissions). Now
    /// only the first goes back; the others slide the window: about one DATA per block.
    #[test]
    fn a_peer_that_acks_every_block_gets_each_block_about_once() {
        let (blocks, window) = (400, 127);
        let data = file(blocks * 512 - 1);
        let mut sender = Sender::new(&data[..], &params(512, window), DEFAULT_TIMEOUT, None);
        let (mut expected, mut data_sent) = (1u16, 0);
        let mut in_flight: Vec<Vec<u8>> = drain(&mut sender);
        while *sender.status() == Status::Running && !in_flight.is_empty() {
            // The peer reads what is in flight and ACKs each block that comes in order
            // (a repeat gets the ACK of the last one in order).
            let mut acks = Vec::new();
            for bytes in in_flight.drain(..) {
                data_sent += 1;
                if let Packet::Data { block, .. } = decode(&bytes) {
                    if block == expected {
                        expected = expected.wrapping_add(1);
                    }
                    acks.push(expected.wrapping_sub(1));
                }
            }
            for block in acks {
                sender.on_packet(Packet::Ack { block });
                in_flight.extend(drain(&mut sender));
            }
        }
        assert_eq!(*sender.status(), Status::Done);
        assert!(
            data_sent <= blocks + usize::from(window),
            "{data_sent} DATA for {blocks} blocks"
        );
    }

    #[test]
    fn timeouts_back_off_and_give_up() {
        let data = file(100);
        let mut sender = Sender::new(&data[..], &params(512, 1), Duration::from_millis(100), None);
        let mut waits = Vec::new();
        let mut sent = drain(&mut sender).len();
        while *sender.status() == Status::Running {
            waits.push(sender.timeout().as_millis());
            sender.on_timeout();
            sent += drain(&mut sender).len();
        }
        assert_eq!(waits, [100, 200, 400, 400, 400, 400]);
        assert_eq!(
            retry_span(Duration::from_millis(100)),
            Duration::from_millis(1900),
            "the sum of those waits"
        );
        assert_eq!(sent as u32, 1 + MAX_RETRIES);
        assert!(matches!(
            sender.status(),
            Status::Failed(TransferError::TimedOut {
                only_final_ack_missing: true,
                ..
            })
        ));
    }

    #[test]
    fn an_error_from_the_peer_ends_at_once_without_a_reply() {
        let data = file(5000);
        let mut sender = Sender::new(&data[..], &params(512, 1), DEFAULT_TIMEOUT, None);
        drain(&mut sender);
        sender.on_packet(Packet::Error {
            code: ErrorCode::DISK_FULL,
            message: "too big".into(),
        });
        assert!(drain(&mut sender).is_empty());
        sender.on_timeout();
        assert!(drain(&mut sender).is_empty(), "nothing more, ever");
        assert!(matches!(
            sender.status(),
            Status::Failed(TransferError::Peer { .. })
        ));

        let mut receiver = Receiver::new(Vec::new(), &params(512, 1), DEFAULT_TIMEOUT, None);
        receiver.on_packet(Packet::Error {
            code: ErrorCode::NOT_DEFINED,
            message: "bye".into(),
        });
        assert!(drain(&mut receiver).is_empty());
    }

    /// A server answering a RRQ with options sends the OACK, resends it on timeout, and
    /// starts the blocks only after ACK 0.
    #[test]
    fn oack_then_ack_0_then_data() {
        let data = file(10);
        let oack = Packet::Oack {
            options: vec![("tsize".into(), "10".into())],
        }
        .to_bytes();
        let mut sender = Sender::new(
            &data[..],
            &params(512, 1),
            DEFAULT_TIMEOUT,
            Some(oack.clone()),
        );
        assert_eq!(drain(&mut sender), std::slice::from_ref(&oack));
        sender.on_timeout();
        assert_eq!(drain(&mut sender), [oack]);
        assert_eq!(sender.stats().retransmissions, 1);
        assert!(
            !sender.on_packet(Packet::Ack { block: 1 }),
            "not the ACK 0 we wait for"
        );
        assert!(sender.on_packet(Packet::Ack { block: 0 }));
        let sent = drain(&mut sender);
        assert!(matches!(decode(&sent[0]), Packet::Data { block: 1, data } if data.len() == 10));
    }

    /// Aborting (e.g. a client that read `tsize` and finds the file too big) queues one
    /// ERROR and nothing after it.
    #[test]
    fn abort_sends_one_error() {
        let mut receiver = Receiver::new(
            Vec::new(),
            &params(512, 1),
            DEFAULT_TIMEOUT,
            Some(encode_ack(0).to_vec()),
        );
        drain(&mut receiver);
        receiver.abort(ErrorCode::DISK_FULL, "file too large for us");
        let sent = drain(&mut receiver);
        assert!(matches!(
            decode(&sent[0]),
            Packet::Error {
                code: ErrorCode::DISK_FULL,
                ..
            }
        ));
        receiver.on_timeout();
        assert!(drain(&mut receiver).is_empty());
    }

    #[test]
    fn oversized_block_and_wrong_packet_are_illegal() {
        let mut receiver = Receiver::new(Vec::new(), &params(8, 1), DEFAULT_TIMEOUT, None);
        receiver.on_packet(Packet::Data {
            block: 1,
            data: &[0; 9],
        });
        let sent = drain(&mut receiver);
        assert!(matches!(
            decode(&sent[0]),
            Packet::Error {
                code: ErrorCode::ILLEGAL_OPERATION,
                ..
            }
        ));

        let mut sender = Sender::new(&b"x"[..], &params(8, 1), DEFAULT_TIMEOUT, None);
        drain(&mut sender);
        sender.on_packet(Packet::Data {
            block: 1,
            data: b"",
        });
        let sent = drain(&mut sender);
        assert!(matches!(
            decode(&sent[0]),
            Packet::Error {
                code: ErrorCode::ILLEGAL_OPERATION,
                ..
            }
        ));
    }

    /// A write error (disk full, upload limit) becomes ERROR 3 for the peer.
    #[test]
    fn write_failure_is_error_3() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "no space"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut receiver = Receiver::new(Full, &params(8, 1), DEFAULT_TIMEOUT, None);
        receiver.on_packet(Packet::Data {
            block: 1,
            data: b"abc",
        });
        let sent = drain(&mut receiver);
        assert!(matches!(
            decode(&sent[0]),
            Packet::Error {
                code: ErrorCode::DISK_FULL,
                ..
            }
        ));
    }
}
