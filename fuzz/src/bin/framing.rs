//! AFL target `framing`: see [`course_fuzz::framing::decoders`] for what it checks.

fn main() {
    afl::fuzz!(|data: &[u8]| course_fuzz::framing::decoders(data));
}
