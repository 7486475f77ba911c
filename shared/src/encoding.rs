//! Bytes as text: showing received bytes on a terminal ([`display`],
//! [`Encoding::display`]), turning typed text into the bytes of an encoding
//! ([`Encoding::encode`], [`Encoding::encode_typed`]), and [`trim_newline`].
//!
//! Finding messages in a TCP byte stream (line and length framing) is the subject of
//! lesson 01, so it lives there: `lessons/01-tcp-basic/src/framing.rs`.

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

    /// The bytes to send for a line typed on stdin (which a terminal gives as UTF-8):
    /// UTF-8 (and `Auto`) sends it as typed, byte for byte; GBK re-encodes it. An error
    /// says why a line cannot be sent in GBK (not UTF-8 text, or a character GBK lacks).
    pub fn encode_typed(self, line: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Utf8 | Encoding::Auto => Ok(line.to_vec()),
            Encoding::Gbk => match std::str::from_utf8(line) {
                Ok(text) => self.encode(text),
                Err(_) => Err(format!(
                    "{} is not UTF-8 text, so it cannot be turned into GBK: type it in a \
                     UTF-8 terminal, or send the bytes as they are with --encoding utf-8",
                    display(line)
                )),
            },
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn typed_lines_are_sent_as_typed_or_in_gbk() {
        assert_eq!(Encoding::Utf8.encode_typed(b"a\xffb").unwrap(), b"a\xffb");
        assert_eq!(
            Encoding::Gbk.encode_typed("你好".as_bytes()).unwrap(),
            b"\xc4\xe3\xba\xc3"
        );
        let err = Encoding::Gbk.encode_typed(b"a\xffb").unwrap_err();
        assert!(err.starts_with("a\\xffb is not UTF-8 text"), "{err}");
        assert!(Encoding::Gbk.encode_typed("😀".as_bytes()).is_err());
    }

    #[test]
    fn trim_newline_takes_one_line_ending() {
        assert_eq!(trim_newline(b"hi\r\n"), b"hi");
        assert_eq!(trim_newline(b"hi\n"), b"hi");
        assert_eq!(trim_newline(b"hi"), b"hi");
        assert_eq!(trim_newline(b"hi\n\n"), b"hi\n");
    }
}
