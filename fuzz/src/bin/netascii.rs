//! AFL target `netascii`: see [`course_fuzz::tftp::netascii`] for what it checks.

fn main() {
    afl::fuzz!(|data: &[u8]| course_fuzz::tftp::netascii(data));
}
