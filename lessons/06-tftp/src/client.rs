//! What the two client roles (`get`, `put`) share: their options, the request's first
//! exchange, the words for every ERROR a server may send, and the progress line.

use crate::driver::Link;
use crate::options::{Params, Wanted};
use crate::packet::{ErrorCode, Mode, MAX_BLKSIZE, MIN_BLKSIZE};
use crate::transfer::{Stats, TransferError, DEFAULT_TIMEOUT};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use shared::addr;
use std::io::IsTerminal as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// The options of `get` and `put`.
#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// The server, HOST:PORT.
    #[arg(long, default_value = addr::TFTP, value_parser = addr::parse)]
    pub addr: SocketAddr,

    /// Ask for blocks of this many bytes (RFC 2348, 8 to 65464; 512 without it).
    #[arg(long, value_parser = clap::value_parser!(u16).range(MIN_BLKSIZE as i64..=MAX_BLKSIZE as i64))]
    pub blksize: Option<u16>,

    /// Ask for this many blocks per ACK (RFC 7440, 1 to 65535; 1 without it).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub windowsize: Option<u16>,

    /// How long to wait for an answer before sending again, with its unit: `2s`,
    /// `300ms` [default: 1s]. Whole seconds from 1s to 255s are also asked of the server
    /// (RFC 2349's `timeout` option counts whole seconds, 1 to 255); any other time, such
    /// as `300ms` or `1.5s`, is only used by this client.
    #[arg(long, value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Ask for the file's size before the transfer (RFC 2349 `tsize`).
    #[arg(long)]
    pub tsize: bool,

    /// `octet` (the bytes as they are) or `netascii` (text, line ends translated).
    #[arg(long, default_value = "octet", value_parser = parse_mode)]
    pub mode: Mode,

    /// Lose this share of the datagrams we send (0.0 to 1.0, or 20%), to watch
    /// retransmissions happen.
    #[arg(long, default_value = "0", value_parser = shared::loss::parse_rate)]
    pub drop: f64,

    /// Seed of the loss simulator: the same seed loses the same datagrams.
    #[arg(long, default_value_t = shared::loss::DEFAULT_SEED)]
    pub seed: u64,

    /// Print every datagram sent and received, in hex and decoded.
    #[arg(long)]
    pub trace: bool,
}

/// A retransmission timeout: a time with its unit (`shared::duration::parse`), from 10ms
/// to 255s (RFC 2349's largest `timeout`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let time = shared::duration::parse(text)?;
    if time < Duration::from_millis(10) || time > Duration::from_secs(255) {
        return Err(format!(
            "`{text}` is out of range: give a time from 10ms to 255s, e.g. 1s or 200ms"
        ));
    }
    Ok(time)
}

/// The time as RFC 2349's `timeout` option, if it is one: whole seconds, 1 to 255.
pub fn whole_seconds(time: Duration) -> Option<u8> {
    if time.subsec_nanos() != 0 {
        return None;
    }
    u8::try_from(time.as_secs()).ok().filter(|secs| *secs >= 1)
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    match Mode::parse(text) {
        Some(mode @ (Mode::Octet | Mode::Netascii)) => Ok(mode),
        _ => Err(format!("`{text}` is not a mode: use octet or netascii")),
    }
}

impl ClientArgs {
    /// The local retransmission timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The options to ask for; `tsize` is the file's size for a put, 0 for a get.
    pub fn wanted(&self, tsize: Option<u64>) -> Wanted {
        let whole_seconds = self.timeout.and_then(whole_seconds);
        Wanted {
            blksize: self.blksize.map(usize::from),
            windowsize: self.windowsize,
            timeout: whole_seconds,
            tsize: if self.tsize { tsize } else { None },
        }
    }

    /// Where to bind: the server's own loopback address if it is on this machine, else
    /// every local address of its family.
    pub fn bind_ip(&self) -> IpAddr {
        match self.addr.ip() {
            ip if ip.is_loopback() => ip,
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        }
    }
}

/// What to tell the user about an ERROR the server sent, and what to try.
pub fn hint(code: ErrorCode) -> &'static str {
    match code.0 {
        0 => "the server's message says why",
        1 => "check the name: it is relative to the folder the server serves (its --root)",
        2 => "the server refuses this name or operation: names must stay inside its root, and uploads need a server started with --allow-write",
        3 => "the file is larger than the server accepts (its --max-upload), or its disk is full",
        4 => "the server did not understand a packet of ours",
        5 => "the server does not know our transfer ID (did it restart?)",
        6 => "the file already exists on the server: pick another name, or start the server with --overwrite",
        7 => "no such user",
        8 => "the server refused our options: try without --blksize, --windowsize, --timeout, --tsize",
        _ => "a code the RFCs do not define",
    }
}

/// A failed transfer as a one-line error that names what the server said.
pub fn explain(err: TransferError, server: SocketAddr) -> anyhow::Error {
    match err {
        // The message is shown escaped (it comes from the network) but not quoted again:
        // it often quotes a name itself (`"../x": names must stay inside the root`).
        TransferError::Peer { code, message } => anyhow::anyhow!(
            "the server {server} sent ERROR {code}: {} ({})",
            shared::encoding::display(message.as_bytes()),
            hint(code)
        ),
        TransferError::TimedOut { tries, .. } => anyhow::anyhow!(
            "no answer from {server} after {tries} tries (is the server running? start it with: cargo run -p tftp -- server --root DIR)"
        ),
        other => anyhow::anyhow!("transfer with {server} failed: {other}"),
    }
}

