use crate::demo::Demo;

/// 02, twice. First a thread per connection: three clients connect and all are greeted
/// at once, then take turns (each name, then `exit`), served side by side. Then a pool
/// of 2 workers (`--workers 2`): the third client is connected but waits, ungreeted,
/// until the first leaves and frees a worker.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    demo.scene("run 1, a thread per connection: watch all three clients greeted at once")?;
    let addr = demo
        .server("server", &["server", "--addr", "127.0.0.1:0"])?
        .to_string();
    let clients = [
        ("client-1", "Ada"),
        ("client-2", "Linus"),
        ("client-3", "Grace"),
    ];
    for (n, (client, _)) in clients.iter().enumerate() {
        connect(demo, "server", &addr, client, n + 1)?;
    }
    demo.scene(
        "run 1: they take turns, each served by its own thread while the others wait on theirs",
    )?;
    for (client, person) in clients {
        say(demo, "server", client, person)?;
    }
    for (n, (client, _)) in clients.iter().enumerate() {
        leave(demo, "server", client, n + 1)?;
    }

    demo.scene(
        "run 2, a pool of 2 workers (--workers 2): watch the third client wait for a free worker",
    )?;
    let pool = demo
        .server(
            "pool",
            &["server", "--addr", "127.0.0.1:0", "--workers", "2"],
        )?
        .to_string();
    let clients = [
        ("client-4", "Barbara"),
        ("client-5", "Dennis"),
        ("client-6", "Margaret"),
    ];
    connect(demo, "pool", &pool, clients[0].0, 1)?;
    connect(demo, "pool", &pool, clients[1].0, 2)?;
    // Connected (the kernel did the handshake) but not greeted: no worker is free.
    demo.after_nth(("pool", "connected"), 3, ("client-6", "Welcome!"));
    demo.client("client-6", &["client", "--addr", &pool])?;
    demo.expect("pool", "waits: all 2 workers are busy")?;

    demo.scene("run 2: client-4 leaves; its worker takes client-6, who is greeted only now")?;
    say(demo, "pool", clients[0].0, clients[0].1)?;
    leave(demo, "pool", clients[0].0, 1)?;
    demo.expect_times("pool", "connected", 3)?;
    demo.expect("client-6", "Welcome!")?;
    for (client, person) in &clients[1..] {
        say(demo, "pool", client, person)?;
    }
    leave(demo, "pool", clients[1].0, 2)?;
    leave(demo, "pool", clients[2].0, 3)
}

/// Starts `client` (the `n`th of `server`'s clients) and shows it greeted.
fn connect(
    demo: &mut Demo,
    server: &str,
    addr: &str,
    client: &str,
    n: usize,
) -> anyhow::Result<()> {
    // The greeting comes after the server's thread took the connection. The `n`th
    // `connected` line is this client's: each one starts after the last was greeted.
    demo.after_nth((server, "connected"), n, (client, "Welcome!"));
    demo.client(client, &["client", "--addr", addr])?;
    demo.expect(client, "Welcome!")
}

/// `client` types `person`'s name; the server's line comes first, then the answer.
fn say(demo: &mut Demo, server: &str, client: &str, person: &str) -> anyhow::Result<()> {
    demo.after(
        (server, &format!("says: {person}")),
        (client, &format!("Hello, {person}!")),
    );
    demo.send(client, &format!("{person}\n"))?;
    demo.expect(client, &format!("Hello, {person}!"))
}

/// `client` types `exit` and ends; it is the `n`th to leave `server`.
fn leave(demo: &mut Demo, server: &str, client: &str, n: usize) -> anyhow::Result<()> {
    demo.send(client, "exit\n")?;
    demo.close_stdin(client)?;
    demo.wait(client)?;
    demo.expect_times(server, "left: said exit", n)
}
