//! Lesson 04, a full-duplex chat over UDP. `main` only picks the role; both roles are the
//! same program with different defaults, so they share one file that reads top to
//! bottom: `peer.rs`.

mod peer;

use clap::{Parser, Subcommand};
use full_duplex_chat::Side;
use std::process::ExitCode;

/// Lesson 04: two peers chat over UDP, each typing and receiving at the same time (two
/// threads on one socket). Run `alice` in one terminal and `bob` in another.
#[derive(Parser)]
#[command(name = "full-duplex-chat", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// The first peer: binds 127.0.0.1:9090 and talks to bob at 127.0.0.1:9091.
    Alice(peer::Args),
    /// The second peer: binds 127.0.0.1:9091 and talks to alice at 127.0.0.1:9090.
    Bob(peer::Args),
}

fn main() -> ExitCode {
    shared::quiet_when_output_closes();
    let result = match Cli::parse().role {
        Role::Alice(args) => peer::run(Side::Alice, args),
        Role::Bob(args) => peer::run(Side::Bob, args),
    };
    shared::exit_code("full-duplex-chat", result)
}
