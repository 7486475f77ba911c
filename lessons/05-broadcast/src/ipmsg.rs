//! The IPMsg packet: one line of text, six fields separated by colons.
//!
//! IP Messenger (IPMsg, 飞鸽传书, H. Shirouzu, 1996) is a LAN chat that needs no server:
//! every client broadcasts "I am here" when it starts, and everyone who hears it answers by
//! unicast. FeiQ (飞秋) speaks the same protocol. Its packets are text, which makes them
//! easy to read in a `--trace`:
//!
//! ```text
//! version:packet-no:user:host:command:extra
//! 1:1700000000:alice:wonderland:1:alice
//! ```
//!
//! - `version` is always `1`;
//! - `packet-no` is any number the sender picks, new for each packet (clients start from
//!   the time in seconds and count up); an answer can quote it;
//! - `user` and `host` name the sender; they cannot contain `:`;
//! - `command` is a decimal number: its low 8 bits are the *mode* (what the packet is:
//!   [`BR_ENTRY`], [`ANSENTRY`], ...), the high bits are *options* (flags such as
//!   [`SENDCHECKOPT`]), so `288` = `0x120` is `SENDMSG` with `SENDCHECKOPT`;
//! - `extra` is the rest of the datagram, colons and all: the nickname for the entry
//!   commands, the text for `SENDMSG`.
//!
//! # Text is bytes plus an encoding
//!
//! The fields are bytes, and the packet does not always say which encoding they are in.
//! With the option [`UTF8OPT`] they are UTF-8. Without it they are in the sender's
//! local encoding: GBK on a Chinese Windows machine, which is what FeiQ sends (`张三` is
//! `d5 c5 c8 fd`). So the parser works on bytes: it splits at the `:` bytes and never
//! decodes. That is safe in both encodings: every byte of a multi-byte character is
//! `0x80` or more in UTF-8, and `0x40` or more in GBK, so a `:` (`0x3a`) byte is always
//! a colon. The names are decoded only to be shown ([`Packet::show`]).
//!
//! The real protocol runs on UDP port [`PORT`] (2425). UDP keeps message boundaries, so
//! one datagram is exactly one packet: there is no framing to do, unlike TCP in lesson 01.
//!
//! ```
//! use broadcast::ipmsg::{Packet, BR_ENTRY};
//! let packet = Packet::parse(b"1:17:alice:wonderland:1:alice").unwrap();
//! assert_eq!((packet.mode(), &packet.user[..]), (BR_ENTRY, &b"alice"[..]));
//! assert_eq!(packet.emit().unwrap(), b"1:17:alice:wonderland:1:alice");
//! assert!(Packet::parse(b"hello").is_err()); // an error, never a panic
//! ```

use shared::encoding::Encoding;
use std::fmt;

/// IPMsg's real UDP port. The lesson defaults to 6868 (`shared::addr::BROADCAST_LISTEN`)
/// so it never answers a real IPMsg client on your network by surprise.
pub const PORT: u16 = 2425;

/// The only protocol version there is: the first field of every packet.
pub const VERSION: u32 = 1;

/// What separates the fields.
pub const SEPARATOR: u8 = b':';

/// How many fields a packet has: version, packet-no, user, host, command, extra.
pub const FIELD_COUNT: usize = 6;

/// The field names, in order, for error messages.
pub const FIELD_NAMES: [&str; FIELD_COUNT] =
    ["version", "packet-no", "user", "host", "command", "extra"];

/// The longest packet we accept, in bytes (IPMsg's own receive buffer is this size).
/// Receive into a buffer one byte longer: if it fills up, the datagram was longer and
/// `recv_from` cut it off, so it is refused as [`Malformed::TooLong`].
pub const MAX_PACKET: usize = 8192;

/// Mode: "I am here" (broadcast when a client starts).
pub const BR_ENTRY: u32 = 0x01;
/// Mode: "I am leaving" (broadcast when a client quits).
pub const BR_EXIT: u32 = 0x02;
/// Mode: the answer to [`BR_ENTRY`], "I am here too" (sent by unicast to the one who asked).
pub const ANSENTRY: u32 = 0x03;
/// Mode: a chat message; `extra` is its text.
pub const SENDMSG: u32 = 0x20;
/// Mode: "I got your message"; `extra` is the packet-no of that `SENDMSG`.
pub const RECVMSG: u32 = 0x21;

