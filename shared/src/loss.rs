//! A loss simulator for the classroom: `--drop RATE` loses that share of the datagrams a
//! program sends, so its timeouts and retries can be watched on loopback, where nothing
//! is ever lost by itself.
//!
//! It is a thin wrapper around `send_to`: [`Dropper::send_to`] asks a seeded random number
//! generator whether this datagram is "lost"; if not, it calls `socket.send_to` and nothing
//! else. A dropped datagram is simply never handed to the kernel, which is what a loss on
//! the way looks like to the sender (nothing) and to the receiver (nothing either).
//!
//! ```
//! use shared::loss::{Dropper, Sent};
//! use std::net::UdpSocket;
//!
//! let receiver = UdpSocket::bind("127.0.0.1:0")?;
//! let socket = UdpSocket::bind("127.0.0.1:0")?;
//! let mut dropper = Dropper::new(0.0, shared::loss::DEFAULT_SEED); // --drop 0: loses nothing
//! match dropper.send_to(&socket, b"hello", receiver.local_addr()?)? {
//!     Sent::Sent(n) => assert_eq!(n, 5),
//!     Sent::Dropped => println!("dropped (simulated)"),
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Runs repeat: the same `--seed` (default [`DEFAULT_SEED`]) drops the same datagrams in
//! the same order, so a class sees the same retries the teacher saw.
//!
//! Threads: a [`Dropper`] is plain data (`Send` and `Sync`), and deciding needs `&mut
//! self`. Give each socket, transfer or thread its own: [`Dropper::split`] derives a new,
//! independent one, and a program that splits in the same order repeats exactly. (Sharing
//! one behind a `Mutex` also works, but then the threads' timing decides who gets which
//! draw, and runs no longer repeat.)
//!
//! The random numbers are SplitMix64 (Steele, Lea and Flood, 2014): a few lines, good
//! enough to decide coin flips, and no `rand` crate to learn. Not for cryptography.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// The seed used when none is given, so two runs with the same `--drop` drop the same
/// datagrams. Pass another `--seed` to see another pattern. (0 is as good a seed as any
/// for SplitMix64; this one starts with a few drops early, which suits a demo.)
pub const DEFAULT_SEED: u64 = 0;

/// What [`Dropper::send_to`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Handed to the kernel with `send_to`, which took this many bytes (for UDP, all of
    /// them). Like any UDP send, that does not mean it will arrive.
    Sent(usize),
    /// Lost on purpose by the simulator: `send_to` was not called. Say so on screen.
    Dropped,
}

/// Decides, datagram by datagram, which ones to lose: each one independently, with
/// probability `rate`.
#[derive(Debug)]
pub struct Dropper {
    rate: f64,
    rng: SplitMix64,
    decided: u64,
    dropped: u64,
}

impl Dropper {
    /// A dropper that loses the share `rate` of datagrams (0.0 = none, 1.0 = all), its
    /// choices drawn from `seed`. A rate outside 0.0..=1.0 (or NaN) is clamped into it;
    /// parse user input with [`parse_rate`], which refuses such rates with an error.
    pub fn new(rate: f64, seed: u64) -> Dropper {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        Dropper {
            rate,
            rng: SplitMix64(seed),
            decided: 0,
            dropped: 0,
        }
    }

    /// A dropper that never drops: `--drop` not given.
    pub fn off() -> Dropper {
        Dropper::new(0.0, DEFAULT_SEED)
    }

    /// The share of datagrams it drops, 0.0 to 1.0.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Whether it ever drops anything (`rate > 0`).
    pub fn is_active(&self) -> bool {
        self.rate > 0.0
    }

    /// Decides about the next datagram: `true` means lose it. Rate 0 never drops, rate 1
    /// always does. Every call uses exactly one draw, so which datagrams are dropped
    /// depends only on the seed, the rate and their order.
    pub fn should_drop(&mut self) -> bool {
        let draw = self.rng.next_f64(); // uniform in [0, 1)
        let drop = draw < self.rate;
        self.decided += 1;
        if drop {
            self.dropped += 1;
        }
        drop
    }

    // ANCHOR: send_to
    /// `socket.send_to(bytes, peer)`, unless the simulator drops this datagram: then
    /// nothing is sent and the answer is [`Sent::Dropped`]. Errors are `send_to`'s own.
    pub fn send_to(
        &mut self,
        socket: &UdpSocket,
        bytes: &[u8],
        peer: SocketAddr,
    ) -> io::Result<Sent> {
        if self.should_drop() {
            return Ok(Sent::Dropped);
        }
        socket.send_to(bytes, peer).map(Sent::Sent)
    }
    // ANCHOR_END: send_to

    /// Like [`Dropper::send_to`], for a socket that is `connect`ed to its peer:
    /// `socket.send(bytes)`, unless this datagram is dropped.
    pub fn send(&mut self, socket: &UdpSocket, bytes: &[u8]) -> io::Result<Sent> {
        if self.should_drop() {
            return Ok(Sent::Dropped);
        }
        socket.send(bytes).map(Sent::Sent)
    }

    /// A new dropper with the same rate and its own sequence of draws, seeded from this
    /// one: one per thread, transfer or socket. Splitting in the same order gives the same
    /// droppers, so a whole multi-threaded run repeats.
    pub fn split(&mut self) -> Dropper {
        Dropper::new(self.rate, self.rng.next_u64())
    }

    /// How many datagrams it has decided about so far.
    pub fn decided(&self) -> u64 {
        self.decided
    }

