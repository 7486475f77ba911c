//! Lesson 05's IPMsg packet.

use crate::{assert_printable, Input};
use broadcast::ipmsg::{Packet, MAX_PACKET, VERSION};

/// Target `ipmsg`: the whole input is one datagram; then the same bytes, cut into fields,
/// make a packet to send.
///
/// - `Packet::parse` and both `Display`s never panic, and a packet's `Display` holds no
///   control character (but tab): what came from the network is shown escaped;
/// - a parsed packet has version 1 and non-empty names without `:`;
/// - what `parse` accepts, `emit` can send back, no longer than it came, and it parses to
///   the same packet (issue 8: parse accepted names that emit refused);
/// - what `emit` accepts is at most [`MAX_PACKET`] bytes and parses back to the same packet.
pub fn packet(data: &[u8]) {
    match Packet::parse(data) {
        Err(err) => {
            let _ = err.to_string();
        }
        Ok(packet) => {
            assert_printable("Packet's Display", &packet.to_string());
            assert_eq!(packet.version, VERSION);
            for name in [&packet.user, &packet.host] {
                assert!(!name.is_empty() && !name.contains(&b':'), "{packet:?}");
            }
            let bytes = match packet.emit() {
                Ok(bytes) => bytes,
                Err(err) => panic!("parse accepted {packet:?}, which emit refuses: {err}"),
            };
            assert!(bytes.len() <= data.len());
            assert_eq!(Packet::parse(&bytes), Ok(packet), "emit gave {bytes:?}");
        }
    }

    // A packet made by a program: the fields from the input, cut at its first three 0xff
    // bytes (the fields are bytes in any encoding).
    let mut input = Input::new(data);
    let packet_no = input.u64();
    let command = u32::from(input.u16()) << 8 | u32::from(input.u8());
    let mut fields = input.rest().splitn(4, |&b| b == 0xff);
    let mut next = || fields.next().unwrap_or_default().to_vec();
    let (user, host, extra) = (next(), next(), next());
    let packet = Packet::new(packet_no, user, host, command, extra);
    if let Ok(bytes) = packet.emit() {
        assert!(bytes.len() <= MAX_PACKET);
        assert_eq!(
            Packet::parse(&bytes),
            Ok(packet),
            "emit accepted what parse reads differently: {bytes:?}"
        );
    }
}
