use crate::demo::Demo;

/// 03: a client sends lines and gets each one back, from a port its OS picked; then
/// `boundaries` sends three datagrams back to back and gets three back, each whole; a
/// client that loses 30% of its datagrams (`--drop 0.3`) retries until every line got
/// through; `max-size` sends 65,507 bytes, then one byte too many; and a server with an
/// 8-byte buffer cuts a long datagram and says so.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    demo.scene("a UDP server binds and waits: no listen, no accept, no connection")?;
    let addr = demo
        .server("server", &["server", "--addr", "127.0.0.1:0"])?
        .to_string();

    demo.scene("each line is one datagram: sendto, the server's recvfrom, and the echo back")?;
    echoed_after_the_server(demo, "client", &["hello", "how are you?"]);
    demo.scripted_client(
        "client",
        &["client", "--addr", &addr],
        "hello\nhow are you?\n",
    )?;
    demo.wait("client")?;
    demo.expect("server", "bytes: how are you?")?;

    demo.scene("3 datagrams sent before any is read: watch them come back as 3, each whole")?;
    for (n, word) in ["one", "two", "three"].iter().enumerate() {
        demo.after(
            ("server", &format!("bytes: {word}")),
            ("boundaries", &format!("recv #{}", n + 1)),
        );
    }
    demo.scripted_client(
        "boundaries",
        &["boundaries", "--addr", &addr],
        "one\ntwo\nthree\n",
    )?;
    demo.wait("boundaries")?;
    demo.expect("boundaries", "recv #3: 5 bytes: three")?;
    demo.expect("boundaries", "boundaries kept")?;

    demo.scene(
        "30% of the client's datagrams are lost (--drop 0.3): watch the timeout, then the retry",
    )?;
    // The default seed drops the third datagram of this run, and a few after it.
    let lossy = ["a", "b", "c", "d", "e"];
    echoed_after_the_server(demo, "lossy", &lossy);
    demo.scripted_client(
        "lossy",
        &[
            "client",
            "--addr",
            &addr,
            "--drop",
            "0.3",
            "--timeout",
            "300ms",
        ],
        "a\nb\nc\nd\ne\n",
    )?;
    demo.wait("lossy")?;
    demo.expect("lossy", "dropped (simulated, --drop)")?;
    demo.expect("lossy", "sending again")?;
    demo.expect("lossy", "5 of 5 messages echoed")?;

    demo.scene("65,507 bytes fit in one datagram; one byte more and send_to refuses")?;
    demo.after(("max-size", "sent as ONE"), ("server", "65507 bytes"));
    demo.after(("server", "65507 bytes"), ("max-size", "echoed whole"));
    demo.scripted_client("max-size", &["max-size", "--addr", &addr], "")?;
    demo.wait("max-size")?;
    demo.expect("max-size", "65507 bytes: echoed whole")?;
    demo.expect("max-size", "65508 bytes: send_to refused it")?;

    demo.scene(
        "a server with an 8-byte buffer: the rest of a longer datagram is lost, and it says so",
    )?;
    let small = demo
        .server(
            "small",
            &["server", "--addr", "127.0.0.1:0", "--buffer", "8"],
        )?
        .to_string();
    demo.after(("small", "#1 was truncated"), ("cut", "echo cut short"));
    demo.scripted_client(
        "cut",
        &["client", "--addr", &small],
        "a long line, cut at 8\n",
    )?;
    demo.wait("cut")?;
    demo.expect("small", "#1 was truncated")?;
    demo.expect("cut", "echo cut short: 8 of 21 bytes")?;
    Ok(())
}

/// Each echo of `lines` is shown after the server's line for it (`N bytes: LINE`).
fn echoed_after_the_server(demo: &mut Demo, client: &str, lines: &[&str]) {
    for line in lines {
        demo.after(
            ("server", &format!("bytes: {line}")),
            (client, &format!("echo: {line}")),
        );
    }
}
