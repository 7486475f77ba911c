//! Running a lesson's program from a test or from xtask: spawn it with pipes, wait for its
//! readiness line, feed its stdin, read its output with deadlines, and never leave it
//! running (the [`Program`] guard kills and reaps the child when dropped, on every path,
//! panics included).
//!
//! Nothing here sleeps to wait for readiness: [`Program::wait_ready`] waits for the
//! `listening on IP:PORT` line, which a lesson prints only once its socket is bound.

use anyhow::{anyhow, bail, Context as _};
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

/// Which of a program's output streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: the conversation.
    Stdout,
    /// Standard error: errors and `--trace` dumps.
    Stderr,
}

/// One line of a program's output, or the end of one of its streams (`text: None`).
#[derive(Debug, Clone)]
pub struct Output {
    /// The program's name as given to [`Program::spawn`] (e.g. `server`, `client-2`).
    pub name: String,
    /// Where it was printed.
    pub stream: Stream,
    /// The line without its newline (bytes that are not UTF-8 shown lossy), or `None` at
    /// the end of the stream.
    pub text: Option<String>,
}

/// What a program printed, and how it exited: see [`Program::finish`].
#[derive(Debug)]
pub struct Finished {
    /// How it exited.
    pub status: ExitStatus,
    /// Its stdout lines (from where earlier reads stopped).
    pub stdout: Vec<String>,
    /// Its stderr lines (from where earlier reads stopped).
    pub stderr: Vec<String>,
}

impl Finished {
    /// Whether any stdout line contains `needle`.
    pub fn said(&self, needle: &str) -> bool {
        self.stdout.iter().any(|line| line.contains(needle))
    }
}

/// A running child process, killed and reaped when dropped.
pub struct Program {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    /// Present when this program owns its output channel (see [`Program::spawn`]).
    lines: Option<Receiver<Output>>,
    /// Lines already taken from `lines` while waiting for a line on the OTHER stream,
    /// oldest first, kept for whoever asks for their stream next. stdout and stderr are
    /// read by two threads, so their lines reach the channel in either order: a wait for
    /// the readiness line on stdout may meet an error that was printed after it on
    /// stderr, and must leave it for [`Program::expect_stderr`].
    pending: VecDeque<Output>,
    /// Which streams have ended (stdout, stderr), as received from `lines`.
    ended: [bool; 2],
    /// Every line seen so far through [`Program::next_line`], for error messages.
    transcript: Vec<String>,
}

impl Program {
    /// Starts `command` with stdin, stdout and stderr piped; its output is read through
    /// [`Program::next_line`] and the helpers built on it.
    pub fn spawn(name: &str, command: Command) -> anyhow::Result<Program> {
        let (tx, rx) = mpsc::channel();
        let mut program = Program::spawn_into(name, command, tx)?;
        program.lines = Some(rx);
        Ok(program)
    }

