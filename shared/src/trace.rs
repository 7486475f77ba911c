//! The dump that `--trace` prints: every segment or datagram, with its peer, its length,
//! and its bytes in hex and ASCII, the way `tcpdump -X` or `xxd` shows them.
//!
//! ```text
//! --> 127.0.0.1:8888  6 bytes
//!     0000  68 65 6c 6c 6f 0a                                 hello.
//! ```
//!
//! `-->` is a send, `<--` a receive. Traces go to stderr, so stdout stays the
//! conversation (and its first line stays the readiness line).

use std::fmt::Write as _;
use std::net::SocketAddr;

/// Bytes per dump line, as in `xxd` and `hexdump -C`.
pub const BYTES_PER_LINE: usize = 16;

/// At most this many bytes are dumped per packet; the rest is counted, not shown, so a
/// 64 KiB TFTP block does not fill the screen.
pub const DEFAULT_LIMIT: usize = 256;

/// Which way the bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We sent them (`-->`).
    Sent,
    /// We received them (`<--`).
    Received,
}

impl Direction {
    fn arrow(self) -> &'static str {
        match self {
            Direction::Sent => "-->",
            Direction::Received => "<--",
        }
    }
}

/// Formats one packet: a header line and up to `limit` bytes as hex + ASCII lines.
pub fn format(direction: Direction, peer: SocketAddr, bytes: &[u8], limit: usize) -> String {
    let mut out = format!("{} {peer}  {} bytes\n", direction.arrow(), bytes.len());
    let shown = &bytes[..bytes.len().min(limit)];
    for (i, line) in shown.chunks(BYTES_PER_LINE).enumerate() {
        let _ = write!(out, "    {:04x}  ", i * BYTES_PER_LINE);
        for column in 0..BYTES_PER_LINE {
            match line.get(column) {
                Some(byte) => {
                    let _ = write!(out, "{byte:02x} ");
                }
                None => out.push_str("   "),
            }
            if column == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        // Printable ASCII as itself, everything else as a dot.
        out.extend(line.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    if bytes.len() > shown.len() {
        let _ = writeln!(out, "    ... {} more bytes", bytes.len() - shown.len());
    }
    out
}

/// What a role keeps to honour its `--trace` flag: off, it does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracer {
    enabled: bool,
}

impl Tracer {
    /// A tracer that prints when `enabled` (pass the `--trace` flag).
    pub fn new(enabled: bool) -> Self {
        Tracer { enabled }
    }

    /// Whether `--trace` is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Call right after a successful send of `bytes` to `peer`.
    pub fn sent(&self, peer: SocketAddr, bytes: &[u8]) {
        self.print(Direction::Sent, peer, bytes);
    }

    /// Call right after receiving `bytes` from `peer`.
    pub fn received(&self, peer: SocketAddr, bytes: &[u8]) {
        self.print(Direction::Received, peer, bytes);
    }

    fn print(&self, direction: Direction, peer: SocketAddr, bytes: &[u8]) {
        if self.enabled {
            // One eprint! call per packet, so dumps from two threads never interleave.
            eprint!("{}", format(direction, peer, bytes, DEFAULT_LIMIT));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:8888".parse().unwrap()
    }

    #[test]
    fn short_packet() {
        assert_eq!(
            format(Direction::Sent, peer(), b"hello\n", 256),
            "--> 127.0.0.1:8888  6 bytes\n    0000  68 65 6c 6c 6f 0a                                 hello.\n"
        );
    }

    #[test]
    fn two_lines_and_the_gap_after_eight_bytes() {
        let bytes: Vec<u8> = (0x41..0x41 + 17).collect();
        let text = format(Direction::Received, peer(), &bytes, 256);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "<-- 127.0.0.1:8888  17 bytes");
        assert_eq!(
            lines[1],
            "    0000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP"
        );
        assert_eq!(
            lines[2].trim_end(),
            "    0010  51                                                Q"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn long_packets_are_cut_and_counted() {
        let text = format(Direction::Sent, peer(), &[0u8; 100], 32);
        assert_eq!(text.lines().count(), 4);
        assert!(text.ends_with("    ... 68 more bytes\n"));
    }

    #[test]
    fn empty_packet_is_only_a_header() {
        let text = format(Direction::Sent, "[::1]:69".parse().unwrap(), b"", 256);
        assert_eq!(text, "--> [::1]:69  0 bytes\n");
    }
}
