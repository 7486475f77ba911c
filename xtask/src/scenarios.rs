//! What each lesson's demo does: which servers start, which clients talk to them, what
//! they type, and the lines that prove the conversation happened.
//!
//! Servers always bind `127.0.0.1:0` and the demo reads the real port from their
//! `listening on` line.

use crate::demo::Demo;

/// 01: one client talks and says bye; then `burst` sends three messages back to back
/// and the server shows them arriving in one read, then split again by line framing.
pub fn tcp_basic(demo: &mut Demo) -> anyhow::Result<()> {
    let addr = demo.server("server", &["server", "--addr", "127.0.0.1:0"])?.to_string();
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

/// 02: three clients at once, each greeted and answered by name.
pub fn threaded_server(demo: &mut Demo) -> anyhow::Result<()> {
    let addr = demo.server("server", &["server", "--addr", "127.0.0.1:0"])?.to_string();
    let names = [("client-1", "Ada"), ("client-2", "Linus"), ("client-3", "Grace")];
    for (client, person) in names {
        demo.scripted_client(
            client,
            &["client", "--addr", &addr],
            &format!("{person}\nworld\nexit\n"),
        )?;
    }
    for (client, person) in names {
        demo.wait(client)?;
        demo.expect(client, &format!("Hello, {person}!"))?;
    }
    Ok(())
}
