//! Option negotiation (RFC 2347) for the four options of this lesson: `blksize`
//! (RFC 2348), `timeout` and `tsize` (RFC 2349), `windowsize` (RFC 7440).
//!
//! The client lists options after the mode in its RRQ/WRQ; a server that knows some of
//! them answers with an OACK naming those it accepts and the values it chose; the client
//! then confirms (ACK 0 for a read, DATA 1 for a write) or refuses with ERROR 8. A server
//! that knows none of them answers as in RFC 1350 (DATA 1 or ACK 0), and the transfer
//! runs with the defaults: 512-byte blocks, one block per window.

use crate::packet::{ErrorCode, TftpOption, DEFAULT_BLKSIZE, MAX_BLKSIZE, MIN_BLKSIZE};

/// RFC 2348's option: bytes per DATA block.
pub const BLKSIZE: &str = "blksize";
/// RFC 2349's option: seconds to wait before retransmitting.
pub const TIMEOUT: &str = "timeout";
/// RFC 2349's option: the file's size in bytes.
pub const TSIZE: &str = "tsize";
/// RFC 7440's option: blocks sent before waiting for an ACK.
pub const WINDOWSIZE: &str = "windowsize";

/// RFC 2349: "Valid values range between "1" and "255" seconds, inclusive."
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=255;

/// What the kernel charges a socket's receive buffer for one queued datagram beyond its
/// payload (the `sk_buff` bookkeeping, "truesize"), rounded up. Used to decide how many
/// blocks of a window fit in a buffer.
pub const DATAGRAM_OVERHEAD: usize = 1024;

/// The receive buffer we assume a peer has when we are the sender and cannot know it:
/// Linux's default `net.core.rmem_default` (212992 bytes) with a margin. A window that
/// does not fit is dropped at the peer's socket in part, every time it is retransmitted,
/// and the transfer never ends; so we never offer a window larger than this.
pub const PEER_RCVBUF_GUESS: usize = 192 * 1024;

/// The parameters a transfer runs with, once negotiation is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Bytes per DATA block; a shorter block is the last one.
    pub blksize: usize,
    /// Blocks per window; 1 is RFC 1350's lock step.
    pub windowsize: u16,
    /// The retransmission timeout agreed with the `timeout` option, in seconds.
    pub timeout: Option<u8>,
    /// The file's size from the `tsize` option.
    pub tsize: Option<u64>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            blksize: DEFAULT_BLKSIZE,
            windowsize: 1,
            timeout: None,
            tsize: None,
        }
    }
}

/// The most blocks of `blksize` bytes that fit in a receive buffer of `buffer` bytes
/// (at least 1).
pub fn window_that_fits(buffer: usize, blksize: usize) -> u16 {
    let per_block = blksize + crate::packet::DATA_HEADER_LEN + DATAGRAM_OVERHEAD;
    u16::try_from((buffer / per_block).max(1)).unwrap_or(u16::MAX)
}

/// The options a client asks for (`None`: not asked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `--blksize`.
    pub blksize: Option<usize>,
    /// `--windowsize`.
    pub windowsize: Option<u16>,
    /// `--timeout` in whole seconds.
    pub timeout: Option<u8>,
    /// `--tsize`: 0 in a RRQ ("tell me"), the file's size in a WRQ.
    pub tsize: Option<u64>,
}

impl Wanted {
    /// The options as they go into the request.
    pub fn to_options(&self) -> Vec<TftpOption> {
        let mut options = Vec::new();
        let mut add = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                options.push((name.to_string(), value));
            }
        };
        add(BLKSIZE, self.blksize.map(|v| v.to_string()));
        add(WINDOWSIZE, self.windowsize.map(|v| v.to_string()));
        add(TIMEOUT, self.timeout.map(|v| v.to_string()));
        add(TSIZE, self.tsize.map(|v| v.to_string()));
        options
    }

    // ANCHOR: accept_oack
    /// The client's check of the server's OACK: every option in it must have been asked
    /// for, with a value the RFCs allow. An error here makes the client send ERROR 8.
    pub fn accept_oack(&self, oack: &[TftpOption]) -> Result<Params, String> {
        let mut params = Params::default();
        for (name, value) in oack {
            let number = value.parse::<u64>();
            // The server's bytes reach our terminal in this message: shown escaped.
            let shown = || {
                let show = shared::encoding::display;
                format!("{}={}", show(name.as_bytes()), show(value.as_bytes()))
            };
            let bad = || format!("the server's OACK has {}, which we cannot use", shown());
            match name.to_ascii_lowercase().as_str() {
                // RFC 2348: "The specified value must be less than or equal to the value
                // specified by the client."
                BLKSIZE if self.blksize.is_some() => {
                    let v = number.map_err(|_| bad())?;
                    if v < MIN_BLKSIZE as u64 || v > self.blksize.unwrap_or(0) as u64 {
                        return Err(bad());
                    }
                    params.blksize = v as usize;
                }
                // RFC 7440: "The specified value MUST be less than or equal to the value
                // specified by the client."
                WINDOWSIZE if self.windowsize.is_some() => {
                    let v = number.map_err(|_| bad())?;
                    if v == 0 || v > u64::from(self.windowsize.unwrap_or(0)) {
                        return Err(bad());
                    }
                    params.windowsize = v as u16;
                }
                // RFC 2349: "The specified timeout value must match the value specified
                // by the client."
                TIMEOUT if self.timeout.is_some() => {
                    if number != Ok(u64::from(self.timeout.unwrap_or(0))) {
                        return Err(bad());
                    }
                    params.timeout = self.timeout;
                }
                TSIZE if self.tsize.is_some() => params.tsize = Some(number.map_err(|_| bad())?),
                // RFC 2347: "If the client receives an OACK containing an unrequested
                // option, it should respond with an ERROR packet, with error code 8".
                _ => {
                    return Err(format!(
                        "the server's OACK has {}, which we did not ask for",
                        shown()
                    ))
                }
            }
        }
        Ok(params)
    }
    // ANCHOR_END: accept_oack
}

