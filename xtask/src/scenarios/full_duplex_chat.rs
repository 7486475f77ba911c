use crate::demo::Demo;
use std::net::UdpSocket;

/// 04: alice and bob talk plain text in GBK, as the tutorials' chat does; both type at
/// once and each prints the other's lines with the sender's address; alice's `--trace`
/// shows `你好` leave as the GBK bytes `c4 e3 ba c3`. Alice leaves with `/quit`, which
/// sends nothing; bob's next line finds nobody there (ICMP port unreachable), and he
/// leaves with end of input. Both must exit 0 by themselves.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    // Each peer must know the other's port before it starts, and neither is known in
    // advance. So pick two free ports first: bind two sockets on port 0, read the ports
    // the OS chose, and let them go. Another program could take one in between: a tiny
    // race, fine for a demo (that peer would fail to bind, and the demo say so).
    let (alice, bob) = {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        (a.local_addr()?.to_string(), b.local_addr()?.to_string())
    };
    demo.scene(
        "two peers, each one UDP socket, bound and then connected to the other; both speak GBK",
    )?;
    demo.peer(
        "alice",
        &[
            "alice",
            "--bind",
            &alice,
            "--peer",
            &bob,
            "--encoding",
            "gbk",
            "--trace",
        ],
    )?;
    demo.peer(
        "bob",
        &["bob", "--bind", &bob, "--peer", &alice, "--encoding", "gbk"],
    )?;

    demo.scene("both type at once; a datagram is the typed line, and alice's trace shows 你好 as GBK bytes c4 e3 ba c3")?;
    // Both type at once: every line goes in, alternately, before we wait for any.
    let alice_says = ["你好 bob!", "are you there?", "I type while you type"];
    let bob_says = [
        "你好 alice!",
        "yes, here",
        "me too: nobody waits for a turn",
    ];
    for (from, from_addr, to, lines) in [
        ("alice", &alice, "bob", alice_says),
        ("bob", &bob, "alice", bob_says),
    ] {
        for line in lines {
            // A line arrives after it was sent.
            demo.after(
                (from, &format!("you: {line}")),
                (to, &format!("{from_addr}: {line}")),
            );
        }
    }
    for (a, b) in alice_says.iter().zip(bob_says) {
        demo.send("alice", &format!("{a}\n"))?;
        demo.send("bob", &format!("{b}\n"))?;
    }
    for line in alice_says {
        demo.expect("bob", &format!("{alice}: {line}"))?;
    }
    for line in bob_says {
        demo.expect("alice", &format!("{bob}: {line}"))?;
    }

    demo.scene("alice leaves: /quit is local, nothing is sent; bob's next line finds nobody (ICMP port unreachable)")?;
    demo.send("alice", "/quit\n")?;
    demo.wait("alice")?;
    demo.send("bob", "alice?\n")?;
    demo.expect("bob", "nobody at")?;
    demo.close_stdin("bob")?;
    demo.wait("bob")
}
