//! Lesson 05, broadcast: one sender, many listeners. `main` only picks the role; each
//! role is one file that reads top to bottom: `listen.rs`, `announce.rs`, `subnet.rs`.

mod announce;
mod listen;
mod subnet;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lesson 05: UDP broadcast. Start several listeners (they share one port), then
/// announce yourself to all of them at once and see who answers.
#[derive(Parser)]
#[command(name = "broadcast", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Wait for broadcasts on a port several listeners share; answer each BR_ENTRY with ANSENTRY.
    Listen(listen::Args),
    /// Broadcast BR_ENTRY ("who is out there?"), then list who answers before the deadline.
    Announce(announce::Args),
    /// Split an address into network and host parts and compute its broadcast address (no traffic).
    Subnet(subnet::Args),
}

fn main() -> ExitCode {
    shared::quiet_when_output_closes();
    let result = match Cli::parse().role {
        Role::Listen(args) => listen::run(args),
        Role::Announce(args) => announce::run(args),
        Role::Subnet(args) => subnet::run(args),
    };
    shared::exit_code("broadcast", result)
}