/// Which request the options came with, and what the server knows for `tsize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A read: the size of the file to send, if the server can tell it in advance (not
    /// in netascii mode, where the size on the wire differs from the size on disk).
    Read {
        /// The size in bytes of what will be sent.
        size: Option<u64>,
    },
    /// A write, into a server that accepts at most this many bytes.
    Write {
        /// The upload limit, `--max-upload`.
        max_upload: Option<u64>,
    },
}

/// A server's answer to a request's options, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The parameters the transfer will use.
    pub params: Params,
    /// The accepted options, with the client's spelling of their names, in the client's
    /// order. Empty: no OACK, the transfer starts as in RFC 1350.
    accepted: Vec<String>,
}

/// A request the server refuses because of one of its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The ERROR code to send.
    pub code: ErrorCode,
    /// The ERROR message to send.
    pub message: String,
}

// ANCHOR: negotiate
/// The server's side of RFC 2347: picks the options it knows out of a request, and the
/// value it accepts for each. RFC 2347: "Options which the server does not support should
/// be omitted from the OACK; they should not cause an ERROR packet to be generated." For
/// an invalid value of a supported option, "the specification for that option will
/// indicate whether the server should simply omit the option from the OACK, respond with
/// an alternate value, or send an ERROR packet, with error code 8".
///
/// A known option with a value its RFC does not allow is refused with ERROR 8, and the
/// message names the RFC's range: a student who asks for `blksize 7` learns why. That
/// includes `blksize 65465` and above. RFC 2348 lets a server answer a *valid* request
/// with a smaller block ("less than or equal to the value specified by the client"), but
/// 65465 is not a valid request: "Valid values range between "8" and "65464" octets,
/// inclusive." So we refuse it, as atftpd does, rather than guess what the client meant.
pub fn negotiate(requested: &[TftpOption], kind: RequestKind) -> Result<Negotiated, Refusal> {
    let mut params = Params::default();
    let mut accepted: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in requested {
        let key = name.to_ascii_lowercase();
        // RFC 2347: "an option may only be specified once". It does not say which copy
        // counts when a client breaks that rule; we take the first one, valid or not,
        // and ignore the others (so `blksize=abc blksize=1024` is refused for "abc").
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        let number = value.trim().parse::<u64>().ok();
        // Checks `number` against an RFC's range: the value, or ERROR 8 saying why not.
        let in_range = |range: std::ops::RangeInclusive<u64>, rfc: &str| match number {
            Some(n) if range.contains(&n) => Ok(n),
            _ => Err(Refusal {
                code: ErrorCode::OPTION_REFUSED,
                message: format!(
                    "{key} {} is outside RFC {rfc}'s {} to {}",
                    shared::encoding::display(value.as_bytes()),
                    range.start(),
                    range.end()
                ),
            }),
        };
        let ok = match key.as_str() {
            BLKSIZE => {
                params.blksize =
                    in_range(MIN_BLKSIZE as u64..=MAX_BLKSIZE as u64, "2348")? as usize;
                true
            }
            WINDOWSIZE => {
                params.windowsize = in_range(1..=u64::from(u16::MAX), "7440")? as u16;
                true
            }
            TIMEOUT => {
                params.timeout = Some(in_range(TIMEOUT_RANGE, "2349")? as u8);
                true
            }
            TSIZE => match (kind, number) {
                // curl (7.88) refuses an OACK with "tsize 0" ("invalid tsize value in
                // OACK packet"), so it could not fetch an empty file from us. RFC 2349
                // lets a server leave an option out of its OACK, so for an empty file we
                // do; and if no option is left, the server answers with DATA 1 at once,
                // which RFC 2347 lists as an answer: "DATA - acknowledge of Read
                // Request, but not the options".
                (RequestKind::Read { size }, _) => {
                    params.tsize = size.filter(|&size| size > 0);
                    params.tsize.is_some()
                }
                (RequestKind::Write { max_upload }, Some(number)) => {
                    // RFC 2349: "If the file is too large for the server to handle, it
                    // may abort the transfer with an Error packet (error code 3)."
                    if let Some(max) = max_upload.filter(|&max| number > max) {
                        return Err(Refusal {
                            code: ErrorCode::DISK_FULL,
                            message: format!(
                                "{number} bytes is more than the {max} bytes this server accepts"
                            ),
                        });
                    }
                    params.tsize = Some(number);
                    true
                }
                // A WRQ's tsize that is not a number tells us nothing: not acknowledged.
                (RequestKind::Write { .. }, None) => false,
            },
            _ => false,
        };
        if ok {
            accepted.push(name.clone());
        }
    }
    Ok(Negotiated { params, accepted })
}
// ANCHOR_END: negotiate