/// The mode is the low 8 bits of the command; the other bits are options.
pub const MODE_MASK: u32 = 0xff;
/// Option for [`SENDMSG`]: "answer with [`RECVMSG`] so I know it arrived".
pub const SENDCHECKOPT: u32 = 0x100;
/// Option for [`SENDMSG`]: "this message was sent to everyone (broadcast)".
pub const BROADCASTOPT: u32 = 0x400;
/// Option for any command: "the text of this packet (user, host, extra) is UTF-8".
/// IP Messenger 3 added it; without it the text is in the sender's local encoding (GBK
/// from FeiQ and a Chinese Windows). We set it exactly when we send UTF-8.
pub const UTF8OPT: u32 = 0x0080_0000;

// ANCHOR: mode
/// The mode of a command: its low 8 bits (`0x120` gives `0x20`, [`SENDMSG`]).
pub fn mode(command: u32) -> u32 {
    command & MODE_MASK
}

/// The options of a command: every bit above the mode (`0x120` gives `0x100`).
pub fn options(command: u32) -> u32 {
    command & !MODE_MASK
}
// ANCHOR_END: mode

/// The name of a mode, e.g. `"BR_ENTRY"`; `None` for a mode this lesson does not know.
pub fn mode_name(mode: u32) -> Option<&'static str> {
    match mode {
        BR_ENTRY => Some("BR_ENTRY"),
        BR_EXIT => Some("BR_EXIT"),
        ANSENTRY => Some("ANSENTRY"),
        SENDMSG => Some("SENDMSG"),
        RECVMSG => Some("RECVMSG"),
        _ => None,
    }
}

/// Why some bytes are not an IPMsg packet (or a packet cannot be written as one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Longer than [`MAX_PACKET`] (or cut off by a receive buffer of that size).
    TooLong {
        /// How many bytes there were.
        len: usize,
    },
    /// Fewer than [`FIELD_COUNT`] fields (an empty datagram has 0).
    MissingFields {
        /// How many there were.
        found: usize,
    },
    /// A number field (`version`, `packet-no`, `command`) is not a plain decimal number
    /// that fits.
    NotANumber {
        /// Which field.
        field: &'static str,
        /// What it held, shown escaped.
        text: String,
    },
    /// A version other than [`VERSION`].
    UnsupportedVersion(u64),
    /// `user` or `host` is empty.
    EmptyName {
        /// Which field.
        field: &'static str,
    },
    /// `user` or `host` holds a `:` (which would shift the fields after it) or a line
    /// break (which would let a name forge a second line in a log or a terminal). Parsing
    /// and emitting refuse the same names: see [`check_name`].
    BadName {
        /// Which field.
        field: &'static str,
    },
    /// `extra` ends with a line break or a NUL, which parsing forgives and drops, so the
    /// packet would not read back as sent (only [`Packet::emit`] can meet this).
    BadExtraEnd,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::TooLong { len } => {
                write!(f, "{len} bytes is longer than the {MAX_PACKET}-byte limit")
            }
            Malformed::MissingFields { found } => write!(
                f,
                "{found} of the {FIELD_COUNT} fields version:packet-no:user:host:command:extra"
            ),
            Malformed::NotANumber { field, text } => {
                write!(f, "{field} \"{text}\" is not a decimal number")
            }
            Malformed::UnsupportedVersion(version) => {
                write!(f, "version {version}, but only version {VERSION} exists")
            }
            Malformed::EmptyName { field } => write!(f, "the {field} field is empty"),
            Malformed::BadName { field } => {
                write!(f, "the {field} field contains a ':' or a line break")
            }
            Malformed::BadExtraEnd => write!(
                f,
                "the extra field ends with a line break or NUL, which a reader drops"
            ),
        }
    }
}

impl std::error::Error for Malformed {}

/// One IPMsg packet, its six fields. The text fields are bytes, as they travel: which
/// encoding they are in is [`Packet::encoding`]'s question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Always [`VERSION`] in a packet that parsed.
    pub version: u32,
    /// Chosen by the sender, new for each packet.
    pub packet_no: u64,
    /// The sender's user name.
    pub user: Vec<u8>,
    /// The sender's host name.
    pub host: Vec<u8>,
    /// Mode (low 8 bits) and options (high bits); see [`mode`] and [`options`].
    pub command: u32,
    /// Everything after the fifth colon.
    pub extra: Vec<u8>,
}

