//! Lesson 03, UDP echo. `main` only picks the role; each role is one file that reads top
//! to bottom: `server.rs`, `client.rs`, and three demonstrations: `boundaries.rs`,
//! `max_size.rs`, `refused.rs`.

mod boundaries;
mod client;
mod max_size;
mod refused;
mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lesson 03: a UDP echo server and its client: datagrams, recvfrom/sendto, message
/// boundaries, loss, timeouts and retries. Start the server in one terminal and the
/// client in another.
#[derive(Parser)]
#[command(name = "udp-echo", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Bind a known port, receive datagrams from anyone, send each one back to its sender.
    Server(server::Args),
    /// Send each line you type (or pipe in) as one datagram; wait for the echo, retry on timeout.
    Client(client::Args),
    /// Send several datagrams back to back: watch each arrive whole and apart (unlike TCP).
    Boundaries(boundaries::Args),
    /// Send the largest datagram there is (65,507 bytes over IPv4), then one byte more.
    MaxSize(max_size::Args),
    /// Send to a port where nobody listens: silence, then "connection refused" once connected.
    Refused(refused::Args),
}

fn main() -> ExitCode {
    shared::quiet_when_output_closes();
    let result = match Cli::parse().role {
        Role::Server(args) => server::run(args),
        Role::Client(args) => client::run(args),
        Role::Boundaries(args) => boundaries::run(args),
        Role::MaxSize(args) => max_size::run(args),
        Role::Refused(args) => refused::run(args),
    };
    shared::exit_code("udp-echo", result)
}
