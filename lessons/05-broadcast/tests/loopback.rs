//! Lesson 05 on loopback: several listeners on one port, broadcasts to 127.255.255.255,
//! discovery, malformed datagrams, and the errors the lesson teaches.
//!
//! Every listener of a test shares ONE port (a broadcast reaches the sockets bound to
//! its destination port): the first listener binds port 0 and the others the port it
//! got, which SO_REUSEADDR / SO_REUSEPORT allow.

use broadcast::ipmsg::{self, Packet};
use shared::testing::Program;
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_broadcast"));
    command.args(args);
    command
}

/// `listen --addr 0.0.0.0:PORT --user NAME`, running and bound.
fn listener(name: &str, port: u16) -> (Program, SocketAddr) {
    let addr = format!("0.0.0.0:{port}");
    let mut program =
        Program::spawn(name, command(&["listen", "--addr", &addr, "--user", name])).unwrap();
    let bound = program.wait_ready(TIMEOUT).unwrap();
    (program, bound)
}

/// Three listeners on one port: the first picks it.
fn three_listeners() -> (Vec<Program>, u16) {
    let (first, bound) = listener("listener-1", 0);
    let port = bound.port();
    assert_ne!(port, 0);
    let mut listeners = vec![first];
    for name in ["listener-2", "listener-3"] {
        let (program, bound) = listener(name, port);
        assert_eq!(bound.port(), port, "{name} shares the port");
        listeners.push(program);
    }
    (listeners, port)
}

/// The default target's IP (127.255.255.255) with the test's port.
fn loopback_broadcast(port: u16) -> String {
    let mut target = shared::addr::parse(shared::addr::BROADCAST_TARGET).unwrap();
    target.set_port(port);
    target.to_string()
}

/// Runs `announce` to the end and returns its stdout.
fn announce(args: &[&str]) -> Vec<String> {
    let mut announcer = Program::spawn("announce", command(args)).unwrap();
    announcer.wait_ready(TIMEOUT).unwrap();
    let lines = announcer.rest_of_stdout(TIMEOUT);
    let status = announcer.wait_exit(TIMEOUT).unwrap();
    assert!(status.success(), "{status}: {}", announcer.transcript());
    lines
}

#[test]
fn three_listeners_all_receive_one_broadcast() {
    let (mut listeners, port) = three_listeners();
    let to = loopback_broadcast(port);
    let lines = announce(&[
        "announce", "--to", &to, "--user", "alice", "--wait", "500ms",
    ]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("sent BR_ENTRY to 127.255.255.255")),
        "{lines:?}"
    );
    for listener in &mut listeners {
        let line = listener
            .expect_stdout("BR_ENTRY from alice@", TIMEOUT)
            .unwrap();
        // The sender is shown, and it is the announcer on loopback.
        assert!(line.starts_with("127.0.0.1:"), "{line}");
        listener
            .expect_stdout("answered ANSENTRY", TIMEOUT)
            .unwrap();
        // The BR_EXIT at the end is a broadcast too: everyone hears it.
        listener
            .expect_stdout("BR_EXIT from alice@", TIMEOUT)
            .unwrap();
    }
}

#[test]
fn discovery_finds_all_three() {
    let (_listeners, port) = three_listeners();
    let to = loopback_broadcast(port);
    let lines = announce(&["announce", "--to", &to, "--wait", "1s"]);
    let answers: Vec<&String> = lines.iter().filter(|l| l.starts_with("answer ")).collect();
    assert_eq!(answers.len(), 3, "{lines:?}");
    for name in ["listener-1", "listener-2", "listener-3"] {
        assert!(
            answers.iter().any(|l| l.contains(&format!(": {name}@"))),
            "{name} did not answer: {lines:?}"
        );
    }
    // All three answer from the same shared port, by unicast.
    for answer in &answers {
        assert!(
            answer.contains(&format!("from 127.0.0.1:{port}: ")),
            "{answer}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with("3 answered: ")),
        "{lines:?}"
    );
}

#[test]
fn nobody_listening_is_said_plainly() {
    // A port nobody listens on: bind one, note it, close it.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lines = announce(&[
        "announce",
        "--to",
        &loopback_broadcast(port),
        "--wait",
        "200ms",
    ]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("nobody answered") && l.contains("listen")),
        "{lines:?}"
    );
}

