//! Other programs speak UDP too: socat and netcat as clients of our server, and a socat
//! echo server for our client. Skipped locally when a tool is missing; CI installs them.

mod common;

use common::{start_server, udp_echo, WAIT};
use shared::testing::{require_tool, Program};
use std::net::SocketAddr;
use std::process::Command;

#[test]
fn socat_as_a_client() {
    let Some(socat) = require_tool("socat", "socat") else {
        return;
    };
    let (mut server, addr) = start_server(&[]);
    let mut command = Command::new(socat);
    command.args(["-", &format!("UDP:{addr}")]);
    let mut client = Program::spawn("socat", command).unwrap();
    client.send("hello from socat\n").unwrap();
    // socat sends each read of its stdin as one datagram and prints what comes back.
    let echo = client.expect_stdout("hello", WAIT).unwrap();
    assert_eq!(echo, "hello from socat");
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.ends_with(": 17 bytes: hello from socat\\n"), "{line}");
}

#[test]
fn netcat_as_a_client() {
    let Some(nc) = require_tool("nc", "netcat-openbsd") else {
        return;
    };
    let (mut server, addr) = start_server(&[]);
    let mut command = Command::new(nc);
    command.args([
        "-u",
        "-w1",
        &addr.ip().to_string(),
        &addr.port().to_string(),
    ]);
    let mut client = Program::spawn("nc", command).unwrap();
    client.send("hello from nc\n").unwrap();
    client.close_stdin();
    let echo = client.expect_stdout("hello", WAIT).unwrap();
    assert_eq!(echo, "hello from nc");
    let line = server.expect_stdout("#1 from", WAIT).unwrap();
    assert!(line.ends_with(": 14 bytes: hello from nc\\n"), "{line}");
}

#[test]
fn our_client_against_a_socat_echo_server() {
    let Some(socat) = require_tool("socat", "socat") else {
        return;
    };
    // A UDP echo server in one line: receive on 127.0.0.1 (only), port 0, pipe through cat.
    // With -d -d it logs `listening on UDP AF=2 127.0.0.1:PORT` once bound: its readiness.
    let mut command = Command::new(socat);
    command.args(["-d", "-d", "UDP-LISTEN:0,bind=127.0.0.1", "EXEC:cat"]);
    let mut echo_server = Program::spawn("socat", command).unwrap();
    let line = echo_server.expect_stderr("listening on", WAIT).unwrap();
    let addr: SocketAddr = line
        .rsplit(' ')
        .next()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    assert!(addr.ip().is_loopback(), "{addr}");

    let mut client =
        Program::spawn("client", udp_echo(&["client", "--addr", &addr.to_string()])).unwrap();
    client.send("hello socat\nsecond\n").unwrap();
    client.close_stdin();
    client.expect_stdout("echo: hello socat", WAIT).unwrap();
    client.expect_stdout("echo: second", WAIT).unwrap();
    client
        .expect_stdout("2 of 2 messages echoed", WAIT)
        .unwrap();
    assert!(client.wait_exit(WAIT).unwrap().success());
}
