//! A token bucket: how a server limits the rate of what it sends to strangers.
//!
//! The bucket holds up to `capacity` tokens and gains `per_second` of them every second.
//! Each answer takes one; with none left, the answer is not sent. So a quiet network
//! gets every answer at once (a burst up to `capacity`), and a flood gets `per_second`
//! answers a second however fast it sends. Linux limits its own ICMP errors this way
//! (`net.ipv4.icmp_ratelimit`), and DNS servers limit their answers so (RRL).

use std::time::Instant;

/// Tokens and the time they were last counted; see the module's documentation.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    counted: Instant,
}

impl TokenBucket {
    /// A full bucket: `capacity` answers may go at once, then `per_second` a second.
    pub fn new(capacity: u32, per_second: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second),
            tokens: f64::from(capacity),
            counted: now,
        }
    }

    /// Takes a token if there is one: `true` means "answer", `false` means "drop it".
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.counted).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.counted = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, 10, start);
        let taken = (0..100).filter(|_| bucket.take(start)).count();
        assert_eq!(taken, 3, "a burst of at most the capacity");
        // 10 a second: one token every 100 ms.
        assert!(!bucket.take(start + Duration::from_millis(50)));
        assert!(bucket.take(start + Duration::from_millis(100)));
        assert!(!bucket.take(start + Duration::from_millis(100)));
        // A long quiet time fills the bucket, but never above its capacity.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..100).filter(|_| bucket.take(later)).count(), 3);
    }

    #[test]
    fn a_clock_that_goes_backwards_gives_nothing_and_breaks_nothing() {
        let start = Instant::now() + Duration::from_secs(1);
        let mut bucket = TokenBucket::new(1, 1, start);
        assert!(bucket.take(start));
        assert!(!bucket.take(start - Duration::from_secs(1)));
    }
}
