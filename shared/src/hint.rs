//! One-line errors that say what failed, where, and what to try next.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;

/// The error for a failed `connect()` to `server`: what the operating system said, and,
/// when nobody listens there, the command that starts the server (`start_server`, e.g.
/// `cargo run -p tcp-basic -- server`).
pub fn cannot_connect(server: SocketAddr, err: io::Error, start_server: &str) -> anyhow::Error {
    let hint = match err.kind() {
        ErrorKind::ConnectionRefused => {
            format!("nobody listens there; is the server running? start it with: {start_server}")
        }
        ErrorKind::TimedOut => "no answer; check the address, and that no firewall drops it".into(),
        _ => "check the address, and that the server is running".into(),
    };
    anyhow::anyhow!("cannot connect to {server}: {err} ({hint})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_names_the_command_that_starts_the_server() {
        let server: SocketAddr = "127.0.0.1:8888".parse().unwrap();
        let err = io::Error::from(ErrorKind::ConnectionRefused);
        let text = cannot_connect(server, err, "cargo run -p tcp-basic -- server").to_string();
        assert!(
            text.starts_with("cannot connect to 127.0.0.1:8888: "),
            "{text}"
        );
        assert!(
            text.ends_with("(nobody listens there; is the server running? start it with: cargo run -p tcp-basic -- server)"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn other_errors_get_a_general_hint() {
        let server: SocketAddr = "[::1]:1".parse().unwrap();
        let text =
            cannot_connect(server, io::Error::from(ErrorKind::PermissionDenied), "x").to_string();
        assert!(text.contains("check the address"), "{text}");
    }
}
