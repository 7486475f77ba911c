//! Lesson 05, exercise 4: "Make `listen` keep a list of who is present (add on BR_ENTRY
//! and ANSENTRY, remove on BR_EXIT) and print it on each change. What happens to the list
//! if a client crashes without saying goodbye?"
//!
//! The list is a map from address to name, changed by three IPMsg commands (the low byte
//! of the command field: BR_ENTRY = 1, BR_EXIT = 2, ANSENTRY = 3). A crashed client never
//! sends BR_EXIT, so it stays in the list forever: a stale entry. Real IPMsg clients live
//! with it (a user refreshes, which broadcasts BR_ENTRY again and rebuilds the list from
//! the answers); other protocols send periodic "I am alive" packets and drop whoever
//! stayed silent too long. [`Presence::expire`] is that second cure.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// IPMsg command numbers (the low byte of the command field).
pub const BR_ENTRY: u32 = 0x01;
/// "I am leaving."
pub const BR_EXIT: u32 = 0x02;
/// "I am here too", the answer to a BR_ENTRY.
pub const ANSENTRY: u32 = 0x03;

/// Who is present: address, name, and when we last heard from them.
#[derive(Debug, Default)]
pub struct Presence {
    people: BTreeMap<SocketAddr, (String, Instant)>,
}

impl Presence {
    /// Applies one IPMsg packet `version:packet:user:host:command:extra` from `from`.
    /// Returns true if the list changed (then the listener prints it).
    pub fn apply(&mut self, from: SocketAddr, packet: &str, now: Instant) -> bool {
        let fields: Vec<&str> = packet.splitn(6, ':').collect();
        let (Some(user), Some(host), Some(command)) = (fields.get(2), fields.get(3), fields.get(4))
        else {
            return false;
        };
        let Ok(command) = command.parse::<u32>() else {
            return false;
        };
        let name = format!("{user}@{host}");
        match command & 0xff {
            BR_ENTRY | ANSENTRY => {
                let old = self.people.insert(from, (name.clone(), now));
                old.map(|(old_name, _)| old_name) != Some(name)
            }
            BR_EXIT => self.people.remove(&from).is_some(),
            _ => false,
        }
    }

    /// Forgets whoever has been silent for longer than `silence`; returns how many.
    pub fn expire(&mut self, now: Instant, silence: Duration) -> usize {
        let before = self.people.len();
        self.people
            .retain(|_, (_, seen)| now.saturating_duration_since(*seen) <= silence);
        before - self.people.len()
    }

    /// The names present, in address order.
    pub fn names(&self) -> Vec<&str> {
        self.people
            .values()
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn entry_answer_and_exit() {
        let now = Instant::now();
        let mut presence = Presence::default();
        assert!(presence.apply(addr(1), "1:100:alice:pc1:1:alice", now));
        assert!(presence.apply(addr(2), "1:7:bob:pc2:3:bob", now));
        assert!(
            !presence.apply(addr(2), "1:8:bob:pc2:3:bob", now),
            "no change, no print"
        );
        assert_eq!(presence.names(), ["alice@pc1", "bob@pc2"]);
        assert!(presence.apply(addr(1), "1:101:alice:pc1:2:", now));
        assert_eq!(presence.names(), ["bob@pc2"]);
        assert!(
            !presence.apply(addr(9), "1:1:x:y:2:", now),
            "exit of a stranger"
        );
    }

    #[test]
    fn option_bits_are_ignored_and_garbage_is_harmless() {
        let now = Instant::now();
        let mut presence = Presence::default();
        // BR_ENTRY with option bits set above the low byte.
        assert!(presence.apply(
            addr(1),
            &format!("1:1:carol:pc3:{}:carol", 0x0010_0001),
            now
        ));
        for junk in ["", "1:2:3", "1:1:u:h:notanumber:", "::::::"] {
            assert!(!presence.apply(addr(5), junk, now), "{junk:?}");
        }
        assert_eq!(presence.names(), ["carol@pc3"]);
    }

    #[test]
    fn a_crashed_client_stays_until_it_expires() {
        let start = Instant::now();
        let mut presence = Presence::default();
        presence.apply(addr(1), "1:1:alice:pc1:1:", start);
        presence.apply(addr(2), "1:1:bob:pc2:1:", start + Duration::from_secs(50));
        // alice crashed: no BR_EXIT ever comes. She is still listed...
        assert_eq!(presence.names().len(), 2);
        // ...until she has been silent for more than a minute.
        let later = start + Duration::from_secs(61);
        assert_eq!(presence.expire(later, Duration::from_secs(60)), 1);
        assert_eq!(presence.names(), ["bob@pc2"]);
    }
}
