use crate::demo::Demo;

/// 03: a client sends lines and gets each one back, from a port its OS picked; then
/// `boundaries` sends three datagrams back to back and gets three back, each whole; a
/// client that loses 30% of its datagrams (`--drop 0.3`) retries until every line got
/// through; `max-size` sends 65,507 bytes, then one byte too many; and a server with an
/// 8-byte buffer cuts a long datagram and says so.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    let addr = demo
        .server("server", &["server", "--addr", "127.0.0.1:0"])?
        .to_string();
    demo.scripted_client(
        "client",
        &["client", "--addr", &addr],
        "hello\nhow are you?\n",
    )?;
    demo.wait("client")?;
    demo.expect("client", "echo: how are you?")?;
    demo.expect("server", "#2 from")?;

    demo.scripted_client(
        "boundaries",
        &["boundaries", "--addr", &addr],
        "one\ntwo\nthree\n",
    )?;
    demo.wait("boundaries")?;
    demo.expect("boundaries", "recv #3: 5 bytes: three")?;
    demo.expect("boundaries", "boundaries kept")?;

    // The default seed drops the third datagram of this run, and a few after it.
    demo.scripted_client(
        "lossy",
        &[
            "client",
            "--addr",
            &addr,
            "--drop",
            "0.3",
            "--timeout-ms",
            "300",
        ],
        "a\nb\nc\nd\ne\n",
    )?;
    demo.wait("lossy")?;
    demo.expect("lossy", "dropped (simulated, --drop)")?;
    demo.expect("lossy", "sending again")?;
    demo.expect("lossy", "5 of 5 messages echoed")?;

    demo.scripted_client("max-size", &["max-size", "--addr", &addr], "")?;
    demo.wait("max-size")?;
    demo.expect("max-size", "65507 bytes: echoed whole")?;
    demo.expect("max-size", "65508 bytes: send_to refused it")?;

    let small = demo
        .server(
            "small",
            &["server", "--addr", "127.0.0.1:0", "--buffer", "8"],
        )?
        .to_string();
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
