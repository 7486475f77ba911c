//! TFTP packets exactly as they travel in a UDP datagram, laid out like a wire format:
//! named constants for every field, an `encode`/`decode` pair, and `Display` for `--trace`.
//!
//! Every packet starts with a 2-byte opcode in network byte order (big-endian):
//!
//! ```text
//!  opcode  packet   layout after the opcode (RFC 1350 appendix, RFC 2347)
//!    1     RRQ      filename 0 mode 0 [option 0 value 0]...
//!    2     WRQ      filename 0 mode 0 [option 0 value 0]...
//!    3     DATA     block(2) data(0..blksize)
//!    4     ACK      block(2)
//!    5     ERROR    code(2) message 0
//!    6     OACK     [option 0 value 0]...
//! ```
//!
//! [`Packet::decode`] never panics, whatever the bytes: a datagram is untrusted input, and
//! every way it can be wrong is a [`DecodeError`] the caller turns into an ERROR packet.
//! DATA is decoded without copying: [`Packet::Data`] borrows the datagram's payload.

use byteorder::{BigEndian, ByteOrder};
use std::fmt;

// ANCHOR: constants
/// Opcode of a read request.
pub const OP_RRQ: u16 = 1;
/// Opcode of a write request.
pub const OP_WRQ: u16 = 2;
/// Opcode of a data block.
pub const OP_DATA: u16 = 3;
/// Opcode of an acknowledgment.
pub const OP_ACK: u16 = 4;
/// Opcode of an error.
pub const OP_ERROR: u16 = 5;
/// Opcode of an option acknowledgment (RFC 2347: "The opcode field contains a 6, for
/// Option Acknowledgment").
pub const OP_OACK: u16 = 6;

/// Bytes of the opcode that starts every packet.
pub const OPCODE_LEN: usize = 2;
/// Bytes of a block number (DATA, ACK) or of an error code (ERROR).
pub const BLOCK_LEN: usize = 2;
/// Bytes before the payload of a DATA packet: opcode + block number.
pub const DATA_HEADER_LEN: usize = OPCODE_LEN + BLOCK_LEN;
/// Bytes of a whole ACK packet.
pub const ACK_LEN: usize = OPCODE_LEN + BLOCK_LEN;

/// RFC 1350: "the file is sent in fixed length blocks of 512 bytes".
pub const DEFAULT_BLKSIZE: usize = 512;
/// RFC 2348: "Valid values range between "8" and "65464" octets, inclusive."
pub const MIN_BLKSIZE: usize = 8;
/// The largest block RFC 2348 allows (65464 + 4 + 8 + 20 header bytes = 65496, under
/// the 65535 of an IPv4 datagram).
pub const MAX_BLKSIZE: usize = 65464;
/// The largest TFTP packet: a DATA packet with a block of [`MAX_BLKSIZE`] bytes.
pub const MAX_PACKET: usize = DATA_HEADER_LEN + MAX_BLKSIZE;
// ANCHOR_END: constants

/// The transfer mode named in a request.
///
/// RFC 1350: 'The mode field contains the string "netascii", "octet", or "mail" (or any
/// combination of upper and lower case, such as "NETASCII", NetAscii", etc.)'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Text: line ends are CR LF on the wire, whatever the machines use (see `netascii`).
    Netascii,
    /// "raw 8 bit bytes": the file as it is.
    Octet,
    /// "The mail mode is obsolete and should not be implemented or used." We decode it
    /// only to refuse it with a clear error.
    Mail,
}

