//! AFL target `ipmsg`: see [`course_fuzz::ipmsg::packet`] for what it checks.

fn main() {
    afl::fuzz!(|data: &[u8]| course_fuzz::ipmsg::packet(data));
}