#[test]
fn malformed_datagrams_are_reported_and_ignored_by_the_listener() {
    let (mut listener, bound) = listener("listener", 0);
    let to: SocketAddr = format!("127.0.0.1:{}", bound.port()).parse().unwrap();
    let us = UdpSocket::bind("127.0.0.1:0").unwrap();
    us.set_read_timeout(Some(TIMEOUT)).unwrap();
    let fixtures: [(&[u8], &str); 4] = [
        (b"hello\n", "1 of the 6 fields"),
        (b"\xff\xfe\xfd", "1 of the 6 fields"),
        (b"2:1:mallory:evil:1:x", "version 2"),
        (
            b"1:1:mallory:evil:BR_ENTRY:x",
            "command \"BR_ENTRY\" is not a decimal number",
        ),
    ];
    for (bytes, why) in fixtures {
        us.send_to(bytes, to).unwrap();
        let line = listener
            .expect_stderr("ignored a malformed datagram", TIMEOUT)
            .unwrap();
        assert!(line.contains(why), "{line}");
    }
    // Still serving: a good BR_ENTRY gets its ANSENTRY, back to our own port.
    let mut entry = Packet::new(7, "tester", "here", ipmsg::BR_ENTRY, "tester")
        .emit()
        .unwrap();
    entry.resize(256, 0); // room for the answer: it is never larger than the request
    us.send_to(&entry, to).unwrap();
    let mut buf = [0u8; 1024];
    let (n, from) = us.recv_from(&mut buf).unwrap();
    assert_eq!(from.port(), bound.port());
    let answer = Packet::parse(&buf[..n]).unwrap();
    assert_eq!(
        (answer.mode(), &answer.user[..]),
        (ipmsg::ANSENTRY, &b"listener"[..])
    );
    listener
        .expect_stdout("BR_ENTRY from tester@here (packet 7)", TIMEOUT)
        .unwrap();
}

/// A fake listener (a plain socket on the broadcast port) answers garbage first, then a
/// real ANSENTRY: announce reports the garbage and still lists the answer.
#[test]
fn malformed_answers_are_reported_and_ignored_by_announce() {
    let fake = UdpSocket::bind("0.0.0.0:0").unwrap();
    fake.set_read_timeout(Some(TIMEOUT)).unwrap();
    let port = fake.local_addr().unwrap().port();
    let mut announcer = Program::spawn(
        "announce",
        command(&[
            "announce",
            "--to",
            &loopback_broadcast(port),
            "--wait",
            "1500ms",
        ]),
    )
    .unwrap();
    announcer.wait_ready(TIMEOUT).unwrap();
    let mut buf = [0u8; 1024];
    let (n, from) = fake.recv_from(&mut buf).unwrap();
    assert_eq!(Packet::parse(&buf[..n]).unwrap().mode(), ipmsg::BR_ENTRY);
    fake.send_to(b"1:2:3", from).unwrap();
    let answer = Packet::new(9, "fake", "box", ipmsg::ANSENTRY, "")
        .emit()
        .unwrap();
    fake.send_to(&answer, from).unwrap();
    // stdout and stderr are read by two threads, so their lines may come in either
    // order: read everything, then look.
    let lines = announcer.rest_of_stdout(TIMEOUT);
    let transcript = announcer.transcript();
    assert!(
        transcript.lines().any(|l| l.starts_with("(stderr) ")
            && l.contains("ignored a malformed datagram")
            && l.contains("3 of the 6 fields")),
        "{transcript}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("answer 1 from ")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("1 answered: fake@box")),
        "{lines:?}"
    );
    assert!(announcer.wait_exit(TIMEOUT).unwrap().success());
}

#[test]
fn without_so_broadcast_the_kernel_says_permission_denied() {
    let mut announcer = Program::spawn(
        "announce",
        command(&[
            "announce",
            "--to",
            &loopback_broadcast(9),
            "--no-broadcast-flag",
        ]),
    )
    .unwrap();
    announcer.wait_ready(TIMEOUT).unwrap();
    let line = announcer
        .expect_stderr("cannot send to 127.255.255.255:9", TIMEOUT)
        .unwrap();
    assert!(line.contains("Permission denied"), "{line}");
    assert!(line.contains("needs SO_BROADCAST"), "{line}");
    assert!(!announcer.wait_exit(TIMEOUT).unwrap().success());
}

#[test]
fn without_so_reuseaddr_a_second_listener_cannot_bind() {
    let (_first, bound) = listener("listener-1", 0);
    let addr = format!("0.0.0.0:{}", bound.port());
    let mut second = Program::spawn(
        "second",
        command(&["listen", "--addr", &addr, "--no-reuse"]),
    )
    .unwrap();
    let line = second.expect_stderr("cannot bind", TIMEOUT).unwrap();
    assert!(line.contains("Address already in use"), "{line}");
    assert!(line.contains("drop --no-reuse"), "{line}");
    assert!(!second.wait_exit(TIMEOUT).unwrap().success());
}