impl Mode {
    /// The mode's name as we send it (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Netascii => "netascii",
            Mode::Octet => "octet",
            Mode::Mail => "mail",
        }
    }

    /// The mode named `text`, in any mix of upper and lower case.
    pub fn parse(text: &str) -> Option<Mode> {
        [Mode::Netascii, Mode::Octet, Mode::Mail]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error code of an ERROR packet. A number, not an enum: any 16-bit value may arrive,
/// and an unknown one must still be shown, not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// "Not defined, see error message (if any)."
    pub const NOT_DEFINED: ErrorCode = ErrorCode(0);
    /// "File not found."
    pub const FILE_NOT_FOUND: ErrorCode = ErrorCode(1);
    /// "Access violation."
    pub const ACCESS_VIOLATION: ErrorCode = ErrorCode(2);
    /// "Disk full or allocation exceeded."
    pub const DISK_FULL: ErrorCode = ErrorCode(3);
    /// "Illegal TFTP operation."
    pub const ILLEGAL_OPERATION: ErrorCode = ErrorCode(4);
    /// "Unknown transfer ID."
    pub const UNKNOWN_TID: ErrorCode = ErrorCode(5);
    /// "File already exists."
    pub const FILE_EXISTS: ErrorCode = ErrorCode(6);
    /// "No such user."
    pub const NO_SUCH_USER: ErrorCode = ErrorCode(7);
    /// RFC 2347: "A new error code, 8, is hereby defined to indicate that a transfer should
    /// be terminated due to option negotiation."
    pub const OPTION_REFUSED: ErrorCode = ErrorCode(8);

    /// The meaning the RFCs give the code, or `None` for a code they do not define.
    pub fn meaning(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Not defined",
            1 => "File not found",
            2 => "Access violation",
            3 => "Disk full or allocation exceeded",
            4 => "Illegal TFTP operation",
            5 => "Unknown transfer ID",
            6 => "File already exists",
            7 => "No such user",
            8 => "Option negotiation refused",
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.meaning() {
            Some(meaning) => write!(f, "{} ({meaning})", self.0),
            None => write!(f, "{} (unknown code)", self.0),
        }
    }
}

/// An option and its value, both as text (RFC 2347: "in case-insensitive ASCII").
pub type TftpOption = (String, String);

/// What a RRQ or WRQ asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The file's name, as the client wrote it (the server decides what it means).
    pub filename: String,
    /// How to transfer it.
    pub mode: Mode,
    /// RFC 2347 options, in the order the client listed them.
    pub options: Vec<TftpOption>,
}

/// One TFTP packet. DATA borrows its payload from the datagram it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Read request: "send me this file".
    Rrq(Request),
    /// Write request: "let me send you this file".
    Wrq(Request),
    /// One block of the file. Fewer than blksize bytes ends the transfer.
    Data {
        /// 1 for the first block, then +1 per block (wrapping after 65535).
        block: u16,
        /// The block's bytes.
        data: &'a [u8],
    },
    /// "I have every block up to this one."
    Ack {
        /// The last block received (0 acknowledges a WRQ or an OACK).
        block: u16,
    },
    /// The transfer ends: why, as a code and a message for humans.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// Text for a human (RFC 1350: "should be in netascii").
        message: String,
    },
    /// The server accepts these of the client's options, with these values.
    Oack {
        /// The accepted options.
        options: Vec<TftpOption>,
    },
}