impl Packet {
    /// A version-1 packet from bytes (or from `&str`, which is UTF-8).
    pub fn new(
        packet_no: u64,
        user: impl Into<Vec<u8>>,
        host: impl Into<Vec<u8>>,
        command: u32,
        extra: impl Into<Vec<u8>>,
    ) -> Packet {
        Packet {
            version: VERSION,
            packet_no,
            user: user.into(),
            host: host.into(),
            command,
            extra: extra.into(),
        }
    }

    // ANCHOR: encoded
    /// A packet to send, its text in `encoding`: UTF-8 (`auto` sends UTF-8 too) sets
    /// [`UTF8OPT`], GBK does not. An error names a character GBK cannot hold.
    pub fn encoded(
        packet_no: u64,
        [user, host, extra]: [&str; 3],
        command: u32,
        encoding: Encoding,
    ) -> Result<Packet, String> {
        let command = match encoding {
            Encoding::Gbk => command & !UTF8OPT,
            Encoding::Utf8 | Encoding::Auto => command | UTF8OPT,
        };
        let (user, host, extra) = (
            encoding.encode(user)?,
            encoding.encode(host)?,
            encoding.encode(extra)?,
        );
        Ok(Packet::new(packet_no, user, host, command, extra))
    }
    // ANCHOR_END: encoded

    /// The mode of [`Packet::command`]: what kind of packet this is.
    pub fn mode(&self) -> u32 {
        mode(self.command)
    }

    /// The options of [`Packet::command`].
    pub fn options(&self) -> u32 {
        options(self.command)
    }

    // ANCHOR: encoding
    /// The encoding of this packet's text: UTF-8 if it says so ([`UTF8OPT`]); otherwise
    /// `fallback`, the listener's `--encoding`, where `auto` means UTF-8 if every field
    /// is valid UTF-8, else GBK (what FeiQ sends).
    pub fn encoding(&self, fallback: Encoding) -> Encoding {
        if self.options() & UTF8OPT != 0 {
            return Encoding::Utf8;
        }
        match fallback {
            Encoding::Auto => {
                let fields = [&self.user, &self.host, &self.extra];
                if fields.iter().all(|field| Encoding::Utf8.is_valid(field)) {
                    Encoding::Utf8
                } else {
                    Encoding::Gbk
                }
            }
            chosen => chosen,
        }
    }
    // ANCHOR_END: encoding

    /// `user@host`, decoded as [`Packet::encoding`] says and escaped
    /// ([`Encoding::display`]): names come from the network, and printed raw an ESC or
    /// BEL in one would drive the reader's terminal. Bytes the encoding cannot decode
    /// show as `\xNN`, never dropped.
    pub fn sender(&self, fallback: Encoding) -> String {
        let encoding = self.encoding(fallback);
        format!(
            "{}@{}",
            encoding.display(&self.user),
            encoding.display(&self.host)
        )
    }

    /// One line for a terminal: `BR_ENTRY from alice@wonderland (packet 17): alice`.
    /// Options show as `SENDMSG+0x100`, except [`UTF8OPT`], which shows as `, UTF8OPT`
    /// in the brackets; text decoded as GBK says `, gbk` there. An unknown mode shows as
    /// `mode 0x42`. Names and extra are decoded and escaped: they come from the network.
    pub fn show(&self, fallback: Encoding) -> String {
        let encoding = self.encoding(fallback);
        let mut line = match mode_name(self.mode()) {
            Some(name) => name.to_string(),
            None => format!("mode {:#04x}", self.mode()),
        };
        if self.options() & !UTF8OPT != 0 {
            line += &format!("+{:#x}", self.options() & !UTF8OPT);
        }
        line += &format!(" from {} (packet {}", self.sender(fallback), self.packet_no);
        if self.options() & UTF8OPT != 0 {
            line += ", UTF8OPT";
        } else if encoding == Encoding::Gbk {
            line += ", gbk";
        }
        line += ")";
        if !self.extra.is_empty() {
            line += &format!(": {}", encoding.display(&self.extra));
        }
        line
    }

