//! Lesson 06's parsers: the packet, option negotiation, netascii.

use crate::{assert_printable, Input};
use std::io::{Read, Write};
use tftp::netascii::{self, NetasciiReader, NetasciiWriter};
use tftp::options::{self, RequestKind, Wanted};
use tftp::packet::{
    encode_ack, error_packet, ErrorCode, Packet, TftpOption, DATA_HEADER_LEN, MAX_BLKSIZE,
    MIN_BLKSIZE,
};

/// Target `tftp-packet`: the whole input is one datagram.
///
/// - `Packet::decode` and both `Display`s never panic, and show no control character
///   (but tab) raw: `--trace` prints every datagram, a stranger's too;
/// - a decoded packet encodes to bytes that decode to the same packet, and (but for an
///   ERROR, whose message is decoded leniently) no longer than the datagram was;
/// - a DATA packet's payload is exactly the datagram after its 4-byte header;
/// - ACK, DATA and ERROR packets made from the input's bytes decode back to themselves (an
///   ERROR's text cut short if long, never changed).
pub fn packet(data: &[u8]) {
    match Packet::decode(data) {
        Err(err) => assert_printable("DecodeError's Display", &err.to_string()),
        Ok(packet) => {
            // What --trace prints for each datagram.
            assert_printable("Packet's Display", &packet.to_string());
            let bytes = packet.to_bytes();
            assert_eq!(
                Packet::decode(&bytes).as_ref(),
                Ok(&packet),
                "decode(encode(p)) != p for {bytes:?}"
            );
            match &packet {
                // Each byte that is not UTF-8 becomes U+FFFD (3 bytes), and a missing final
                // zero is added.
                Packet::Error { .. } => assert!(bytes.len() <= 3 * data.len() + 1),
                Packet::Data { data: payload, .. } => {
                    assert_eq!(*payload, &data[DATA_HEADER_LEN..]);
                    assert_eq!(bytes, data);
                }
                _ => assert!(
                    bytes.len() <= data.len(),
                    "{} bytes re-encoded as {}",
                    data.len(),
                    bytes.len()
                ),
            }
        }
    }

    let mut input = Input::new(data);
    let block = input.u16();
    let ack = encode_ack(block);
    assert_eq!(Packet::decode(&ack), Ok(Packet::Ack { block }));
    let built = Packet::Data {
        block,
        data: input.rest(),
    };
    assert_eq!(Packet::decode(&built.to_bytes()), Ok(built));
    // An ERROR's text cannot hold a zero byte (it would end the field early): they are
    // dropped. A long text may be cut (a server caps what it sends a stranger); a short
    // one comes back whole.
    let message = String::from_utf8_lossy(input.rest());
    let sent = message.replace('\0', "");
    let code = ErrorCode(block);
    match Packet::decode(&error_packet(code, &message)) {
        Ok(Packet::Error { code: got, message }) => {
            assert_eq!(got, code);
            assert!(
                sent.starts_with(&message),
                "{message:?} is not the start of {sent:?}"
            );
            assert!(
                message.len() == sent.len() || message.len() >= 64,
                "{message:?}"
            );
        }
        other => panic!("error_packet({code:?}, {message:?}) decodes as {other:?}"),
    }
}

