//! Finding messages in a TCP byte stream: the subject of lesson 01.
//!
//! TCP delivers a stream of bytes, not messages: one `read` may return half a message, or
//! three messages run together. A protocol on top of TCP must mark where each message
//! ends. The two usual ways are here, as decoders that know nothing about sockets: you
//! feed them whatever bytes a `read` returned and ask for whole frames.
//!
//! - [`LineDecoder`]: a message ends at `\n` (SMTP, HTTP/1 headers, Redis inline commands).
//! - [`LengthDecoder`]: each message starts with its length as a big-endian `u32`
//!   (many binary protocols; production code often uses `tokio_util::codec` for both).
//!
//! Both refuse a frame longer than a maximum, so a peer that never sends `\n` (or claims
//! a 4 GiB frame) cannot make us buffer without end. [`Framing`] is the `--framing` flag
//! that picks one of them, or none; [`Deframer`] is the receiving side it picks.

use shared::encoding::trim_newline;
use std::fmt;

/// How the receiver decides where one message ends and the next begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Framing {
    /// No framing: whatever one `read` returned is one message, and a message is sent
    /// without a line end. The tutorials' programs work so; it breaks as soon as two
    /// messages arrive in one read (see `burst`).
    None,
    /// Each message ends with `\n`.
    Line,
    /// Each message starts with its length, a 4-byte big-endian number.
    Length,
}

// ANCHOR: encode
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
// ANCHOR_END: encode

/// The receiving side of a [`Framing`]: feed it each read, take out whole messages.
#[derive(Debug)]
pub enum Deframer {
    /// Every read is a message: the bytes of the last read, until taken.
    None(Vec<u8>),
    /// Messages end with `\n`.
    Line(LineDecoder),
    /// Messages start with their length.
    Length(LengthDecoder),
}

impl Deframer {
    /// A deframer for `framing` that refuses messages longer than `max` bytes.
    pub fn new(framing: Framing, max: usize) -> Self {
        match framing {
            Framing::None => Deframer::None(Vec::new()),
            Framing::Line => Deframer::Line(LineDecoder::new(max)),
            Framing::Length => Deframer::Length(LengthDecoder::new(max)),
        }
    }

    /// Adds the bytes one `read` returned.
    pub fn feed(&mut self, read: &[u8]) {
        match self {
            Deframer::None(last) => last.extend_from_slice(read),
            Deframer::Line(lines) => lines.feed(read),
            Deframer::Length(frames) => frames.feed(read),
        }
    }

    /// The next whole message, `Ok(None)` if more bytes are needed, or an error once the
    /// peer has broken the framing (a message past the maximum).
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FrameTooLong> {
        match self {
            Deframer::None(last) if last.is_empty() => Ok(None),
            Deframer::None(last) => Ok(Some(std::mem::take(last))),
            Deframer::Line(lines) => lines.next_frame(),
            Deframer::Length(frames) => frames.next_frame(),
        }
    }

    /// Bytes received but not part of a whole message yet.
    pub fn pending(&self) -> &[u8] {
        match self {
            Deframer::None(last) => last,
            Deframer::Line(lines) => lines.pending(),
            Deframer::Length(frames) => frames.pending(),
        }
    }
}

/// A frame was longer than the decoder's maximum. The connection is beyond repair: the
/// rest of the stream cannot be framed, so the caller should say so and close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLong {
    /// The largest frame the decoder accepts, in bytes.
    pub max: usize,
    /// How long the frame is (or, for a line that has not ended yet, already was).
    pub len: usize,
}

impl fmt::Display for FrameTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame of {} bytes is longer than the limit of {} bytes",
            self.len, self.max
        )
    }
}

impl std::error::Error for FrameTooLong {}

// ANCHOR: line_decoder
/// Newline framing: collects bytes until a `\n` and hands out each line WITHOUT its
/// line ending (`\n` or `\r\n`).
///
/// ```
/// use tcp_basic::framing::LineDecoder;
/// let mut lines = LineDecoder::new(1024);
/// lines.feed(b"hel");                  // half a line: nothing yet
/// assert_eq!(lines.next_frame(), Ok(None));
/// lines.feed(b"lo\nworld\n");          // the rest, and a whole second line
/// assert_eq!(lines.next_frame(), Ok(Some(b"hello".to_vec())));
/// assert_eq!(lines.next_frame(), Ok(Some(b"world".to_vec())));
/// assert_eq!(lines.next_frame(), Ok(None));
/// ```
#[derive(Debug)]
pub struct LineDecoder {
    buf: Vec<u8>,
    max: usize,
    /// How much of `buf` is known to hold no `\n`, so each byte is searched once.
    scanned: usize,
}