    /// Starts `command` and sends every line it prints to `sink`, tagged with `name`: the
    /// form xtask uses to show several programs' output live, in the order it happens.
    pub fn spawn_into(
        name: &str,
        mut command: Command,
        sink: Sender<Output>,
    ) -> anyhow::Result<Program> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {name}: {command:?}"))?;
        if let Some(stdout) = child.stdout.take() {
            forward_lines(name, Stream::Stdout, stdout, sink.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            forward_lines(name, Stream::Stderr, stderr, sink);
        }
        let stdin = child.stdin.take();
        Ok(Program {
            name: name.to_string(),
            child,
            stdin,
            lines: None,
            pending: VecDeque::new(),
            ended: [false; 2],
            transcript: Vec::new(),
        })
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id (to send it a signal, or for a message).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Writes `text` to the program's stdin as it is (add the `\n` yourself).
    pub fn send(&mut self, text: &str) -> anyhow::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow!("{}: stdin is already closed", self.name))?;
        stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
            .with_context(|| format!("{}: cannot write to stdin", self.name))
    }

    /// Closes the program's stdin: the program reads end of input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next output line from either stream, or `None` if the deadline passes first or
    /// both streams have ended. Only for programs started with [`Program::spawn`].
    pub fn next_line(&mut self, deadline: Instant) -> Option<Output> {
        if let Some(output) = self.pending.pop_front() {
            return Some(output);
        }
        self.receive(deadline)
    }

    /// The next line (or the end) of `stream` only, or `None` if the deadline passes
    /// first or the stream has ended. Lines of the other stream met on the way are kept
    /// in `pending`, for later calls, not dropped.
    fn next_on(&mut self, stream: Stream, deadline: Instant) -> Option<Output> {
        if let Some(at) = self.pending.iter().position(|o| o.stream == stream) {
            return self.pending.remove(at);
        }
        while !self.ended[stream as usize] {
            let output = self.receive(deadline)?;
            if output.stream == stream {
                return Some(output);
            }
            self.pending.push_back(output);
        }
        None
    }

    /// Takes one line from the channel and notes it in the transcript.
    fn receive(&mut self, deadline: Instant) -> Option<Output> {
        let lines = self.lines.as_ref()?;
        let wait = deadline.saturating_duration_since(Instant::now());
        // Timeout or both streams closed: no line.
        let output = lines.recv_timeout(wait).ok()?;
        match &output.text {
            Some(text) => {
                let tag = match output.stream {
                    Stream::Stdout => "",
                    Stream::Stderr => "(stderr) ",
                };
                self.transcript.push(format!("{tag}{text}"));
            }
            None => self.ended[output.stream as usize] = true,
        }
        Some(output)
    }

    /// Waits for the readiness line, which must be the first line on stdout, and returns
    /// the address in it. Lines on stderr are left for [`Program::expect_stderr`].
    pub fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<SocketAddr> {
        let deadline = Instant::now() + timeout;
        if let Some(output) = self.next_on(Stream::Stdout, deadline) {
            let Some(text) = output.text else {
                bail!(
                    "{} closed stdout without a readiness line; its output:\n{}",
                    self.name,
                    self.transcript()
                )
            };
            return crate::ready::parse(&text).ok_or_else(|| {
                anyhow!(
                    "{}: the first line on stdout should be `listening on IP:PORT`, got {text:?}",
                    self.name
                )
            });
        }
        bail!(
            "{} printed no readiness line within {timeout:?}; its output:\n{}",
            self.name,
            self.transcript()
        )
    }

    /// Waits for a stdout line that contains `needle` and returns it whole; stdout lines
    /// before it are skipped (and kept in the transcript), stderr lines are left for
    /// [`Program::expect_stderr`].
    pub fn expect_stdout(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        self.expect(Stream::Stdout, needle, timeout)
    }

    /// Like [`Program::expect_stdout`], on stderr.
    pub fn expect_stderr(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        self.expect(Stream::Stderr, needle, timeout)
    }

    fn expect(
        &mut self,
        stream: Stream,
        needle: &str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        while let Some(output) = self.next_on(stream, deadline) {
            match output.text {
                Some(text) if text.contains(needle) => return Ok(text),
                Some(_) => {}
                None => break,
            }
        }
        bail!(
            "{}: no line containing {needle:?} on {stream:?} within {timeout:?}; its output:\n{}",
            self.name,
            self.transcript()
        )
    }

    /// Reads every remaining line until both streams end or the deadline passes, and
    /// returns the stdout lines among them.
    pub fn rest_of_stdout(&mut self, timeout: Duration) -> Vec<String> {
        self.drain(Instant::now() + timeout).0
    }

    /// Reads everything the program prints until both streams end, then waits for it to
    /// exit; all within `timeout` (else an error, and the program is killed).
    pub fn finish(&mut self, timeout: Duration) -> anyhow::Result<Finished> {
        let deadline = Instant::now() + timeout;
        let (stdout, stderr) = self.drain(deadline);
        let left = deadline.saturating_duration_since(Instant::now());
        let status = self.wait_exit(left.max(Duration::from_millis(100)))?;
        Ok(Finished {
            status,
            stdout,
            stderr,
        })
    }

    /// Reads lines until both streams end or the deadline: (stdout lines, stderr lines).
    fn drain(&mut self, deadline: Instant) -> (Vec<String>, Vec<String>) {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut open_streams = 2;
        while open_streams > 0 {
            match self.next_line(deadline) {
                Some(Output { text: None, .. }) => open_streams -= 1,
                Some(Output {
                    stream,
                    text: Some(text),
                    ..
                }) => match stream {
                    Stream::Stdout => stdout.push(text),
                    Stream::Stderr => stderr.push(text),
                },
                None => break,
            }
        }
        (stdout, stderr)
    }

    /// Waits for the program to exit on its own, up to `timeout`; an error (and the
    /// program killed) if it does not.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                bail!(
                    "{} did not exit within {timeout:?}; its output:\n{}",
                    self.name,
                    self.transcript()
                );
            }
            // Polling the exit status (there is no portable waitpid with a timeout in std);
            // this waits for an exit, not for readiness.
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether the program has exited, without waiting.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kills the program (if it still runs) and reaps it.
    pub fn kill(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Every line read so far, one per line, stderr lines marked.
    ///
    /// Only lines already read: stdout and stderr are read by two threads, so a line on
    /// one stream may still be on its way when a later line of the other has arrived.
    /// To look for a line, wait for it ([`Program::expect_stderr`]) or read both streams
    /// to their end first ([`Program::finish`], [`Program::rest_of_stdout`]).
    pub fn transcript(&self) -> String {
        self.transcript.join("\n")
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads `stream` line by line on a thread of its own and sends each line to `sink`,
/// then one `text: None` at the end of the stream.
fn forward_lines(
    name: &str,
    stream: Stream,
    pipe: impl Read + Send + 'static,
    sink: Sender<Output>,
) {
    let name = name.to_string();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(crate::encoding::trim_newline(&line));
                    let output = Output {
                        name: name.clone(),
                        stream,
                        text: Some(text.into_owned()),
                    };
                    if sink.send(output).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = sink.send(Output {
            name,
            stream,
            text: None,
        });
    });
}

