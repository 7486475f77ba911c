use crate::demo::Demo;

/// 01: one client talks and says bye; then `burst` sends three messages back to back
/// and the server shows them arriving in one read, then split again by line framing.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    let addr = demo
        .server("server", &["server", "--addr", "127.0.0.1:0"])?
        .to_string();
    demo.scripted_client(
        "client",
        &["client", "--addr", &addr],
        "hello\nhow are you?\nbye\n",
    )?;
    demo.wait("client")?;
    demo.expect("server", "left")?;
    demo.scripted_client("burst", &["burst", "--addr", &addr], "one\ntwo\nthree\n")?;
    demo.wait("burst")?;
    demo.expect("server", "message 3")?;
    Ok(())
}
