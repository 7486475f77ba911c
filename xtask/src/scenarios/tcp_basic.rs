use crate::demo::Demo;

/// 01: one client talks and says bye; then `burst` sends three messages back to back
/// and the server shows them arriving in one read, then split again by line framing;
/// then a half-duplex talk (`server --talk`), its operator's replies scripted.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    demo.scene("a server waits: socket, bind, listen; watch for its real address")?;
    let addr = demo
        .server("server", &["server", "--addr", "127.0.0.1:0"])?
        .to_string();

    demo.scene("a client connects and types 3 lines: each is one read on the server, echoed back; `bye` ends it")?;
    let lines = ["hello", "how are you?", "bye"];
    for (n, line) in lines.iter().enumerate() {
        // The echo comes after the server read the line (two pipes could swap them).
        demo.after(
            ("server", &format!("message {}: {line}", n + 1)),
            ("client", &format!("reply: {line}")),
        );
    }
    let script: String = lines.iter().map(|line| format!("{line}\n")).collect();
    demo.scripted_client("client", &["client", "--addr", &addr], &script)?;
    demo.wait("client")?;
    demo.expect("server", "left: said bye")?;

    demo.scene("burst writes 3 messages at once: watch them arrive in ONE read (14 bytes), then split by line")?;
    demo.after(
        ("burst", "sending 3 messages"),
        ("server", "read #1: 14 bytes"),
    );
    demo.after(("burst", "half-closed"), ("server", "end of stream"));
    demo.after(("server", "end of stream"), ("burst", "echoed 14 bytes"));
    demo.scripted_client("burst", &["burst", "--addr", &addr], "one\ntwo\nthree\n")?;
    demo.wait("burst")?;
    demo.expect("server", "message 3: three")?;

    demo.scene("half duplex (server --talk): an operator types each reply, the two sides take turns; the operator's `bye` ends the talk")?;
    let talk = demo
        .peer("talk", &["server", "--addr", "127.0.0.1:0", "--talk"])?
        .to_string();
    // The operator's replies, piped in as a script: one line per message.
    demo.send("talk", "hi Xiaowen, Mingwei here\nbye\n")?;
    demo.close_stdin("talk")?;
    // Each reply is shown by the client after the server sent it.
    demo.after(("talk", "reply 1: "), ("xiaowen", "reply: hi"));
    demo.after(("talk", "reply 2: bye"), ("xiaowen", "reply: bye"));
    let said = "hello, this is Xiaowen\nhow are you?\n";
    demo.scripted_client("xiaowen", &["client", "--addr", &talk], said)?;
    demo.wait("xiaowen")?;
    demo.wait("talk")?;
    Ok(())
}
