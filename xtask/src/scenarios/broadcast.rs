use crate::demo::Demo;

/// 05: three listeners share one port, one of them speaking GBK as FeiQ does;
/// `announce` broadcasts one BR_ENTRY to loopback's broadcast address, every listener
/// prints it and answers by unicast, and announce lists the three answers. Then a
/// second announce sends its BR_ENTRY in GBK, without UTF8OPT: every listener shows the
/// Chinese name.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    // A broadcast reaches every socket bound to its port, so all listeners need the SAME
    // port: the first picks a free one, the others share it (SO_REUSEADDR). They bind
    // 0.0.0.0: a socket bound to 127.0.0.1 never sees a broadcast.
    demo.scene(
        "three listeners share one port (SO_REUSEADDR), bound to 0.0.0.0 to hear broadcasts; 李四 speaks GBK",
    )?;
    let listeners = ["listen-1", "listen-2", "李四"];
    let port = demo
        .server(
            listeners[0],
            &["listen", "--addr", "0.0.0.0:0", "--user", listeners[0]],
        )?
        .port();
    let shared_port = format!("0.0.0.0:{port}");
    demo.server(
        listeners[1],
        &["listen", "--addr", &shared_port, "--user", listeners[1]],
    )?;
    demo.server(
        listeners[2],
        &[
            "listen",
            "--addr",
            &shared_port,
            "--user",
            listeners[2],
            "--encoding",
            "gbk",
        ],
    )?;

    demo.scene("ONE broadcast datagram reaches all three; each answers by unicast, and announce lists them")?;
    let target = format!("127.255.255.255:{port}");
    for name in listeners {
        // Each hears the broadcast after it was sent, and is listed after it answered.
        demo.after(
            ("announce", "sent BR_ENTRY"),
            (name, "BR_ENTRY from teacher@"),
        );
        demo.after(
            (name, "answered ANSENTRY"),
            ("announce", &format!(": {name}@")),
        );
        demo.after(
            ("announce", "sent BR_EXIT"),
            (name, "BR_EXIT from teacher@"),
        );
    }
    // announce binds (it prints `listening on`) and must end by itself with status 0.
    demo.peer(
        "announce",
        &[
            "announce", "--to", &target, "--user", "teacher", "--wait", "1s",
        ],
    )?;
    for name in listeners {
        demo.expect(name, "BR_ENTRY from teacher@")?;
        demo.expect(name, "answered ANSENTRY")?;
    }
    demo.wait("announce")?;
    demo.expect("announce", "3 answered")?;
    for name in listeners {
        demo.expect("announce", &format!(": {name}@"))?;
    }

    demo.scene("张三 announces in GBK, as FeiQ does (no UTF8OPT): every listener shows the name, marked gbk")?;
    for name in listeners {
        demo.after(("张三", "sent BR_ENTRY"), (name, "BR_ENTRY from 张三@"));
    }
    demo.peer(
        "张三",
        &[
            "announce",
            "--to",
            &target,
            "--user",
            "张三",
            "--encoding",
            "gbk",
        ],
    )?;
    for name in listeners {
        demo.expect(name, "BR_ENTRY from 张三@")?;
    }
    demo.wait("张三")?;
    demo.expect("张三", "3 answered")
}