/// Starts `command` and waits for its readiness line: the first step of most tests.
pub fn start_ready(
    name: &str,
    command: Command,
    timeout: Duration,
) -> anyhow::Result<(Program, SocketAddr)> {
    let mut program = Program::spawn(name, command)?;
    let addr = program.wait_ready(timeout)?;
    Ok((program, addr))
}

/// Runs `command` to the end with `stdin` as its whole input.
pub fn run_with_input(
    name: &str,
    command: Command,
    stdin: &str,
    timeout: Duration,
) -> anyhow::Result<Finished> {
    let mut program = Program::spawn(name, command)?;
    // A program that fails early (e.g. connection refused) may exit before reading its
    // stdin; writing to it then fails with a broken pipe, which is not an error here.
    let _ = program.send(stdin);
    program.close_stdin();
    program.finish(timeout)
}

/// A TCP address on 127.0.0.1 where a connection is surely refused, for as long as the
/// returned socket lives.
///
/// The socket is bound but never listens, so the kernel answers a SYN with a RST
/// (ECONNREFUSED). Picking a port that was free a moment ago and letting it go is not
/// enough: another test's server on port 0 may be given that port before the client
/// connects (a failure seen once in a few runs of the whole suite). Holding the port
/// bound, without SO_REUSEADDR, keeps everyone else off it, and rules out a client that
/// connects to itself (TCP's simultaneous open, when its own port is the one it dials).
pub fn refusing_tcp_addr() -> anyhow::Result<(socket2::Socket, SocketAddr)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let addr = socket
        .local_addr()?
        .as_socket()
        .context("a TCP socket has an IP address")?;
    Ok((socket, addr))
}

/// Whether this machine has an IPv6 loopback (`::1`) to test on. Some containers have
/// none: then the IPv6 tests are skipped with a message, except under `CI=true`, where
/// the machine must have it (like [`require_tool`]).
pub fn require_ipv6_loopback() -> bool {
    if std::net::UdpSocket::bind("[::1]:0").is_ok() {
        return true;
    }
    let message = "this machine has no IPv6 loopback (::1)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}: CI must have it");
    }
    eprintln!("SKIPPED: {message}");
    false
}