/// Why a datagram is not a valid TFTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the packet kind needs.
    TooShort {
        /// The datagram's length.
        len: usize,
    },
    /// The first two bytes are not an opcode from 1 to 6.
    UnknownOpcode(u16),
    /// A text field does not end with its zero byte.
    Unterminated(&'static str),
    /// A text field is not UTF-8 (RFC 1350 asks for netascii).
    NotText(&'static str),
    /// The request's mode is none of netascii, octet, mail.
    UnknownMode(String),
    /// An option name without the value that must follow it.
    OptionWithoutValue(String),
    /// An ACK with bytes after its block number.
    TrailingBytes {
        /// How many bytes too many.
        extra: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort { len } => write!(f, "a datagram of {len} bytes is too short"),
            DecodeError::UnknownOpcode(op) => write!(f, "unknown opcode {op}"),
            DecodeError::Unterminated(field) => {
                write!(f, "the {field} has no terminating zero byte")
            }
            DecodeError::NotText(field) => write!(f, "the {field} is not text"),
            DecodeError::UnknownMode(mode) => write!(f, "unknown mode {mode:?}"),
            DecodeError::OptionWithoutValue(name) => write!(f, "option {name:?} has no value"),
            DecodeError::TrailingBytes { extra } => {
                write!(f, "{extra} bytes after the end of the packet")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl<'a> Packet<'a> {
    // ANCHOR: decode
    /// Reads one packet out of a datagram. Never panics: every malformed input is an error.
    pub fn decode(bytes: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        if bytes.len() < OPCODE_LEN {
            return Err(DecodeError::TooShort { len: bytes.len() });
        }
        let (head, body) = bytes.split_at(OPCODE_LEN);
        match BigEndian::read_u16(head) {
            OP_RRQ => Ok(Packet::Rrq(decode_request(body)?)),
            OP_WRQ => Ok(Packet::Wrq(decode_request(body)?)),
            OP_DATA => {
                if body.len() < BLOCK_LEN {
                    return Err(DecodeError::TooShort { len: bytes.len() });
                }
                let (block, data) = body.split_at(BLOCK_LEN);
                Ok(Packet::Data {
                    block: BigEndian::read_u16(block),
                    data,
                })
            }
            OP_ACK => {
                if body.len() < BLOCK_LEN {
                    return Err(DecodeError::TooShort { len: bytes.len() });
                }
                if body.len() > BLOCK_LEN {
                    return Err(DecodeError::TrailingBytes {
                        extra: body.len() - BLOCK_LEN,
                    });
                }
                Ok(Packet::Ack {
                    block: BigEndian::read_u16(body),
                })
            }
            OP_ERROR => {
                if body.len() < BLOCK_LEN {
                    return Err(DecodeError::TooShort { len: bytes.len() });
                }
                let (code, text) = body.split_at(BLOCK_LEN);
                // Forgiving on purpose: the message is for a human, so a missing final
                // zero or bytes that are not UTF-8 still give a message to show.
                let text = text.split(|&b| b == 0).next().unwrap_or_default();
                Ok(Packet::Error {
                    code: ErrorCode(BigEndian::read_u16(code)),
                    message: String::from_utf8_lossy(text).into_owned(),
                })
            }
            OP_OACK => Ok(Packet::Oack {
                options: decode_options(body)?,
            }),
            other => Err(DecodeError::UnknownOpcode(other)),
        }
    }
    // ANCHOR_END: decode

    /// Writes the packet into `out` (cleared first), ready to send.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Packet::Rrq(request) => encode_request(OP_RRQ, request, out),
            Packet::Wrq(request) => encode_request(OP_WRQ, request, out),
            Packet::Data { block, data } => {
                out.resize(DATA_HEADER_LEN, 0);
                encode_data_header(out, *block);
                out.extend_from_slice(data);
            }
            Packet::Ack { block } => out.extend_from_slice(&encode_ack(*block)),
            Packet::Error { code, message } => {
                push_u16(out, OP_ERROR);
                push_u16(out, code.0);
                push_text(out, message);
            }
            Packet::Oack { options } => {
                push_u16(out, OP_OACK);
                for (name, value) in options {
                    push_text(out, name);
                    push_text(out, value);
                }
            }
        }
    }

    /// The packet as a new byte vector (for packets off the hot path).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

// ANCHOR: encode_data
/// Writes the 4-byte DATA header into the front of `packet`, in place: the sender keeps
/// one buffer per block and reads the file straight into `packet[DATA_HEADER_LEN..]`, so
/// no block is ever copied or allocated on the way out.
pub fn encode_data_header(packet: &mut [u8], block: u16) {
    BigEndian::write_u16(&mut packet[..OPCODE_LEN], OP_DATA);
    BigEndian::write_u16(&mut packet[OPCODE_LEN..DATA_HEADER_LEN], block);
}

/// An ACK packet, on the stack.
pub fn encode_ack(block: u16) -> [u8; ACK_LEN] {
    let mut ack = [0; ACK_LEN];
    BigEndian::write_u16(&mut ack[..OPCODE_LEN], OP_ACK);
    BigEndian::write_u16(&mut ack[OPCODE_LEN..], block);
    ack
}
// ANCHOR_END: encode_data

/// The longest ERROR text we send, in bytes. A message may quote what a stranger sent
/// (a file name); without a cap, a 10 KB name made a 60 KB ERROR, and the server a
/// reflector that multiplies traffic.
pub const MAX_ERROR_TEXT: usize = 200;

/// The smallest ERROR packet: opcode, code, and an empty text's zero byte.
pub const MIN_ERROR_LEN: usize = OPCODE_LEN + 2 + 1;

/// An ERROR packet as bytes; a text longer than [`MAX_ERROR_TEXT`] is cut.
pub fn error_packet(code: ErrorCode, message: &str) -> Vec<u8> {
    Packet::Error {
        code,
        message: cut(message, MAX_ERROR_TEXT).to_string(),
    }
    .to_bytes()
}

/// An ERROR that answers a datagram of `limit` bytes: never larger than it, so that no
/// one can use us to multiply their traffic (a forged source address makes the reply
/// land on a victim). The text is cut to fit; `None` if not even an empty ERROR fits
/// (a stranger's 4-byte ACK gets no answer).
pub fn error_reply(code: ErrorCode, message: &str, limit: usize) -> Option<Vec<u8>> {
    let room = limit.checked_sub(MIN_ERROR_LEN)?;
    Some(error_packet(code, cut(message, room)))
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn push_u16(out: &mut Vec<u8>, value: u16) {
    let mut two = [0; 2];
    BigEndian::write_u16(&mut two, value);
    out.extend_from_slice(&two);
}

/// A text field: its bytes, then the zero byte that ends it. A zero inside the text
/// would end it early on the other side, so none may be in it; we drop them.
fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().filter(|&b| b != 0));
    out.push(0);
}

fn encode_request(opcode: u16, request: &Request, out: &mut Vec<u8>) {
    push_u16(out, opcode);
    push_text(out, &request.filename);
    push_text(out, request.mode.as_str());
    for (name, value) in &request.options {
        push_text(out, name);
        push_text(out, value);
    }
}

/// Splits off one zero-terminated text field.
fn take_text<'b>(bytes: &'b [u8], field: &'static str) -> Result<(&'b str, &'b [u8]), DecodeError> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(DecodeError::Unterminated(field))?;
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| DecodeError::NotText(field))?;
    Ok((text, &bytes[end + 1..]))
}

