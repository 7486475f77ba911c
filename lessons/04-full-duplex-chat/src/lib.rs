//! What the two peers of lesson 04 agree on: the chat's wire format (one message per
//! datagram), the name rules, and the line that ends the chat.
//!
//! UDP keeps message boundaries: one `send` is one datagram is one `recv`. So, unlike
//! lesson 01's TCP byte stream, no framing is needed: a datagram *is* a message. What is
//! left to agree on is what a datagram holds. Two kinds, each a line of text you can
//! read in a `--trace` dump or type into `nc -u`:
//!
//! ```text
//! MSG alice hello bob       a chat line: the kind, a space, the sender's name, a space, the text
//! BYE alice                 the sender has left the chat
//! ```
//!
//! The name has no spaces (so the first space after it ends it); the text is every byte
//! after that space, whatever they are: UTF-8 or not, it is shown with
//! [`shared::encoding::display`], which escapes what is not printable. A datagram that
//! fits neither form is a [`ParseError`], never a panic: anyone can send us anything.

use shared::encoding::display;
use std::fmt;

/// The kind word of a chat line.
pub const KIND_MSG: &[u8] = b"MSG";
/// The kind word of "I have left".
pub const KIND_BYE: &[u8] = b"BYE";
/// What separates the kind, the name and the text.
pub const SEPARATOR: u8 = b' ';
/// The longest name `--name` accepts, in bytes.
pub const MAX_NAME: usize = 32;
/// The line that ends the chat (blanks around it are forgiven). End of input (Ctrl-D)
/// does the same.
pub const QUIT: &[u8] = b"/quit";

// ANCHOR: message
/// One datagram of the chat, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// `MSG NAME TEXT`: `from` said `text`.
    Say {
        /// The sender's name, as the sender chose it (`--name`).
        from: &'a [u8],
        /// What they typed, without the line ending.
        text: &'a [u8],
    },
    /// `BYE NAME`: `from` has left.
    Bye {
        /// The sender's name.
        from: &'a [u8],
    },
}

// ANCHOR_END: message

/// Why a datagram is not a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The datagram has no bytes at all (UDP allows that).
    Empty,
    /// The first word is neither `MSG` nor `BYE`.
    UnknownKind,
    /// A `MSG` or `BYE` without a name after it.
    NoName,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Empty => "an empty datagram",
            ParseError::UnknownKind => "it starts with neither MSG nor BYE",
            ParseError::NoName => "no sender name after MSG or BYE",
        })
    }
}

impl std::error::Error for ParseError {}

impl<'a> Message<'a> {
    /// The datagram's bytes: `MSG NAME TEXT` or `BYE NAME`.
    pub fn emit(&self) -> Vec<u8> {
        let (kind, from, text) = match *self {
            Message::Say { from, text } => (KIND_MSG, from, Some(text)),
            Message::Bye { from } => (KIND_BYE, from, None),
        };
        let mut out = Vec::with_capacity(kind.len() + from.len() + 2 + text.map_or(0, <[u8]>::len));
        out.extend_from_slice(kind);
        out.push(SEPARATOR);
        out.extend_from_slice(from);
        if let Some(text) = text {
            out.push(SEPARATOR);
            out.extend_from_slice(text);
        }
        out
    }

