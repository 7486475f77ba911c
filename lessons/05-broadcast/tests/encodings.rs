//! IPMsg text in the classroom's encodings: a packet with UTF8OPT is UTF-8; one without
//! it is decoded as the listener's `--encoding` (default `auto`: UTF-8 where valid, else
//! GBK, as FeiQ sends). A GBK BR_ENTRY gets its ANSENTRY, a GBK SENDMSG shows its text,
//! what we send sets UTF8OPT exactly when it is UTF-8, and bytes that fit no encoding are
//! shown escaped. Loopback only.

use broadcast::ipmsg::{self, Packet, UTF8OPT};
use shared::testing::{require_tool, Program};
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// As FeiQ sends a BR_ENTRY, in GBK without UTF8OPT: user 张三, host 张三-PC, nickname
/// 张三, group 技术部.
const FEIQ_ENTRY_GBK: &[u8] =
    b"1:1700000000:\xd5\xc5\xc8\xfd:\xd5\xc5\xc8\xfd-PC:1:\xd5\xc5\xc8\xfd\0\xbc\xbc\xca\xf5\xb2\xbf\0";

/// `broadcast listen --addr 127.0.0.1:0 ARGS...`, running; its address.
fn listener(extra: &[&str]) -> (Program, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_broadcast"));
    command
        .args(["listen", "--addr", "127.0.0.1:0"])
        .args(extra);
    let mut program = Program::spawn("listen", command).unwrap();
    let addr = program.wait_ready(TIMEOUT).unwrap();
    (program, addr)
}

fn test_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    socket
}

fn receive(socket: &UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 9000];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// A GBK BR_ENTRY from FeiQ is shown in Chinese and answered. With `--encoding gbk` the
/// answer is GBK without UTF8OPT (what FeiQ reads); by default it is UTF-8 with UTF8OPT.
#[test]
fn a_gbk_entry_from_feiq_is_shown_and_answered() {
    let (mut gbk, gbk_addr) = listener(&["--user", "李四", "--host", "PC", "--encoding", "gbk"]);
    let us = test_socket();
    us.send_to(FEIQ_ENTRY_GBK, gbk_addr).unwrap();
    gbk.expect_stdout(
        "BR_ENTRY from 张三@张三-PC (packet 1700000000, gbk): 张三\\0技术部",
        TIMEOUT,
    )
    .unwrap();
    let answer = receive(&us);
    let packet = Packet::parse(&answer).unwrap();
    assert_eq!(packet.command, ipmsg::ANSENTRY, "no UTF8OPT in GBK");
    assert_eq!(
        (&packet.user[..], &packet.host[..], &packet.extra[..]),
        (
            &b"\xc0\xee\xcb\xc4"[..],
            &b"PC"[..],
            &b"\xc0\xee\xcb\xc4"[..]
        )
    );

    let (mut auto, auto_addr) = listener(&["--user", "李四", "--host", "PC"]);
    us.send_to(FEIQ_ENTRY_GBK, auto_addr).unwrap();
    auto.expect_stdout(
        "BR_ENTRY from 张三@张三-PC (packet 1700000000, gbk)",
        TIMEOUT,
    )
    .unwrap();
    let packet = Packet::parse(&receive(&us)).unwrap();
    assert_eq!(packet.command, ipmsg::ANSENTRY | UTF8OPT);
    assert_eq!(packet.user, "李四".as_bytes());
}

/// A GBK SENDMSG shows its text; a UTF8OPT packet is UTF-8 even for `--encoding gbk`;
/// bytes that fit neither encoding are shown escaped and the listener goes on.
#[test]
fn sendmsg_utf8opt_and_undecodable_bytes() {
    let (mut listen, addr) = listener(&["--encoding", "gbk"]);
    let us = test_socket();
    us.send_to(b"1:42:\xc0\xee\xcb\xc4:pc:32:\xc4\xe3\xba\xc3", addr)
        .unwrap();
    listen
        .expect_stdout("SENDMSG from 李四@pc (packet 42, gbk): 你好", TIMEOUT)
        .unwrap();
    us.send_to("1:43:张三:pc:8388640:早上好".as_bytes(), addr)
        .unwrap();
    listen
        .expect_stdout("SENDMSG from 张三@pc (packet 43, UTF8OPT): 早上好", TIMEOUT)
        .unwrap();
    us.send_to(b"1:44:\xff\xff:pc:32:a\xffb\x1b", addr).unwrap();
    let line = listen.expect_stdout("(packet 44", TIMEOUT).unwrap();
    assert!(
        line.ends_with("\\xff\\xff@pc (packet 44, gbk): a\\xffb\\x1b"),
        "{line}"
    );
    us.send_to(b"1:45:u:pc:32:still here", addr).unwrap();
    listen.expect_stdout("still here", TIMEOUT).unwrap();
}

/// What announce sends sets UTF8OPT exactly when it is UTF-8: its BR_ENTRY, received by
/// a test socket on the broadcast port.
#[test]
fn announce_sets_utf8opt_exactly_for_utf8() {
    for (encoding, user, command) in [
        ("gbk", &b"\xc0\xee\xcb\xc4"[..], ipmsg::BR_ENTRY),
        ("utf-8", "李四".as_bytes(), ipmsg::BR_ENTRY | UTF8OPT),
        ("auto", "李四".as_bytes(), ipmsg::BR_ENTRY | UTF8OPT),
    ] {
        let fake = UdpSocket::bind("0.0.0.0:0").unwrap();
        fake.set_read_timeout(Some(TIMEOUT)).unwrap();
        let to = format!("127.255.255.255:{}", fake.local_addr().unwrap().port());
        let mut command_line = Command::new(env!("CARGO_BIN_EXE_broadcast"));
        command_line.args([
            "announce",
            "--to",
            &to,
            "--user",
            "李四",
            "--encoding",
            encoding,
            "--wait",
            "100ms",
        ]);
        let mut announcer = Program::spawn("announce", command_line).unwrap();
        announcer.wait_ready(TIMEOUT).unwrap();
        let entry = Packet::parse(&receive(&fake)).unwrap();
        assert_eq!(
            (entry.command, &entry.user[..]),
            (command, user),
            "{encoding}"
        );
        assert!(announcer.wait_exit(TIMEOUT).unwrap().success());
    }
}

/// The Python script sends a BR_ENTRY as FeiQ does (GBK, no UTF8OPT) and reads the
/// answer as the packet says: GBK from `--encoding gbk`, UTF-8 with UTF8OPT by default.
#[test]
fn a_feiq_style_python_client_finds_our_listener() {
    let Some(python) = require_tool("python3", "python3") else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/feiq_entry.py");
    for (extra, expected) in [
        (&["--encoding", "gbk"][..], "ANSENTRY from 李四@PC (gbk, "),
        (&[][..], "ANSENTRY from 李四@PC (utf-8, "),
    ] {
        let mut args = vec!["--user", "李四", "--host", "PC"];
        args.extend(extra);
        let (mut listen, addr) = listener(&args);
        let mut command = Command::new(&python);
        command
            .args([
                "-u",
                script,
                &addr.ip().to_string(),
                &addr.port().to_string(),
            ])
            .env("PYTHONIOENCODING", "utf-8");
        let output = shared::testing::run_with_input("python", command, "", TIMEOUT).unwrap();
        assert!(output.status.success(), "{:?}", output.stderr);
        assert!(output.said(expected), "{:?}", output.stdout);
        listen
            .expect_stdout("BR_ENTRY from 张三@张三-PC", TIMEOUT)
            .unwrap();
    }
}
