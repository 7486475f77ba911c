//! What each fuzz target checks, as plain functions of the input bytes.
//!
//! The AFL binaries in `src/bin/` only call these, so the checks can also run without AFL:
//! `cargo test` here runs every seed under `seeds/` through its target's check.
//!
//! Each check asserts more than "no panic" where that is cheap: encoding what was decoded
//! decodes to the same thing, a decoder never hands out more bytes than it was given, and
//! a stream decoder gives the same frames however its input is cut into reads. A failed
//! `assert!` is a panic, and AFL saves the input as a crash.

pub mod framing;
pub mod ipmsg;
pub mod tftp;

/// The fuzz targets, as `cargo xtask fuzz` and `seeds/` name them.
pub const TARGETS: [&str; 5] = [
    "tftp-packet",
    "tftp-options",
    "netascii",
    "ipmsg",
    "framing",
];

/// The target named `name`, as a function of the input bytes.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "tftp-packet" => tftp::packet,
        "tftp-options" => tftp::options,
        "netascii" => tftp::netascii,
        "ipmsg" => ipmsg::packet,
        "framing" => framing::decoders,
        _ => return None,
    })
}

/// Panics if `text`, about to be shown on a terminal, holds a control character other than
/// tab: what comes from the network is printed escaped (the project's rule), or an ESC or a
/// line break in it drives the reader's terminal or forges a log line.
pub fn assert_printable(what: &str, text: &str) {
    assert!(
        !text.contains(|c: char| c.is_control() && c != '\t'),
        "{what} shows a control character raw: {text:?}"
    );
}

/// Fuzz input read front to back: a few bytes of settings (a limit, a chunk size), then
/// the rest as the bytes under test. Past the end every number reads as 0, so any input,
/// even an empty one, is a valid test case.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    /// Wraps the fuzzer's bytes.
    pub fn new(bytes: &'a [u8]) -> Self {
        Input(bytes)
    }

    /// The next byte, or 0.
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    /// The next 2 bytes as a big-endian number, 0 past the end.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The next 8 bytes as a big-endian number, 0 past the end.
    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| n << 8 | u64::from(self.u8()))
    }

    /// A chunk size from 1 to `max`, from the next byte.
    pub fn step(&mut self, max: usize) -> usize {
        usize::from(self.u8()) % max + 1
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_seed_passes_its_target() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        for name in TARGETS {
            let check = target(name).unwrap();
            let dir = seeds.join(name);
            let mut count = 0;
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                println!("{}", path.display());
                check(&bytes);
                count += 1;
            }
            assert!(
                count >= 3,
                "{name}: only {count} seeds in {}",
                dir.display()
            );
        }
    }

    #[test]
    fn short_and_empty_inputs_are_valid_cases() {
        for name in TARGETS {
            let check = target(name).unwrap();
            for bytes in [&b""[..], b"\0", b"\xff", b"\0\0\0\0\0\0\0\0\0\0\0\0"] {
                check(bytes);
            }
        }
    }

    #[test]
    fn input_reads_numbers_then_the_rest() {
        let mut input = Input::new(b"\x01\x02\x03rest");
        assert_eq!(input.u16(), 0x0102);
        assert_eq!(input.step(2), 2);
        assert_eq!(input.rest(), b"rest");
        let mut empty = Input::new(b"");
        assert_eq!((empty.u8(), empty.u64(), empty.step(5)), (0, 0, 1));
    }
}
