use crate::cargo::{self, Profile};
use crate::demo::Demo;

/// 07: one thread serves four of lesson 02's clients. They connect one after the other
/// and each is greeted at once; then all four send a name at the same moment, and the
/// one thread answers each (the server's `says` line comes before each answer); then
/// they leave, and the server is still one thread, waiting in epoll_wait().
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    // The clients are lesson 02's, unchanged: build them too (quietly, before any line).
    cargo::build_bins(&["threaded-server"], Profile::Debug, true)?;
    demo.scene("one thread, four clients: watch each client greeted at once")?;
    let addr = demo
        .server("server", &["server", "--addr", "127.0.0.1:0"])?
        .to_string();
    let clients = [
        ("client-1", "Ada"),
        ("client-2", "Linus"),
        ("client-3", "Grace"),
        ("client-4", "Dennis"),
    ];
    for (n, (client, _)) in clients.iter().enumerate() {
        demo.after_nth(("server", "connected"), n + 1, (client, "Welcome!"));
        demo.client_of("threaded-server", client, &["client", "--addr", &addr])?;
        demo.expect(client, "Welcome!")?;
    }

    demo.scene(
        "all four send a name at the same moment: the one thread reads whichever socket is ready",
    )?;
    for (client, person) in clients {
        demo.after(
            ("server", &format!("says: {person}")),
            (client, &format!("Hello, {person}!")),
        );
    }
    // No waiting between them: four names in flight at once.
    for (client, person) in clients {
        demo.send(client, &format!("{person}\n"))?;
    }
    for (client, person) in clients {
        demo.expect(client, &format!("Hello, {person}!"))?;
    }

    demo.scene("they leave; the thread goes back to waiting in epoll_wait() for the next event")?;
    for (n, (client, _)) in clients.iter().enumerate() {
        demo.send(client, "exit\n")?;
        demo.close_stdin(client)?;
        demo.wait(client)?;
        demo.expect_times("server", "left: said exit", n + 1)?;
    }
    Ok(())
}
