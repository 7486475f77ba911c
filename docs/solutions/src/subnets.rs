//! Background, IP addresses, "Try it": is an address private, how many hosts fit in a
//! prefix, are two addresses on the same network?
//!
//! The answers to the chapter's questions are the tests at the bottom: `172.31.255.1` is
//! private and `172.32.0.1` is not (a `/12` fixes the first 12 bits: `172.16` to
//! `172.31`); a `/26` holds 62 hosts, a `/30` two.

use std::net::Ipv4Addr;

/// The mask of a prefix length (`/24` is `255.255.255.0`); `None` above 32.
pub fn mask(prefix: u8) -> Option<u32> {
    match prefix {
        0 => Some(0),
        1..=32 => Some(u32::MAX << (32 - prefix)),
        _ => None,
    }
}

/// Whether `address` is inside `network/prefix`.
pub fn contains(network: Ipv4Addr, prefix: u8, address: Ipv4Addr) -> bool {
    mask(prefix).is_some_and(|m| u32::from(network) & m == u32::from(address) & m)
}

/// RFC 1918's private ranges: 10/8, 172.16/12, 192.168/16.
pub fn is_private(address: Ipv4Addr) -> bool {
    contains(Ipv4Addr::new(10, 0, 0, 0), 8, address)
        || contains(Ipv4Addr::new(172, 16, 0, 0), 12, address)
        || contains(Ipv4Addr::new(192, 168, 0, 0), 16, address)
}

/// Usable host addresses in a `/prefix`: all of them but the network and broadcast
/// addresses. (`/31` point-to-point links and `/32` single hosts are the exceptions RFC
/// 3021 allows; here they count 2 and 1.)
pub fn hosts(prefix: u8) -> Option<u64> {
    match prefix {
        0..=30 => Some((1u64 << (32 - prefix)) - 2),
        31 => Some(2),
        32 => Some(1),
        _ => None,
    }
}

/// Whether two hosts with the same prefix length talk directly (same network) or through
/// the gateway.
pub fn same_network(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    contains(a, prefix, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chapters_questions() {
        assert!(is_private(Ipv4Addr::new(172, 31, 255, 1)));
        assert!(!is_private(Ipv4Addr::new(172, 32, 0, 1)));
        assert_eq!(hosts(26), Some(62));
        assert_eq!(hosts(30), Some(2));
        assert_eq!(hosts(24), Some(254));
    }

    #[test]
    fn private_loopback_and_public() {
        for private in ["10.1.2.3", "192.168.1.37", "172.16.0.1"] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["127.0.0.1", "8.8.8.8", "192.169.0.1", "11.0.0.1"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
        // The standard library agrees.
        for text in ["172.31.255.1", "172.32.0.1", "10.0.0.0", "9.255.255.255"] {
            let address: Ipv4Addr = text.parse().unwrap();
            assert_eq!(is_private(address), address.is_private(), "{text}");
        }
    }

    #[test]
    fn masks_and_networks() {
        assert_eq!(mask(24), Some(0xffff_ff00));
        assert_eq!(mask(0), Some(0));
        assert_eq!(mask(32), Some(u32::MAX));
        assert_eq!(mask(33), None);
        let a = Ipv4Addr::new(192, 168, 1, 37);
        assert!(same_network(a, Ipv4Addr::new(192, 168, 1, 200), 24));
        assert!(!same_network(a, Ipv4Addr::new(192, 168, 1, 200), 25));
        assert!(!same_network(a, Ipv4Addr::new(192, 168, 2, 1), 24));
        assert!(contains(
            Ipv4Addr::new(127, 0, 0, 0),
            8,
            Ipv4Addr::new(127, 255, 255, 255)
        ));
    }
}
