//! What the roles of lesson 03 agree on: how big a datagram can be, which local address
//! a client binds, and how a client tells the echo of its message from anything else.

use shared::encoding::display;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

// ANCHOR: sizes
/// The most bytes one UDP datagram can carry over IPv4: an IPv4 packet is at most 65,535
/// bytes long (its length field has 16 bits), minus 20 bytes of IPv4 header and 8 of UDP
/// header. One byte more and `send_to` fails with `EMSGSIZE` ("Message too long").
pub const MAX_IPV4_PAYLOAD: usize = 65_535 - 20 - 8;

/// The same over IPv6: its 16-bit payload length does not count the 40-byte IPv6 header,
/// only the 8 bytes of UDP header. (Jumbograms, RFC 2675, go further; nobody uses them.)
pub const MAX_IPV6_PAYLOAD: usize = 65_535 - 8;

/// The server's receive buffer unless `--buffer` says otherwise: 65,535 bytes, more than
/// any datagram can carry, so by default nothing is ever cut. (The classic tutorial's
/// `recvfrom(1024)` cuts everything past 1 KiB, silently.)
pub const DEFAULT_BUFFER: usize = 65_535;
// ANCHOR_END: sizes

/// At most this many bytes of a datagram are printed; the rest is counted, so a
/// 65,507-byte datagram takes one line on screen.
pub const SHOWN: usize = 64;

/// A datagram as text for the screen: [`display`] of its first [`SHOWN`] bytes, and how
/// many more there are.
pub fn preview(bytes: &[u8]) -> String {
    match bytes.get(..SHOWN) {
        Some(shown) if bytes.len() > SHOWN => {
            format!(
                "{} ... ({} more bytes)",
                display(shown),
                bytes.len() - SHOWN
            )
        }
        _ => display(bytes),
    }
}

/// The largest datagram that can be sent to `peer`, by its address family.
pub fn max_payload(peer: SocketAddr) -> usize {
    match peer {
        SocketAddr::V4(_) => MAX_IPV4_PAYLOAD,
        SocketAddr::V6(_) => MAX_IPV6_PAYLOAD,
    }
}

/// The local address a client binds to talk to `peer`: the wildcard IP of the same family
/// and port 0, i.e. "any of my addresses, any free port: you choose". That is what C's
/// `sendto()` does by itself on a socket that was never bound (an implicit bind).
pub fn any_local_for(peer: SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

/// What a datagram that came back is, compared with the one we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Exactly our bytes: the echo.
    Echo,
    /// The first bytes of ours, and fewer of them: the server's buffer was smaller than our
    /// datagram and the rest was cut off.
    CutShort,
    /// Something else: a stranger's datagram, or a late echo of an earlier message.
    Other,
}

/// Compares what came back (`got`, from `from`) with what we sent (`sent`, to `server`).
pub fn classify(sent: &[u8], server: SocketAddr, got: &[u8], from: SocketAddr) -> Reply {
    if from != server {
        Reply::Other
    } else if got == sent {
        Reply::Echo
    } else if got.len() < sent.len() && sent.starts_with(got) {
        Reply::CutShort
    } else {
        Reply::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_of_a_datagram() {
        assert_eq!(MAX_IPV4_PAYLOAD, 65_507);
        assert_eq!(MAX_IPV6_PAYLOAD, 65_527);
        const { assert!(DEFAULT_BUFFER >= MAX_IPV6_PAYLOAD) };
        assert_eq!(max_payload("127.0.0.1:1".parse().unwrap()), 65_507);
        assert_eq!(max_payload("[::1]:1".parse().unwrap()), 65_527);
    }

    #[test]
    fn long_datagrams_are_previewed() {
        assert_eq!(preview(b"hi\xff"), "hi\\xff");
        assert_eq!(preview(&[b'a'; SHOWN]), "a".repeat(SHOWN));
        let long = preview(&[b'a'; SHOWN + 10]);
        assert_eq!(long, format!("{} ... (10 more bytes)", "a".repeat(SHOWN)));
    }

    #[test]
    fn the_client_binds_the_wildcard_of_the_servers_family() {
        let v4 = any_local_for("127.0.0.1:8080".parse().unwrap());
        assert_eq!(v4, "0.0.0.0:0".parse().unwrap());
        let v6 = any_local_for("[::1]:8080".parse().unwrap());
        assert_eq!(v6, "[::]:0".parse().unwrap());
    }

    #[test]
    fn replies_are_told_apart() {
        let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:9999".parse().unwrap();
        assert_eq!(classify(b"hello", server, b"hello", server), Reply::Echo);
        assert_eq!(classify(b"", server, b"", server), Reply::Echo);
        assert_eq!(classify(b"hello", server, b"hel", server), Reply::CutShort);
        assert_eq!(classify(b"hello", server, b"", server), Reply::CutShort);
        assert_eq!(classify(b"hello", server, b"world", server), Reply::Other);
        assert_eq!(classify(b"hello", server, b"hello!", server), Reply::Other);
        assert_eq!(classify(b"hello", server, b"hello", stranger), Reply::Other);
    }
}
