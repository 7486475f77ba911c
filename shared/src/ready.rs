//! The readiness line: `listening on IP:PORT`.
//!
//! Every role that binds prints it as its FIRST line on stdout, with the address the
//! operating system really gave it (so `--addr 127.0.0.1:0` shows the port it picked).
//! xtask and the tests wait for this line instead of sleeping: the moment it is printed,
//! the socket is bound (and, for TCP, listening), so connecting cannot race the server.

use std::io::Write;
use std::net::SocketAddr;

/// The words before the address.
pub const PREFIX: &str = "listening on ";

/// The readiness line for `addr`, without the newline.
pub fn line(addr: SocketAddr) -> String {
    format!("{PREFIX}{addr}")
}

/// Prints the readiness line and flushes stdout at once, so a program reading our
/// stdout through a pipe sees it now and not when a buffer fills.
pub fn announce(addr: SocketAddr) {
    println!("{}", line(addr));
    // A failed flush means stdout is gone (the reader quit); nothing useful to do.
    let _ = std::io::stdout().flush();
}

/// Reads the address back out of a readiness line; `None` for any other line.
pub fn parse(line: &str) -> Option<SocketAddr> {
    line.trim_end().strip_prefix(PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_v4_and_v6() {
        for text in ["127.0.0.1:8888", "[::1]:40000", "0.0.0.0:6868"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(line(addr), format!("listening on {text}"));
            assert_eq!(parse(&line(addr)), Some(addr));
        }
        assert_eq!(
            parse("listening on 127.0.0.1:1\r\n"),
            Some("127.0.0.1:1".parse().unwrap())
        );
    }

    #[test]
    fn other_lines_are_not_readiness() {
        for text in [
            "",
            "listening on",
            "listening on nowhere",
            "hello 127.0.0.1:1",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }
}
