use crate::demo::Demo;

/// 03: a client sends lines and gets each one back, from a port its OS picked; then
/// `boundaries` sends three datagrams back to back and gets three back, each whole; a
/// client that loses 30% of its datagrams (`--drop 0.3`) retries until every line got
/// through; `max-size` sends 65,507 bytes, then one byte too many; a server with an
/// 8-byte buffer cuts a long datagram and says so; `你好` in GBK is shown escaped by a
/// UTF-8 server and as text by a `--encoding gbk` one; and `--talk` is a half-duplex
/// talk: the server's operator types each answer.
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

    demo.scene(
        "text is bytes: 你好 in GBK is c4 e3 ba c3; a UTF-8 server shows them escaped, a GBK one shows 你好",
    )?;
    demo.after(("gbk", "sending from"), ("server", "bytes: \\xc4\\xe3"));
    demo.after(("server", "bytes: \\xc4\\xe3"), ("gbk", "echo: 你好"));
    demo.scripted_client(
        "gbk",
        &["client", "--addr", &addr, "--encoding", "gbk"],
        "你好\n",
    )?;
    demo.wait("gbk")?;
    let gbk = demo
        .server(
            "gbk-server",
            &["server", "--addr", "127.0.0.1:0", "--encoding", "gbk"],
        )?
        .to_string();
    demo.after(("gbk-2", "sending from"), ("gbk-server", "4 bytes: 你好"));
    demo.after(("gbk-server", "4 bytes: 你好"), ("gbk-2", "echo: 你好"));
    demo.scripted_client(
        "gbk-2",
        &["client", "--addr", &gbk, "--encoding", "gbk"],
        "你好\n",
    )?;
    demo.wait("gbk-2")?;

    demo.scene(
        "half duplex (--talk): a person at the server types each answer; one side speaks at a time",
    )?;
    let talk = demo
        .server("talk", &["server", "--addr", "127.0.0.1:0", "--talk"])?
        .to_string();
    demo.after(("student", "sending from"), ("talk", "#1 from"));
    demo.client("student", &["client", "--addr", &talk, "--talk"])?;
    for (n, (question, answer)) in [
        ("is anyone there?", "yes, go on"),
        ("how long may a datagram be?", "65,507 bytes over IPv4"),
    ]
    .into_iter()
    .enumerate()
    {
        demo.after(
            ("talk", &format!("#{} reply to", n + 1)),
            ("student", &format!("reply: {answer}")),
        );
        demo.send("student", &format!("{question}\n"))?;
        // The operator reads the question, then types: only then is the answer sent.
        demo.expect("talk", &format!("#{}: type the reply", n + 1))?;
        demo.send("talk", &format!("{answer}\n"))?;
        demo.expect("student", &format!("reply: {answer}"))?;
    }
    demo.close_stdin("student")?;
    demo.wait("student")?;
    demo.expect("student", "2 of 2 messages answered")?;
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
