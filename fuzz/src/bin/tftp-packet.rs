//! AFL target `tftp-packet`: see [`course_fuzz::tftp::packet`] for what it checks.

fn main() {
    afl::fuzz!(|data: &[u8]| course_fuzz::tftp::packet(data));
}
