//! What the roles of lesson 03 agree on: how big a datagram can be, which local address
//! a client binds, how a client tells the echo of its message from anything else, and how
//! a datagram and the time it came are shown.

use shared::encoding::Encoding;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// A datagram as text for the screen: its first [`SHOWN`] bytes decoded as `encoding`
/// (what cannot be decoded shown as `\xNN`), and how many more bytes there are.
pub fn preview(bytes: &[u8], encoding: Encoding) -> String {
    match bytes.get(..SHOWN) {
        Some(shown) if bytes.len() > SHOWN => {
            format!(
                "{} ... ({} more bytes)",
                encoding.display(shown),
                bytes.len() - SHOWN
            )
        }
        _ => encoding.display(bytes),
    }
}

// ANCHOR: encode
/// The bytes to send for one typed `line` (its line end already cut off). In UTF-8 the
/// line goes as typed, byte for byte; for GBK it must be text first (what a Linux or macOS
/// terminal types is UTF-8), then each character becomes its GBK bytes. The error says
/// why this line cannot be sent; the caller reports it and goes on with the next line.
pub fn encode_line(line: &[u8], encoding: Encoding) -> Result<Vec<u8>, String> {
    match encoding {
        Encoding::Utf8 | Encoding::Auto => Ok(line.to_vec()),
        Encoding::Gbk => match std::str::from_utf8(line) {
            Ok(text) => encoding.encode(text),
            Err(_) => Err(format!(
                "{} is not UTF-8 text, so it cannot be turned into GBK: type it in a UTF-8 \
                 terminal, or send the bytes as they are with --encoding utf-8",
                Encoding::Utf8.display(line)
            )),
        },
    }
}
// ANCHOR_END: encode

/// The longest `--timeout` we take: an hour is already more than anyone waits for a
/// datagram, and a bound keeps `Instant::now() + timeout` far from overflowing.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Reads a `--timeout` (`300ms`, `2s`, `5m`, with [`shared::duration::parse`]): more than
/// zero, since a zero wait could never see an answer, and at most [`MAX_TIMEOUT`].
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let time = shared::duration::parse(text)?;
    if time.is_zero() {
        return Err(format!("`{text}` is no time to wait: give at least 1ms"));
    }
    if time > MAX_TIMEOUT {
        return Err(format!("`{text}` is longer than the most we wait, 1h"));
    }
    Ok(time)
}

/// The time of day of `when` as `HH:MM:SS`, in UTC. std knows no time zones (a program
/// that shows local time asks the OS's time zone database, e.g. with the `jiff` or
/// `chrono` crate), so callers say `UTC` next to it.
pub fn clock(when: SystemTime) -> String {
    let secs = when.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
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
        let utf8 = Encoding::Utf8;
        assert_eq!(preview(b"hi\xff", utf8), "hi\\xff");
        assert_eq!(preview(&[b'a'; SHOWN], utf8), "a".repeat(SHOWN));
        let long = preview(&[b'a'; SHOWN + 10], utf8);
        assert_eq!(long, format!("{} ... (10 more bytes)", "a".repeat(SHOWN)));
    }

    /// `你好` in GBK is c4 e3 ba c3; the same bytes are not UTF-8.
    const NI_HAO_GBK: &[u8] = b"\xc4\xe3\xba\xc3";

    #[test]
    fn gbk_datagrams_are_shown_as_text_only_when_asked() {
        assert_eq!(preview(NI_HAO_GBK, Encoding::Gbk), "你好");
        assert_eq!(preview(NI_HAO_GBK, Encoding::Auto), "你好");
        assert_eq!(preview(NI_HAO_GBK, Encoding::Utf8), "\\xc4\\xe3\\xba\\xc3");
        // UTF-8 `你好` (e4 bd a0 e5 a5 bd) read as GBK is mojibake, not an error:
        // the wrong encoding gives wrong characters, and nothing says so.
        let utf8 = "你好".as_bytes();
        assert_eq!(preview(utf8, Encoding::Auto), "你好");
        assert_ne!(preview(utf8, Encoding::Gbk), "你好");
        // A GBK character cut in two by the preview's limit: the half is escaped.
        let mut long = vec![b'a'; SHOWN - 1];
        long.extend_from_slice(NI_HAO_GBK);
        let shown = preview(&long, Encoding::Gbk);
        assert!(shown.ends_with("a\\xc4 ... (3 more bytes)"), "{shown}");
    }

    #[test]
    fn typed_lines_become_the_encodings_bytes() {
        assert_eq!(
            encode_line("你好".as_bytes(), Encoding::Gbk).unwrap(),
            NI_HAO_GBK
        );
        assert_eq!(
            encode_line("你好".as_bytes(), Encoding::Utf8).unwrap(),
            "你好".as_bytes()
        );
        assert_eq!(encode_line(b"hi", Encoding::Gbk).unwrap(), b"hi");
        // UTF-8 sends the bytes as typed, even when they are not text.
        assert_eq!(encode_line(b"\xff", Encoding::Utf8).unwrap(), b"\xff");
        // GBK has no emoji: the error names the character and what to do.
        let err = encode_line("hi 😀".as_bytes(), Encoding::Gbk).unwrap_err();
        assert!(err.contains("`😀` cannot be written in GBK"), "{err}");
        assert!(err.contains("--encoding utf-8"), "{err}");
        let err = encode_line(b"\xc4\xe3", Encoding::Gbk).unwrap_err();
        assert!(err.starts_with("\\xc4\\xe3 is not UTF-8 text"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn a_timeout_has_a_unit_and_is_neither_zero_nor_endless() {
        assert_eq!(parse_timeout("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_timeout("1h"), Ok(MAX_TIMEOUT));
        for (text, said) in [
            ("300", "no unit"),
            ("0s", "no time to wait"),
            ("2h", "longer than the most we wait"),
            ("99999999999999s", "longer than the most we wait"),
            ("soon", "not a time"),
        ] {
            let err = parse_timeout(text).unwrap_err();
            assert!(err.contains(said), "{text}: {err}");
        }
    }

    #[test]
    fn the_clock_shows_utc_hours_minutes_seconds() {
        let at = |secs| clock(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "00:00:00");
        assert_eq!(at(3_600 + 2 * 60 + 3), "01:02:03");
        assert_eq!(at(86_400 * 20_000 + 23 * 3_600 + 59 * 60 + 59), "23:59:59");
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
