//! One-line errors that say what failed, where, and what to try next: the hint fits the
//! error's kind (refused, in use, privileged port, not our address).

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

/// The error for a failed `bind()` to `addr`, with the hint that fits what the operating
/// system said. `flag` is the option that picks the address (`--addr`, `--bind`), so the
/// hint can show the fix as the student would type it.
///
/// - in use: another program has the port (`ss -lntup` shows which);
/// - permission denied below port 1024: those ports need privileges, so use a higher one;
/// - not available: the IP is not an address of this machine.
pub fn cannot_bind(addr: SocketAddr, err: io::Error, flag: &str) -> anyhow::Error {
    let ip = addr.ip();
    let port = addr.port();
    let hint = match err.kind() {
        ErrorKind::AddrInUse => format!(
            "another program has port {port}: stop it (`ss -lntup` shows which), or pick \
             another port, e.g. {flag} {}",
            SocketAddr::new(ip, 0)
        ),
        ErrorKind::PermissionDenied if port != 0 && port < 1024 => format!(
            "ports below 1024 need administrator rights: use a higher port, e.g. {flag} {}",
            SocketAddr::new(ip, port.saturating_add(8000))
        ),
        ErrorKind::AddrNotAvailable => format!(
            "{ip} is not an address of this machine: use 127.0.0.1, 0.0.0.0, or one that \
             `ip addr` (Windows: `ipconfig`) lists"
        ),
        _ => format!("check {flag}"),
    };
    anyhow::anyhow!("cannot bind {addr}: {err} ({hint})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind_hint(addr: &str, kind: ErrorKind) -> String {
        cannot_bind(addr.parse().unwrap(), io::Error::from(kind), "--addr").to_string()
    }

    #[test]
    fn each_bind_error_gets_its_own_hint() {
        let text = bind_hint("127.0.0.1:8888", ErrorKind::AddrInUse);
        assert!(text.starts_with("cannot bind 127.0.0.1:8888: "), "{text}");
        assert!(
            text.contains("another program has port 8888") && text.contains("--addr 127.0.0.1:0"),
            "{text}"
        );
        let text = bind_hint("127.0.0.1:80", ErrorKind::PermissionDenied);
        assert!(
            text.contains("ports below 1024 need administrator rights")
                && text.contains("--addr 127.0.0.1:8080"),
            "{text}"
        );
        assert!(!text.contains("another program"), "{text}");
        let text = bind_hint("10.1.2.3:8888", ErrorKind::AddrNotAvailable);
        assert!(
            text.contains("10.1.2.3 is not an address of this machine"),
            "{text}"
        );
        // Permission denied on a high port is not about privileged ports.
        let text = bind_hint("127.0.0.1:5000", ErrorKind::PermissionDenied);
        assert!(!text.contains("below 1024"), "{text}");
        for kind in [
            ErrorKind::AddrInUse,
            ErrorKind::PermissionDenied,
            ErrorKind::Other,
        ] {
            let text = bind_hint("[::1]:53", kind);
            assert_eq!(text.lines().count(), 1, "{text}");
            assert_eq!(
                text.matches("[::1]:53").count(),
                1,
                "each value once: {text}"
            );
        }
    }

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
