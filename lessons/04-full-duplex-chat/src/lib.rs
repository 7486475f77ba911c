//! What the two roles of lesson 04 agree on: their default addresses, what a typed line
//! becomes before it is sent, and the word that ends the chat.
//!
//! There is no wire format to agree on: UDP keeps message boundaries (one `send` is one
//! datagram is one `recv`), so a datagram *is* a message, and it holds the typed line as
//! typed, without its line end. That is what the tutorials' chat, `nc -u` and NetAssist
//! (网络调试助手) send and expect. Only the encoding of the text must match on both sides.

use shared::encoding::Encoding;
use std::net::SocketAddr;

/// Which of the two roles runs. They are the same program; the role only picks the
/// defaults: alice binds 127.0.0.1:9090 and talks to :9091, bob the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Alice,
    Bob,
}

impl Side {
    /// The role's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Side::Alice => "alice",
            Side::Bob => "bob",
        }
    }

    /// The role at the other end.
    pub fn other(self) -> Side {
        match self {
            Side::Alice => Side::Bob,
            Side::Bob => Side::Alice,
        }
    }

    /// Where this role binds by default, which is the other role's default `--peer`.
    pub fn default_addr(self) -> SocketAddr {
        let text = match self {
            Side::Alice => shared::addr::CHAT_ALICE,
            Side::Bob => shared::addr::CHAT_BOB,
        };
        text.parse()
            .expect("shared::addr's table holds valid addresses")
    }
}

/// The command that starts the missing peer: just its role when both sides use the
/// defaults, else with the addresses that make it talk to us.
pub fn start_other_side(side: Side, local: SocketAddr, peer: SocketAddr) -> String {
    let other = side.other();
    let mut command = format!("cargo run -p full-duplex-chat -- {}", other.name());
    if peer != other.default_addr() || local != side.default_addr() {
        command += &format!(" --bind {peer} --peer {local}");
    }
    command
}

/// The line that ends our program (blanks around it are forgiven). It is never sent:
/// quitting is local, since a plain-text peer would only show it as a message. End of
/// input (Ctrl-D, Ctrl-Z on Windows) does the same.
pub const QUIT: &[u8] = b"/quit";

/// Whether a typed line asks to leave: `/quit`, blanks around it forgiven.
pub fn is_quit(line: &[u8]) -> bool {
    line.trim_ascii() == QUIT
}

// ANCHOR: datagram
/// The datagram for one typed line (already without its line end): the line itself in
/// UTF-8, or converted to GBK. A terminal gives us UTF-8 (Rust's console reads on
/// Windows too), so with `gbk` a line that is not UTF-8 cannot be converted, and an error
/// says so instead of sending bytes the other side cannot read.
pub fn datagram(line: &[u8], encoding: Encoding) -> Result<Vec<u8>, String> {
    match encoding {
        Encoding::Utf8 | Encoding::Auto => Ok(line.to_vec()),
        Encoding::Gbk => match std::str::from_utf8(line) {
            Ok(text) => encoding.encode(text),
            Err(_) => Err("the line is not UTF-8 text, so it cannot be converted to GBK".into()),
        },
    }
}
// ANCHOR_END: datagram

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// Two terminals work with no arguments: each role's defaults are the other's peer.
    #[test]
    fn defaults_pair_up() {
        assert_eq!(Side::Alice.default_addr(), at("127.0.0.1:9090"));
        assert_eq!(Side::Bob.default_addr(), at("127.0.0.1:9091"));
        assert_eq!(Side::Alice.other(), Side::Bob);
        assert_eq!(Side::Bob.other(), Side::Alice);
    }

    #[test]
    fn the_hint_names_the_other_role_and_only_the_flags_it_needs() {
        let (alice, bob) = (Side::Alice.default_addr(), Side::Bob.default_addr());
        assert_eq!(
            start_other_side(Side::Alice, alice, bob),
            "cargo run -p full-duplex-chat -- bob"
        );
        assert_eq!(
            start_other_side(Side::Bob, bob, alice),
            "cargo run -p full-duplex-chat -- alice"
        );
        assert_eq!(
            start_other_side(Side::Alice, at("127.0.0.1:4000"), bob),
            "cargo run -p full-duplex-chat -- bob --bind 127.0.0.1:9091 --peer 127.0.0.1:4000"
        );
    }

    #[test]
    fn quit_line() {
        for line in ["/quit", " /quit ", "/quit\r"] {
            assert!(is_quit(line.as_bytes()), "{line:?}");
        }
        for line in ["", "quit", "/quit now", "/QUIT", "/q"] {
            assert!(!is_quit(line.as_bytes()), "{line:?}");
        }
    }

    /// Byte fixtures: the line as typed, and `你好` in GBK as the tutorials'
    /// `'你好'.encode('gbk')` gives it.
    #[test]
    fn the_datagram_is_the_line_in_the_chosen_encoding() {
        assert_eq!(
            datagram(b"hello bob", Encoding::Utf8).unwrap(),
            b"hello bob"
        );
        assert_eq!(datagram(b"", Encoding::Utf8).unwrap(), b"");
        assert_eq!(
            datagram("你好".as_bytes(), Encoding::Utf8).unwrap(),
            b"\xe4\xbd\xa0\xe5\xa5\xbd"
        );
        assert_eq!(
            datagram("你好".as_bytes(), Encoding::Gbk).unwrap(),
            b"\xc4\xe3\xba\xc3"
        );
        assert_eq!(datagram(b"\xff raw", Encoding::Utf8).unwrap(), b"\xff raw");
        let err = datagram(b"\xff raw", Encoding::Gbk).unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
        let err = datagram("😀".as_bytes(), Encoding::Gbk).unwrap_err();
        assert!(err.contains("GBK"), "{err}");
    }
}
