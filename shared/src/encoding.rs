//! Bytes as text, and the two classic ways to find messages in a byte stream.
//!
//! TCP delivers a stream of bytes, not messages: one `read` may return half a message, or
//! three messages run together. A protocol on top of TCP must mark where each message ends.
//! The two usual ways are here, as decoders that know nothing about sockets: you feed them
//! whatever bytes a `read` returned and ask for complete frames.
//!
//! - [`LineDecoder`]: a message ends at `\n` (SMTP, HTTP/1 headers, Redis inline commands).
//! - [`LengthDecoder`]: each message starts with its length as a big-endian `u32`
//!   (many binary protocols; production code often uses `tokio_util::codec` for both).
//!
//! Both refuse a frame longer than a maximum, so a peer that never sends `\n` (or claims a
//! 4 GiB frame) cannot make us buffer without end.

use byteorder::{BigEndian, ByteOrder};
use std::fmt;

/// Shows bytes as text for a terminal: valid UTF-8 as it is, every byte that is not
/// valid UTF-8 as `\xNN`, so a student sees exactly what was replaced. Control
/// characters other than tab are escaped too (`\n`, `\r`, `\0`, `\x07`), so a message
/// always prints as one line.
pub fn display(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        push_bytes(&mut out, chunk.invalid());
    }
    out
}

/// Appends `text` with its control characters escaped: a line from the network can
/// never move the cursor, ring the bell or start a forged line of our log. Unicode's
/// direction controls (U+202E turns the rest of a line around) are escaped too, so a name
/// cannot make the text after it read backwards ("Trojan Source", CVE-2021-42574).
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32))
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// Appends bytes that are not text in the encoding, as `\xNN` each.
fn push_bytes(out: &mut String, bytes: &[u8]) {
    for byte in bytes {
        out.push_str(&format!("\\x{byte:02x}"));
    }
}

/// How text becomes bytes and back. A socket carries bytes; the two ends must agree on
/// the encoding, or `你好` sent as GBK (`c4 e3 ba c3`) arrives as four unreadable bytes.
/// Windows in China, and so FeiQ, NetAssist and the tutorials' `encode('gbk')`, use GBK;
/// Linux, macOS and Rust's `String` use UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8: every character, 1 to 4 bytes; ASCII as itself.
    #[default]
    Utf8,
    /// GBK (a superset of GB2312): ASCII as itself, a Chinese character in 2 bytes.
    Gbk,
    /// Receiving only: UTF-8 where the bytes are valid UTF-8, otherwise GBK (what a
    /// mixed classroom sends). Sends as UTF-8.
    Auto,
}

impl Encoding {
    /// The names `--encoding` takes.
    pub const NAMES: &'static str = "utf-8, gbk or auto";

    /// Reads `utf-8` (or `utf8`), `gbk` (or `gb2312`, which GBK contains) or `auto`; use
    /// it as a clap value parser.
    pub fn parse(text: &str) -> Result<Encoding, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "gbk" | "gb2312" | "cp936" => Ok(Encoding::Gbk),
            "auto" => Ok(Encoding::Auto),
            _ => Err(format!(
                "`{text}` is not an encoding: use {}",
                Encoding::NAMES
            )),
        }
    }

    /// Shows received bytes as text on one line: what the encoding cannot decode is
    /// shown as `\xNN`, never dropped, and control characters are escaped.
    pub fn display(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => display(bytes),
            Encoding::Auto if std::str::from_utf8(bytes).is_ok() => display(bytes),
            Encoding::Gbk | Encoding::Auto => display_gbk(bytes),
        }
    }

    /// The bytes that carry `text`; an error names the first character GBK cannot hold.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Utf8 | Encoding::Auto => Ok(text.as_bytes().to_vec()),
            Encoding::Gbk => {
                let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
                if unmappable {
                    let bad = text
                        .chars()
                        .find(|&c| encoding_rs::GBK.encode(c.encode_utf8(&mut [0; 4])).2);
                    return Err(format!(
                        "{} cannot be written in GBK: send it with --encoding utf-8",
                        bad.map_or("a character".into(), |c| format!("`{c}`"))
                    ));
                }
                Ok(bytes.into_owned())
            }
        }
    }

    /// Whether these bytes are what this encoding would send (for `Auto`: valid UTF-8).
    pub fn is_valid(self, bytes: &[u8]) -> bool {
        match self {
            Encoding::Utf8 | Encoding::Auto => std::str::from_utf8(bytes).is_ok(),
            Encoding::Gbk => encoding_rs::GBK
                .decode_without_bom_handling_and_without_replacement(bytes)
                .is_some(),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Gbk => "gbk",
            Encoding::Auto => "auto",
        })
    }
}

