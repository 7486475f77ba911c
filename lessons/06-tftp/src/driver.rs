//! The engine under the transfer loops. Each role file shows its own loop (`get.rs`,
//! `put.rs`, and `transfer` in `server.rs`): send what the state machine queued, wait for
//! a datagram or the timer, check the TID, hand the packet to the machine. This file
//! holds what those loops lean on, so that they stay short:
//!
//! - **[`Link`]**: our socket and the peer's address (its TID). Every send goes through
//!   one function, [`Link::send_to`], which asks the `--drop` simulator
//!   ([`shared::loss::Dropper`]) first and shows the datagram with `--trace`. A datagram
//!   from anyone else gets ERROR 5 ([`Link::unknown_tid`], RFC 1350 section 4), unless it
//!   is itself an ERROR, and no more than a few per second.
//! - **[`Timer`]**: when to send again (an adaptive timeout, [`RttEstimator`]), and when
//!   a server gives up on a peer that makes no progress, whatever timeout it negotiated.
//! - **Socket buffers** sized for a window ([`size_buffers`]), and the dally after the
//!   last ACK ([`dally`]).
//!
//! Everything the protocol decides is in the state machines (`transfer.rs`).

use crate::packet::{self, ErrorCode, Packet, MAX_PACKET};
use crate::transfer::Machine;
use shared::loss::{Dropper, Sent};
use shared::trace::Tracer;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What [`Link::on_resend`] calls with each line.
type OnResend = Box<dyn FnMut(&str) + Send>;

/// One side of a transfer: our socket (our TID), the peer's address (its TID), the loss
/// simulator and the tracer, and one receive buffer reused for every datagram.
pub struct Link {
    socket: UdpSocket,
    peer: SocketAddr,
    dropper: Dropper,
    tracer: Tracer,
    buf: Box<[u8]>,
    /// The read timeout currently set on the socket (a `setsockopt` per datagram would
    /// cost more than the datagram).
    read_timeout: Option<Duration>,
    dropped: u64,
    /// Our answers to strangers (ERROR 5), limited in rate.
    strangers: TokenBucket,
    /// Told of each retransmission, as a line (the client shows it; the server counts).
    on_resend: Option<OnResend>,
}

impl Link {
    /// A link from `socket` to `peer`.
    pub fn new(socket: UdpSocket, peer: SocketAddr, dropper: Dropper, tracer: Tracer) -> Link {
        Link {
            socket,
            peer,
            dropper,
            tracer,
            // One byte more than the largest packet, so an oversized datagram shows as
            // too long instead of being silently cut to size.
            buf: vec![0; MAX_PACKET + 1].into_boxed_slice(),
            read_timeout: None,
            dropped: 0,
            strangers: TokenBucket::new(STRANGER_BURST, STRANGER_RATE),
            on_resend: None,
        }
    }

    /// Calls `report` with a line each time a packet is sent again: what, and why
    /// (`no answer for 1s: sending ACK 17 again`). The client shows these lines, so a
    /// lossy or absent server is never a silent wait.
    pub fn on_resend(&mut self, report: impl FnMut(&str) + Send + 'static) {
        self.on_resend = Some(Box::new(report));
    }

    /// Tells the `on_resend` callback, if any, that `what` goes out again after `waited`.
    pub fn resending(&mut self, waited: Duration, what: &str) {
        if let Some(report) = &mut self.on_resend {
            // In whole milliseconds: the adaptive timeout is rarely round (`73ms`, not
            // `73ms 84us 738ns`).
            let millis = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
            let waited = shared::duration::show(Duration::from_millis(millis));
            report(&format!("no answer for {waited}: sending {what} again"));
        }
    }