    /// The bytes of the packet, ready for `send_to`: the six fields joined by colons, the
    /// numbers in decimal, nothing after `extra`. An error for anything
    /// [`Packet::parse`] would not read back as this very packet: a version other than
    /// [`VERSION`], a bad `user` or `host` ([`check_name`]), an `extra` that ends with
    /// what parsing forgives (a line break, a NUL), or more than [`MAX_PACKET`] bytes.
    pub fn emit(&self) -> Result<Vec<u8>, Malformed> {
        if self.version != VERSION {
            return Err(Malformed::UnsupportedVersion(self.version.into()));
        }
        check_name(FIELD_NAMES[2], &self.user)?;
        check_name(FIELD_NAMES[3], &self.host)?;
        if self.extra.ends_with(b"\n") || self.extra.ends_with(b"\r") || self.extra.ends_with(b"\0")
        {
            return Err(Malformed::BadExtraEnd);
        }
        let mut bytes = format!("{}:{}:", self.version, self.packet_no).into_bytes();
        bytes.extend_from_slice(&self.user);
        bytes.push(SEPARATOR);
        bytes.extend_from_slice(&self.host);
        bytes.extend_from_slice(format!(":{}:", self.command).as_bytes());
        bytes.extend_from_slice(&self.extra);
        if bytes.len() > MAX_PACKET {
            return Err(Malformed::TooLong { len: bytes.len() });
        }
        Ok(bytes)
    }

    /// Reads one datagram as a packet. Never panics: anything that is not a packet is a
    /// [`Malformed`] error that says why. Any bytes may be text: nothing is decoded here.
    ///
    /// Forgiven, and dropped: line breaks and NUL bytes at the end (`echo ... | nc -u`
    /// adds `\n`; real IPMsg clients end their packets with `\0`, and send
    /// `nickname\0group\0` as the extra of an entry).
    ///
    /// Whatever it accepts, [`Packet::emit`] writes back, and reading that gives the same
    /// packet: the two agree on every rule (the `parse_and_emit_agree` test checks it).
    pub fn parse(datagram: &[u8]) -> Result<Packet, Malformed> {
        if datagram.len() > MAX_PACKET {
            return Err(Malformed::TooLong {
                len: datagram.len(),
            });
        }
        if datagram.is_empty() {
            return Err(Malformed::MissingFields { found: 0 });
        }
        let end = datagram
            .iter()
            .rposition(|byte| !FORGIVEN_AT_END.contains(byte))
            .map_or(0, |last| last + 1);
        let datagram = &datagram[..end];

        // ANCHOR: split
        // splitn: the sixth piece is the whole rest, so `extra` may contain colons.
        let fields: Vec<&[u8]> = datagram.splitn(FIELD_COUNT, |&b| b == SEPARATOR).collect();
        let [version, packet_no, user, host, command, extra] = fields[..] else {
            return Err(Malformed::MissingFields {
                found: fields.len(),
            });
        };
        // ANCHOR_END: split

        let version = number(FIELD_NAMES[0], version)?;
        if version != u64::from(VERSION) {
            return Err(Malformed::UnsupportedVersion(version));
        }
        let packet_no = number(FIELD_NAMES[1], packet_no)?;
        check_name(FIELD_NAMES[2], user)?;
        check_name(FIELD_NAMES[3], host)?;
        let command =
            u32::try_from(number(FIELD_NAMES[4], command)?).map_err(|_| Malformed::NotANumber {
                field: FIELD_NAMES[4],
                text: shared::encoding::display(command),
            })?;
        Ok(Packet::new(packet_no, user, host, command, extra))
    }
}

/// What [`Packet::parse`] forgives at the end of a datagram, and drops.
const FORGIVEN_AT_END: [u8; 3] = [b'\n', b'\r', b'\0'];

/// The one rule for `user` and `host`, in both directions: not empty, no `:` (it would
/// shift the fields), no line break (it would forge a line in whatever prints it). Other
/// control characters (ESC, BEL) break nothing in the packet; they are shown escaped
/// ([`Packet::sender`]), never printed raw.
pub fn check_name(field: &'static str, name: &[u8]) -> Result<(), Malformed> {
    if name.is_empty() {
        return Err(Malformed::EmptyName { field });
    }
    if name.iter().any(|b| matches!(b, b':' | b'\n' | b'\r')) {
        return Err(Malformed::BadName { field });
    }
    Ok(())
}

/// A field that must be a plain decimal number: digits only (`u64::from_str` would also
/// take `+5`), at least one, and small enough for a `u64`.
fn number(field: &'static str, bytes: &[u8]) -> Result<u64, Malformed> {
    let not_a_number = || Malformed::NotANumber {
        field,
        text: shared::encoding::display(bytes),
    };
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(not_a_number());
    }
    // Digits only: valid UTF-8, so from_utf8 cannot fail here.
    let text = std::str::from_utf8(bytes).map_err(|_| not_a_number())?;
    text.parse().map_err(|_| not_a_number())
}

