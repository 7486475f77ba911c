//! Default addresses, one table for the whole course, and `IP:PORT` parsing.
//!
//! Every default is on loopback, so a lesson run with no arguments talks only to this
//! machine. The ports follow the classic tutorials where they fit; TFTP's real port is 69,
//! but ports below 1024 need root, so the course uses 6969.

use std::net::{SocketAddr, ToSocketAddrs};

/// 01-tcp-basic: the server's address.
pub const TCP_BASIC: &str = "127.0.0.1:8888";
/// 02-threaded-server: the server's address.
pub const THREADED_SERVER: &str = "127.0.0.1:1234";
/// 03-udp-echo: the server's address.
pub const UDP_ECHO: &str = "127.0.0.1:8080";
/// 04-full-duplex-chat: the first peer ("alice") binds here...
pub const CHAT_ALICE: &str = "127.0.0.1:9090";
/// ...and the second peer ("bob") here; each one's `--peer` defaults to the other.
pub const CHAT_BOB: &str = "127.0.0.1:9091";
/// 05-broadcast: listeners bind every local address on this port.
pub const BROADCAST_LISTEN: &str = "0.0.0.0:6868";
/// 05-broadcast: where `announce` sends by default: loopback's broadcast address, the one
/// that works on a single Linux machine with no network at all.
pub const BROADCAST_TARGET: &str = "127.255.255.255:6868";
/// 06-tftp: the server's address (69 is TFTP's real port, and needs root).
pub const TFTP: &str = "127.0.0.1:6969";
/// 07-event-loop: the server's address (lesson 02's port plus one, so both can run).
pub const EVENT_LOOP: &str = "127.0.0.1:1235";

/// Every default above, for the test that proves each one parses.
pub const ALL_DEFAULTS: &[&str] = &[
    TCP_BASIC,
    THREADED_SERVER,
    UDP_ECHO,
    CHAT_ALICE,
    CHAT_BOB,
    BROADCAST_LISTEN,
    BROADCAST_TARGET,
    TFTP,
    EVENT_LOOP,
];

/// Parses `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT` into one socket address.
///
/// Built to be a clap `value_parser`, so a bad `--addr` is refused before the program
/// starts, with an error that shows the right form. A host name is looked up (the first
/// address wins; `localhost` may give `::1` or `127.0.0.1`).
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if text.is_empty() {
        return Err("the address is empty: write IP:PORT, e.g. 127.0.0.1:8888".into());
    }
    // The common mistakes, each with the form that works.
    if text.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(format!(
            "`{text}` has no port: write IP:PORT, e.g. {text}:8888"
        ));
    }
    if text.parse::<std::net::Ipv6Addr>().is_ok() || text.matches(':').count() > 1 {
        if !text.starts_with('[') {
            return Err(format!(
                "`{text}`: put an IPv6 address in brackets before the port, e.g. [::1]:8888"
            ));
        }
        return Err(format!(
            "`{text}` is not an [IPv6]:PORT address, e.g. [::1]:8888"
        ));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "`{text}` has no port: write HOST:PORT, e.g. 127.0.0.1:8888"
        ));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "`{port}` in `{text}` is not a port: use a number from 0 to 65535"
        ));
    }
    if host.is_empty() {
        return Err(format!("`{text}` has no host: e.g. 127.0.0.1{text}"));
    }
    // A name: ask the resolver (getaddrinfo), which may read /etc/hosts or ask DNS.
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("`{host}` resolved to no address")),
        Err(err) => Err(format!(
            "cannot resolve `{host}` ({err}); try an IP address such as 127.0.0.1"
        )),
    }
}

/// The port part of one of the defaults above, e.g. `port_of(TFTP) == 6969`.
pub fn port_of(default: &str) -> u16 {
    default
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses_and_is_loopback_or_wildcard() {
        for text in ALL_DEFAULTS {
            let addr = parse(text).unwrap();
            assert_ne!(addr.port(), 0, "{text}");
            let ip = addr.ip();
            assert!(
                ip.is_loopback() || ip.is_unspecified() || text == &BROADCAST_TARGET,
                "{text}"
            );
        }
        assert_eq!(port_of(TFTP), 6969);
        assert_eq!(port_of(TCP_BASIC), 8888);
    }

    #[test]
    fn ipv4_and_ipv6_forms() {
        assert_eq!(parse("127.0.0.1:0").unwrap().port(), 0);
        let v6 = parse("[::1]:8888").unwrap();
        assert!(v6.is_ipv6() && v6.ip().is_loopback());
        assert!(parse("[::]:1234").unwrap().ip().is_unspecified());
        assert!(
            parse(" 127.0.0.1:80 ").is_ok(),
            "surrounding blanks are forgiven"
        );
    }

    #[test]
    fn mistakes_get_errors_that_show_the_right_form() {
        let cases = [
            ("", "empty"),
            ("127.0.0.1", "no port"),
            ("::1", "brackets"),
            ("::1:8888", "brackets"),
            ("127.0.0.1:99999", "not a port"),
            ("127.0.0.1:http", "not a port"),
            (":8888", "no host"),
            ("[::1]8888", "IPv6"),
        ];
        for (input, expected) in cases {
            let err = parse(input).unwrap_err();
            assert!(err.contains(expected), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn localhost_resolves_to_loopback() {
        let addr = parse("localhost:8888").unwrap();
        assert!(addr.ip().is_loopback());
        assert_eq!(addr.port(), 8888);
    }
}
