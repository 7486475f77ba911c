//! The protocol of lesson 02, unchanged, and how this server finds messages in the
//! byte stream (`--framing`).
//!
//! ```text
//! server: Welcome!\n          (as soon as the client is accepted)
//! client: Ada\n
//! server: Hello, Ada!\n
//! client: exit\n              (or it closes the connection)
//! ```
//!
//! The original tutorial's client sends `Ada` with no line end and waits for the answer.
//! `--framing none` serves it: then whatever one `read` returned is one message, as in the
//! tutorial's server (lesson 01 shows why that breaks when two messages arrive together).

use shared::encoding::trim_newline;

/// The greeting the server sends first, without its line end.
pub const WELCOME: &[u8] = b"Welcome!";

/// The message that ends a conversation.
pub const EXIT: &[u8] = b"exit";

/// The longest line the server accepts: 64 KiB, as in lesson 02. A client that sends more
/// without a line end gets an error line and is closed, so it cannot make us buffer
/// without end.
pub const MAX_LINE: usize = 64 * 1024;

/// The answer to a message `name`: `Hello, name!`, without its line end.
pub fn reply(name: &[u8]) -> Vec<u8> {
    [b"Hello, ", name, b"!"].concat()
}

/// Appends the answer to `name`, framed, to `out`: the same bytes as
/// `framing.encode(&reply(name))`, with no `Vec` of its own (the server calls it for every
/// message).
pub fn write_reply(name: &[u8], framing: Framing, out: &mut Vec<u8>) {
    out.extend_from_slice(b"Hello, ");
    out.extend_from_slice(name);
    out.extend_from_slice(b"!");
    if framing == Framing::Line {
        out.push(b'\n');
    }
}

/// Where one message ends and the next begins (the `--framing` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Framing {
    /// Each message ends with `\n` (lesson 02's protocol; `\r\n` works too).
    Line,
    /// Whatever one `read` returned is one message, and answers have no line end: what
    /// the original Python tutorial's client sends and expects.
    None,
}

impl Framing {
    /// The bytes that carry `message` on the wire.
    pub fn encode(self, message: &[u8]) -> Vec<u8> {
        match self {
            Framing::Line => [message, b"\n"].concat(),
            Framing::None => message.to_vec(),
        }
    }
}

/// What [`take_message`] found in the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken<'a> {
    /// One whole message (line end removed), and how many bytes it used.
    Message(&'a [u8], usize),
    /// No whole message yet: read more.
    NeedMore,
    /// More than [`MAX_LINE`] bytes with no line end: the stream cannot be framed.
    TooLong,
}

/// Takes the first whole message out of `received` (the bytes of one connection that
/// are not answered yet). Never panics, whatever the bytes.
pub fn take_message(received: &[u8], framing: Framing) -> Taken<'_> {
    match framing {
        Framing::None if received.is_empty() => Taken::NeedMore,
        Framing::None => {
            let used = received.len().min(MAX_LINE);
            Taken::Message(trim_newline(&received[..used]), used)
        }
        Framing::Line => match received.iter().position(|&byte| byte == b'\n') {
            Some(end) if end <= MAX_LINE => {
                Taken::Message(trim_newline(&received[..=end]), end + 1)
            }
            Some(_) => Taken::TooLong,
            None if received.len() > MAX_LINE => Taken::TooLong,
            None => Taken::NeedMore,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_lines() {
        assert_eq!(Framing::Line.encode(WELCOME), b"Welcome!\n");
        assert_eq!(Framing::Line.encode(&reply(b"Ada")), b"Hello, Ada!\n");
        assert_eq!(Framing::None.encode(&reply(b"Ada")), b"Hello, Ada!");
        assert_eq!(reply(b""), b"Hello, !");
        for framing in [Framing::Line, Framing::None] {
            let mut out = b"before ".to_vec();
            write_reply(b"Ada", framing, &mut out);
            assert_eq!(
                out,
                [&b"before "[..], &framing.encode(&reply(b"Ada"))].concat()
            );
        }
    }

    #[test]
    fn lines_are_taken_one_at_a_time() {
        let received = b"Ada\r\nGrace\nhalf";
        let Taken::Message(first, used) = take_message(received, Framing::Line) else {
            panic!("no first line");
        };
        assert_eq!((first, used), (&b"Ada"[..], 5));
        let rest = &received[used..];
        assert_eq!(
            take_message(rest, Framing::Line),
            Taken::Message(b"Grace", 6)
        );
        assert_eq!(take_message(b"half", Framing::Line), Taken::NeedMore);
        assert_eq!(take_message(b"", Framing::Line), Taken::NeedMore);
    }

    #[test]
    fn without_framing_each_read_is_a_message() {
        assert_eq!(
            take_message(b"Rose", Framing::None),
            Taken::Message(b"Rose", 4)
        );
        assert_eq!(
            take_message(b"Rose\n", Framing::None),
            Taken::Message(b"Rose", 5)
        );
        assert_eq!(take_message(b"", Framing::None), Taken::NeedMore);
    }

    #[test]
    fn a_line_past_the_limit_is_refused_at_once() {
        let long = vec![b'x'; MAX_LINE + 1];
        assert_eq!(take_message(&long, Framing::Line), Taken::TooLong);
        let mut exactly = vec![b'x'; MAX_LINE];
        exactly.push(b'\n');
        assert!(matches!(
            take_message(&exactly, Framing::Line),
            Taken::Message(_, n) if n == MAX_LINE + 1
        ));
        let mut over = long.clone();
        over.push(b'\n');
        assert_eq!(take_message(&over, Framing::Line), Taken::TooLong);
    }

    #[test]
    fn no_bytes_make_it_panic() {
        // Every short byte string, in both framings: taken messages never use more bytes
        // than there are.
        for a in 0..=255u8 {
            for b in [b'\n', b'\r', 0, b'x', 0xff] {
                let bytes = [a, b, a];
                for framing in [Framing::Line, Framing::None] {
                    if let Taken::Message(message, used) = take_message(&bytes, framing) {
                        assert!(used <= bytes.len() && message.len() <= used);
                    }
                }
            }
        }
    }
}