/// GBK bytes as escaped text, each malformed byte as `\xNN`.
fn display_gbk(bytes: &[u8]) -> String {
    use encoding_rs::DecoderResult;
    let mut decoder = encoding_rs::GBK.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut text = String::with_capacity(bytes.len() * 3 + 4);
    let mut rest = bytes;
    loop {
        text.clear();
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut text, true);
        push_escaped(&mut out, &text);
        match result {
            DecoderResult::InputEmpty => return out,
            // Never with the room reserved above; go on with the rest anyway.
            DecoderResult::OutputFull => text.reserve(rest.len() * 3 + 4),
            // `bad` bytes were malformed, then `extra` more were read after them (which
            // the decoder gives back in its next output).
            DecoderResult::Malformed(bad, extra) => {
                let end = read.saturating_sub(usize::from(extra));
                let start = end.saturating_sub(usize::from(bad));
                push_bytes(&mut out, &rest[start..end]);
            }
        }
        rest = &rest[read..];
    }
}

/// Strips one trailing `\n` and then one `\r`, so `"hi\r\n"` (from `nc` or telnet on some
/// systems) and `"hi\n"` both give `"hi"`.
pub fn trim_newline(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
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

/// Newline framing: collects bytes until a `\n` and hands out each line WITHOUT its
/// line ending (`\n` or `\r\n`).
///
/// ```
/// use shared::encoding::LineDecoder;
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

/// The size of the length prefix: a `u32` in network byte order (big-endian).
pub const LENGTH_PREFIX: usize = 4;

/// Length-prefixed framing, the sending side: a 4-byte big-endian length, then the bytes.
///
/// ```
/// assert_eq!(shared::encoding::encode_length_prefixed(b"hi"), b"\0\0\0\x02hi");
/// ```
pub fn encode_length_prefixed(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a frame must be shorter than 4 GiB");
    let mut frame = vec![0; LENGTH_PREFIX];
    BigEndian::write_u32(&mut frame, len);
    frame.extend_from_slice(payload);
    frame
}

/// Length-prefixed framing, the receiving side: the counterpart of
/// [`encode_length_prefixed`]. It checks the announced length against the maximum as soon
/// as the 4 prefix bytes arrive, before buffering any of the body.
///
/// ```
/// use shared::encoding::{encode_length_prefixed, LengthDecoder};
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
        if self.buf.len() < LENGTH_PREFIX {
            return Ok(None);
        }
        let len = BigEndian::read_u32(&self.buf[..LENGTH_PREFIX]) as usize;
        if len > self.max {
            return Err(FrameTooLong { max: self.max, len });
        }
        if self.buf.len() < LENGTH_PREFIX + len {
            return Ok(None);
        }
        let frame = self.buf[LENGTH_PREFIX..LENGTH_PREFIX + len].to_vec();
        self.buf.drain(..LENGTH_PREFIX + len);
        Ok(Some(frame))
    }

    /// Bytes received that do not yet make a whole frame.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}

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

    #[test]
    fn display_escapes_what_is_not_printable_utf8() {
        assert_eq!(display(b"hello"), "hello");
        assert_eq!(display("grüße".as_bytes()), "grüße");
        assert_eq!(display(b"a\xffb"), "a\\xffb");
        assert_eq!(
            display(b"\xe4\xbd"),
            "\\xe4\\xbd",
            "a cut-off multi-byte character"
        );
        assert_eq!(display(b"line\r\n"), "line\\r\\n");
        assert_eq!(display(b"\0\x07\t"), "\\0\\x07\t");
        assert_eq!(
            display("a\u{202e}b\u{2066}".as_bytes()),
            "a\\u{202e}b\\u{2066}"
        );
    }

    #[test]
    fn gbk_is_shown_as_text_and_what_it_cannot_decode_as_bytes() {
        let gbk = Encoding::Gbk;
        assert_eq!(gbk.display(b"\xc4\xe3\xba\xc3"), "你好");
        assert_eq!(gbk.display(b"hi \xc4\xe3!"), "hi 你!");
        // A lead byte followed by a byte that cannot end it: the lead byte is shown as a
        // byte, the space after it is kept.
        assert_eq!(gbk.display(b"\x81 a"), "\\x81 a");
        // 0xff is never GBK; a lead byte cut off at the end.
        assert_eq!(gbk.display(b"a\xffb\xc4"), "a\\xffb\\xc4");
        assert_eq!(gbk.display(b"\x1b[31m\n"), "\\x1b[31m\\n");
        // The same bytes read as UTF-8 are shown as bytes.
        assert_eq!(Encoding::Utf8.display(b"\xc4\xe3"), "\\xc4\\xe3");
    }

    #[test]
    fn auto_reads_utf8_where_valid_and_gbk_otherwise() {
        assert_eq!(Encoding::Auto.display("你好".as_bytes()), "你好");
        assert_eq!(Encoding::Auto.display(b"\xc4\xe3\xba\xc3"), "你好");
        assert_eq!(Encoding::Auto.display(b"\xff"), "\\xff");
    }

    #[test]
    fn encode_gives_the_bytes_of_each_encoding() {
        assert_eq!(Encoding::Gbk.encode("你好").unwrap(), b"\xc4\xe3\xba\xc3");
        assert_eq!(Encoding::Utf8.encode("你好").unwrap(), "你好".as_bytes());
        assert_eq!(Encoding::Gbk.encode("hi").unwrap(), b"hi");
        let err = Encoding::Gbk.encode("ok 😀").unwrap_err();
        assert!(err.contains("`😀` cannot be written in GBK"), "{err}");
        assert!(Encoding::Gbk.is_valid(b"\xc4\xe3"));
        assert!(!Encoding::Gbk.is_valid(b"\xff"));
    }

    #[test]
    fn encoding_names() {
        for (text, encoding) in [
            ("utf-8", Encoding::Utf8),
            ("UTF8", Encoding::Utf8),
            ("gbk", Encoding::Gbk),
            ("GB2312", Encoding::Gbk),
            ("auto", Encoding::Auto),
        ] {
            assert_eq!(Encoding::parse(text), Ok(encoding));
            assert_eq!(Encoding::parse(&encoding.to_string()), Ok(encoding));
        }
        assert!(Encoding::parse("latin1")
            .unwrap_err()
            .contains("utf-8, gbk or auto"));
    }

    #[test]
    fn no_bytes_make_the_decoders_panic_or_drop_anything() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            for encoding in [Encoding::Utf8, Encoding::Gbk, Encoding::Auto] {
                let shown = encoding.display(&bytes);
                assert!(
                    !shown.chars().any(|c| c.is_control() && c != '\t'),
                    "{shown:?}"
                );
                // Nothing is dropped: every byte shows up as text or as an escape.
                assert!(
                    shown.len() >= bytes.len() / 2,
                    "{bytes:x?} became {shown:?}"
                );
            }
        }
    }

    #[test]
    fn trim_newline_takes_one_line_ending() {
        assert_eq!(trim_newline(b"hi\r\n"), b"hi");
        assert_eq!(trim_newline(b"hi\n"), b"hi");
        assert_eq!(trim_newline(b"hi"), b"hi");
        assert_eq!(trim_newline(b"hi\n\n"), b"hi\n");
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