impl LineDecoder {
    /// A decoder that refuses lines longer than `max` bytes (not counting the `\n`).
    pub fn new(max: usize) -> Self {
        LineDecoder {
            buf: Vec::new(),
            max,
            scanned: 0,
        }
    }

    /// Adds the bytes one `read` returned.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, `Ok(None)` if more bytes are needed, or an error once the
    /// line being collected has grown past the maximum (without waiting for its end).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameTooLong> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(offset) => {
                let end = self.scanned + offset;
                self.scanned = 0;
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                let line = trim_newline(&line).to_vec();
                if line.len() > self.max {
                    return Err(FrameTooLong {
                        max: self.max,
                        len: line.len(),
                    });
                }
                Ok(Some(line))
            }
            None => {
                self.scanned = self.buf.len();
                // One more byte than `max` may be the `\r` of a `\r\n`: allow it.
                if self.buf.len() > self.max + 1 {
                    return Err(FrameTooLong {
                        max: self.max,
                        len: self.buf.len(),
                    });
                }
                Ok(None)
            }
        }
    }

    /// Bytes received that do not yet make a whole line (what is lost if the peer
    /// closes now).
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}
// ANCHOR_END: line_decoder

// ANCHOR: length_decoder
/// The size of the length prefix: a `u32` in network byte order (big-endian).
pub const LENGTH_PREFIX: usize = 4;

/// Length-prefixed framing, the sending side: a 4-byte big-endian length, then the bytes.
///
/// ```
/// assert_eq!(tcp_basic::framing::encode_length_prefixed(b"hi"), b"\0\0\0\x02hi");
/// ```
pub fn encode_length_prefixed(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a frame must be shorter than 4 GiB");
    [&len.to_be_bytes()[..], payload].concat()
}

/// Length-prefixed framing, the receiving side: the counterpart of
/// [`encode_length_prefixed`]. It checks the announced length against the maximum as
/// soon as the 4 prefix bytes arrive, before buffering any of the body.
///
/// ```
/// use tcp_basic::framing::{encode_length_prefixed, LengthDecoder};
/// let mut frames = LengthDecoder::new(1024);
/// frames.feed(&encode_length_prefixed(b"one"));
/// frames.feed(&encode_length_prefixed(b"two"));
/// assert_eq!(frames.next_frame(), Ok(Some(b"one".to_vec())));
/// assert_eq!(frames.next_frame(), Ok(Some(b"two".to_vec())));
/// ```
#[derive(Debug)]
pub struct LengthDecoder {
    buf: Vec<u8>,
    max: usize,
}

impl LengthDecoder {
    /// A decoder that refuses frames longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        LengthDecoder {
            buf: Vec::new(),
            max,
        }
    }

    /// Adds the bytes one `read` returned.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or an error if the
    /// announced length is past the maximum.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameTooLong> {
        let Some((prefix, body)) = self.buf.split_first_chunk::<LENGTH_PREFIX>() else {
            return Ok(None); // not even the length yet
        };
        // u32 to usize cannot fail on the 32- and 64-bit machines this runs on.
        let len = usize::try_from(u32::from_be_bytes(*prefix)).unwrap_or(usize::MAX);
        if len > self.max {
            return Err(FrameTooLong { max: self.max, len });
        }
        if body.len() < len {
            return Ok(None); // the length, but not all of the body yet
        }
        let frame = body[..len].to_vec();
        self.buf.drain(..LENGTH_PREFIX + len);
        Ok(Some(frame))
    }

    /// Bytes received that do not yet make a whole frame.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}
