use crate::demo::Demo;
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// A folder for the demo's files (the server's root and the client's side), removed
/// when the demo ends, however it ends.
struct Folder(PathBuf);

impl Folder {
    fn create() -> anyhow::Result<Folder> {
        let dir = std::env::temp_dir().join(format!("tftp-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["root", "local"] {
            std::fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        Ok(Folder(dir))
    }

    fn path(&self, rest: &str) -> PathBuf {
        self.0.join(rest)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

/// 06: a server serving a folder; a get, then a put (the server prints one line per
/// transfer); then a second server and a client that both lose 20% of what they send
/// (`--drop 0.2`): the file still arrives whole, and the lines count the
/// retransmissions that repaired the losses.
pub fn run(demo: &mut Demo) -> anyhow::Result<()> {
    let folder = Folder::create()?;
    std::fs::write(
        folder.path("root/hello.txt"),
        "Hello from the TFTP server!\nThis file came in DATA blocks over UDP.\n",
    )?;
    std::fs::write(
        folder.path("local/notes.txt"),
        "uploaded with a WRQ, acknowledged block by block\n",
    )?;
    // 40 blocks of 1024 bytes and a short last one: enough datagrams to lose some.
    let big: Vec<u8> = (0..40 * 1024 + 100).map(|i| (i % 251) as u8).collect();
    std::fs::write(folder.path("root/big.bin"), &big)?;
    let root = text(&folder.path("root"));

    demo.scene("a TFTP server serving one folder, on one UDP port")?;
    let addr = demo
        .server(
            "server",
            &[
                "server",
                "--root",
                &root,
                "--addr",
                "127.0.0.1:0",
                "--allow-write",
            ],
        )?
        .to_string();

    demo.scene("get: an RRQ, then DATA and ACK in lock step, from a new port (the transfer ID)")?;
    let got = text(&folder.path("local/hello.txt"));
    demo.client("get", &["get", "--addr", &addr, "hello.txt", &got])?;
    demo.wait("get")?;
    demo.expect("get", "got \"hello.txt\"")?;
    demo.expect("server", "RRQ \"hello.txt\"")?;

    demo.scene("put: a WRQ, and the server ACKs each block (--tsize tells it the size first)")?;
    let notes = text(&folder.path("local/notes.txt"));
    demo.client(
        "put",
        &["put", "--addr", &addr, &notes, "notes.txt", "--tsize"],
    )?;
    demo.wait("put")?;
    demo.expect("server", "WRQ \"notes.txt\"")?;
    anyhow::ensure!(
        std::fs::read(folder.path("root/notes.txt"))? == std::fs::read(&notes)?,
        "the uploaded notes.txt differs from the original"
    );

    demo.scene("20% loss on both sides (--drop 0.2): watch the retransmissions repair it")?;
    // Loss on both sides: 20% of every datagram each one sends never leaves.
    let lossy = demo
        .server(
            "lossy-server",
            &[
                "server",
                "--root",
                &root,
                "--addr",
                "127.0.0.1:0",
                "--drop",
                "0.2",
                "--timeout",
                "100ms",
            ],
        )?
        .to_string();
    let copy = text(&folder.path("local/big.bin"));
    demo.client(
        "lossy-get",
        &[
            "get",
            "--addr",
            &lossy,
            "big.bin",
            &copy,
            "--blksize",
            "1024",
            "--drop",
            "0.2",
            "--timeout",
            "100ms",
        ],
    )?;
    demo.wait("lossy-get")?;
    demo.expect("lossy-get", "dropped by --drop")?;
    demo.expect("lossy-server", "dropped by --drop")?;
    anyhow::ensure!(
        std::fs::read(&copy)? == big,
        "big.bin arrived different despite the retransmissions"
    );
    Ok(())
}
