//! The two framing decoders of a TCP byte stream: newline and length prefix.

use crate::Input;

// The decoders under test. If they move, change this line and the dependency in
// Cargo.toml, nothing else.
use tcp_basic::framing as codec;

use codec::{encode_length_prefixed, LengthDecoder, LineDecoder, LENGTH_PREFIX};

/// What a decoder made of a stream: its frames, whether it stopped at a frame too long,
/// and the bytes it still holds.
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    frames: Vec<Vec<u8>>,
    too_long: bool,
    pending: Vec<u8>,
}

/// Target `framing`: a byte for the decoders' maximum frame length, a byte for the size
/// of the reads, then the stream.
///
/// - neither decoder panics;
/// - fed in reads of any size, each gives exactly the frames, the error and the pending
///   bytes that a plain reading of the whole stream gives (so it never hands out more
///   bytes than it was given, nor a frame longer than its maximum);
/// - frames cut from the input at 0xff bytes, length-prefixed, come back unchanged.
pub fn decoders(data: &[u8]) {
    let mut input = Input::new(data);
    let max = usize::from(input.u8());
    let step = input.step(32);
    let stream = input.rest();

    let lines = feed_lines(max, stream, step);
    assert_eq!(
        lines,
        expected_lines(max, stream),
        "LineDecoder, {step}-byte reads"
    );
    let lengths = feed_lengths(max, stream, step);
    assert_eq!(lengths, expected_lengths(max, stream), "LengthDecoder");
    for decoded in [&lines, &lengths] {
        assert!(decoded.frames.iter().all(|frame| frame.len() <= max));
        let handed_out: usize = decoded.frames.iter().map(Vec::len).sum();
        assert!(handed_out + decoded.pending.len() <= stream.len());
    }

    let frames: Vec<&[u8]> = stream.split(|&b| b == 0xff).collect();
    let longest = frames.iter().map(|frame| frame.len()).max().unwrap_or(0);
    let wire: Vec<u8> = frames
        .iter()
        .flat_map(|frame| encode_length_prefixed(frame))
        .collect();
    let decoded = feed_lengths(longest, &wire, step);
    assert_eq!(decoded.frames, frames, "length-prefixed round trip");
    assert!(!decoded.too_long && decoded.pending.is_empty());
}

/// The decoders' common shape: bytes in, whole frames out.
trait Decoder {
    fn feed(&mut self, bytes: &[u8]);
    fn next_frame(&mut self) -> Result<Option<Vec<u8>>, codec::FrameTooLong>;
    fn pending(&self) -> &[u8];
}

macro_rules! decoder {
    ($type:ty) => {
        impl Decoder for $type {
            fn feed(&mut self, bytes: &[u8]) {
                <$type>::feed(self, bytes)
            }
            fn next_frame(&mut self) -> Result<Option<Vec<u8>>, codec::FrameTooLong> {
                <$type>::next_frame(self)
            }
            fn pending(&self) -> &[u8] {
                <$type>::pending(self)
            }
        }
    };
}
decoder!(LineDecoder);
decoder!(LengthDecoder);

fn feed_lines(max: usize, stream: &[u8], step: usize) -> Decoded {
    feed(LineDecoder::new(max), max, stream, step)
}

fn feed_lengths(max: usize, stream: &[u8], step: usize) -> Decoded {
    feed(LengthDecoder::new(max), max, stream, step)
}

/// Feeds `stream` to `decoder` in reads of `step` bytes, taking every frame after each.
fn feed(mut decoder: impl Decoder, max: usize, stream: &[u8], step: usize) -> Decoded {
    let mut frames = Vec::new();
    for read in stream.chunks(step) {
        decoder.feed(read);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(err) => {
                    assert_eq!(err.max, max);
                    assert!(err.len > max, "{err:?}");
                    return Decoded {
                        frames,
                        too_long: true,
                        pending: Vec::new(),
                    };
                }
            }
        }
    }
    Decoded {
        frames,
        too_long: false,
        pending: decoder.pending().to_vec(),
    }
}

/// A line ends at `\n`; one `\r` before it is dropped. A line longer than `max` is an
/// error, and so is an unfinished one longer than `max + 1` (the `+ 1` may be a `\r`).
fn expected_lines(max: usize, stream: &[u8]) -> Decoded {
    let mut pieces: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    let unfinished = pieces.pop().unwrap_or_default();
    let mut frames = Vec::new();
    for piece in pieces {
        let line = piece.strip_suffix(b"\r").unwrap_or(piece);
        if line.len() > max {
            return Decoded {
                frames,
                too_long: true,
                pending: Vec::new(),
            };
        }
        frames.push(line.to_vec());
    }
    Decoded {
        frames,
        too_long: unfinished.len() > max + 1,
        pending: if unfinished.len() > max + 1 {
            Vec::new()
        } else {
            unfinished.to_vec()
        },
    }
}

/// A 4-byte big-endian length, then that many bytes; a length past `max` is an error as
/// soon as its 4 bytes are there.
fn expected_lengths(max: usize, mut stream: &[u8]) -> Decoded {
    let mut frames = Vec::new();
    while let Some((prefix, body)) = stream.split_first_chunk::<LENGTH_PREFIX>() {
        let len = u32::from_be_bytes(*prefix) as usize;
        if len > max {
            return Decoded {
                frames,
                too_long: true,
                pending: Vec::new(),
            };
        }
        let Some((frame, rest)) = body.split_at_checked(len) else {
            break;
        };
        frames.push(frame.to_vec());
        stream = rest;
    }
    Decoded {
        frames,
        too_long: false,
        pending: stream.to_vec(),
    }
}