fn decode_request(body: &[u8]) -> Result<Request, DecodeError> {
    let (filename, rest) = take_text(body, "filename")?;
    let (mode, rest) = take_text(rest, "mode")?;
    let mode = Mode::parse(mode).ok_or_else(|| DecodeError::UnknownMode(mode.to_string()))?;
    Ok(Request {
        filename: filename.to_string(),
        mode,
        options: decode_options(rest)?,
    })
}

/// `name 0 value 0` pairs up to the end. Zero bytes of padding after the last pair (some
/// boot ROMs pad their requests) are forgiven.
fn decode_options(mut rest: &[u8]) -> Result<Vec<TftpOption>, DecodeError> {
    let mut options = Vec::new();
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let (name, after) = take_text(rest, "option name")?;
        let (value, after) = match take_text(after, "option value") {
            Ok(found) => found,
            Err(DecodeError::Unterminated(_)) => {
                return Err(DecodeError::OptionWithoutValue(name.to_string()))
            }
            Err(err) => return Err(err),
        };
        options.push((name.to_string(), value.to_string()));
        rest = after;
    }
    Ok(options)
}

fn write_options(f: &mut fmt::Formatter<'_>, options: &[TftpOption]) -> fmt::Result {
    // Names and values come from the network: shown escaped, so a stranger's RRQ or
    // OACK cannot drive the terminal of whoever runs --trace.
    let show = |text: &str| shared::encoding::display(text.as_bytes());
    for (name, value) in options {
        write!(f, " {}={}", show(name), show(value))?;
    }
    Ok(())
}

