//! Lesson 03, exercise 4: "Find a line the server printed twice. Why can't the server
//! tell a retry from a new message that says the same? What would you add to each
//! datagram so it could?"
//!
//! When an echo is lost, the client sends the same line again: the server receives the
//! same bytes twice and cannot know the second is a copy, because a user may well type
//! the same line twice. The answer is what TCP does under the hood and TFTP does with its
//! block numbers: a **sequence number** in each datagram. A retry keeps its number; a new
//! message gets the next one.
//!
//! Layout: a 4-byte big-endian sequence number, then the text. The server echoes every
//! datagram (so a retry whose echo was lost gets one), but handles each number once.
//! Since the lesson's client waits for each echo before sending the next line, the
//! server only needs to remember the last number per client.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};

/// Bytes of the sequence number at the start of each datagram.
pub const SEQ_LEN: usize = 4;

/// The datagram for message number `seq`.
pub fn encode(seq: u32, text: &[u8]) -> Vec<u8> {
    [&seq.to_be_bytes()[..], text].concat()
}

/// The number and the text of a datagram; `None` if it is too short to have a number.
pub fn decode(datagram: &[u8]) -> Option<(u32, &[u8])> {
    let (seq, text) = datagram.split_at_checked(SEQ_LEN)?;
    Some((u32::from_be_bytes(seq.try_into().ok()?), text))
}

/// The last number seen from each client.
#[derive(Debug, Default)]
pub struct Dedup {
    last: HashMap<SocketAddr, u32>,
}

impl Dedup {
    /// True the first time `peer` sends `seq`; false for a retry of the last message.
    pub fn is_new(&mut self, peer: SocketAddr, seq: u32) -> bool {
        self.last.insert(peer, seq) != Some(seq)
    }
}

/// Receives `count` datagrams, echoes each one, and returns the texts handled (each
/// message once, however often it was sent). Datagrams without a number are ignored.
pub fn serve(socket: &UdpSocket, count: usize) -> io::Result<Vec<String>> {
    let mut dedup = Dedup::default();
    let mut handled = Vec::new();
    let mut buf = [0u8; 2048];
    for _ in 0..count {
        let (n, peer) = socket.recv_from(&mut buf)?;
        let datagram = &buf[..n];
        let Some((seq, text)) = decode(datagram) else {
            continue;
        };
        if dedup.is_new(peer, seq) {
            handled.push(String::from_utf8_lossy(text).into_owned());
        }
        socket.send_to(datagram, peer)?;
    }
    Ok(handled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_layout() {
        assert_eq!(encode(258, b"hi"), [0, 0, 1, 2, b'h', b'i']);
        assert_eq!(decode(&[0, 0, 1, 2, b'h', b'i']), Some((258, &b"hi"[..])));
        assert_eq!(decode(&[0, 0, 1, 2]), Some((258, &b""[..])));
        assert_eq!(decode(&[0, 0, 1]), None);
    }

    #[test]
    fn a_retry_is_not_a_new_message_but_the_same_text_again_is() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let handle = std::thread::spawn(move || serve(&server, 4));

        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // Message 1, its retry (as if the echo had been lost), then message 2 with the
        // same text, then message 3.
        let sent = [
            encode(1, b"hello"),
            encode(1, b"hello"),
            encode(2, b"hello"),
            encode(3, b"bye"),
        ];
        let mut buf = [0u8; 64];
        for datagram in &sent {
            client.send_to(datagram, addr).unwrap();
            let (n, _) = client.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], datagram.as_slice(), "every datagram is echoed");
        }
        let handled = handle.join().unwrap().unwrap();
        assert_eq!(handled, ["hello", "hello", "bye"]);
    }

    #[test]
    fn numbers_are_per_client() {
        let mut dedup = Dedup::default();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2000".parse().unwrap();
        assert!(dedup.is_new(a, 1));
        assert!(dedup.is_new(b, 1));
        assert!(!dedup.is_new(a, 1));
        assert!(dedup.is_new(a, 2));
    }
}
