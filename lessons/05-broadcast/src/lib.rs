//! What the roles of lesson 05 agree on: the IPMsg packet format ([`ipmsg`]), subnet
//! arithmetic for directed broadcast addresses ([`netmask`]), the listener's limit on
//! answers ([`rate`]), and who we say we are.
//!
//! The modules are pure: no sockets, so they are tested with byte fixtures and plain
//! numbers, and can be reused by anyone (the book's chapters too).

pub mod ipmsg;
pub mod netmask;
pub mod rate;

pub use netmask::Subnet;

/// The user name we put in our packets: `$USER` (`$USERNAME` on Windows), else `student`.
/// A `:` would break the packet format, so it becomes `_`.
pub fn default_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    usable_name(&user, "student")
}

/// The host name we put in our packets: the kernel's (`/proc/sys/kernel/hostname` on
/// Linux, `$HOSTNAME` or `$COMPUTERNAME` elsewhere), else `localhost`. std has no
/// portable `gethostname()`.
pub fn default_host() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_default();
    usable_name(&host, "localhost")
}

/// `name` trimmed, with the characters that would break an IPMsg packet replaced, or
/// `fallback` if nothing is left.
fn usable_name(name: &str, fallback: &str) -> String {
    let name = name.trim().replace([':', '\n', '\r', '\0'], "_");
    if name.is_empty() {
        fallback.to_string()
    } else {
        name
    }
}

/// The first packet number: IPMsg clients start from the current time in seconds, so a
/// restarted client does not reuse the numbers of its previous run; then they count up.
pub fn first_packet_no() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_break_a_packet() {
        assert_eq!(usable_name(" alice\n", "x"), "alice");
        assert_eq!(usable_name("a:b", "x"), "a_b");
        assert_eq!(usable_name("  ", "student"), "student");
        for name in [default_user(), default_host()] {
            let packet = ipmsg::Packet::new(
                1,
                name.as_str(),
                name.as_str(),
                ipmsg::BR_ENTRY,
                name.as_str(),
            );
            assert!(packet.emit().is_ok(), "{name:?}");
        }
        assert!(first_packet_no() > 1_600_000_000);
    }
}
