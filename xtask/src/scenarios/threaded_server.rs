use crate::demo::Demo;

/// 02: three clients at once, each greeted and answered by name.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    let addr = demo
        .server("server", &["server", "--addr", "127.0.0.1:0"])?
        .to_string();
    let names = [
        ("client-1", "Ada"),
        ("client-2", "Linus"),
        ("client-3", "Grace"),
    ];
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
