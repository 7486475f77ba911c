//! `cargo xtask demo`: each lesson's server and clients, together, live.
//!
//! For every chosen lesson: build all the binaries first (so compiler output never lands
//! in the middle of a conversation), then run the lesson's scenario, scene by scene, each
//! with a one-line caption that says what to watch (`--step` pauses before each until
//! Enter): servers start on `127.0.0.1:0` and we wait for their `listening on` line
//! (never a sleep), clients get the real address and a script on stdin, and every line
//! any of them prints is shown as it arrives, prefixed with who printed it.
//!
//! Two programs print through two pipes, so a reply can reach us before the line its
//! server printed first. Where the order teaches something, the scenario says which line
//! comes after which ([`Demo::after`]); the later line waits, unshown, until the earlier
//! one is. Each lesson has a deadline; every child is killed and reaped on every way out
//! (the `Program` guard's Drop), and any failure makes the whole run exit non-zero.

use crate::cargo::{self, Profile};
use crate::lessons::Lesson;
use anyhow::{anyhow, bail, Context as _};
use shared::testing::{Output, Program, Stream};
use std::io::{BufRead, IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How long one lesson's demo may take before it is stopped and counted as failed.
pub const LESSON_DEADLINE: Duration = Duration::from_secs(60);

/// Where `--step` waits for Enter: stdin when it is a terminal.
pub type Pacer = Box<dyn BufRead>;

/// Builds the chosen lessons, runs each one's scenario, prints a summary. With `step`,
/// pauses before each scene until Enter (when stdin is a terminal; at its end, goes on).
pub fn run_all(lessons: &[&Lesson], step: bool) -> anyhow::Result<ExitCode> {
    let packages: Vec<&str> = lessons.iter().map(|lesson| lesson.package).collect();
    let bin_dir = cargo::target_dir().join("debug");
    if cold(&bin_dir, &packages) {
        // Cargo says nothing for a while when it starts from nothing.
        println!("building the lessons (first run only takes ~10 s)...");
    }
    // Build first, so compiler output never lands in the middle of a conversation.
    cargo::build_bins(&packages, Profile::Debug, false)
        .context("the demo needs every lesson to compile")?;
    let mut pacer: Option<Pacer> = match step {
        true if std::io::stdin().is_terminal() => Some(Box::new(std::io::stdin().lock())),
        true => {
            println!("--step: stdin is not a terminal, so the scenes run without pausing");
            None
        }
        false => None,
    };
    let mut summary = Vec::new();
    for lesson in lessons {
        println!("\n=== {}: {} ===", lesson.folder(), lesson.teaches);
        let started = Instant::now();
        let mut demo = Demo::new(exe(&bin_dir, lesson.package), LESSON_DEADLINE, pacer.take());
        let result = (lesson.scenario)(&mut demo).and_then(|()| demo.finish());
        // Whatever a failed scenario left waiting is shown, then dropping the demo kills
        // and reaps whatever still runs, on success and failure.
        demo.release_all();
        pacer = demo.pacer.take();
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

fn exe(bin_dir: &Path, package: &str) -> PathBuf {
    bin_dir.join(format!("{package}{}", std::env::consts::EXE_SUFFIX))
}

/// Whether some lesson was never built: cargo will take a while, at first silently.
fn cold(bin_dir: &Path, packages: &[&str]) -> bool {
    packages
        .iter()
        .any(|package| !exe(bin_dir, package).exists())
}

/// One lesson's running demo: the programs it started and their merged output.
pub struct Demo {
    exe: PathBuf,
    budget: Duration,
    deadline: Instant,
    sink: Sender<Output>,
    output: Receiver<Output>,
    programs: Vec<Running>,
    /// Every line shown so far, as (program, text), for `expect`.
    seen: Vec<(String, String)>,
    /// Lines that must wait for another line (see [`Demo::after`]).
    holds: Vec<Hold>,
    colour: bool,
    /// Scenes shown so far in this lesson.
    scenes: usize,
    /// With `--step`: where to wait for Enter before each scene.
    pacer: Option<Pacer>,
}

/// "`who`'s line containing `from`, and every line of `who` after it, waits until
/// `until.0` has shown `until.2` lines containing `until.1`."
struct Hold {
    who: String,
    from: String,
    until: (String, String, usize),
    /// The lines waiting, in the order they came (empty until `from` is seen).
    waiting: Vec<Output>,
    holding: bool,
}

struct Running {
    program: Program,
    /// Servers run until the demo ends and are then stopped; that is not a failure.
    server: bool,
    open_streams: u8,
}

impl Demo {
    fn new(exe: PathBuf, budget: Duration, pacer: Option<Pacer>) -> Demo {
        let (sink, output) = mpsc::channel();
        Demo {
            exe,
            budget,
            deadline: Instant::now() + budget,
            sink,
            output,
            programs: Vec::new(),
            seen: Vec::new(),
            holds: Vec::new(),
            colour: std::io::stdout().is_terminal(),
            scenes: 0,
            pacer,
        }
    }

    /// Starts a scene: shows what is waiting, then (with `--step`) waits for Enter, then
    /// prints the caption: one line that says what to watch.
    pub fn scene(&mut self, caption: &str) -> anyhow::Result<()> {
        self.scenes += 1;
        // Lines that already came belong to the scene before.
        while let Ok(output) = self.output.try_recv() {
            self.show(output);
        }
        if let Some(pacer) = &mut self.pacer {
            print!("\n[Enter: scene {}] ", self.scenes);
            std::io::stdout().flush()?;
            let paused = Instant::now();
            let mut line = String::new();
            if matches!(pacer.read_line(&mut line), Ok(0) | Err(_)) {
                // End of input: no one is there to press Enter; go on without pausing.
                println!();
                self.pacer = None;
            }
            // The time on pause is not the lesson's: its deadline moves by as much.
            self.deadline += paused.elapsed();
        }
        let caption = format!("--- {}: {caption}", self.scenes);
        if self.colour {
            println!("\n\x1b[1m{caption}\x1b[0m");
        } else {
            println!("\n{caption}");
        }
        Ok(())
    }

    /// Keeps the lines in the order things happened: `later`'s first line that contains
    /// `then` (and every line of `later` after it) is shown only once `first` has shown
    /// a line containing `needle`. Say it before starting what prints those lines.
    ///
    /// Needed because each program prints through its own pipe, read by its own thread:
    /// a client's `Hello, Grace!` can reach us before the server's `says: Grace` that came
    /// first. A line that never comes fails the demo at its deadline, like `expect`.
    pub fn after(&mut self, first: (&str, &str), later: (&str, &str)) {
        self.after_nth(first, 1, later);
    }

    /// [`Demo::after`] the `times`th line of `first` containing `needle` (counting the
    /// lines already shown): `("server", "connected")`, 3 is the third client's.
    pub fn after_nth(&mut self, first: (&str, &str), times: usize, later: (&str, &str)) {
        let (who, needle) = first;
        if self.shown(who, needle) >= times {
            return;
        }
        self.holds.push(Hold {
            who: later.0.to_string(),
            from: later.1.to_string(),
            until: (who.to_string(), needle.to_string(), times),
            waiting: Vec::new(),
            holding: false,
        });
    }

    /// How many lines containing `needle` `name` has shown.
    fn shown(&self, name: &str, needle: &str) -> usize {
        self.seen
            .iter()
            .filter(|(who, text)| who == name && text.contains(needle))
            .count()
    }

    /// Whether lines of `name` are waiting behind another program's line.
    fn holding(&self, name: &str) -> bool {
        self.holds.iter().any(|h| h.who == name && h.holding)
    }

    /// Shows every waiting line, in order (the end of a lesson, however it ended).
    fn release_all(&mut self) {
        for hold in std::mem::take(&mut self.holds) {
            for output in hold.waiting {
                self.show(output);
            }
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

    /// Starts ANOTHER lesson's binary (`package`, which the scenario builds) as a client
    /// named `name`: lesson 07 has no client of its own, and is talked to by lesson 02's.
    pub fn client_of(&mut self, package: &str, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let other = exe(&cargo::target_dir().join("debug"), package);
        let own = std::mem::replace(&mut self.exe, other);
        let started = self.spawn(name, args, false);
        self.exe = own;
        started
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

    /// Shows output until `name` has shown a line containing `needle` (now or before).
    pub fn expect(&mut self, name: &str, needle: &str) -> anyhow::Result<()> {
        self.expect_times(name, needle, 1)
    }

    /// Shows output until `name` has shown `times` lines containing `needle`.
    pub fn expect_times(&mut self, name: &str, needle: &str, times: usize) -> anyhow::Result<()> {
        let found = |demo: &mut Demo| (demo.shown(name, needle) >= times).then_some(());
        self.pump_until(found)
            .with_context(|| format!("waiting for {name} to print {needle:?} ({times}x)"))
    }

    /// Shows output until `name` has exited and all its output is shown; an error if it
    /// failed.
    pub fn wait(&mut self, name: &str) -> anyhow::Result<()> {
        self.pump_until(|demo| {
            if demo.holding(name) {
                return None;
            }
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
        match &output.text {
            Some(text) => {
                // A line that must wait for another program's line waits.
                // A line that must wait for another program's line waits: behind the lines
                // of its program already waiting, or as the first of a new wait.
                let mine = |hold: &&mut Hold| hold.who == output.name;
                let stdout = output.stream == Stream::Stdout;
                let hold = match self.holds.iter_mut().filter(mine).find(|h| h.holding) {
                    Some(hold) => Some(hold),
                    None => (self.holds.iter_mut().filter(mine))
                        .find(|h| stdout && text.contains(&h.from)),
                };
                if let Some(hold) = hold {
                    hold.holding = true;
                    hold.waiting.push(output);
                    return;
                }
                self.print(&output.name, output.stream, text);
                // Only stdout is the conversation; stderr (errors, traces) is shown, not matched.
                if output.stream == Stream::Stdout {
                    self.seen.push((output.name.clone(), text.clone()));
                    self.release_after(&output.name, text);
                }
            }
            None => {
                if let Ok(running) = self.find(&output.name) {
                    running.open_streams = running.open_streams.saturating_sub(1);
                }
            }
        }
    }

    /// `name` just showed `text`: the lines waiting for it are shown (and may free
    /// others in turn, or wait again for another hold).
    fn release_after(&mut self, name: &str, text: &str) {
        let (freed, kept) = std::mem::take(&mut self.holds)
            .into_iter()
            .partition(|hold| {
                let (who, needle, times) = &hold.until;
                who == name && text.contains(needle) && self.shown(who, needle) >= *times
            });
        self.holds = kept;
        for hold in freed {
            for output in hold.waiting {
                self.show(output);
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
        Demo::new(PathBuf::from("/bin/sh"), budget, None)
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

    #[test]
    fn a_start_is_cold_when_a_lesson_binary_is_missing() {
        let dir = std::env::temp_dir().join(format!("xtask-cold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(cold(&dir, &["tcp-basic"]));
        std::fs::write(exe(&dir, "tcp-basic"), "").unwrap();
        assert!(!cold(&dir, &["tcp-basic"]));
        assert!(cold(&dir, &["tcp-basic", "tftp"]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Where a line of `name` containing `needle` is among the lines shown.
    fn position(demo: &Demo, name: &str, needle: &str) -> usize {
        demo.seen
            .iter()
            .position(|(who, text)| who == name && text.contains(needle))
            .unwrap_or_else(|| panic!("{name} showed no {needle:?}: {:?}", demo.seen))
    }

    #[test]
    fn a_line_that_comes_early_waits_for_the_line_it_follows() {
        let mut demo = shell_demo(Duration::from_secs(20));
        demo.server(
            "server",
            &[
                "-c",
                "echo 'listening on 127.0.0.1:4444'; read x; echo \"says $x\"; sleep 60",
            ],
        )
        .unwrap();
        demo.after(("server", "says hi"), ("client", "Hello"));
        // The client prints its answer at once, before the server says anything.
        demo.client("client", &["-c", "echo before; echo Hello; echo after"])
            .unwrap();
        demo.pump_until(|demo| demo.holding("client").then_some(()))
            .unwrap();
        assert!(demo.shown("client", "before") == 1 && demo.shown("client", "Hello") == 0);
        demo.send("server", "hi\n").unwrap();
        demo.wait("client").unwrap();
        let says = position(&demo, "server", "says hi");
        assert!(position(&demo, "client", "before") < says);
        assert!(says < position(&demo, "client", "Hello"));
        assert!(position(&demo, "client", "Hello") < position(&demo, "client", "after"));
        demo.finish().unwrap();
    }

    #[test]
    fn the_nth_line_and_lines_already_shown() {
        let mut demo = shell_demo(Duration::from_secs(20));
        demo.server(
            "server",
            &[
                "-c",
                "echo 'listening on 127.0.0.1:4545'; echo tick; read x; echo tick; sleep 60",
            ],
        )
        .unwrap();
        demo.expect("server", "tick").unwrap();
        // Already shown: no wait.
        demo.after(("server", "tick"), ("a", "x"));
        demo.after_nth(("server", "tick"), 2, ("b", "y"));
        demo.client("a", &["-c", "echo x"]).unwrap();
        demo.wait("a").unwrap();
        demo.client("b", &["-c", "echo y"]).unwrap();
        demo.pump_until(|demo| demo.holding("b").then_some(()))
            .unwrap();
        demo.send("server", "go\n").unwrap();
        demo.wait("b").unwrap();
        assert_eq!(demo.shown("server", "tick"), 2);
        assert!(position(&demo, "a", "x") < position(&demo, "b", "y"));
    }

    #[test]
    fn a_line_that_never_comes_fails_at_the_deadline_and_the_rest_is_shown() {
        let mut demo = shell_demo(Duration::from_millis(300));
        demo.after(("nobody", "never"), ("client", "held"));
        demo.client("client", &["-c", "echo held"]).unwrap();
        let err = demo.wait("client").unwrap_err();
        assert!(format!("{err:#}").contains("deadline"), "{err:#}");
        assert_eq!(demo.shown("client", "held"), 0);
        demo.release_all();
        assert_eq!(demo.shown("client", "held"), 1);
    }

    /// Stdin as a teacher who presses Enter once, slowly, then leaves (end of input).
    struct SlowTeacher(std::io::Cursor<&'static [u8]>);

    impl std::io::Read for SlowTeacher {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl BufRead for SlowTeacher {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            // A pause longer than the whole lesson's budget.
            std::thread::sleep(Duration::from_millis(400));
            self.0.fill_buf()
        }
        fn consume(&mut self, amount: usize) {
            self.0.consume(amount)
        }
    }

    #[test]
    fn step_waits_for_enter_off_the_clock_and_goes_on_at_end_of_input() {
        let teacher = SlowTeacher(std::io::Cursor::new(b"\n"));
        let mut demo = Demo::new(
            PathBuf::from("/bin/sh"),
            Duration::from_millis(300),
            Some(Box::new(teacher)),
        );
        demo.scene("one").unwrap();
        assert!(demo.pacer.is_some(), "Enter was read; still stepping");
        // The pause did not eat the lesson's time.
        demo.scripted_client("client", &["-c", "echo hi"], "")
            .unwrap();
        demo.expect("client", "hi").unwrap();
        demo.scene("two").unwrap();
        assert!(demo.pacer.is_none(), "end of input: no more pauses");
        demo.scene("three").unwrap();
        assert_eq!(demo.scenes, 3);
        demo.finish().unwrap();
    }
}