/// Finds `tool` on the PATH. Returns `None` if it is missing, after printing why the
/// test is skipped; under `CI=true` a missing tool is a failure, not a skip, because CI
/// installs every tool the tests use (`.ci/run`).
pub fn require_tool(tool: &str, package: &str) -> Option<PathBuf> {
    if let Some(path) = find_on_path(tool) {
        return Some(path);
    }
    let message = format!("`{tool}` is not installed (apt-get install {package})");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}: CI must have it");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// The first executable named `tool` in the PATH's folders (or `tool` itself, if it is a
/// path that exists).
pub fn find_on_path(tool: impl AsRef<OsStr>) -> Option<PathBuf> {
    let tool = Path::new(tool.as_ref());
    if tool.components().count() > 1 {
        return tool.is_file().then(|| tool.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// A test's TCP client for line protocols: every read has a deadline, and lines are read
/// whole.
pub struct LineClient {
    /// The connection, read through a buffer; `reader.get_ref()` is the socket itself.
    pub reader: BufReader<std::net::TcpStream>,
}

impl LineClient {
    /// Connects to `addr`; each later read fails after `timeout` of silence.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> LineClient {
        let stream = std::net::TcpStream::connect(addr).expect("connect to the server");
        stream
            .set_read_timeout(Some(timeout))
            .expect("set a read timeout");
        LineClient {
            reader: BufReader::new(stream),
        }
    }

    /// Sends `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("send");
    }

    /// The next line, with its line end; "" at end of stream.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read a line");
        line
    }

    /// Asserts that the server has closed the connection: end of stream, or a reset when
    /// it closed with bytes of ours unread.
    pub fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "more after the last line: {rest:?}"),
            Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}"),
        }
    }

    /// Our own address, as the server prints it.
    pub fn addr(&self) -> SocketAddr {
        self.reader.get_ref().local_addr().expect("our own address")
    }
}

