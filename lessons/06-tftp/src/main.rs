//! Lesson 06, TFTP: a server and a client for the Trivial File Transfer Protocol over
//! UDP. `main` only picks the role; each role is one file that reads top to bottom:
//! `download.rs` (read it first), `server.rs`, `get.rs`, `put.rs`. The protocol itself (packets, options, the two state
//! machines) is in the library, `src/lib.rs` and its modules.

mod download;
mod get;
mod put;
mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lesson 06: TFTP (RFC 1350, with the options of RFC 2347, 2348, 2349 and 7440). Start
/// the server in one terminal, then get and put files from another.
#[derive(Parser)]
#[command(name = "tftp", version)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// The first program: download one file, lock-step, every socket call in view.
    Download(download::Args),
    /// Serve one folder: answer read requests and, with --allow-write, write requests.
    Server(server::Args),
    /// Download a file from a server.
    Get(get::Args),
    /// Upload a file to a server.
    Put(put::Args),
}

fn main() -> ExitCode {
    shared::quiet_when_output_closes();
    let result = match Cli::parse().role {
        Role::Download(args) => download::run(args),
        Role::Server(args) => server::run(args),
        Role::Get(args) => get::run(args),
        Role::Put(args) => put::run(args),
    };
    shared::exit_code("tftp", result)
}