/// Target `tftp-options`: a flags byte, an 8-byte number, then `name 0 value 0` pairs (not
/// necessarily UTF-8, lossily made text).
///
/// Flag bit 0 picks a read or a write request; bit 1 says whether the server knows the
/// file's size (read) or has an upload limit (write), which is the number.
///
/// - `negotiate` never panics; what it agrees to is within the RFCs' ranges, and its OACK
///   names only options the client asked for, each once, with a number as value;
/// - the client's `accept_oack` never panics on any OACK, keeps what it accepts within
///   what it asked for, and its error (which the client prints) shows no control character;
/// - a client asking for values from the input accepts the server's answer to its own
///   request, and both sides end up with the same parameters.
pub fn options(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let number = input.u64();
    let known = (flags & 2 != 0).then_some(number);
    let kind = if flags & 1 == 0 {
        RequestKind::Read { size: known }
    } else {
        RequestKind::Write { max_upload: known }
    };
    let window_max = input.u16();
    let buffer = usize::from(input.u16()) * 64;
    let wanted = Wanted {
        blksize: (flags & 4 != 0).then_some(usize::from(input.u16())),
        windowsize: (flags & 8 != 0).then_some(input.u16()),
        timeout: (flags & 16 != 0).then_some(input.u8()),
        tsize: (flags & 32 != 0).then_some(input.u64()),
    };
    let requested = text_pairs(input.rest());

    // The server's side, on whatever a stranger sends.
    let answer = options::negotiate(&requested, kind);
    if let Err(refusal) = &answer {
        assert_printable("negotiate's refusal", &refusal.message);
    }
    if let Ok(mut negotiated) = answer {
        negotiated.clamp_window(window_max);
        let params = negotiated.params;
        assert!((MIN_BLKSIZE..=MAX_BLKSIZE).contains(&params.blksize));
        assert!(params.windowsize >= 1 && params.windowsize <= window_max.max(1));
        assert!(params.timeout.is_none_or(|t| t >= 1));
        let oack = negotiated.oack();
        for (i, (name, value)) in oack.iter().enumerate() {
            assert!(
                requested.iter().any(|(asked, _)| asked == name),
                "OACK names {name:?}, which was not asked for"
            );
            assert!(
                !oack[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)),
                "OACK names {name:?} twice"
            );
            assert!(value.parse::<u64>().is_ok(), "OACK {name}={value:?}");
        }
        let _ = options::window_that_fits(buffer, params.blksize);
    }

    // The client's side, on whatever OACK a stranger sends; a refusal is printed.
    let accepted = wanted.accept_oack(&requested);
    if let Err(err) = &accepted {
        assert_printable("accept_oack's error", err);
    }
    if let Ok(params) = accepted {
        // Without the option in the OACK, the RFC 1350 defaults hold.
        assert!(params.windowsize == 1 || params.windowsize <= wanted.windowsize.unwrap_or(1));
        assert!(params.blksize == 512 || params.blksize <= wanted.blksize.unwrap_or(512));
        assert!(params.blksize >= MIN_BLKSIZE && params.windowsize >= 1);
    }

    // Both sides together: the server's answer to our own request is one we accept.
    let ours = wanted.to_options();
    if let Ok(mut negotiated) = options::negotiate(&ours, kind) {
        negotiated.clamp_window(window_max);
        let oack = negotiated.oack();
        match wanted.accept_oack(&oack) {
            Ok(params) => assert_eq!(params, negotiated.params, "OACK {oack:?}"),
            Err(err) => panic!("the client refuses the server's OACK {oack:?}: {err}"),
        }
    }
}

/// `name 0 value 0 ...` as option pairs; a last name without its value is dropped.
fn text_pairs(bytes: &[u8]) -> Vec<TftpOption> {
    let texts: Vec<String> = bytes
        .split(|&b| b == 0)
        .map(|text| String::from_utf8_lossy(text).into_owned())
        .collect();
    texts
        .chunks_exact(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

/// Target `netascii`: a byte for the size of reads and writes, then a local file's bytes.
///
/// - `decode(encode(x)) == x` for any bytes (the module's promise);
/// - encoding adds exactly one byte per LF and per CR, and every CR it writes is followed
///   by LF or NUL; decoding never makes the text longer;
/// - `NetasciiReader` and `NetasciiWriter` give the same bytes through reads and writes of
///   any size as `encode` and `decode` give at once (a CR LF or CR NUL pair cut in two).
pub fn netascii(data: &[u8]) {
    let mut input = Input::new(data);
    let step = input.step(16);
    let text = input.rest();

    let wire = netascii::encode(text);
    let line_ends = text.iter().filter(|&&b| b == b'\n' || b == b'\r').count();
    assert_eq!(wire.len(), text.len() + line_ends);
    for (i, _) in wire.iter().enumerate().filter(|&(_, &b)| b == b'\r') {
        assert!(matches!(wire.get(i + 1), Some(b'\n' | b'\0')), "{wire:?}");
    }
    assert_eq!(netascii::decode(&wire), text, "decode(encode(x)) != x");
    let local = netascii::decode(text);
    assert!(local.len() <= text.len());

    // Reads of `step` bytes from a file that itself gives at most `step + 1` per read.
    let mut reader = NetasciiReader::new(Trickle {
        bytes: text,
        most: step + 1,
    });
    let mut read = Vec::new();
    let mut buf = vec![0; step];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => read.extend_from_slice(&buf[..n]),
            Err(err) => panic!("reading a slice failed: {err}"),
        }
    }
    assert_eq!(read, wire, "NetasciiReader with {step}-byte reads");

    let mut written = Vec::new();
    let mut writer = NetasciiWriter::new(&mut written);
    for chunk in text.chunks(step) {
        writer.write_all(chunk).expect("writing to a Vec");
    }
    writer.flush().expect("writing to a Vec");
    drop(writer);
    assert_eq!(written, local, "NetasciiWriter with {step}-byte writes");
}

/// A reader that gives at most `most` bytes per read, like a socket or a pipe.
struct Trickle<'a> {
    bytes: &'a [u8],
    most: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = out.len().min(self.most).min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}
