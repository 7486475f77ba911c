//! `cargo xtask demo`: each lesson's server and clients, together, live.
//!
//! For every chosen lesson: build all the binaries first (so compiler output never lands
//! in the middle of a conversation), then run the lesson's scenario: servers start on
//! `127.0.0.1:0` and we wait for their `listening on` line (never a sleep), clients get
//! the real address and a script on stdin, and every line any of them prints is shown as
//! it happens, prefixed with who printed it. Each lesson has a deadline; every child is
//! killed and reaped on every way out (the `Program` guard's Drop), and any failure makes
//! the whole run exit non-zero.

use crate::cargo::{self, Profile};
use crate::lessons::Lesson;
use anyhow::{anyhow, bail, Context as _};
use shared::testing::{Output, Program, Stream};
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How long one lesson's demo may take before it is stopped and counted as failed.
pub const LESSON_DEADLINE: Duration = Duration::from_secs(60);

/// Builds the chosen lessons, runs each one's scenario, prints a summary.
pub fn run_all(lessons: &[&Lesson], _step: bool) -> anyhow::Result<ExitCode> {
    // Build first, so compiler output never lands in the middle of a conversation.
    let packages: Vec<&str> = lessons.iter().map(|lesson| lesson.package).collect();
    let bin_dir = cargo::build_bins(&packages, Profile::Debug, false)
        .context("the demo needs every lesson to compile")?;
    let mut summary = Vec::new();
    for lesson in lessons {
        println!("\n=== {}: {} ===", lesson.folder(), lesson.teaches);
        let started = Instant::now();
        let exe = bin_dir.join(format!(
            "{}{}",
            lesson.package,
            std::env::consts::EXE_SUFFIX
        ));
        let mut demo = Demo::new(exe, LESSON_DEADLINE);
        let result = (lesson.scenario)(&mut demo).and_then(|()| demo.finish());
        // Dropping the demo kills and reaps whatever still runs, on success and failure.
        drop(demo);
        if let Err(err) = &result {
            println!("!!! {} failed: {err:#}", lesson.folder());
        }
        summary.push((lesson.folder(), result.is_ok(), started.elapsed()));
    }
    println!("\n=== summary ===");
    for (folder, ok, took) in &summary {
        let verdict = if *ok { "ok" } else { "FAILED" };
        println!("{folder:<24} {verdict:<7} {:.2}s", took.as_secs_f64());
    }
    Ok(if summary.iter().all(|(_, ok, _)| *ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One lesson's running demo: the programs it started and their merged output.
pub struct Demo {
    exe: PathBuf,
    budget: Duration,
    deadline: Instant,
    sink: Sender<Output>,
    output: Receiver<Output>,
    programs: Vec<Running>,
    /// Every line printed so far, as (program, text), for `expect`.
    seen: Vec<(String, String)>,
    colour: bool,
}

struct Running {
    program: Program,
    /// Servers run until the demo ends and are then stopped; that is not a failure.
    server: bool,
    open_streams: u8,
}

impl Demo {
    fn new(exe: PathBuf, budget: Duration) -> Demo {
        let (sink, output) = mpsc::channel();
        Demo {
            exe,
            budget,
            deadline: Instant::now() + budget,
            sink,
            output,
            programs: Vec::new(),
            seen: Vec::new(),
            colour: std::io::stdout().is_terminal(),
        }
    }

    /// Starts the lesson's binary with `args` as a server named `name` (the role prefix
    /// shown on each of its lines), waits for its readiness line and returns the address
    /// it really bound.
    pub fn server(&mut self, name: &str, args: &[&str]) -> anyhow::Result<SocketAddr> {
        self.spawn(name, args, true)?;
        let addr = self
            .pump_until(|demo| demo.ready_addr(name))
            .with_context(|| format!("waiting for {name}'s `listening on` line"))?;
        Ok(addr)
    }

    /// Starts the lesson's binary with `args` as a client (or a peer) named `name`; its
    /// stdin stays open for [`Demo::send`].
    pub fn client(&mut self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        self.spawn(name, args, false)
    }

    /// Starts a program that binds like a server (waits for its `listening on` line and
    /// returns the address) but must end by itself with status 0 before the demo ends,
    /// like a client: a chat peer. Its stdin stays open for [`Demo::send`].
    pub fn peer(&mut self, name: &str, args: &[&str]) -> anyhow::Result<SocketAddr> {
        self.spawn(name, args, false)?;
        self.pump_until(|demo| demo.ready_addr(name))
            .with_context(|| format!("waiting for {name}'s `listening on` line"))
    }

    /// Starts a client, gives it `script` on stdin and closes stdin (end of input).
    pub fn scripted_client(
        &mut self,
        name: &str,
        args: &[&str],
        script: &str,
    ) -> anyhow::Result<()> {
        self.client(name, args)?;
        self.send(name, script)?;
        self.close_stdin(name)
    }

    /// Types `text` into the stdin of `name`.
    pub fn send(&mut self, name: &str, text: &str) -> anyhow::Result<()> {
        self.find(name)?.program.send(text)
    }

    /// Closes the stdin of `name` (what Ctrl-D does in a terminal).
    pub fn close_stdin(&mut self, name: &str) -> anyhow::Result<()> {
        self.find(name)?.program.close_stdin();
        Ok(())
    }

    /// Shows output until `name` has printed a line containing `needle` (now or before).
    pub fn expect(&mut self, name: &str, needle: &str) -> anyhow::Result<()> {
        let found = |demo: &mut Demo| {
            demo.seen
                .iter()
                .any(|(who, text)| who == name && text.contains(needle))
                .then_some(())
        };
        self.pump_until(found)
            .with_context(|| format!("waiting for {name} to print {needle:?}"))
    }

    /// Shows output until `name` has exited and all its output is shown; an error if it
    /// failed.
    pub fn wait(&mut self, name: &str) -> anyhow::Result<()> {
        self.pump_until(|demo| {
            let running = demo.find(name).ok()?;
            let status = running.program.try_status()?;
            (running.open_streams == 0).then_some(status)
        })
        .with_context(|| format!("waiting for {name} to finish"))
        .and_then(|status| {
            if status.success() {
                Ok(())
            } else {
                Err(anyhow!("{name} exited with {status}"))
            }
        })
    }

    /// The end of a scenario: every client must have finished successfully and every
    /// server must still be running (a server that died early failed).
    fn finish(&mut self) -> anyhow::Result<()> {
        let clients: Vec<String> = self
            .programs
            .iter()
            .filter(|r| !r.server)
            .map(|r| r.program.name().to_string())
            .collect();
        for name in clients {
            self.wait(&name)?;
        }
        for running in &mut self.programs {
            if let Some(status) = running.program.try_status() {
                if running.server {
                    bail!("{} stopped by itself ({status})", running.program.name());
                }
            }
        }
        Ok(())
    }

    fn spawn(&mut self, name: &str, args: &[&str], server: bool) -> anyhow::Result<()> {
        let mut command = Command::new(&self.exe);
        command.args(args);
        let shown = format!("{} {}", display_name(&self.exe), args.join(" "));
        self.print(name, Stream::Stdout, &format!("$ {shown}"));
        let program = Program::spawn_into(name, command, self.sink.clone())?;
        self.programs.push(Running {
            program,
            server,
            open_streams: 2,
        });
        Ok(())
    }

    fn find(&mut self, name: &str) -> anyhow::Result<&mut Running> {
        self.programs
            .iter_mut()
            .find(|r| r.program.name() == name)
            .ok_or_else(|| anyhow!("the scenario has no program called {name}"))
    }

    fn ready_addr(&self, name: &str) -> Option<SocketAddr> {
        // The readiness line is the program's first stdout line.
        self.seen
            .iter()
            .find(|(who, _)| who == name)
            .and_then(|(_, text)| shared::ready::parse(text))
    }

    /// Prints output as it arrives until `done` returns something, or the deadline.
    fn pump_until<T>(&mut self, mut done: impl FnMut(&mut Demo) -> Option<T>) -> anyhow::Result<T> {
        loop {
            if let Some(value) = done(self) {
                return Ok(value);
            }
            let now = Instant::now();
            if now >= self.deadline {
                bail!("the lesson's deadline ({:?}) passed", self.budget);
            }
            // Wake up now and then even without output, to notice exits.
            let wait = (self.deadline - now).min(Duration::from_millis(20));
            match self.output.recv_timeout(wait) {
                Ok(output) => self.show(output),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => bail!("output channel closed"),
            }
        }
    }

    fn show(&mut self, output: Output) {
        match output.text {
            Some(text) => {
                self.print(&output.name, output.stream, &text);
                // Only stdout is the conversation; stderr (errors, traces) is shown, not matched.
                if output.stream == Stream::Stdout {
                    self.seen.push((output.name, text));
                }
            }
            None => {
                if let Ok(running) = self.find(&output.name) {
                    running.open_streams = running.open_streams.saturating_sub(1);
                }
            }
        }
    }

    fn print(&self, name: &str, stream: Stream, text: &str) {
        let mark = if stream == Stream::Stderr { "!" } else { "" };
        if self.colour {
            // A colour per program, so the projector shows who is talking.
            let colours = [36, 33, 35, 32, 34, 31];
            let index = name.bytes().map(usize::from).sum::<usize>() % colours.len();
            println!("\x1b[{}m[{name}]{mark}\x1b[0m {text}", colours[index]);
        } else {
            println!("[{name}]{mark} {text}");
        }
    }
}

fn display_name(exe: &Path) -> String {
    exe.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A demo whose "lesson binary" is the shell, so each program is a tiny script.
    fn shell_demo(budget: Duration) -> Demo {
        Demo::new(PathBuf::from("/bin/sh"), budget)
    }

    const SERVER: &str = "echo 'listening on 127.0.0.1:4242'; while read line; do echo \"got $line\"; done; sleep 60";

    #[test]
    fn a_scenario_that_goes_well() {
        let mut demo = shell_demo(Duration::from_secs(20));
        let addr = demo.server("server", &["-c", SERVER]).unwrap();
        assert_eq!(addr, "127.0.0.1:4242".parse().unwrap());
        demo.scripted_client("client", &["-c", "echo hello; echo oops >&2"], "")
            .unwrap();
        demo.expect("client", "hello").unwrap();
        demo.send("server", "ping\n").unwrap();
        demo.expect("server", "got ping").unwrap();
        demo.finish().unwrap();
        assert!(
            demo.seen.iter().all(|(_, text)| text != "oops"),
            "stderr is shown, not matched"
        );
    }

    #[test]
    fn a_failing_client_fails_the_demo() {
        let mut demo = shell_demo(Duration::from_secs(20));
        demo.client("client", &["-c", "exit 3"]).unwrap();
        let err = demo.finish().unwrap_err();
        assert!(format!("{err:#}").contains("client exited with"), "{err:#}");
    }

    /// A peer binds like a server but must end by itself, with status 0, like a client.
    #[test]
    fn a_peer_gives_its_address_and_must_exit_cleanly() {
        const PEER: &str =
            "echo 'listening on 127.0.0.1:4343'; read line; echo \"got $line\"; exit $line";
        let mut demo = shell_demo(Duration::from_secs(20));
        let addr = demo.peer("good", &["-c", PEER]).unwrap();
        assert_eq!(addr, "127.0.0.1:4343".parse().unwrap());
        demo.send("good", "0\n").unwrap();
        demo.expect("good", "got 0").unwrap();
        demo.finish().unwrap();

        let mut demo = shell_demo(Duration::from_secs(20));
        demo.peer("bad", &["-c", PEER]).unwrap();
        demo.send("bad", "4\n").unwrap();
        let err = demo.finish().unwrap_err();
        assert!(format!("{err:#}").contains("bad exited with"), "{err:#}");
    }

    #[test]
    fn a_server_that_dies_early_fails_the_demo() {
        let mut demo = shell_demo(Duration::from_secs(20));
        demo.server("server", &["-c", "echo 'listening on 127.0.0.1:1'"])
            .unwrap();
        demo.scripted_client("client", &["-c", "true"], "").unwrap();
        demo.wait("client").unwrap();
        // Wait until the server has exited.
        demo.pump_until(|demo| demo.find("server").ok()?.program.try_status())
            .unwrap();
        let err = demo.finish().unwrap_err();
        assert!(err.to_string().contains("stopped by itself"), "{err:#}");
    }

    #[test]
    fn no_readiness_line_and_a_hanging_client_hit_the_deadline_and_are_killed() {
        let mut demo = shell_demo(Duration::from_millis(300));
        let err = demo.server("server", &["-c", "sleep 60"]).unwrap_err();
        assert!(format!("{err:#}").contains("deadline"), "{err:#}");
        demo.client("client", &["-c", "sleep 60"]).unwrap();
        assert!(demo.finish().is_err());
        let pids: Vec<u32> = demo.programs.iter().map(|r| r.program.id()).collect();
        drop(demo);
        for pid in pids {
            // Reaped: the process is gone (a zombie would still have a /proc entry).
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "{pid} still there"
            );
        }
    }

    #[test]
    fn expect_fails_when_the_line_never_comes() {
        let mut demo = shell_demo(Duration::from_millis(300));
        demo.scripted_client("client", &["-c", "echo something else"], "")
            .unwrap();
        assert!(demo.expect("client", "never printed").is_err());
    }
}