#[test]
fn subnet_prints_network_host_part_and_broadcast() {
    let mut program = Program::spawn("subnet", command(&["subnet", "192.168.1.37/24"])).unwrap();
    let lines = program.rest_of_stdout(TIMEOUT);
    assert!(program.wait_exit(TIMEOUT).unwrap().success());
    let starts = |name: &str, value: &str| {
        lines.iter().any(|l| {
            let mut words = l.strip_prefix(name).unwrap_or("").split_whitespace();
            l.starts_with(name) && words.next() == Some(value)
        })
    };
    assert!(starts("network", "192.168.1.0"), "{lines:?}");
    assert!(starts("host part", "0.0.0.37"), "{lines:?}");
    assert!(starts("broadcast", "192.168.1.255"), "{lines:?}");
    assert!(starts("mask", "255.255.255.0"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("11000000.10101000.00000001.00100101")),
        "{lines:?}"
    );
}

#[test]
fn bad_input_is_a_one_line_error_not_a_panic() {
    for args in [
        &["subnet", "192.168.1.37/255.0.255.0"][..],
        &["subnet", "banana"],
        &["announce", "--to", "127.255.255.255"],
        &["listen", "--user", "a:b", "--addr", "127.0.0.1:0"],
    ] {
        let output = command(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?}");
    }
    let output = command(&["listen", "--user", "a:b", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad --user or --host"), "{stderr}");
}

/// `announce --to` the loopback broadcast address of a fake listener's port, started and
/// ready, with the BR_ENTRY it sent received: returns the announcer and its address.
fn announce_to_fake(fake: &UdpSocket, extra: &[&str]) -> (Program, SocketAddr) {
    let port = fake.local_addr().unwrap().port();
    let to = loopback_broadcast(port);
    let mut args = vec!["announce", "--to", &to];
    args.extend_from_slice(extra);
    let mut announcer = Program::spawn("announce", command(&args)).unwrap();
    announcer.wait_ready(TIMEOUT).unwrap();
    let mut buf = [0u8; 1024];
    let (n, from) = fake.recv_from(&mut buf).unwrap();
    assert_eq!(Packet::parse(&buf[..n]).unwrap().mode(), ipmsg::BR_ENTRY);
    (announcer, from)
}

/// A plain socket on a free port of 0.0.0.0, where loopback broadcasts arrive.
fn fake_listener() -> UdpSocket {
    let fake = UdpSocket::bind("0.0.0.0:0").unwrap();
    fake.set_read_timeout(Some(TIMEOUT)).unwrap();
    fake
}

/// Names from the network are printed escaped: ESC and BEL in a user or host would
/// otherwise drive the terminal (here: clear the screen, turn it red, retitle the
/// window), and a line break would forge a line of its own. Text in other scripts stays
/// readable.
#[test]
fn names_from_the_network_are_printed_escaped() {
    const ESCAPES: &str = "\x1b[2J\x1b[31mroot\x07";
    let (mut listener, bound) = listener("listener", 0);
    let to: SocketAddr = format!("127.0.0.1:{}", bound.port()).parse().unwrap();
    let us = UdpSocket::bind("127.0.0.1:0").unwrap();

    // A line break in a name: refused as malformed, shown escaped, never a line of its own.
    us.send_to(
        b"1:8:x\nBR_ENTRY from alice@wonderland (packet 1):h:1:x",
        to,
    )
    .unwrap();
    let line = listener
        .expect_stderr("ignored a malformed datagram", TIMEOUT)
        .unwrap();
    assert!(
        line.contains("the user field contains a ':' or a line break"),
        "{line}"
    );
    assert!(
        line.ends_with("1:8:x\\nBR_ENTRY from alice@wonderland (packet 1):h:1:x"),
        "{line}"
    );

    let hostile = format!("1:9:{ESCAPES}:\x1b]0;pwned\x07box:1:{ESCAPES}");
    us.send_to(hostile.as_bytes(), to).unwrap();
    let line = listener.expect_stdout("(packet 9)", TIMEOUT).unwrap();
    assert!(!line.contains(['\x1b', '\x07']), "{line:?}");
    assert!(
        line.ends_with(
            "BR_ENTRY from \\x1b[2J\\x1b[31mroot\\x07@\\x1b]0;pwned\\x07box (packet 9): \\x1b[2J\\x1b[31mroot\\x07"
        ),
        "{line:?}"
    );
    us.send_to("1:10:张三:办公室:1:".as_bytes(), to).unwrap();
    let line = listener.expect_stdout("(packet 10)", TIMEOUT).unwrap();
    assert!(
        line.ends_with("BR_ENTRY from 张三@办公室 (packet 10)"),
        "{line}"
    );
    assert!(
        !listener
            .transcript()
            .lines()
            .any(|l| l.starts_with("BR_ENTRY from alice")),
        "a forged line:\n{}",
        listener.transcript()
    );

    // The announcer shows the answers' names escaped too, in its summary as well.
    let fake = fake_listener();
    let (mut announcer, from) = announce_to_fake(&fake, &["--wait", "1s"]);
    let answer = format!("1:3:{ESCAPES}:b\x07x:3:");
    fake.send_to(answer.as_bytes(), from).unwrap();
    let lines = announcer.rest_of_stdout(TIMEOUT);
    assert!(announcer.wait_exit(TIMEOUT).unwrap().success());
    let shown = "\\x1b[2J\\x1b[31mroot\\x07@b\\x07x";
    assert!(
        lines.iter().any(|l| l.ends_with(&format!(": {shown}"))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("1 answered: {shown} at "))),
        "{lines:?}"
    );
    let everything = announcer.transcript();
    assert!(!everything.contains(['\x1b', '\x07']), "{everything:?}");
}

/// A flood of distinct answers (as from a spoofing stranger, or a huge LAN): announce
/// keeps at most --max-answers (256 by default), says that it stopped there, and prints
/// a bounded output. The flood is bounded too: it ends when the announcer says it
/// stopped, or after 1,000,000 datagrams or 20 s, whichever comes first.
#[test]
fn a_flood_of_answers_stops_at_the_limit() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Instant;
    const LIMIT: usize = 256;
    let fake = fake_listener();
    let (mut announcer, from) = announce_to_fake(&fake, &["--wait", "10s"]);

    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut sent = 0u32;
            while sent < 1_000_000
                && !stop.load(Ordering::Relaxed)
                && started.elapsed() < Duration::from_secs(20)
            {
                let answer = format!("1:{sent}:user{sent}:flood:3:");
                // Some are lost (a receive buffer fills up): the flood goes on.
                let _ = fake.send_to(answer.as_bytes(), from);
                sent += 1;
            }
            sent
        })
    };
    let limit_line = announcer.expect_stdout("stopped collecting at", TIMEOUT);
    stop.store(true, Ordering::Relaxed);
    let sent = flood.join().unwrap();
    let limit_line = limit_line.unwrap();
    assert!(sent as usize > LIMIT, "only {sent} sent");
    assert_eq!(
        limit_line,
        "stopped collecting at 256 answers, the limit (--max-answers): a bigger network, or someone flooding us"
    );
    let _ = announcer.rest_of_stdout(TIMEOUT);
    assert!(announcer.wait_exit(TIMEOUT).unwrap().success());
    let transcript = announcer.transcript();
    let answers: Vec<&str> = transcript
        .lines()
        .filter(|l| l.starts_with("answer "))
        .collect();
    assert_eq!(answers.len(), LIMIT, "{transcript}");
    assert!(
        answers[LIMIT - 1].starts_with("answer 256 from "),
        "{}",
        answers[LIMIT - 1]
    );
    // Bounded output: the answers, a few lines around them, and a summary that names 20.
    assert!(transcript.lines().count() <= LIMIT + 10, "{transcript}");
    let summary = transcript
        .lines()
        .find(|l| l.starts_with("256 answered: "))
        .unwrap_or_else(|| panic!("{transcript}"));
    assert!(summary.ends_with(" and 236 more (see above)"), "{summary}");
    assert!(summary.len() < 2000, "{summary}");
}

