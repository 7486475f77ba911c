//! Lesson 01, exercise 4: "Make the server answer in upper case. Does the echo still work
//! with `--framing none` when a multi-byte UTF-8 character is split across two reads?"
//!
//! The trap: upper-casing each read on its own (`String::from_utf8_lossy(read)
//! .to_uppercase()`) breaks a character whose bytes arrive in two reads: `é` is `c3 a9`;
//! a read that ends after `c3` turns it into U+FFFD, and so does the next one starting
//! with `a9`. TCP keeps no boundaries, not even between the bytes of one character.
//!
//! The fix is the same as for messages: keep the unfinished tail and wait for the rest.
//! [`Utf8Upper`] does exactly that, and [`serve_one`] is lesson 01's echo loop with it.

use std::io::{self, Read as _, Write as _};
use std::net::TcpListener;

/// Upper-cases a byte stream that may cut characters anywhere.
#[derive(Debug, Default)]
pub struct Utf8Upper {
    /// The start of a character whose other bytes have not arrived yet (at most 3 bytes).
    pending: Vec<u8>,
}

impl Utf8Upper {
    /// Takes the bytes of one read; returns the upper-cased bytes of every complete
    /// character so far. Bytes that can never be UTF-8 pass through unchanged.
    pub fn feed(&mut self, read: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(read);
        let mut out = Vec::with_capacity(self.pending.len());
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.extend_from_slice(text.to_uppercase().as_bytes());
                    rest = &[];
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    // Safe: from_utf8 just said these bytes are valid.
                    let text = std::str::from_utf8(valid).unwrap_or_default();
                    out.extend_from_slice(text.to_uppercase().as_bytes());
                    match err.error_len() {
                        // An invalid byte: keep it as it is, go on after it.
                        Some(bad) => {
                            out.extend_from_slice(&after[..bad]);
                            rest = &after[bad..];
                        }
                        // The end of the input is the start of a character: wait.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }

    /// Bytes held back, waiting for the rest of their character.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }
}

/// Accepts one client and echoes everything it sends in upper case, until it closes.
pub fn serve_one(listener: &TcpListener) -> io::Result<()> {
    let (mut stream, _peer) = listener.accept()?;
    let mut upper = Utf8Upper::default();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            // End of stream: whatever is pending was never a whole character.
            return stream.write_all(upper.pending());
        }
        stream.write_all(&upper.feed(&buf[..n]))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Shutdown, TcpStream};

    #[test]
    fn a_character_split_across_reads_survives() {
        let mut upper = Utf8Upper::default();
        // "héllo" with é (c3 a9) cut in the middle.
        assert_eq!(upper.feed(b"h\xc3"), b"H");
        assert_eq!(upper.pending(), b"\xc3");
        assert_eq!(upper.feed(b"\xa9llo"), "ÉLLO".as_bytes());
        assert!(upper.pending().is_empty());
    }

    #[test]
    fn the_naive_way_breaks_it() {
        let naive = |read: &[u8]| String::from_utf8_lossy(read).to_uppercase();
        let joined = naive(b"h\xc3") + &naive(b"\xa9llo");
        assert_eq!(joined, "H\u{fffd}\u{fffd}LLO");
    }

    #[test]
    fn every_split_point_gives_the_same_answer() {
        let text = "straße, 粘包 and é!\n";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut upper = Utf8Upper::default();
            let mut out = upper.feed(&bytes[..cut]);
            out.extend(upper.feed(&bytes[cut..]));
            assert_eq!(
                String::from_utf8(out).unwrap(),
                text.to_uppercase(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn invalid_bytes_pass_through() {
        let mut upper = Utf8Upper::default();
        assert_eq!(upper.feed(b"a\xffb"), b"A\xffB");
    }

    #[test]
    fn the_server_on_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || serve_one(&listener));
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_nodelay(true).unwrap();
        // Two writes that cut é in half; the server may read them as one or two.
        client.write_all(b"h\xc3").unwrap();
        client.write_all(b"\xa9llo\n").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut echo = String::new();
        client.read_to_string(&mut echo).unwrap();
        assert_eq!(echo, "HÉLLO\n");
        server.join().unwrap().unwrap();
    }
}