/// [`Packet::show`] with the `auto` encoding (UTF-8 where valid, else GBK).
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.show(Encoding::Auto))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `announce` sends: alice says she is here, her nickname in extra.
    const ENTRY: &[u8] = b"1:1700000000:alice:wonderland:1:alice";
    /// What a listener answers.
    const ANSWER: &[u8] = b"1:1700000001:bob:builder:3:bob";
    /// A message that asks for a receipt: 288 = 0x120 = SENDMSG | SENDCHECKOPT. Its text
    /// has colons of its own.
    const MESSAGE: &[u8] = b"1:42:bob:builder:288:tea at 5:30? yes: see you";
    /// As a real IPMsg client sends an entry: `nickname\0group\0` in extra.
    const REAL_CLIENT_ENTRY: &[u8] = b"1:5:carol:office-pc:1:Carol\0Sales\0";

    #[test]
    fn parses_an_entry() {
        let packet = Packet::parse(ENTRY).unwrap();
        assert_eq!(
            packet,
            Packet::new(1_700_000_000, "alice", "wonderland", BR_ENTRY, "alice")
        );
        assert_eq!(
            packet.to_string(),
            "BR_ENTRY from alice@wonderland (packet 1700000000): alice"
        );
    }

    #[test]
    fn emit_gives_the_fixture_bytes_back() {
        for fixture in [ENTRY, ANSWER, MESSAGE] {
            assert_eq!(Packet::parse(fixture).unwrap().emit().unwrap(), fixture);
        }
        let answer = Packet::new(1_700_000_001, "bob", "builder", ANSENTRY, "bob");
        assert_eq!(answer.emit().unwrap(), ANSWER);
    }

    #[test]
    fn mode_is_the_low_8_bits_and_options_the_rest() {
        let packet = Packet::parse(MESSAGE).unwrap();
        assert_eq!(packet.command, 0x120);
        assert_eq!(packet.mode(), SENDMSG);
        assert_eq!(packet.options(), SENDCHECKOPT);
        assert_eq!(packet.extra, b"tea at 5:30? yes: see you");
        assert!(packet
            .to_string()
            .starts_with("SENDMSG+0x100 from bob@builder"));
        assert_eq!(mode(SENDMSG | BROADCASTOPT), SENDMSG);
        assert_eq!(options(RECVMSG), 0);
        for known in [BR_ENTRY, BR_EXIT, ANSENTRY, SENDMSG, RECVMSG] {
            assert_eq!(mode(known), known, "every mode fits in the mask");
            assert!(mode_name(known).is_some());
        }
        assert_eq!(mode_name(0x42), None);
    }

    #[test]
    fn a_real_clients_trailing_nuls_and_a_line_ending_are_forgiven() {
        let packet = Packet::parse(REAL_CLIENT_ENTRY).unwrap();
        assert_eq!(packet.extra, b"Carol\0Sales");
        assert!(packet.to_string().ends_with(": Carol\\0Sales"), "{packet}");
        let typed = Packet::parse(b"1:7:dave:laptop:1:dave\r\n").unwrap();
        assert_eq!(typed.extra, b"dave");
        assert_eq!(Packet::parse(b"1:7:u:h:32:").unwrap().extra, b"");
    }

    #[test]
    fn malformed_datagrams_are_errors_that_say_why() {
        let long = [b'x'; MAX_PACKET + 1];
        let cases: &[(&[u8], Malformed)] = &[
            (b"", Malformed::MissingFields { found: 0 }),
            (b"hello", Malformed::MissingFields { found: 1 }),
            (
                b"1:2:alice:wonderland:1",
                Malformed::MissingFields { found: 5 },
            ),
            (
                b"\xff\xfe1:2:u:h:1:",
                Malformed::NotANumber {
                    field: "version",
                    text: "\\xff\\xfe1".into(),
                },
            ),
            (
                &long,
                Malformed::TooLong {
                    len: MAX_PACKET + 1,
                },
            ),
            (b"2:1:u:h:1:", Malformed::UnsupportedVersion(2)),
            (
                b"99999999999:1:u:h:1:",
                Malformed::UnsupportedVersion(99_999_999_999),
            ),
            (
                b"one:1:u:h:1:",
                Malformed::NotANumber {
                    field: "version",
                    text: "one".into(),
                },
            ),
            (
                b"1:+1:u:h:1:",
                Malformed::NotANumber {
                    field: "packet-no",
                    text: "+1".into(),
                },
            ),
            (
                b"1::u:h:1:",
                Malformed::NotANumber {
                    field: "packet-no",
                    text: "".into(),
                },
            ),
            (b"1:1::h:1:", Malformed::EmptyName { field: "user" }),
            (b"1:1:u::1:", Malformed::EmptyName { field: "host" }),
            (
                b"1:1:u:h:0x20:",
                Malformed::NotANumber {
                    field: "command",
                    text: "0x20".into(),
                },
            ),
            (
                b"1:1:u:h:4294967296:",
                Malformed::NotANumber {
                    field: "command",
                    text: "4294967296".into(),
                },
            ),
            (
                b"1:99999999999999999999:u:h:1:",
                Malformed::NotANumber {
                    field: "packet-no",
                    text: "99999999999999999999".into(),
                },
            ),
        ];
        for (bytes, expected) in cases {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]);
            assert_eq!(Packet::parse(bytes).as_ref(), Err(expected), "{shown:?}");
            assert!(!expected.to_string().is_empty());
        }
        assert_eq!(
            Malformed::MissingFields { found: 1 }.to_string(),
            "1 of the 6 fields version:packet-no:user:host:command:extra"
        );
    }

    #[test]
    fn emit_refuses_names_that_would_shift_the_fields() {
        let packet = |user: &str, host: &str| Packet::new(1, user, host, BR_ENTRY, "x").emit();
        assert_eq!(
            packet("a:b", "h"),
            Err(Malformed::BadName { field: "user" })
        );
        assert_eq!(
            packet("u", "h\n"),
            Err(Malformed::BadName { field: "host" })
        );
        assert_eq!(packet("", "h"), Err(Malformed::EmptyName { field: "user" }));
        let huge = Packet::new(1, "u", "h", SENDMSG, "x".repeat(MAX_PACKET));
        assert!(matches!(huge.emit(), Err(Malformed::TooLong { .. })));
    }

    /// Names from the network: a line break in one is refused (it could forge a log
    /// line), ESC and BEL are shown escaped (they would drive the terminal), other text
    /// stays readable.
    #[test]
    fn hostile_names_are_refused_or_shown_escaped() {
        let refused: &[(&[u8], Malformed)] = &[
            (
                b"1:1:mallory\n127.0.0.1:9: BR_ENTRY from alice:h:1:x",
                Malformed::BadName { field: "user" },
            ),
            (b"1:1:u:h\r:3:", Malformed::BadName { field: "host" }),
            (b"1:1:u:\nh:3:", Malformed::BadName { field: "host" }),
        ];
        for (bytes, expected) in refused {
            assert_eq!(Packet::parse(bytes).as_ref(), Err(expected), "{bytes:?}");
        }

        const ESCAPES: &[u8] = b"1:9:\x1b[2J\x1b[31mroot\x07:\x1b]0;pwned\x07box:3:\x1b[0m";
        let packet = Packet::parse(ESCAPES).unwrap();
        assert_eq!(packet.user, b"\x1b[2J\x1b[31mroot\x07", "kept as sent");
        let shown = packet.to_string();
        assert_eq!(
            shown,
            "ANSENTRY from \\x1b[2J\\x1b[31mroot\\x07@\\x1b]0;pwned\\x07box (packet 9): \\x1b[0m"
        );
        assert!(!shown.contains(['\x1b', '\x07']), "{shown:?}");
        assert_eq!(
            packet.sender(Encoding::Auto),
            "\\x1b[2J\\x1b[31mroot\\x07@\\x1b]0;pwned\\x07box"
        );

        let readable = Packet::parse("1:3:张三:办公室:3:Zoë".as_bytes()).unwrap();
        assert_eq!(readable.sender(Encoding::Auto), "张三@办公室");
        assert_eq!(
            readable.to_string(),
            "ANSENTRY from 张三@办公室 (packet 3): Zoë"
        );
        let nul = Packet::parse(b"1:3:u\0:h\x7f:3:").unwrap();
        assert_eq!(nul.sender(Encoding::Auto), "u\\0@h\\x7f");
    }

    /// `parse` and `emit` agree, both ways: every packet `parse` accepts, `emit` writes,
    /// and reading that back gives the same packet; every packet `emit` writes, `parse`
    /// reads back as itself. Over byte fixtures, every single-byte change of them, and a
    /// few thousand pseudo-random datagrams and packets (fixed seed: repeatable).
    #[test]
    fn parse_and_emit_agree() {
        fn parsed_then_emitted(datagram: &[u8]) {
            let Ok(packet) = Packet::parse(datagram) else {
                return;
            };
            let shown = String::from_utf8_lossy(datagram);
            let bytes = packet
                .emit()
                .unwrap_or_else(|err| panic!("parse took {shown:?}, emit refuses: {err}"));
            assert_eq!(Packet::parse(&bytes), Ok(packet), "{shown:?}");
        }
        fn emitted_then_parsed(packet: Packet) {
            if let Ok(bytes) = packet.emit() {
                assert_eq!(Packet::parse(&bytes), Ok(packet));
            }
        }

        // The cases that disagreed: names with line breaks, and ends that parsing strips.
        let fixtures: [&[u8]; 9] = [
            ENTRY,
            ANSWER,
            MESSAGE,
            REAL_CLIENT_ENTRY,
            b"1:1:u\n:h:1:x",
            b"1:1:u:\rh:1:x",
            b"1:1:u:h:1:x\n\n",
            b"1:1:u:h:1:x\n\0",
            b"01:007:u:h:0003:x\r\0\r\n",
        ];
        for fixture in fixtures {
            parsed_then_emitted(fixture);
            for at in 0..fixture.len() {
                for byte in [0, b':', b'\n', b'\r', b'9', 0x1b, 0x80, 0xff] {
                    let mut changed = fixture.to_vec();
                    changed[at] = byte;
                    parsed_then_emitted(&changed);
                }
            }
        }

        let mut seed: u32 = 0x0505;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        const ALPHABET: &[u8] = b"0123:::\n\r\0\x1bab\xc4\xe3\xff";
        let mut pick = |len: u8| -> Vec<u8> {
            let len = next() % len;
            (0..len)
                .map(|_| ALPHABET[usize::from(next()) % ALPHABET.len()])
                .collect()
        };
        for _ in 0..20_000 {
            let mut datagram = b"1:1:".to_vec();
            datagram.extend(pick(24));
            parsed_then_emitted(&datagram);
            parsed_then_emitted(&pick(30));
            let (user, host, extra) = (pick(6), pick(6), pick(8));
            emitted_then_parsed(Packet::new(7, user, host, ANSENTRY, extra));
        }
        let mut other_version = Packet::new(1, "u", "h", BR_ENTRY, "");
        other_version.version = 2;
        assert_eq!(other_version.emit(), Err(Malformed::UnsupportedVersion(2)));
        assert_eq!(
            Packet::new(1, "u", "h", SENDMSG, "hi\n").emit(),
            Err(Malformed::BadExtraEnd)
        );
    }

    /// Parsing never panics: every prefix of every fixture, every single-byte change of
    /// one, and a few thousand pseudo-random datagrams (a fixed-seed generator, so a
    /// failure is repeatable).
    #[test]
    fn parse_never_panics() {
        for fixture in [ENTRY, ANSWER, MESSAGE, REAL_CLIENT_ENTRY] {
            for end in 0..=fixture.len() {
                let _ = Packet::parse(&fixture[..end]);
            }
            for at in 0..fixture.len() {
                for byte in [0, b':', b'9', 0x80, 0xff] {
                    let mut changed = fixture.to_vec();
                    changed[at] = byte;
                    let _ = Packet::parse(&changed);
                }
            }
        }
        let mut seed: u32 = 0x2425;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        for _ in 0..5000 {
            let len = usize::from(next() % 40);
            // Mostly digits and colons, so some get far into the parser.
            let datagram: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => b':',
                    1 => b'1',
                    _ => next(),
                })
                .collect();
            if let Ok(packet) = Packet::parse(&datagram) {
                assert_eq!(packet.version, VERSION);
            }
        }
    }

    /// As FeiQ sends a BR_ENTRY: `1:<id>:<user>:<host>:1:<nick>\0<group>\0`, in GBK and
    /// without UTF8OPT. User 张三 (`d5 c5 c8 fd`), host 张三-PC, group 技术部.
    const FEIQ_ENTRY_GBK: &[u8] =
        b"1:1700000000:\xd5\xc5\xc8\xfd:\xd5\xc5\xc8\xfd-PC:1:\xd5\xc5\xc8\xfd\0\xbc\xbc\xca\xf5\xb2\xbf\0";
    /// A SENDMSG in GBK: 你好 (`c4 e3 ba c3`).
    const SENDMSG_GBK: &[u8] = b"1:42:\xc0\xee\xcb\xc4:pc:32:\xc4\xe3\xba\xc3";
    /// The same entry in UTF-8, with UTF8OPT: 8388609 = 0x800001 = UTF8OPT | BR_ENTRY.
    const ENTRY_UTF8OPT: &[u8] = "1:5:张三:张三-PC:8388609:张三".as_bytes();

    #[test]
    fn a_gbk_entry_from_feiq_parses_and_shows_in_chinese() {
        let packet = Packet::parse(FEIQ_ENTRY_GBK).unwrap();
        assert_eq!(packet.mode(), BR_ENTRY);
        assert_eq!(packet.user, b"\xd5\xc5\xc8\xfd", "kept as bytes");
        assert_eq!(packet.encoding(Encoding::Auto), Encoding::Gbk);
        assert_eq!(packet.sender(Encoding::Auto), "张三@张三-PC");
        assert_eq!(
            packet.show(Encoding::Auto),
            "BR_ENTRY from 张三@张三-PC (packet 1700000000, gbk): 张三\\0技术部"
        );
        // Told it is UTF-8, the same bytes are shown escaped, never dropped.
        assert_eq!(
            packet.sender(Encoding::Utf8),
            "\\xd5\\xc5\\xc8\\xfd@\\xd5\\xc5\\xc8\\xfd-PC"
        );
        assert_eq!(
            packet.emit().unwrap(),
            &FEIQ_ENTRY_GBK[..FEIQ_ENTRY_GBK.len() - 1]
        );

        let message = Packet::parse(SENDMSG_GBK).unwrap();
        assert_eq!(
            message.show(Encoding::Gbk),
            "SENDMSG from 李四@pc (packet 42, gbk): 你好"
        );
    }

    #[test]
    fn utf8opt_means_utf8_whatever_the_listener_expects() {
        let packet = Packet::parse(ENTRY_UTF8OPT).unwrap();
        assert_eq!(packet.command, UTF8OPT | BR_ENTRY);
        assert_eq!((packet.mode(), packet.options()), (BR_ENTRY, UTF8OPT));
        for fallback in [Encoding::Gbk, Encoding::Utf8, Encoding::Auto] {
            assert_eq!(packet.encoding(fallback), Encoding::Utf8);
            assert_eq!(
                packet.show(fallback),
                "BR_ENTRY from 张三@张三-PC (packet 5, UTF8OPT): 张三"
            );
        }
        // Without UTF8OPT, UTF-8 bytes are UTF-8 for `auto`, GBK for `gbk`.
        let plain = Packet::parse("1:5:张三:pc:1:".as_bytes()).unwrap();
        assert_eq!(plain.encoding(Encoding::Auto), Encoding::Utf8);
        assert_eq!(plain.encoding(Encoding::Gbk), Encoding::Gbk);
    }

    /// What we send sets UTF8OPT exactly when it is UTF-8: byte fixtures.
    #[test]
    fn encoded_sets_utf8opt_exactly_for_utf8() {
        let names = ["李四", "pc", "李四"];
        let gbk = Packet::encoded(9, names, ANSENTRY, Encoding::Gbk).unwrap();
        assert_eq!(
            gbk.emit().unwrap(),
            b"1:9:\xc0\xee\xcb\xc4:pc:3:\xc0\xee\xcb\xc4"
        );
        let utf8 = Packet::encoded(9, names, ANSENTRY, Encoding::Utf8).unwrap();
        assert_eq!(utf8.emit().unwrap(), "1:9:李四:pc:8388611:李四".as_bytes());
        let auto = Packet::encoded(9, names, ANSENTRY | UTF8OPT, Encoding::Auto).unwrap();
        assert_eq!(auto, utf8);
        let gbk_asked_utf8 = Packet::encoded(9, names, ANSENTRY | UTF8OPT, Encoding::Gbk);
        assert_eq!(gbk_asked_utf8.unwrap().options(), 0);
        let err = Packet::encoded(9, ["😀", "pc", ""], ANSENTRY, Encoding::Gbk).unwrap_err();
        assert!(err.contains("GBK"), "{err}");
    }

    /// Bytes that fit neither encoding: parsed, shown escaped, never a panic.
    #[test]
    fn bytes_that_fit_no_encoding_are_shown_escaped() {
        let packet = Packet::parse(b"1:1:\xff\xfe:h\x80:32:a\xffb").unwrap();
        for fallback in [Encoding::Gbk, Encoding::Utf8, Encoding::Auto] {
            let shown = packet.show(fallback);
            assert!(shown.contains("\\xff"), "{fallback}: {shown}");
            assert!(shown.ends_with('b'), "{fallback}: {shown}");
        }
    }
}