/// One listener repeating its answer counts once, and a flood of garbage is reported
/// for its first 10 datagrams, then only counted.
#[test]
fn repeated_answers_count_once_and_garbage_is_reported_briefly() {
    let fake = fake_listener();
    let (mut announcer, from) = announce_to_fake(&fake, &["--wait", "2s"]);
    let answer = Packet::new(9, "fake", "box", ipmsg::ANSENTRY, "")
        .emit()
        .unwrap();
    for _ in 0..200 {
        fake.send_to(&answer, from).unwrap();
        fake.send_to(b"garbage", from).unwrap();
    }
    let lines = announcer.rest_of_stdout(TIMEOUT);
    assert!(announcer.wait_exit(TIMEOUT).unwrap().success());
    let transcript = announcer.transcript();
    let answers = lines.iter().filter(|l| l.starts_with("answer ")).count();
    assert_eq!(answers, 1, "{transcript}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("1 answered: fake@box at ")),
        "{lines:?}"
    );
    let reports = transcript
        .lines()
        .filter(|l| l.contains("ignored a malformed datagram"))
        .count();
    assert!(
        (1..=10).contains(&reports),
        "{reports} reports:\n{transcript}"
    );
    // How many arrived depends on the receive buffer; that some were counted does not.
    let also = lines
        .iter()
        .find(|l| l.starts_with("also received: "))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(!also.starts_with("also received: 0 repeated"), "{also}");
}