    /// How many of those it dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Parses a `--drop` rate: a share from 0.0 to 1.0 (`0.3`), or a percentage (`30%`).
/// Built to be a clap `value_parser`, so `--drop 30` is refused before the program
/// starts, with an error that shows the right form.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, scale) = match text.strip_suffix('%') {
        Some(percent) => (percent.trim(), 100.0),
        None => (text, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a drop rate: write a share from 0.0 to 1.0 (e.g. 0.3) or a percentage (e.g. 30%)")
    })?;
    let rate = value / scale;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!(
            "`{text}` is outside 0.0..=1.0: the drop rate is a share of datagrams, e.g. 0.3 drops 30% (or write 30%)"
        ));
    }
    Ok(rate)
}

/// SplitMix64: a 64-bit counter pushed through a mixing function. Every seed, 0
/// included, gives a full-period sequence.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits, as many as an f64 holds exactly.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drops(dropper: &mut Dropper, draws: usize) -> usize {
        (0..draws).filter(|_| dropper.should_drop()).count()
    }

    #[test]
    fn the_rate_is_honoured_over_ten_thousand_draws() {
        // Binomial(10,000, p): the standard deviation is at most 50, so +-250 (5 sigma)
        // fails only if the generator is broken.
        for rate in [0.1, 0.3, 0.5, 0.9] {
            for seed in [DEFAULT_SEED, 7, 12_345] {
                let got = drops(&mut Dropper::new(rate, seed), 10_000);
                let expected = rate * 10_000.0;
                assert!(
                    (got as f64 - expected).abs() < 250.0,
                    "rate {rate}, seed {seed}: {got} drops"
                );
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let run = |seed| {
            let mut dropper = Dropper::new(0.5, seed);
            (0..200).map(|_| dropper.should_drop()).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43), "another seed, another pattern");
    }

    #[test]
    fn known_values_of_splitmix64() {
        // The reference sequence for seed 0 (from the published C code).
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn rate_zero_never_drops_and_rate_one_always_does() {
        let mut never = Dropper::new(0.0, 3);
        assert_eq!(drops(&mut never, 10_000), 0);
        assert!(!never.is_active());
        let mut always = Dropper::new(1.0, 3);
        assert_eq!(drops(&mut always, 10_000), 10_000);
        assert_eq!((always.decided(), always.dropped()), (10_000, 10_000));
        assert_eq!(drops(&mut Dropper::off(), 1_000), 0);
    }

    #[test]
    fn out_of_range_rates_are_clamped() {
        assert_eq!(Dropper::new(-1.0, 0).rate(), 0.0);
        assert_eq!(Dropper::new(7.0, 0).rate(), 1.0);
        assert_eq!(Dropper::new(f64::NAN, 0).rate(), 0.0);
    }

    #[test]
    fn split_droppers_are_independent_and_repeat() {
        let children = |seed| {
            let mut parent = Dropper::new(0.5, seed);
            let mut a = parent.split();
            let mut b = parent.split();
            let a: Vec<bool> = (0..100).map(|_| a.should_drop()).collect();
            let b: Vec<bool> = (0..100).map(|_| b.should_drop()).collect();
            (a, b)
        };
        let (a, b) = children(9);
        assert_ne!(a, b);
        assert_eq!(children(9), (a, b));
        assert_eq!(Dropper::new(0.25, 1).split().rate(), 0.25);
    }

    #[test]
    fn a_dropper_can_move_to_another_thread() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<Dropper>();
        let mut parent = Dropper::new(1.0, 5);
        let mut child = parent.split();
        let handle = std::thread::spawn(move || child.should_drop());
        assert!(handle.join().unwrap());
    }

    #[test]
    fn parse_rate_accepts_shares_and_percentages() {
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate("0.3"), Ok(0.3));
        assert_eq!(parse_rate(" 1.0 "), Ok(1.0));
        assert_eq!(parse_rate("30%"), Ok(0.3));
        assert_eq!(parse_rate("100%"), Ok(1.0));
    }

    #[test]
    fn parse_rate_refuses_others_clearly() {
        for (input, expected) in [
            ("30", "outside 0.0..=1.0"),
            ("-0.1", "outside"),
            ("1.5", "outside"),
            ("150%", "outside"),
            ("NaN", "outside"),
            ("lots", "not a drop rate"),
            ("", "not a drop rate"),
        ] {
            let err = parse_rate(input).unwrap_err();
            assert!(err.contains(expected), "{input:?} gave {err:?}");
        }
    }

    /// The wrapper really sends when it does not drop, and really does not when it does.
    #[test]
    fn send_to_sends_or_drops_on_loopback() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let to = receiver.local_addr().unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 16];

        let mut always = Dropper::new(1.0, 0);
        assert_eq!(always.send_to(&socket, b"lost", to).unwrap(), Sent::Dropped);
        let mut never = Dropper::new(0.0, 0);
        assert_eq!(never.send_to(&socket, b"kept", to).unwrap(), Sent::Sent(4));
        // Only "kept" arrives: "lost" was never sent.
        let (n, from) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"kept"[..], socket.local_addr().unwrap())
        );
        assert!(
            receiver.recv_from(&mut buf).is_err(),
            "nothing else arrives"
        );

        socket.connect(to).unwrap();
        assert_eq!(always.send(&socket, b"lost").unwrap(), Sent::Dropped);
        assert_eq!(never.send(&socket, b"again").unwrap(), Sent::Sent(5));
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"again");
    }
}
