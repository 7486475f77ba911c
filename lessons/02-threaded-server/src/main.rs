//! Lesson 02, a threaded server. `main` only picks the role; each role is one file that
//! reads top to bottom: `server.rs`, `client.rs`.

mod client;
mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lesson 02: a server that greets many clients at once ("Welcome!", then "Hello, X!"),
/// first with a thread per connection, then with a bounded pool of workers.
#[derive(Parser)]
#[command(name = "threaded-server", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Accept clients and serve each on its own thread (or, with --workers N, a pool of N).
    Server(server::Args),
    /// Connect, print the greeting, send each line you type as a name; `exit` quits.
    Client(client::Args),
}

fn main() -> ExitCode {
    shared::quiet_when_output_closes();
    let result = match Cli::parse().role {
        Role::Server(args) => server::run(args),
        Role::Client(args) => client::run(args),
    };
    shared::exit_code("threaded-server", result)
}
