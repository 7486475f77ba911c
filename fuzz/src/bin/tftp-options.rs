//! AFL target `tftp-options`: see [`course_fuzz::tftp::options`] for what it checks.

fn main() {
    afl::fuzz!(|data: &[u8]| course_fuzz::tftp::options(data));
}
