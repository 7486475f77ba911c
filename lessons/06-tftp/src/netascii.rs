//! The `netascii` transfer mode: text whose line ends are the same on every machine.
//!
//! RFC 1350 defines netascii as ASCII "with the modifications specified in Telnet
//! Protocol Specification", and that (RFC 764) says: "the sequence CR LF must be treated
//! as a single new line character", and "CR NUL" is a carriage return on its own. So:
//!
//! ```text
//!   this machine (Unix)          on the wire (netascii)
//!   LF  (\n)             <-->    CR LF   (\r\n)
//!   CR  (\r)             <-->    CR NUL  (\r\0)
//! ```
//!
//! "A host which receives netascii mode data must translate the data to its own format."
//! Both directions are streams: a CR at the end of one block may meet its LF or NUL in
//! the next, so the decoder remembers it. Translating both ways gives back the original
//! bytes exactly, whatever they are (a file with CR LF in it too).

use std::io::{self, Read, Write};

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const NUL: u8 = 0;

/// Reads a local file as netascii: every LF becomes CR LF, every CR becomes CR NUL.
#[derive(Debug)]
pub struct NetasciiReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// The second byte of a pair that did not fit into the caller's buffer.
    pending: Option<u8>,
}

impl<R: Read> NetasciiReader<R> {
    /// Wraps `inner`, which gives the file's bytes as they are on this machine.
    pub fn new(inner: R) -> Self {
        NetasciiReader {
            inner,
            buf: vec![0; 8192].into_boxed_slice(),
            pos: 0,
            len: 0,
            pending: None,
        }
    }
}

impl<R: Read> Read for NetasciiReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        if let (Some(byte), Some(slot)) = (self.pending, out.first_mut()) {
            *slot = byte;
            self.pending = None;
            n = 1;
        }
        while n < out.len() {
            if self.pos == self.len {
                self.len = self.inner.read(&mut self.buf)?;
                self.pos = 0;
                if self.len == 0 {
                    break;
                }
            }
            let byte = self.buf[self.pos];
            self.pos += 1;
            let second = match byte {
                LF => LF,
                CR => NUL,
                other => {
                    out[n] = other;
                    n += 1;
                    continue;
                }
            };
            out[n] = CR;
            n += 1;
            match out.get_mut(n) {
                Some(slot) => {
                    *slot = second;
                    n += 1;
                }
                None => self.pending = Some(second),
            }
        }
        Ok(n)
    }
}

/// Writes netascii from the wire as a local file: CR LF becomes LF, CR NUL becomes CR.
///
/// A CR at the end of one write is held back until the next byte shows what it was;
/// [`Write::flush`] writes out a CR still held back, so call it once, at the end (a
/// netascii stream that ends in a bare CR is malformed; we keep the CR).
#[derive(Debug)]
pub struct NetasciiWriter<W: Write> {
    inner: W,
    cr_pending: bool,
    out: Vec<u8>,
}

impl<W: Write> NetasciiWriter<W> {
    /// Wraps `inner`, which receives the file as this machine stores text.
    pub fn new(inner: W) -> Self {
        NetasciiWriter {
            inner,
            cr_pending: false,
            out: Vec::new(),
        }
    }
}

impl<W: Write> Write for NetasciiWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.out.clear();
        for &byte in data {
            if std::mem::take(&mut self.cr_pending) {
                match byte {
                    LF => {
                        self.out.push(LF);
                        continue;
                    }
                    NUL => {
                        self.out.push(CR);
                        continue;
                    }
                    // Not netascii (CR must be followed by LF or NUL): keep it as it came.
                    _ => self.out.push(CR),
                }
            }
            if byte == CR {
                self.cr_pending = true;
            } else {
                self.out.push(byte);
            }
        }
        self.inner.write_all(&self.out)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.cr_pending) {
            self.inner.write_all(&[CR])?;
        }
        self.inner.flush()
    }
}

/// The whole of `local` as netascii (for tests and small texts).
pub fn encode(local: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // Reading from a slice cannot fail.
    let _ = NetasciiReader::new(local).read_to_end(&mut out);
    out
}

/// The whole of `wire` decoded from netascii (for tests and small texts).
pub fn decode(wire: &[u8]) -> Vec<u8> {
    let mut writer = NetasciiWriter::new(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_all(wire).and_then(|()| writer.flush());
    writer.inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_both_ways() {
        assert_eq!(encode(b"one\ntwo\n"), b"one\r\ntwo\r\n");
        assert_eq!(encode(b"a\rb"), b"a\r\0b");
        assert_eq!(encode(b"dos\r\n"), b"dos\r\0\r\n");
        assert_eq!(decode(b"one\r\ntwo\r\n"), b"one\ntwo\n");
        assert_eq!(decode(b"a\r\0b"), b"a\rb");
        assert_eq!(decode(b"dos\r\0\r\n"), b"dos\r\n");
        assert_eq!(decode(b"bare\rx"), b"bare\rx", "malformed CR kept");
        assert_eq!(decode(b"ends in\r"), b"ends in\r");
    }

    /// The encoder fills any buffer size, even one byte at a time: a CR LF pair is cut
    /// in two across reads, which is exactly what happens at a block boundary.
    #[test]
    fn encoder_with_tiny_reads() {
        let local = b"x\ny\r\n\n\rz";
        for size in 1..6 {
            let mut reader = NetasciiReader::new(&local[..]);
            let mut out = Vec::new();
            let mut chunk = vec![0; size];
            loop {
                let n = reader.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(out, encode(local), "read size {size}");
        }
    }

    /// The decoder gets the wire in pieces cut everywhere, CR at the end of a piece too.
    #[test]
    fn decoder_across_block_boundaries() {
        let wire = encode(b"line\r\nnext\rlast\n");
        for cut in 0..wire.len() {
            let mut writer = NetasciiWriter::new(Vec::new());
            writer.write_all(&wire[..cut]).unwrap();
            writer.write_all(&wire[cut..]).unwrap();
            writer.flush().unwrap();
            assert_eq!(writer.inner, b"line\r\nnext\rlast\n", "cut at {cut}");
        }
    }

    #[test]
    fn property_round_trip_any_bytes() {
        let mut rng = crate::packet::tests::Rng::new(764);
        for _ in 0..2000 {
            let len = rng.below(300);
            // Mostly CR, LF and NUL, so every pairing occurs.
            let local: Vec<u8> = (0..len)
                .map(|_| [CR, LF, NUL, b'a', rng.next() as u8][rng.below(5)])
                .collect();
            assert_eq!(decode(&encode(&local)), local);
        }
    }
}
