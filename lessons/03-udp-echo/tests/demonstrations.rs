//! The three demonstrations: boundaries, max-size, refused.

mod common;

use common::{dead_address, run_role, start_server, WAIT};

#[test]
fn boundaries_each_datagram_arrives_whole_and_apart() {
    let (mut server, addr) = start_server(&[]);
    let addr = addr.to_string();
    let ran = run_role(&["boundaries", "--addr", &addr], "one\ntwo\n\nthree\n");
    let lines = ran.stdout;
    assert!(ran.ok, "{lines:#?}");
    let received: Vec<_> = lines.iter().filter(|l| l.starts_with("recv #")).collect();
    assert_eq!(
        received,
        [
            "recv #1: 3 bytes: one",
            "recv #2: 3 bytes: two",
            "recv #3: 0 bytes: ",
            "recv #4: 5 bytes: three"
        ]
    );
    assert!(lines
        .last()
        .unwrap()
        .starts_with("boundaries kept: 4 datagrams sent, 4 received"));
    // The server, too, saw four datagrams, not one run of bytes.
    let line = server.expect_stdout("#3 from", WAIT).unwrap();
    assert!(
        line.ends_with(": 0 bytes: "),
        "an empty datagram is a message: {line}"
    );
    let line = server.expect_stdout("#4 from", WAIT).unwrap();
    assert!(line.ends_with(": 5 bytes: three"), "{line}");
}

#[test]
fn boundaries_without_a_server_says_what_to_do() {
    let addr = dead_address().to_string();
    let ran = run_role(
        &["boundaries", "--addr", &addr, "--timeout", "100ms"],
        "one\n",
    );
    assert!(!ran.ok);
    let error = ran.error();
    assert!(error.contains("only 0 of 1 echoes came back"), "{error}");
    assert!(error.contains("cargo run -p udp-echo -- server"), "{error}");
}

#[test]
fn max_size_echoes_65507_bytes_whole_and_65508_are_refused() {
    let (mut server, addr) = start_server(&[]);
    let addr = addr.to_string();
    let ran = run_role(&["max-size", "--addr", &addr], "");
    let lines = ran.stdout;
    assert!(ran.ok, "{lines:#?} {:#?}", ran.stderr);
    assert!(
        lines.contains(&"65507 bytes: sent as ONE datagram".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("65507 bytes: echoed whole by")),
        "{lines:#?}"
    );
    let refused = lines
        .iter()
        .find(|l| l.starts_with("65508 bytes: send_to refused it: "));
    let refused = refused.unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(refused.contains("Message too long"), "{refused}");
    assert!(refused.contains("EMSGSIZE"), "{refused}");
    // Only the big one reached the server: the refused one never left.
    server.expect_stdout("#1 from", WAIT).unwrap();
    let more = server.rest_of_stdout(std::time::Duration::from_millis(200));
    assert!(more.iter().all(|l| !l.starts_with("#2")), "{more:#?}");
}

#[test]
fn max_size_notices_a_server_that_cuts() {
    let (_server, addr) = start_server(&["--buffer", "1000"]);
    let addr = addr.to_string();
    let ran = run_role(&["max-size", "--addr", &addr], "");
    assert!(!ran.ok);
    assert!(
        ran.error()
            .contains("is 1000 bytes and differs from the 65507 we sent"),
        "{}",
        ran.error()
    );
}

#[test]
fn refused_a_connected_socket_hears_connection_refused() {
    let addr = dead_address().to_string();
    let ran = run_role(&["refused", "--addr", &addr, "--timeout", "200ms"], "");
    let lines = ran.stdout;
    assert!(ran.ok, "{lines:#?}");
    assert!(
        lines.contains(&"   recv_from: nothing within 200ms, and no error: an unconnected socket is not told why".to_string()),
        "{lines:#?}"
    );
    let refused = lines
        .iter()
        .find(|l| l.starts_with("   recv: Connection refused"));
    let refused = refused.unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(refused.contains("ICMP port unreachable"), "{refused}");
}

#[test]
fn refused_with_a_server_running_says_so() {
    let (_server, addr) = start_server(&[]);
    let addr = addr.to_string();
    let ran = run_role(&["refused", "--addr", &addr], "");
    assert!(ran.ok);
    let answered = ran
        .stdout
        .iter()
        .find(|l| l.contains("somebody listens there"));
    assert!(
        answered.is_some_and(|l| l.contains("Stop the server")),
        "{:#?}",
        ran.stdout
    );
}