// ANCHOR_END: length_decoder

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_lines(decoder: &mut LineDecoder) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = decoder.next_frame().unwrap() {
            out.push(String::from_utf8(line).unwrap());
        }
        out
    }

    /// Every message that `read` completes.
    fn messages(deframer: &mut Deframer, read: &[u8]) -> Vec<Vec<u8>> {
        deframer.feed(read);
        let mut out = Vec::new();
        while let Some(message) = deframer.next_message().unwrap() {
            out.push(message);
        }
        out
    }

    /// The heart of the lesson in one test: three messages that arrive in ONE read are
    /// one "message" without framing, and three with either framing.
    #[test]
    fn one_read_with_three_messages() {
        let texts: [&[u8]; 3] = [b"one", b"two", b"three"];
        for framing in [Framing::None, Framing::Line, Framing::Length] {
            let wire: Vec<u8> = texts.iter().flat_map(|t| framing.encode(t)).collect();
            let got = messages(&mut Deframer::new(framing, 100), &wire);
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
            let mut deframer = Deframer::new(framing, 100);
            let (first, second) = wire.split_at(3);
            assert!(messages(&mut deframer, first).is_empty());
            assert_eq!(deframer.pending(), first);
            assert_eq!(messages(&mut deframer, second), [b"split me".to_vec()]);
        }
        // Without framing, each read is a message of its own: the split stays split.
        let mut deframer = Deframer::new(Framing::None, 100);
        assert_eq!(messages(&mut deframer, b"spl"), [b"spl".to_vec()]);
        assert_eq!(messages(&mut deframer, b"it me"), [b"it me".to_vec()]);
        assert!(deframer.pending().is_empty());
    }

    #[test]
    fn an_oversized_length_is_refused() {
        let mut deframer = Deframer::new(Framing::Length, 100);
        deframer.feed(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(deframer.next_message().is_err());
    }

    #[test]
    fn lines_split_across_reads() {
        let mut lines = LineDecoder::new(100);
        for byte in b"Hello, world!\nsecond" {
            lines.feed(&[*byte]);
        }
        assert_eq!(drain_lines(&mut lines), ["Hello, world!"]);
        assert_eq!(lines.pending(), b"second");
        lines.feed(b"\r\n");
        assert_eq!(drain_lines(&mut lines), ["second"]);
        assert!(lines.pending().is_empty());
    }

    #[test]
    fn several_lines_in_one_read() {
        let mut lines = LineDecoder::new(100);
        lines.feed(b"one\ntwo\r\n\nthree\nfour");
        assert_eq!(drain_lines(&mut lines), ["one", "two", "", "three"]);
        assert_eq!(lines.pending(), b"four");
    }

    #[test]
    fn a_line_past_the_limit_is_refused_before_it_ends() {
        let mut lines = LineDecoder::new(8);
        lines.feed(b"12345678\n");
        assert_eq!(
            drain_lines(&mut lines),
            ["12345678"],
            "exactly the limit is fine"
        );
        lines.feed(b"12345678\r\n");
        assert_eq!(
            drain_lines(&mut lines),
            ["12345678"],
            "\\r\\n does not count"
        );
        lines.feed(b"123456789");
        assert_eq!(
            lines.next_frame(),
            Ok(None),
            "one byte over may still be a \\r"
        );
        lines.feed(b"0");
        let err = lines.next_frame().unwrap_err();
        assert_eq!(err, FrameTooLong { max: 8, len: 10 });
        assert!(err.to_string().contains("limit of 8 bytes"));

        let mut lines = LineDecoder::new(8);
        lines.feed(b"123456789\n");
        assert!(lines.next_frame().is_err(), "a whole line that is too long");
    }

    #[test]
    fn length_prefix_is_big_endian() {
        assert_eq!(
            encode_length_prefixed(&[7; 258])[..LENGTH_PREFIX],
            [0, 0, 1, 2]
        );
        assert_eq!(encode_length_prefixed(b""), [0, 0, 0, 0]);
    }

    #[test]
    fn length_frames_split_across_reads() {
        let mut wire = encode_length_prefixed(b"first");
        wire.extend(encode_length_prefixed(b""));
        wire.extend(encode_length_prefixed(b"third one"));
        let mut frames = LengthDecoder::new(64);
        let mut got = Vec::new();
        for byte in &wire {
            frames.feed(&[*byte]);
            while let Some(frame) = frames.next_frame().unwrap() {
                got.push(frame);
            }
        }
        assert_eq!(got, [b"first".to_vec(), vec![], b"third one".to_vec()]);
        assert!(frames.pending().is_empty());
    }

    #[test]
    fn several_length_frames_in_one_read() {
        let mut wire = encode_length_prefixed(b"a");
        wire.extend(encode_length_prefixed(b"bb"));
        wire.extend(&encode_length_prefixed(b"ccc")[..5]);
        let mut frames = LengthDecoder::new(64);
        frames.feed(&wire);
        assert_eq!(frames.next_frame(), Ok(Some(b"a".to_vec())));
        assert_eq!(frames.next_frame(), Ok(Some(b"bb".to_vec())));
        assert_eq!(frames.next_frame(), Ok(None));
        assert_eq!(frames.pending(), b"\0\0\0\x03c");
    }

    #[test]
    fn a_length_past_the_limit_is_refused_from_the_prefix_alone() {
        let mut frames = LengthDecoder::new(16);
        frames.feed(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            frames.next_frame(),
            Err(FrameTooLong {
                max: 16,
                len: u32::MAX as usize
            })
        );
    }
}
