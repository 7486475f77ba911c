//! The protocol of lesson 02, shared by the server and the client. Each message is a
//! line (`--framing line`, the default) or, as in the tutorial's programs, one bare read
//! (`--framing none`); the framing itself is lesson 01's (`tcp_basic::framing`).
//!
//! ```text
//! server: Welcome!            (as soon as the client is accepted)
//! client: Ada
//! server: Hello, Ada!
//! client: exit                (or it closes the connection)
//! ```

/// The greeting the server sends first.
pub const WELCOME: &[u8] = b"Welcome!";

/// The message that ends a conversation, from the tutorial this lesson follows.
pub const EXIT: &[u8] = b"exit";

/// The longest line the server accepts: 64 KiB. A client that sends more without a line
/// end gets an error line and is disconnected, so it cannot make the server buffer
/// without end.
pub const MAX_LINE: usize = 64 * 1024;

/// The answer to a name: `Hello, X!`. It is built from the name's bytes as they came,
/// so it is right in any encoding that writes ASCII as itself (UTF-8 and GBK both do),
/// and a byte that is not text is sent back, not replaced.
pub fn reply(name: &[u8]) -> Vec<u8> {
    [b"Hello, ", name, b"!"].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_messages() {
        assert_eq!(WELCOME, b"Welcome!");
        assert_eq!(reply(b"Ada"), b"Hello, Ada!");
        assert_eq!(reply(b""), b"Hello, !");
        // GBK 玫瑰 (rose), byte for byte.
        assert_eq!(reply(b"\xc3\xb5\xb9\xe5"), b"Hello, \xc3\xb5\xb9\xe5!");
    }
}