/// `PROGRAM | head -1`: starts `command` with stdout and stderr piped, reads its readiness
/// line, then closes stdout's pipe as `head` does, and calls `poke(addr)` (something that
/// makes the program print a line, taking up to about 100 ms) until the program exits.
/// Asserts that it ends by itself within `timeout`, with exit code 0 and no panic message.
/// The caller sets stdin (a chat peer needs it open, or end of input would end it first).
pub fn assert_quiet_when_stdout_closes(
    mut command: Command,
    timeout: Duration,
    mut poke: impl FnMut(SocketAddr),
) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the readiness line");
    let addr = crate::ready::parse(&line)
        .unwrap_or_else(|| panic!("the first line is not the readiness line: {line:?}"));
    drop(stdout);
    // The first line printed after the close fails, and must end the program.
    let deadline = Instant::now() + timeout;
    let status = loop {
        poke(addr);
        if let Some(status) = child.try_wait().expect("look at the program") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the program ran on for {timeout:?} with its stdout closed");
        }
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn readiness_and_lines_in_order() {
        let mut program = Program::spawn(
            "demo",
            sh("echo 'listening on 127.0.0.1:4242'; echo oops >&2; read x; echo \"got $x\""),
        )
        .unwrap();
        let addr = program.wait_ready(Duration::from_secs(10)).unwrap();
        assert_eq!(addr, "127.0.0.1:4242".parse().unwrap());
        program.send("hi\n").unwrap();
        let line = program
            .expect_stdout("got", Duration::from_secs(10))
            .unwrap();
        assert_eq!(line, "got hi");
        // stdout and stderr come through two pipes, each read by a thread of its own, so
        // `oops` may reach us before or after `got hi` whatever order `sh` wrote them in.
        // Asking the transcript now would race the stderr thread: read both streams to
        // their end first, the event that proves every line is in.
        let finished = program.finish(Duration::from_secs(10)).unwrap();
        assert!(finished.status.success());
        assert!(
            program.transcript().contains("(stderr) oops"),
            "{}",
            program.transcript()
        );
    }

    /// The stream-order race, made certain: the stderr line is written long before the
    /// stdout line the test waits for, yet it is in the transcript only once read; after
    /// [`Program::finish`] every line is.
    #[test]
    fn the_transcript_holds_every_line_after_finish() {
        let mut program = Program::spawn(
            "demo",
            sh("echo 'listening on 127.0.0.1:4242'; for i in 1 2 3; do echo err$i >&2; done; read x; echo out"),
        )
        .unwrap();
        program.wait_ready(Duration::from_secs(10)).unwrap();
        program.close_stdin();
        let finished = program.finish(Duration::from_secs(10)).unwrap();
        assert_eq!(finished.stdout, ["out"]);
        // `finished.stderr` holds only what was left after `wait_ready` (which may have
        // read some stderr lines already); the transcript holds everything.
        let transcript = program.transcript();
        for line in ["(stderr) err1", "(stderr) err2", "(stderr) err3", "out"] {
            assert!(
                transcript.lines().any(|l| l == line),
                "{line:?}:\n{transcript}"
            );
        }
    }

    /// A program whose lines arrive in exactly the order given: a real child (so the
    /// guard has something to kill), with its output channel replaced by ours.
    fn scripted(lines: &[(Stream, Option<&str>)]) -> Program {
        let mut program = Program::spawn("scripted", sh("sleep 30")).unwrap();
        let (tx, rx) = mpsc::channel();
        for &(stream, text) in lines {
            let text = text.map(str::to_string);
            let name = "scripted".to_string();
            tx.send(Output { name, stream, text }).unwrap();
        }
        program.lines = Some(rx);
        program
    }

    /// The race `without_so_broadcast_the_kernel_says_permission_denied` (lesson 05) lost
    /// 4 times in 25: a program prints its readiness line, then an error on stderr, and
    /// the stderr thread delivers first. Waiting for the readiness line must not swallow
    /// the error, nor waiting for a stdout line the stderr lines before it.
    #[test]
    fn a_wait_on_one_stream_leaves_the_other_streams_lines() {
        use Stream::{Stderr, Stdout};
        let mut program = scripted(&[
            (Stderr, Some("error: permission denied")),
            (Stdout, Some("listening on 127.0.0.1:9")),
            (Stderr, Some("second error")),
            (Stdout, Some("done")),
            (Stderr, None),
            (Stdout, None),
        ]);
        let wait = Duration::from_secs(10);
        program.wait_ready(wait).unwrap();
        assert_eq!(program.expect_stdout("done", wait).unwrap(), "done");
        assert_eq!(
            program.expect_stderr("denied", wait).unwrap(),
            "error: permission denied"
        );
        assert_eq!(
            program.expect_stderr("second", wait).unwrap(),
            "second error"
        );
        // Both streams ended: no more lines, at once, not at the deadline.
        let started = Instant::now();
        assert!(program
            .expect_stderr("more", Duration::from_secs(30))
            .is_err());
        assert!(program
            .expect_stdout("more", Duration::from_secs(30))
            .is_err());
        assert!(started.elapsed() < Duration::from_secs(10));
        let transcript = program.transcript();
        assert_eq!(transcript.lines().count(), 4, "{transcript}");
    }

    #[test]
    fn a_wrong_first_line_is_an_error() {
        let mut program = Program::spawn("demo", sh("echo hello")).unwrap();
        let err = program.wait_ready(Duration::from_secs(10)).unwrap_err();
        assert!(err.to_string().contains("got \"hello\""), "{err}");
    }

    #[test]
    fn no_readiness_line_times_out_and_the_guard_kills() {
        let mut program = Program::spawn("sleeper", sh("sleep 30")).unwrap();
        let started = Instant::now();
        assert!(program.wait_ready(Duration::from_millis(200)).is_err());
        assert!(program.wait_exit(Duration::from_millis(100)).is_err());
        assert!(program.try_status().is_some(), "killed and reaped");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn finds_sh_and_not_a_made_up_tool() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-tool-here").is_none());
    }
}