    /// The peer's address: its TID.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// From now on, talk to `peer`: the TID switch, once the server's first answer came.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = peer;
    }

    /// Our socket (to size its buffers).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Our own address: our TID.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// How many of our datagrams the `--drop` simulator has lost.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Sends to the peer.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.send_to(bytes, self.peer)
    }

    // ANCHOR: send_to
    /// Every datagram we send passes here: the loss simulator may drop it (as the
    /// network would), else `send_to` hands it to the kernel.
    pub fn send_to(&mut self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        match self.dropper.send_to(&self.socket, bytes, to)? {
            Sent::Sent(_) => {
                if self.tracer.enabled() {
                    self.tracer.sent(to, bytes);
                    eprintln!("    = {}", describe(bytes));
                }
            }
            Sent::Dropped => {
                self.dropped += 1;
                if self.tracer.enabled() {
                    eprintln!("-x- {to}  dropped (simulated loss): {}", describe(bytes));
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: send_to

    /// Waits for one datagram until `deadline`. `Some((len, from))`: its bytes are
    /// [`Link::received`]`(len)`; `None`: the deadline passed first.
    pub fn recv(&mut self, deadline: Instant) -> io::Result<Option<(usize, SocketAddr)>> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let left = deadline - now;
            // Re-arm SO_RCVTIMEO only when it is far off what is left (at most 1/8 late).
            let stale = self
                .read_timeout
                .is_none_or(|set| set > left + left / 8 || set < left / 2);
            if stale {
                self.socket.set_read_timeout(Some(left))?;
                self.read_timeout = Some(left);
            }
            match self.socket.recv_from(&mut self.buf) {
                Ok((len, from)) => {
                    if self.tracer.enabled() {
                        self.tracer.received(from, &self.buf[..len]);
                        eprintln!("    = {}", describe(&self.buf[..len]));
                    }
                    return Ok(Some((len, from)));
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// The bytes of the datagram [`Link::recv`] just returned.
    pub fn received(&self, len: usize) -> &[u8] {
        &self.buf[..len]
    }

    // ANCHOR: unknown_tid
    /// Answers the datagram of `len` bytes that came from a stranger: RFC 1350: "If a
    /// source TID does not match, the packet should be discarded as erroneously sent
    /// from somewhere else. An error packet should be sent to the source of the
    /// incorrect packet, while not disturbing the transfer." Three limits, because the
    /// stranger may be hostile, or another program just like us:
    ///
    /// - an ERROR (or what is not TFTP at all) is never answered: two transfer sockets
    ///   that answer each other's ERRORs would do so forever, at full speed;
    /// - the answer is never larger than the datagram (no amplification);
    /// - at most [`STRANGER_BURST`] answers at once, [`STRANGER_RATE`] a second after
    ///   that: a flood of strangers gets a trickle of answers.
    pub fn unknown_tid(&mut self, from: SocketAddr, len: usize) {
        let answerable = match Packet::decode(&self.buf[..len]) {
            Ok(Packet::Error { .. }) | Err(_) => false,
            Ok(_) => true,
        };
        if !answerable || !self.strangers.take(Instant::now()) {
            return;
        }
        let text = format!("this port belongs to a transfer with {}", self.peer);
        if let Some(error) = packet::error_reply(ErrorCode::UNKNOWN_TID, &text, len) {
            // Best effort: a failure to tell a stranger is no reason to stop the transfer.
            let _ = self.send_to(&error, from);
        }
    }
    // ANCHOR_END: unknown_tid
}

/// Answers to strangers a transfer socket may send at once...
pub const STRANGER_BURST: u32 = 4;
/// ...and per second after that.
pub const STRANGER_RATE: u32 = 2;

/// A token bucket: at most `capacity` events at once, then `per_second` a second. Each
/// event takes a token; tokens come back at a steady rate. (The classic rate limiter:
/// Linux's `net.ipv4.icmp_ratelimit` bounds ICMP errors the same way.)
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: u32, per_second: u32) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second),
            tokens: f64::from(capacity),
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one at `now`: `true` means go ahead.
    pub fn take(&mut self, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A datagram as one line of text, for `--trace`.
fn describe(bytes: &[u8]) -> String {
    match Packet::decode(bytes) {
        Ok(packet) => packet.to_string(),
        Err(err) => format!("not a TFTP packet: {err}"),
    }
}

// ANCHOR: rtt
/// The shortest retransmission timeout the round-trip estimate may give.
pub const MIN_RTO: Duration = Duration::from_millis(50);

/// An adaptive retransmission timeout. RFC 1123 (4.2.3.2), the host requirements that
/// RFC 1350 points to: "A TFTP implementation MUST use an adaptive timeout." We measure
/// the round trip (send to answer) as TCP does (RFC 6298: a smoothed average and its
/// variation, Karn's rule: never from a retransmitted packet), and wait that long plus a
/// margin. The configured timeout (`--timeout`, or the `timeout` option) stays the
/// upper bound, and the wait before the first measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
}

impl RttEstimator {
    /// One measured round trip.
    pub fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let error = srtt.abs_diff(rtt);
                self.rttvar = (self.rttvar * 3 + error) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
    }

    /// How long to wait: SRTT + 4 x RTTVAR (at least [`MIN_RTO`]), doubled per timeout in
    /// a row, never more than `ceiling` (the machine's own timeout, with its backoff).
    pub fn timeout(&self, ceiling: Duration, timeouts_in_a_row: u32) -> Duration {
        match self.srtt {
            None => ceiling,
            Some(srtt) => {
                let rto = (srtt + self.rttvar * 4).max(MIN_RTO);
                (rto * (1 << timeouts_in_a_row.min(4))).min(ceiling)
            }
        }
    }
}
// ANCHOR_END: rtt

// ANCHOR: timer
/// The engine's clock for one transfer, for the loop that each role file shows: when to
/// retransmit (the adaptive timeout of [`RttEstimator`], doubled per timeout in a row),
/// and when to give up on a peer that makes no progress (`max_silence`). The loop tells
/// it what happened (sending, sent, timed out, progressed) and asks it when to wake.
/// After a timeout it also names what went out again, for the line a client prints.
#[derive(Debug, Clone)]
pub struct Timer {
    rtt: RttEstimator,
    timeouts_in_a_row: u32,
    /// When we last sent, and whether that was free of retransmissions (Karn's rule:
    /// only then does the answer tell the round-trip time).
    sent_at: Option<(Instant, bool)>,
    deadline: Instant,
    /// How long the current deadline is from when it was set.
    waiting: Duration,
    last_progress: Instant,
    max_silence: Option<Duration>,
    /// The machine's count of retransmissions at the last [`Timer::sent`].
    retransmissions: u64,
    /// Something went out since the last [`Timer::sent`].
    sending: bool,
    /// Set by a timeout (how long we had waited) until what it made us send went out.
    timed_out: Option<Duration>,
    /// The first and the last packet sent since that timeout: `DATA 5`, `DATA 8`.
    resent: Option<(String, String)>,
}

impl Timer {
    /// A timer for `machine`, which ends the transfer after `max_silence` without
    /// progress (`None`: only the machine's tries count).
    pub fn new(machine: &impl Machine, max_silence: Option<Duration>) -> Timer {
        let now = Instant::now();
        Timer {
            rtt: RttEstimator::default(),
            timeouts_in_a_row: 0,
            sent_at: None,
            deadline: now + machine.timeout(),
            waiting: machine.timeout(),
            last_progress: now,
            max_silence,
            retransmissions: machine.stats().retransmissions,
            sending: false,
            timed_out: None,
            resent: None,
        }
    }

    /// `bytes` is about to be sent. (Only after a timeout does the timer look at them: to
    /// name what goes out again.)
    pub fn sending(&mut self, bytes: &[u8]) {
        self.sending = true;
        if self.timed_out.is_some() {
            let name = packet_name(bytes);
            let first = self
                .resent
                .take()
                .map_or_else(|| name.clone(), |(first, _)| first);
            self.resent = Some((first, name));
        }
    }

    /// Everything queued went out: the retransmission timer restarts (if anything was
    /// sent). If this was the answer to a timeout, returns how long we had waited and
    /// what went out again (`DATA 5 to DATA 8`), for [`Link::resending`].
    pub fn sent(&mut self, machine: &impl Machine) -> Option<(Duration, String)> {
        if !std::mem::take(&mut self.sending) {
            return None;
        }
        // Clean: no retransmission since the last send and no timeout before it, so the
        // answer will measure the round trip.
        let retransmissions = machine.stats().retransmissions;
        let clean = retransmissions == self.retransmissions && self.timed_out.is_none();
        self.retransmissions = retransmissions;
        let now = Instant::now();
        self.sent_at = Some((now, clean));
        self.set_deadline(now, machine);
        let waited = self.timed_out.take()?;
        let (first, last) = self.resent.take()?;
        let what = if first == last {
            first
        } else {
            format!("{first} to {last}")
        };
        Some((waited, what))
    }

    fn set_deadline(&mut self, now: Instant, machine: &impl Machine) {
        self.waiting = self.rtt.timeout(machine.timeout(), self.timeouts_in_a_row);
        self.deadline = now + self.waiting;
    }

    /// `Some(why)` once the peer has made no progress for `max_silence`: the loop ends
    /// the transfer with an ERROR, whatever timeout the peer negotiated.
    pub fn silent_too_long(&self) -> Option<String> {
        let silence = self.max_silence?;
        (Instant::now() >= self.last_progress + silence).then(|| {
            let silence = shared::duration::show(silence);
            format!("no progress for {silence}: transfer abandoned")
        })
    }

    /// When to stop waiting for a datagram: the retransmission deadline, or the silence
    /// bound if that comes first.
    pub fn wake(&self) -> Instant {
        match self.max_silence {
            Some(silence) => self.deadline.min(self.last_progress + silence),
            None => self.deadline,
        }
    }

    /// Whether the retransmission deadline has passed (if not, the loop was woken for
    /// the silence bound).
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// How long the current wait is (the tests look at it).
    #[cfg(test)]
    fn wait(&self) -> Duration {
        self.waiting
    }

    /// The machine just handled a timeout: wait longer before the next one, and name
    /// what it sends again.
    pub fn timed_out(&mut self, machine: &impl Machine) {
        self.timed_out = Some(self.waiting);
        self.resent = None;
        self.timeouts_in_a_row += 1;
        self.set_deadline(Instant::now(), machine);
    }

    /// The peer moved the transfer forward: measure the round trip (if what we sent
    /// was clean) and start a fresh deadline.
    pub fn progressed(&mut self, machine: &impl Machine) {
        let now = Instant::now();
        self.last_progress = now;
        if let Some((at, true)) = self.sent_at.take() {
            self.rtt.sample(now - at);
        }
        self.timeouts_in_a_row = 0;
        self.set_deadline(now, machine);
    }
}
// ANCHOR_END: timer

/// How often a dally looks whether it was asked to stop.
const DALLY_POLL: Duration = Duration::from_millis(100);

/// After the last ACK, stay a while to answer a repeated last block (RFC 1350: "dallying
/// is encouraged"): if our last ACK was lost, the sender sends the last block again.
/// Ends after `how_long`, or soon after `stop` is set (a server that needs the slot).
pub fn dally(link: &mut Link, machine: &mut impl Machine, how_long: Duration, stop: &AtomicBool) {
    let deadline = Instant::now() + how_long;
    loop {
        while let Some(bytes) = machine.poll_transmit() {
            if link.send(bytes).is_err() {
                return;
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let wake = deadline.min(Instant::now() + DALLY_POLL);
        match link.recv(wake) {
            Ok(Some((len, from))) if from == link.peer => {
                if let Ok(packet) = Packet::decode(link.received(len)) {
                    machine.on_packet(packet);
                }
            }
            Ok(Some((len, from))) => link.unknown_tid(from, len),
            Ok(None) if Instant::now() < deadline => {} // time to look at `stop`
            Ok(None) | Err(_) => return,
        }
    }
}

/// A packet's short name for a message: `RRQ`, `DATA 17`, `ACK 17`, `OACK`, `ERROR 1`.
pub fn packet_name(bytes: &[u8]) -> String {
    match Packet::decode(bytes) {
        Ok(Packet::Rrq(_)) => "RRQ".into(),
        Ok(Packet::Wrq(_)) => "WRQ".into(),
        Ok(Packet::Data { block, .. }) => format!("DATA {block}"),
        Ok(Packet::Ack { block }) => format!("ACK {block}"),
        Ok(Packet::Oack { .. }) => "OACK".into(),
        Ok(Packet::Error { code, .. }) => format!("ERROR {}", code.0),
        Err(_) => format!("a {}-byte packet", bytes.len()),
    }
}

// ANCHOR: socket
/// socket() + setsockopt(SO_RCVBUF, SO_SNDBUF) + bind(): a UDP socket on `ip`, port 0 (a
/// fresh port: a new TID), whose kernel buffers can hold `buffer` bytes of datagrams.
/// Returns it with the receive buffer the kernel really granted (Linux doubles the
/// request for its bookkeeping, and caps it at `net.core.rmem_max`).
pub fn bind_transfer_socket(ip: IpAddr, buffer: usize) -> io::Result<(UdpSocket, usize)> {
    let socket = Socket::new(
        Domain::for_address(SocketAddr::new(ip, 0)),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    size_buffers(&SockRef::from(&socket), buffer);
    socket.bind(&SocketAddr::new(ip, 0).into())?;
    let granted = socket.recv_buffer_size()?;
    Ok((socket.into(), granted))
}

/// Grows a socket's receive and send buffers to `bytes` (never shrinks them). A window
/// of blocks arrives back to back: if the receive buffer cannot hold it all, the kernel
/// drops the rest, every time, and the transfer stalls. Failure is not fatal: the window
/// is then clamped to what the buffer holds.
pub fn size_buffers(socket: &SockRef<'_>, bytes: usize) {
    if socket.recv_buffer_size().is_ok_and(|now| now < bytes) {
        let _ = socket.set_recv_buffer_size(bytes);
    }
    if socket.send_buffer_size().is_ok_and(|now| now < bytes) {
        let _ = socket.set_send_buffer_size(bytes);
    }
}
// ANCHOR_END: socket

/// The buffer size a window of `windowsize` blocks of `blksize` bytes needs, with room
/// for stray datagrams.
pub fn buffer_for(blksize: usize, windowsize: u16) -> usize {
    let per_block = blksize + packet::DATA_HEADER_LEN + crate::options::DATAGRAM_OVERHEAD;
    usize::from(windowsize.max(1)) * per_block + 64 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_bucket_allows_a_burst_then_a_steady_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(4, 2);
        let burst = (0..100).filter(|_| bucket.take(start)).count();
        assert_eq!(burst, 4, "a full bucket, then nothing");
        let half_second = start + Duration::from_millis(500);
        assert!(
            bucket.take(half_second),
            "one token back after 0.5 s at 2/s"
        );
        assert!(!bucket.take(half_second));
        let later = start + Duration::from_secs(60);
        let after_a_minute = (0..100).filter(|_| bucket.take(later)).count();
        assert_eq!(after_a_minute, 4, "never more than the capacity saved up");
    }

    /// The engine's clock: the configured timeout before any measurement, a clean round
    /// trip shortens it, a timeout doubles it, and a silent peer is given up on.
    #[test]
    fn the_timer_measures_backs_off_and_bounds_silence() {
        use crate::transfer::Receiver;
        let second = Duration::from_secs(1);
        let params = crate::options::Params::default();
        let machine = Receiver::new(Vec::<u8>::new(), &params, second, None);
        let mut timer = Timer::new(&machine, Some(Duration::from_millis(20)));
        assert_eq!(timer.wait(), second, "no measurement yet");
        assert!(timer.silent_too_long().is_none() && !timer.expired());
        timer.sending(&crate::packet::encode_ack(1));
        assert_eq!(timer.sent(&machine), None, "no timeout, nothing to report");
        timer.progressed(&machine); // an answer at once: a round trip of about 0
        assert_eq!(timer.wait(), MIN_RTO);
        timer.timed_out(&machine);
        assert_eq!(timer.wait(), MIN_RTO * 2, "doubled after a timeout");
        // What goes out after a timeout is named for the retry line.
        timer.sending(&crate::packet::encode_ack(1));
        timer.sending(&crate::packet::encode_ack(2));
        assert_eq!(
            timer.sent(&machine),
            Some((MIN_RTO, "ACK 1 to ACK 2".to_string()))
        );
        // A retransmitted send is not measured (Karn's rule): the estimate stays.
        timer.timed_out(&machine);
        timer.sending(&crate::packet::encode_ack(2));
        timer.sent(&machine);
        std::thread::sleep(Duration::from_millis(30));
        let why = timer
            .silent_too_long()
            .expect("30 ms of silence, with a bound of 20");
        assert!(why.contains("no progress for 20ms"), "{why}");
        timer.progressed(&machine);
        assert_eq!(timer.wait(), MIN_RTO, "no sample from a retransmission");
        assert!(
            timer.silent_too_long().is_none(),
            "progress resets the bound"
        );
    }

    #[test]
    fn the_timeout_adapts_to_the_round_trip() {
        let second = Duration::from_secs(1);
        let mut rtt = RttEstimator::default();
        assert_eq!(
            rtt.timeout(second, 0),
            second,
            "no measurement yet: the configured one"
        );
        rtt.sample(Duration::from_millis(200));
        assert_eq!(
            rtt.timeout(second, 0),
            Duration::from_millis(600),
            "first: 3 x RTT"
        );
        assert_eq!(
            rtt.timeout(second, 1),
            second,
            "doubled, but never above the ceiling"
        );
        for _ in 0..50 {
            rtt.sample(Duration::from_micros(80)); // loopback
        }
        assert_eq!(rtt.timeout(second, 0), MIN_RTO);
        assert_eq!(rtt.timeout(second, 2), MIN_RTO * 4);
    }
}
