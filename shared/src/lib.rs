//! What several lessons need and no lesson exists to teach.
//!
//! Nothing in this crate opens, binds, connects or reads a socket: the socket calls a
//! lesson teaches stay in that lesson's own files. (One exception, on purpose: [`loss`]
//! wraps the lesson's own `send_to` to lose datagrams on demand.) What lives here is the
//! small print:
//!
//! - [`addr`]: every lesson's default address in one table, and `IP:PORT` parsing with good errors;
//! - [`ready`]: the `listening on IP:PORT` line every binding role prints first;
//! - [`encoding`]: text is bytes plus an encoding (UTF-8, GBK): showing and sending it;
//! - [`trace`]: the hex + ASCII dump behind every `--trace` flag;
//! - [`duration`]: times on the command line, always with a unit (`300ms`, `2s`, `1m`);
//! - [`hint`]: one-line errors that say what to try (e.g. how to start the server);
//! - [`loss`]: the `--drop RATE` loss simulator of the UDP lessons (03, 06);
//! - `testing` (feature `testing`, for tests and xtask only, never in a lesson's binary):
//!   running a lesson's binary from its tests without sleeps.

pub mod addr;
pub mod duration;
pub mod encoding;
pub mod hint;
pub mod loss;
pub mod ready;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trace;

/// Makes a closed stdout or stderr end the program quietly (exit code 0), as it ends
/// `cat` or `grep`: `udp-echo server | head -1` prints one line and stops, with no panic.
/// Call it first in `main`.
///
/// Why it is needed: Rust ignores SIGPIPE, so writing to a pipe whose reader has gone
/// fails with "Broken pipe", and `println!` turns that failure into a panic. C programs
/// are killed by SIGPIPE instead; restoring that needs `unsafe` (libc::signal), which the
/// course forbids. This catches the panic's message instead, on every platform.
pub fn quiet_when_output_closes() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // std's words when `print!` or `eprint!` fail (library/std/src/io/stdio.rs).
        if message.starts_with("failed printing to stdout")
            || message.starts_with("failed printing to stderr")
        {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

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
