//! Lesson 01, the TCP lifecycle. `main` only picks the role; each role is one file that
//! reads top to bottom: `server.rs`, `client.rs`, `burst.rs`.

mod burst;
mod client;
mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lesson 01: a TCP echo server and its client: socket, bind, listen, accept, read,
/// write, close. Start the server in one terminal and the client in another.
#[derive(Parser)]
#[command(name = "tcp-basic", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Listen, accept one client at a time, print what it sends and echo it back (or,
    /// with --talk, send the reply you type).
    Server(server::Args),
    /// Connect, send each line you type (or pipe in), print the reply; `bye` quits.
    Client(client::Args),
    /// Send several messages back to back, then half-close: watch them arrive as one read.
    Burst(burst::Args),
}

fn main() -> ExitCode {
    shared::quiet_when_output_closes();
    let result = match Cli::parse().role {
        Role::Server(args) => server::run(args),
        Role::Client(args) => client::run(args),
        Role::Burst(args) => burst::run(args),
    };
    shared::exit_code("tcp-basic", result)
}
