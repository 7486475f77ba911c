//! What the roles of lesson 01 agree on: the quit words, and the three ways to find
//! messages in a TCP byte stream that `--framing` chooses between.

use shared::encoding::{encode_length_prefixed, FrameTooLong, LengthDecoder, LineDecoder};

/// A message that is one of these words (blanks around it ignored) ends the conversation,
/// as in the classic tutorial.
pub const QUIT_WORDS: &[&str] = &["q", "bye", "exit"];

/// The longest message the server frames: 1 MiB. A client that sends more without a line
/// end (or announces a bigger length) is cut off instead of filling our memory.
pub const MAX_MESSAGE: usize = 1 << 20;

/// Whether `message` asks to end the conversation.
pub fn is_quit(message: &[u8]) -> bool {
    let text = String::from_utf8_lossy(message);
    QUIT_WORDS.contains(&text.trim())
}

/// How the receiver decides where one message ends and the next begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Framing {
    /// No framing: treat whatever one `read` returned as one message. This is the bug
    /// the lesson shows: TCP keeps no message boundaries.
    None,
    /// Each message ends with `\n`.
    Line,
    /// Each message starts with its length, a 4-byte big-endian number.
    Length,
}

impl Framing {
    /// The bytes that carry `message` on the wire with this framing.
    pub fn encode(self, message: &[u8]) -> Vec<u8> {
        match self {
            Framing::None => message.to_vec(),
            Framing::Line => [message, b"\n"].concat(),
            Framing::Length => encode_length_prefixed(message),
        }
    }
}

/// The receiving side of a [`Framing`]: feed it each read, get back whole messages.
#[derive(Debug)]
pub enum Deframer {
    /// Every read is a message.
    None,
    /// Messages end with `\n`.
    Line(LineDecoder),
    /// Messages start with their length.
    Length(LengthDecoder),
}

impl Deframer {
    /// A deframer for `framing` that refuses messages over [`MAX_MESSAGE`].
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::None => Deframer::None,
            Framing::Line => Deframer::Line(LineDecoder::new(MAX_MESSAGE)),
            Framing::Length => Deframer::Length(LengthDecoder::new(MAX_MESSAGE)),
        }
    }

    /// Takes the bytes of one read and returns every message they complete (maybe none,
    /// maybe several).
    pub fn messages(&mut self, read: &[u8]) -> Result<Vec<Vec<u8>>, FrameTooLong> {
        let mut out = Vec::new();
        match self {
            Deframer::None => out.push(read.to_vec()),
            Deframer::Line(lines) => {
                lines.feed(read);
                while let Some(line) = lines.next_frame()? {
                    out.push(line);
                }
            }
            Deframer::Length(frames) => {
                frames.feed(read);
                while let Some(frame) = frames.next_frame()? {
                    out.push(frame);
                }
            }
        }
        Ok(out)
    }

    /// Bytes received but not part of a whole message yet.
    pub fn pending(&self) -> &[u8] {
        match self {
            Deframer::None => &[],
            Deframer::Line(lines) => lines.pending(),
            Deframer::Length(frames) => frames.pending(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quit_words() {
        for word in ["q", "bye", "exit", " bye \r", "exit\n"] {
            assert!(is_quit(word.as_bytes()), "{word:?}");
        }
        for word in ["", "quit", "Bye bye", "q!", "\u{fffd}"] {
            assert!(!is_quit(word.as_bytes()), "{word:?}");
        }
    }

    /// The heart of the lesson in one test: three messages that arrive in ONE read are
    /// one "message" without framing, and three with either framing.
    #[test]
    fn one_read_with_three_messages() {
        let texts: [&[u8]; 3] = [b"one", b"two", b"three"];
        for framing in [Framing::None, Framing::Line, Framing::Length] {
            let wire: Vec<u8> = texts.iter().flat_map(|t| framing.encode(t)).collect();
            let got = Deframer::new(framing).messages(&wire).unwrap();
            match framing {
                Framing::None => assert_eq!(got, [b"onetwothree".to_vec()]),
                _ => assert_eq!(got, texts.map(<[u8]>::to_vec), "{framing:?}"),
            }
        }
    }

    #[test]
    fn a_message_split_across_reads() {
        for framing in [Framing::Line, Framing::Length] {
            let wire = framing.encode(b"split me");
            let mut deframer = Deframer::new(framing);
            let (first, second) = wire.split_at(3);
            assert!(deframer.messages(first).unwrap().is_empty());
            assert_eq!(deframer.pending(), first);
            assert_eq!(deframer.messages(second).unwrap(), [b"split me".to_vec()]);
        }
    }

    #[test]
    fn an_oversized_length_is_refused() {
        let mut deframer = Deframer::new(Framing::Length);
        assert!(deframer.messages(&[0x7f, 0xff, 0xff, 0xff]).is_err());
    }
}