    // ANCHOR: parse
    /// Reads one datagram. Any bytes are accepted without panicking; those that are not a
    /// message give a [`ParseError`]. Lenient where it costs nothing: `MSG NAME` with no
    /// text is an empty line, and anything after a `BYE`'s name is ignored (room for a
    /// later version to add a reason).
    pub fn parse(datagram: &'a [u8]) -> Result<Message<'a>, ParseError> {
        if datagram.is_empty() {
            return Err(ParseError::Empty);
        }
        let (kind, rest) = split_word(datagram);
        let (from, text) = split_word(rest.unwrap_or_default());
        if kind != KIND_MSG && kind != KIND_BYE {
            return Err(ParseError::UnknownKind);
        }
        if from.is_empty() {
            return Err(ParseError::NoName);
        }
        Ok(if kind == KIND_MSG {
            Message::Say {
                from,
                text: text.unwrap_or_default(),
            }
        } else {
            Message::Bye { from }
        })
    }
    // ANCHOR_END: parse

    /// How the receiving side shows it: `bob: hello` or `bob left`, every byte that is
    /// not printable UTF-8 escaped (`b\xffob: caf\xe9`), so a message is always one line.
    pub fn show(&self) -> String {
        match self {
            Message::Say { from, text } => format!("{}: {}", display(from), display(text)),
            Message::Bye { from } => format!("{} left", display(from)),
        }
    }
}

/// Splits at the first [`SEPARATOR`]: the word before it, and what follows it (`None`
/// if there is no separator).
fn split_word(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    match bytes.iter().position(|&b| b == SEPARATOR) {
        Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
        None => (bytes, None),
    }
}

/// Whether a typed line asks to leave: `/quit`, blanks around it forgiven.
pub fn is_quit(line: &[u8]) -> bool {
    line.trim_ascii() == QUIT
}

/// Checks a `--name` (a clap `value_parser`): 1 to [`MAX_NAME`] bytes, no spaces and no
/// control characters, since the first space on the wire ends the name.
pub fn parse_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the name is empty: give one word, e.g. --name ada".into());
    }
    if text.len() > MAX_NAME {
        return Err(format!(
            "the name is {} bytes long; at most {MAX_NAME} fit",
            text.len()
        ));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{}` has a space or a control character; use one word, e.g. --name ada",
            text.escape_debug()
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte fixtures: exactly what travels in each datagram.
    #[test]
    fn emit_fixtures() {
        let say = Message::Say {
            from: b"alice",
            text: b"hello bob",
        };
        assert_eq!(say.emit(), b"MSG alice hello bob");
        assert_eq!(Message::Bye { from: b"bob" }.emit(), b"BYE bob");
        let empty = Message::Say {
            from: b"a",
            text: b"",
        };
        assert_eq!(empty.emit(), b"MSG a ");
    }

    #[test]
    fn parse_fixtures() {
        assert_eq!(
            Message::parse(b"MSG bob hi there "),
            Ok(Message::Say {
                from: b"bob",
                text: b"hi there "
            })
        );
        assert_eq!(
            Message::parse(b"BYE alice"),
            Ok(Message::Bye { from: b"alice" })
        );
        assert_eq!(
            Message::parse(b"BYE alice gone fishing"),
            Ok(Message::Bye { from: b"alice" })
        );
        assert_eq!(
            Message::parse(b"MSG bob"),
            Ok(Message::Say {
                from: b"bob",
                text: b""
            }),
            "a MSG without text is an empty line"
        );
    }

    #[test]
    fn parse_errors() {
        let cases: [(&[u8], ParseError); 9] = [
            (b"", ParseError::Empty),
            (b"hello", ParseError::UnknownKind),
            (b"msg bob hi", ParseError::UnknownKind),
            (b" MSG bob hi", ParseError::UnknownKind),
            (b"\xff\xfe", ParseError::UnknownKind),
            (b"MSG", ParseError::NoName),
            (b"MSG ", ParseError::NoName),
            (b"MSG  two spaces", ParseError::NoName),
            (b"BYE", ParseError::NoName),
        ];
        for (input, expected) in cases {
            assert_eq!(Message::parse(input), Err(expected), "{:?}", display(input));
        }
    }

    #[test]
    fn round_trip_keeps_every_byte_of_the_text() {
        let texts: [&[u8]; 5] = [
            b"",
            b"plain",
            b"two  spaces",
            "grüße 你好".as_bytes(),
            b"\xff\x00\n\r",
        ];
        for text in texts {
            let say = Message::Say { from: b"ada", text };
            assert_eq!(Message::parse(&say.emit()), Ok(say));
        }
        let bye = Message::Bye { from: b"ada" };
        assert_eq!(Message::parse(&bye.emit()), Ok(bye));
    }

    /// The peer's name and text drive no terminal: ESC and BEL are shown escaped.
    #[test]
    fn terminal_controls_from_the_peer_are_shown_escaped() {
        let say = Message::parse(b"MSG \x1b]0;pwned\x07bob \x1b[2J\x1b[31mhi\x07").unwrap();
        assert_eq!(
            say.show(),
            "\\x1b]0;pwned\\x07bob: \\x1b[2J\\x1b[31mhi\\x07"
        );
        let bye = Message::parse(b"BYE \x1b[Abob").unwrap();
        assert_eq!(bye.show(), "\\x1b[Abob left");
    }

    #[test]
    fn show_is_one_line_and_lossy_never_failing() {
        let say = Message::parse(b"MSG b\xffob caf\xe9\nnext").unwrap();
        assert_eq!(say.show(), "b\\xffob: caf\\xe9\\nnext");
        assert_eq!(Message::parse(b"BYE bob").unwrap().show(), "bob left");
        assert_eq!(
            Message::parse("MSG zoë ça va".as_bytes()).unwrap().show(),
            "zoë: ça va"
        );
    }

    /// Every datagram of up to 4 bytes made of the bytes that matter to the parser (and
    /// some that do not): parse never panics, and what it accepts emits back the same
    /// message.
    #[test]
    fn parse_never_panics_on_any_short_input() {
        let alphabet = [b'M', b'S', b'G', b'B', b'Y', b'E', b' ', b'\n', 0x00, 0xff];
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = inputs
                .iter()
                .filter(|input| input.len() == inputs.last().map_or(0, Vec::len))
                .flat_map(|input| {
                    alphabet.iter().map(move |&b| {
                        let mut next = input.clone();
                        next.push(b);
                        next
                    })
                })
                .collect();
            inputs.extend(longer);
        }
        assert_eq!(inputs.len(), 1 + 10 + 100 + 1000 + 10_000);
        for input in &inputs {
            if let Ok(message) = Message::parse(input) {
                assert_eq!(Message::parse(&message.emit()), Ok(message), "{input:?}");
                let _ = message.show();
            }
        }
        // Every byte value after each kind: a name of 222 odd bytes (up to the space,
        // 0x20), then the rest as text; accepted, and shown on one line.
        for prefix in [&b"MSG "[..], b"BYE ", b"MSG x ", b"BYE x "] {
            let mut input = prefix.to_vec();
            input.extend((0..=255u8).rev());
            let message = Message::parse(&input).unwrap();
            assert!(!message.show().contains('\n'), "{message:?}");
        }
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

    #[test]
    fn names() {
        assert_eq!(parse_name("ada").as_deref(), Ok("ada"));
        assert_eq!(parse_name("zoë").as_deref(), Ok("zoë"));
        assert!(parse_name(&"x".repeat(MAX_NAME)).is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("ada lovelace", "space"),
            ("tab\there", "space"),
            ("bell\x07", "control"),
        ] {
            let err = parse_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?} gave {err:?}");
        }
        assert!(parse_name(&"x".repeat(MAX_NAME + 1))
            .unwrap_err()
            .contains("at most 32"));
    }
}