impl Negotiated {
    /// Lowers the window to at most `max` blocks (what fits in a socket buffer).
    pub fn clamp_window(&mut self, max: u16) {
        self.params.windowsize = self.params.windowsize.min(max.max(1));
    }

    /// The OACK's options with the final values; empty if no option was accepted.
    pub fn oack(&self) -> Vec<TftpOption> {
        let p = &self.params;
        self.accepted
            .iter()
            .filter_map(|name| {
                let value = match name.to_ascii_lowercase().as_str() {
                    BLKSIZE => p.blksize as u64,
                    WINDOWSIZE => u64::from(p.windowsize),
                    TIMEOUT => u64::from(p.timeout?),
                    TSIZE => p.tsize?,
                    _ => return None,
                };
                Some((name.clone(), value.to_string()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[(&str, &str)]) -> Vec<TftpOption> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn server_accepts_known_options_and_ignores_the_rest() {
        let requested = opts(&[
            ("BlkSize", "1468"),
            ("colour", "blue"),
            ("windowsize", "16"),
            ("tsize", "0"),
            ("timeout", "3"),
            ("blksize", "9999"),
        ]);
        let n = negotiate(&requested, RequestKind::Read { size: Some(1000) }).unwrap();
        assert_eq!(
            n.params,
            Params {
                blksize: 1468,
                windowsize: 16,
                timeout: Some(3),
                tsize: Some(1000)
            }
        );
        assert_eq!(
            n.oack(),
            opts(&[
                ("BlkSize", "1468"),
                ("windowsize", "16"),
                ("tsize", "1000"),
                ("timeout", "3")
            ])
        );
    }

    #[test]
    fn values_outside_the_rfcs_ranges_are_error_8_naming_the_range() {
        for (name, value, range) in [
            ("blksize", "7", "outside RFC 2348's 8 to 65464"),
            ("blksize", "65465", "outside RFC 2348's 8 to 65464"),
            ("BLKSIZE", "100000", "outside RFC 2348's 8 to 65464"),
            ("blksize", "abc", "outside RFC 2348's 8 to 65464"),
            ("timeout", "0", "outside RFC 2349's 1 to 255"),
            ("timeout", "256", "outside RFC 2349's 1 to 255"),
            ("windowsize", "0", "outside RFC 7440's 1 to 65535"),
            ("windowsize", "65536", "outside RFC 7440's 1 to 65535"),
        ] {
            let refusal =
                negotiate(&opts(&[(name, value)]), RequestKind::Read { size: None }).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::OPTION_REFUSED, "{name}={value}");
            let want = format!("{} {value} is {range}", name.to_ascii_lowercase());
            assert_eq!(refusal.message, want);
        }
        // The edges are allowed.
        let edges = opts(&[
            ("blksize", "65464"),
            ("timeout", "255"),
            ("windowsize", "65535"),
        ]);
        let n = negotiate(&edges, RequestKind::Read { size: None }).unwrap();
        assert_eq!(n.params.blksize, MAX_BLKSIZE);
        // A value from the network is shown escaped in the message.
        let refusal = negotiate(
            &opts(&[("blksize", "\x1b[2J")]),
            RequestKind::Read { size: None },
        )
        .unwrap_err();
        assert!(!refusal.message.contains('\x1b'), "{:?}", refusal.message);
    }

    #[test]
    fn the_first_of_two_duplicate_options_counts() {
        let refusal = negotiate(
            &opts(&[("blksize", "abc"), ("blksize", "1024")]),
            RequestKind::Read { size: None },
        )
        .unwrap_err();
        assert!(refusal.message.contains("abc"), "{}", refusal.message);
        let n = negotiate(
            &opts(&[("blksize", "1024"), ("BlkSize", "7")]),
            RequestKind::Read { size: None },
        )
        .unwrap();
        assert_eq!(n.params.blksize, 1024);
        assert_eq!(n.oack(), opts(&[("blksize", "1024")]));
    }

    #[test]
    fn tsize_is_left_out_for_an_empty_file_or_an_unknown_size() {
        // An empty file: curl refuses "tsize 0", so no tsize, and no OACK at all.
        let n = negotiate(
            &opts(&[("tsize", "0")]),
            RequestKind::Read { size: Some(0) },
        )
        .unwrap();
        assert!(n.oack().is_empty());
        assert_eq!(n.params, Params::default(), "both sides agree: no tsize");
        let n = negotiate(
            &opts(&[("tsize", "0"), ("blksize", "1024")]),
            RequestKind::Read { size: Some(0) },
        )
        .unwrap();
        assert_eq!(n.oack(), opts(&[("blksize", "1024")]));
        // tsize in a read whose size we cannot tell (netascii) is not acknowledged.
        let n = negotiate(&opts(&[("tsize", "0")]), RequestKind::Read { size: None }).unwrap();
        assert!(n.oack().is_empty());
        // A read's tsize value does not matter; a write's must be a number.
        let n = negotiate(
            &opts(&[("tsize", "abc")]),
            RequestKind::Read { size: Some(5) },
        )
        .unwrap();
        assert_eq!(n.oack(), opts(&[("tsize", "5")]));
        let n = negotiate(
            &opts(&[("tsize", "abc")]),
            RequestKind::Write { max_upload: None },
        )
        .unwrap();
        assert!(n.oack().is_empty());
    }

    #[test]
    fn upload_too_large_is_error_3() {
        let requested = opts(&[("tsize", "5000")]);
        let refusal = negotiate(
            &requested,
            RequestKind::Write {
                max_upload: Some(4096),
            },
        )
        .unwrap_err();
        assert_eq!(refusal.code, ErrorCode::DISK_FULL);
        let n = negotiate(&requested, RequestKind::Write { max_upload: None }).unwrap();
        assert_eq!(n.oack(), requested, "a WRQ's tsize is echoed");
    }

    #[test]
    fn window_clamped_to_what_fits() {
        let mut n = negotiate(
            &opts(&[("blksize", "65464"), ("windowsize", "4")]),
            RequestKind::Read { size: None },
        )
        .unwrap();
        n.clamp_window(window_that_fits(PEER_RCVBUF_GUESS, n.params.blksize));
        assert_eq!(n.params.windowsize, 2);
        assert_eq!(window_that_fits(PEER_RCVBUF_GUESS, 1468), 78);
        assert_eq!(window_that_fits(10, 512), 1);
    }

    #[test]
    fn client_checks_the_oack() {
        let wanted = Wanted {
            blksize: Some(1468),
            windowsize: Some(16),
            timeout: Some(2),
            tsize: Some(0),
        };
        assert_eq!(
            wanted.to_options(),
            opts(&[
                ("blksize", "1468"),
                ("windowsize", "16"),
                ("timeout", "2"),
                ("tsize", "0")
            ])
        );
        let params = wanted
            .accept_oack(&opts(&[
                ("BLKSIZE", "1024"),
                ("tsize", "77"),
                ("windowsize", "8"),
            ]))
            .unwrap();
        assert_eq!(
            (params.blksize, params.windowsize, params.tsize),
            (1024, 8, Some(77))
        );
        for bad in [
            opts(&[("blksize", "2000")]),
            opts(&[("blksize", "4")]),
            opts(&[("windowsize", "17")]),
            opts(&[("timeout", "5")]),
            opts(&[("tsize", "many")]),
        ] {
            assert!(wanted.accept_oack(&bad).is_err(), "{bad:?}");
        }
        let only_blksize = Wanted {
            blksize: Some(1024),
            ..Wanted::default()
        };
        let err = only_blksize
            .accept_oack(&opts(&[("tsize", "1")]))
            .unwrap_err();
        assert!(err.contains("did not ask"), "{err}");
    }

    /// A hostile server's OACK is printed escaped: an ESC in it would drive our
    /// terminal (found by the `tftp-options` fuzz target).
    #[test]
    fn oack_refusals_show_the_server_s_bytes_escaped() {
        let wanted = Wanted {
            blksize: Some(1024),
            ..Wanted::default()
        };
        for oack in [
            opts(&[("\x1b]0;owned\x07", "1")]),
            opts(&[("blksize", "1\n2")]),
        ] {
            let err = wanted.accept_oack(&oack).unwrap_err();
            assert!(!err.contains(|c: char| c.is_control()), "{err:?}");
            assert!(
                err.contains("\\x1b]0;owned\\x07") || err.contains("1\\n2"),
                "{err}"
            );
        }
    }
}
