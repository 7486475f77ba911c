//! Lesson 07, an event loop. `main` only picks the role; the role is one file that reads
//! top to bottom: `server.rs`. The clients are lesson 02's (`cargo run -p threaded-server
//! -- client`): the protocol has not changed, only how the server waits.

mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lesson 07: lesson 02's server ("Welcome!", then "Hello, X!") from ONE thread, with
/// non-blocking sockets and a readiness loop (epoll, through mio).
#[derive(Parser)]
#[command(name = "event-loop", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Serve every client from one thread: ask the kernel which sockets are ready, then
    /// read and write only those. Talk to it with `cargo run -p threaded-server -- client`.
    Server(server::Args),
}

fn main() -> ExitCode {
    shared::quiet_when_output_closes();
    let result = match Cli::parse().role {
        Role::Server(args) => server::run(args),
    };
    shared::exit_code("event-loop", result)
}
