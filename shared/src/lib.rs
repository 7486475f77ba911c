//! What several lessons need and no lesson exists to teach.
//!
//! Nothing in this crate opens, binds, connects or reads a socket: the socket calls a
//! lesson teaches stay in that lesson's own files. (One exception, on purpose: [`loss`]
//! wraps the lesson's own `send_to` to lose datagrams on demand.) What lives here is the
//! small print:
//!
//! - [`addr`]: every lesson's default address in one table, and `IP:PORT` parsing with good errors;
//! - [`ready`]: the `listening on IP:PORT` line every binding role prints first;
//! - [`encoding`]: showing bytes as text, newline framing and length-prefixed framing;
//! - [`trace`]: the hex + ASCII dump behind every `--trace` flag;
//! - [`duration`]: times on the command line, always with a unit (`300ms`, `2s`, `1m`);
//! - [`hint`]: one-line errors that say what to try (e.g. how to start the server);
//! - [`loss`]: the `--drop RATE` loss simulator of the UDP lessons (03, 06);
//! - [`testing`]: running a lesson's binary from its tests (and from xtask) without sleeps.

pub mod addr;
pub mod duration;
pub mod encoding;
pub mod hint;
pub mod loss;
pub mod ready;
pub mod testing;
pub mod trace;

/// Ends a lesson's `main`: on error, prints the whole chain of causes on ONE line
/// (`tcp-basic: cannot connect to 127.0.0.1:8888 ...: Connection refused`) and exits 1.
///
/// Why not `fn main() -> anyhow::Result<()>`? Rust prints such an error with `{:?}`,
/// which spreads the causes over several lines under "Caused by:"; the course promises
/// one clear line that says what failed, where, and what to try.
pub fn exit_code(program: &str, result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{program}: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