/// One line per packet, for `--trace`: `DATA block 7, 512 bytes`.
impl fmt::Display for Packet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                let kind = if matches!(self, Packet::Rrq(_)) {
                    "RRQ"
                } else {
                    "WRQ"
                };
                write!(f, "{kind} {:?} {}", r.filename, r.mode)?;
                write_options(f, &r.options)
            }
            Packet::Data { block, data } => write!(f, "DATA block {block}, {} bytes", data.len()),
            Packet::Ack { block } => write!(f, "ACK block {block}"),
            Packet::Error { code, message } => write!(f, "ERROR {code}: {message:?}"),
            Packet::Oack { options } => {
                f.write_str("OACK")?;
                write_options(f, options)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `--trace` shows a stranger's option names and values escaped (found by the fuzz
    /// target `tftp`): an ESC in them would drive the terminal.
    #[test]
    fn trace_lines_show_options_escaped() {
        let options = vec![("\x1b]0;owned\x07".to_string(), "1\n2".to_string())];
        for packet in [
            Packet::Oack {
                options: options.clone(),
            },
            Packet::Rrq(Request {
                filename: "f".into(),
                mode: Mode::Octet,
                options,
            }),
        ] {
            let line = packet.to_string();
            assert!(!line.contains(|c: char| c.is_control()), "{line:?}");
            assert!(line.ends_with(" \\x1b]0;owned\\x07=1\\n2"), "{line}");
        }
    }

    /// No ERROR is larger than what it answers, and none is longer than the cap.
    #[test]
    fn error_replies_never_outgrow_the_request() {
        let long = "\u{e9}".repeat(5000); // 2 bytes each: the cut must find a boundary
        for limit in [0, 4, MIN_ERROR_LEN, MIN_ERROR_LEN + 1, 20, 100_000] {
            match error_reply(ErrorCode::ACCESS_VIOLATION, &long, limit) {
                Some(bytes) => {
                    assert!(bytes.len() <= limit, "{} > {limit}", bytes.len());
                    assert!(Packet::decode(&bytes).is_ok());
                }
                None => assert!(limit < MIN_ERROR_LEN, "limit {limit}"),
            }
        }
        let capped = error_packet(ErrorCode::NOT_DEFINED, &long);
        assert!(capped.len() <= MIN_ERROR_LEN + MAX_ERROR_TEXT);
    }

    /// The RRQ of the classic Python client:
    /// `struct.pack('!H%dsb5sb', 1, name, 0, 'octet', 0)`: opcode 1 as a big-endian
    /// u16, the name, a zero byte, "octet", a zero byte.
    #[test]
    fn fixture_python_struct_pack_rrq() {
        let wire = b"\x00\x01test.txt\x00octet\x00";
        let request = Request {
            filename: "test.txt".into(),
            mode: Mode::Octet,
            options: vec![],
        };
        assert_eq!(Packet::Rrq(request.clone()).to_bytes(), wire);
        assert_eq!(Packet::decode(wire), Ok(Packet::Rrq(request)));
    }

    /// RFC 2347's example: `|1|foofile|0|octet|0|blksize|0|1432|0|` and its OACK.
    #[test]
    fn fixture_rfc2347_rrq_with_blksize_and_oack() {
        let wire = b"\x00\x01foofile\x00octet\x00blksize\x001432\x00";
        let Ok(Packet::Rrq(request)) = Packet::decode(wire) else {
            panic!("not a RRQ")
        };
        assert_eq!(request.filename, "foofile");
        assert_eq!(request.options, [("blksize".into(), "1432".into())]);
        let oack = Packet::Oack {
            options: vec![("blksize".into(), "1432".into())],
        };
        assert_eq!(oack.to_bytes(), b"\x00\x06blksize\x001432\x00");
    }

    #[test]
    fn fixtures_data_ack_error_wrq() {
        let data = Packet::Data {
            block: 0x0102,
            data: b"hi",
        };
        assert_eq!(data.to_bytes(), b"\x00\x03\x01\x02hi");
        assert_eq!(Packet::Ack { block: 65535 }.to_bytes(), b"\x00\x04\xff\xff");
        assert_eq!(encode_ack(7), *b"\x00\x04\x00\x07");
        assert_eq!(
            error_packet(ErrorCode::FILE_NOT_FOUND, "no such file"),
            b"\x00\x05\x00\x01no such file\x00"
        );
        let wrq = b"\x00\x02up.bin\x00NetASCII\x00";
        assert!(matches!(
            Packet::decode(wrq),
            Ok(Packet::Wrq(Request {
                mode: Mode::Netascii,
                ..
            }))
        ));
        // An empty DATA block is valid: it ends a file whose size is a multiple of blksize.
        assert_eq!(
            Packet::decode(b"\x00\x03\x00\x09"),
            Ok(Packet::Data {
                block: 9,
                data: b""
            })
        );
    }

    #[test]
    fn malformed_packets_are_errors() {
        let cases: [(&[u8], DecodeError); 9] = [
            (b"", DecodeError::TooShort { len: 0 }),
            (b"\x00", DecodeError::TooShort { len: 1 }),
            (b"\x00\x07", DecodeError::UnknownOpcode(7)),
            (b"\x00\x03\x00", DecodeError::TooShort { len: 3 }),
            (
                b"\x00\x04\x00\x01\x00",
                DecodeError::TrailingBytes { extra: 1 },
            ),
            (b"\x00\x01file", DecodeError::Unterminated("filename")),
            (b"\x00\x01file\x00octet", DecodeError::Unterminated("mode")),
            (
                b"\x00\x01f\x00binary\x00",
                DecodeError::UnknownMode("binary".into()),
            ),
            (
                b"\x00\x01f\x00octet\x00blksize\x00",
                DecodeError::OptionWithoutValue("blksize".into()),
            ),
        ];
        for (wire, expected) in cases {
            assert_eq!(Packet::decode(wire), Err(expected), "{wire:?}");
        }
        assert_eq!(
            Packet::decode(b"\x00\x01\xff\x00octet\x00"),
            Err(DecodeError::NotText("filename"))
        );
    }

    #[test]
    fn forgiving_where_it_harms_nobody() {
        // An ERROR without its final zero, and a request padded with zeros.
        assert_eq!(
            Packet::decode(b"\x00\x05\x00\x02denied"),
            Ok(Packet::Error {
                code: ErrorCode::ACCESS_VIOLATION,
                message: "denied".into()
            })
        );
        assert!(Packet::decode(b"\x00\x01f\x00octet\x00\x00\x00\x00").is_ok());
    }

    #[test]
    fn display_for_trace() {
        let rrq = Packet::decode(b"\x00\x01a.txt\x00octet\x00tsize\x000\x00").unwrap();
        assert_eq!(rrq.to_string(), "RRQ \"a.txt\" octet tsize=0");
        let data = Packet::Data {
            block: 3,
            data: &[0; 512],
        };
        assert_eq!(data.to_string(), "DATA block 3, 512 bytes");
        let error = Packet::Error {
            code: ErrorCode(5),
            message: "who are you?".into(),
        };
        assert_eq!(
            error.to_string(),
            "ERROR 5 (Unknown transfer ID): \"who are you?\""
        );
        assert_eq!(ErrorCode(99).to_string(), "99 (unknown code)");
    }

    /// A tiny seeded generator (xorshift64*), so the property tests below are the same on
    /// every run and need no extra crate.
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn text(&mut self, max: usize) -> String {
            let len = self.below(max + 1);
            let mut text: String = (0..len)
                .map(|_| char::from(b' ' + self.below(95) as u8))
                .collect();
            if self.below(8) == 0 {
                text.push('é');
            }
            text
        }
        fn bytes(&mut self, max: usize) -> Vec<u8> {
            let len = self.below(max + 1);
            (0..len).map(|_| self.next() as u8).collect()
        }
        fn options(&mut self) -> Vec<TftpOption> {
            (0..self.below(4))
                .map(|_| (self.text(10), self.text(6)))
                .filter(|(name, _)| !name.is_empty())
                .collect()
        }
    }

    /// Property: every kind of packet survives encode then decode unchanged.
    #[test]
    fn property_every_packet_kind_round_trips() {
        let mut rng = Rng::new(1350);
        for _ in 0..5000 {
            let payload = rng.bytes(600);
            let make_request = |rng: &mut Rng| Request {
                filename: rng.text(40),
                mode: [Mode::Netascii, Mode::Octet, Mode::Mail][rng.below(3)],
                options: rng.options(),
            };
            let packet = match rng.below(6) {
                0 => Packet::Rrq(make_request(&mut rng)),
                1 => Packet::Wrq(make_request(&mut rng)),
                2 => Packet::Data {
                    block: rng.next() as u16,
                    data: &payload,
                },
                3 => Packet::Ack {
                    block: rng.next() as u16,
                },
                4 => Packet::Error {
                    code: ErrorCode(rng.next() as u16),
                    message: rng.text(60),
                },
                _ => Packet::Oack {
                    options: rng.options(),
                },
            };
            let wire = packet.to_bytes();
            assert_eq!(Packet::decode(&wire), Ok(packet.clone()), "{wire:?}");
        }
    }

    /// Property: decoding never panics, on random bytes and on valid packets with random
    /// damage (cut short, a byte changed).
    #[test]
    fn property_decode_never_panics() {
        let mut rng = Rng::new(2347);
        let valid: [&[u8]; 4] = [
            b"\x00\x01foofile\x00octet\x00blksize\x001432\x00",
            b"\x00\x06tsize\x00100\x00",
            b"\x00\x05\x00\x01nope\x00",
            b"\x00\x03\x00\x01abc",
        ];
        for _ in 0..20_000 {
            let mut bytes = if rng.below(2) == 0 {
                rng.bytes(64)
            } else {
                valid[rng.below(valid.len())].to_vec()
            };
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes.truncate(at),
                    1 => bytes[at] = rng.next() as u8,
                    _ => bytes[at] = 0,
                }
                if rng.below(2) == 0 && bytes.len() >= 2 {
                    bytes[1] = (rng.below(8)) as u8; // steer towards real opcodes
                    bytes[0] = 0;
                }
            }
            let _ = Packet::decode(&bytes);
        }
    }
}