/// One line for stdout at the end of a transfer.
pub fn summary(what: &str, stats: &Stats, params: &Params, took: Duration, dropped: u64) -> String {
    let secs = took.as_secs_f64().max(1e-6);
    let mut line = format!(
        "{what}: {} bytes in {secs:.3} s ({:.1} MB/s), blksize {}, windowsize {}, {} retransmissions",
        stats.bytes,
        stats.bytes as f64 / secs / 1e6,
        params.blksize,
        params.windowsize,
        stats.retransmissions,
    );
    if dropped > 0 {
        line.push_str(&format!(", {dropped} datagrams dropped by --drop"));
    }
    line
}

/// How often the plain progress line is printed when stderr is not a terminal (a log,
/// a pipe): often enough to show a long transfer is alive, rarely enough for a log.
pub const PLAIN_EVERY: Duration = Duration::from_secs(2);

/// The progress on stderr. On a terminal, a bar (the `indicatif` crate, as `cargo` and
/// many command-line tools use) with the percentage when the size is known, the sizes in
/// units, the rate and the time left; retries print above it. Elsewhere, a plain line
/// every [`PLAIN_EVERY`], so that only long transfers print anything:
///
/// `progress: 4.00 MiB of 29.00 MiB (13%), 1.20 MiB/s, ETA 21s, 3 retransmissions`
pub struct Progress {
    started: Instant,
    last: Instant,
    total: Option<u64>,
    /// The bar, on a terminal only.
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts the clock; `total` is the size if known (`tsize`, or the local file for
    /// a put). From now on, `link`'s retries are shown above the bar.
    pub fn new(total: Option<u64>, link: &mut Link) -> Progress {
        let now = Instant::now();
        let bar = std::io::stderr().is_terminal().then(|| {
            let (bar, template) = match total {
                Some(len) => (
                    ProgressBar::new(len),
                    "{wide_bar} {percent:>3}% {binary_bytes}/{binary_total_bytes} \
                     {binary_bytes_per_sec} ETA {eta} {msg}",
                ),
                None => (
                    ProgressBar::no_length(),
                    "{spinner} {binary_bytes} {binary_bytes_per_sec} {elapsed} {msg}",
                ),
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar
        });
        let above = bar.clone();
        link.on_resend(move |line| match &above {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        });
        Progress {
            started: now,
            last: now,
            total,
            bar,
        }
    }

    /// Called now and then by the driver with the counters.
    pub fn update(&mut self, stats: &Stats) {
        if let Some(bar) = &self.bar {
            bar.set_position(stats.bytes);
            if stats.retransmissions > 0 {
                bar.set_message(format!("{} retransmissions", stats.retransmissions));
            }
            return;
        }
        let now = Instant::now();
        if now - self.last < PLAIN_EVERY {
            return;
        }
        self.last = now;
        eprintln!("{}", self.plain_line(stats, now - self.started));
    }

    /// The line printed off a terminal.
    fn plain_line(&self, stats: &Stats, took: Duration) -> String {
        let rate = stats.bytes as f64 / took.as_secs_f64().max(1e-3);
        let mut line = format!("progress: {}", HumanBytes(stats.bytes));
        if let Some(total) = self.total.filter(|&total| total > 0) {
            let percent = stats.bytes.saturating_mul(100) / total;
            line.push_str(&format!(" of {} ({percent}%)", HumanBytes(total)));
        }
        line.push_str(&format!(", {}/s", HumanBytes(rate as u64)));
        if let Some(total) = self.total.filter(|_| rate >= 1.0) {
            let left = total.saturating_sub(stats.bytes) as f64 / rate;
            line.push_str(&format!(", ETA {}s", left.ceil() as u64));
        }
        line.push_str(&format!(", {} retransmissions", stats.retransmissions));
        line
    }

    /// Removes the bar, leaving the terminal clean for the summary line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_units_and_only_whole_seconds_are_sent() {
        assert_eq!(parse_timeout("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_timeout("2").unwrap_err().contains("`2s`"));
        assert!(parse_timeout("5ms").is_err());
        assert!(parse_timeout("256s").is_err());
        assert_eq!(whole_seconds(Duration::from_secs(2)), Some(2));
        assert_eq!(whole_seconds(Duration::from_secs(255)), Some(255));
        assert_eq!(whole_seconds(Duration::from_millis(1500)), None);
        assert_eq!(whole_seconds(Duration::from_millis(300)), None);
    }

    #[test]
    fn the_plain_progress_line_has_units_percentage_rate_and_eta() {
        let now = Instant::now();
        let progress = |total| Progress {
            started: now,
            last: now,
            total,
            bar: None,
        };
        let stats = Stats {
            bytes: 4 << 20,
            retransmissions: 3,
        };
        let took = Duration::from_secs(4);
        assert_eq!(
            progress(Some(16 << 20)).plain_line(&stats, took),
            "progress: 4.00 MiB of 16.00 MiB (25%), 1.00 MiB/s, ETA 12s, 3 retransmissions"
        );
        // No size known (no tsize): no percentage and no ETA.
        assert_eq!(
            progress(None).plain_line(&stats, took),
            "progress: 4.00 MiB, 1.00 MiB/s, 3 retransmissions"
        );
    }
}
