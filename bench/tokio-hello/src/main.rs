//! Lesson 02's server on tokio's `current_thread` runtime: one thread, like lesson 07,
//! but with tasks, `async`/`.await` and tokio's own event loop (on mio) instead of a
//! hand-written one. Prints `listening on IP:PORT` first, like every server of the course.
//!
//! ```text
//! cargo run --release --manifest-path bench/tokio-hello/Cargo.toml -- 127.0.0.1:0
//! ```

use std::io::Write as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream));
                }
                // E.g. out of file descriptors: go on with the clients we have.
                Err(err) => eprintln!("accept() failed: {err}"),
            }
        }
    })
}

/// One conversation: greet, answer each line, stop at `exit` or end of stream.
async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"Welcome!\n").await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let name = line.strip_suffix(b"\n").unwrap_or(&line);
        let name = name.strip_suffix(b"\r").unwrap_or(name);
        if name == b"exit" {
            return Ok(());
        }
        let answer = [b"Hello, ", name, b"!\n"].concat();
        writer.write_all(&answer).await?;
    }
}
