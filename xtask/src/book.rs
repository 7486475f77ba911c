//! `cargo xtask check-book`: the book's promises, checked.
//!
//! mdBook itself says nothing about a missing anchor in `{{#include}}` (it warns, and the
//! chapter shows an empty block), a link to a chapter that moved, an image that was
//! never drawn, or a command that no longer exists. This command reads every Markdown
//! file under `docs/src` and checks that:
//!
//! 1. every `{{#include path:anchor}}` names a file that has the `ANCHOR: anchor` and
//!    `ANCHOR_END: anchor` lines (and line ranges stay inside the file);
//! 2. every relative link and image resolves to a file inside the book, and every
//!    `#fragment` to a heading of the target chapter;
//! 3. every command the book tells a student to type is real: `cargo run -p PKG -- ROLE`
//!    names a lesson package and one of its roles (from the `LESSONS` table), `cargo
//!    xtask CMD` a command xtask has (and `demo` a lesson it knows), any other command a
//!    tool the course uses (`ss`, `ip`, `tcpdump`, ...);
//! 4. then each lesson binary the book runs answers `ROLE --help`, and every `--flag`
//!    the book gives it appears in that help (this builds the lessons first);
//! 5. every command the book tells a student to type was run by someone: each `cargo run
//!    -p PKG -- ROLE --flags` by a test of that lesson, its demo scenario or its figure
//!    run (same role, same flag names), each `cargo xtask ...` by `.ci/run` or a test in
//!    `xtask/tests/` (see [`coverage`] for how runs are found, and the limits).
//!
//! Every problem is printed as `file:line: what is wrong`, and any problem makes the
//! command fail, so CI catches a book that drifted from the code.

pub mod coverage;

use crate::cargo::{self, workspace_root, Profile};
use crate::lessons::{self, LESSONS};
use anyhow::Context as _;
use coverage::XtaskCommand;
use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitCode};

/// The commands `cargo xtask` has, read from its command line definition.
pub fn xtask_commands() -> Vec<String> {
    use clap::CommandFactory as _;
    crate::Cli::command()
        .get_subcommands()
        .map(|command| command.get_name().to_string())
        .collect()
}

/// Programs the book may tell a student to run besides cargo: system tools the course
/// shows (and shell built-ins used around them).
pub const KNOWN_TOOLS: &str = "\
    atftp base64 busybox cat cd cmp cp curl dd diff dig echo export getent git grep \
    head hexdump in.tftpd ip kill ls mdbook mkdir mv nc ncat netstat nsenter od ping \
    printf ps python3 rm rustup seq sha256sum sleep socat ss stat sudo sysctl tail \
    tcpdump tee tftp tftpd time timeout touch tr truncate tshark unshare watch wc \
    wireshark xxd yes";

/// One thing wrong in the book, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// A command found in the book: `cargo run -p PKG -- ROLE ARGS`, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonCommand {
    pub file: PathBuf,
    pub line: usize,
    pub package: String,
    pub role: Option<String>,
    pub flags: Vec<String>,
}

/// Runs every check on the book under `root/docs/src`; prints problems; fails if any.
pub fn run(root: &Path) -> anyhow::Result<ExitCode> {
    let src = root.join("docs").join("src");
    let files = markdown_files(&src)?;
    let mut problems = Vec::new();
    let mut commands = Vec::new();
    let mut xtask_commands = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let found = check_file(&src, file, &text);
        problems.extend(found.problems);
        commands.extend(found.commands);
        xtask_commands.extend(found.xtask_commands);
    }
    // Step 4 only makes sense once the commands name real packages and roles.
    if problems.is_empty() {
        problems.extend(check_help(&commands)?);
    }
    // Step 5: reads the tests, demos, figures and CI script; runs nothing.
    let mut unrun = coverage::check_lesson_commands(root, &commands);
    unrun.extend(coverage::check_xtask_commands(root, &xtask_commands));
    let uncovered = unrun.len();
    problems.extend(unrun);
    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    for problem in &problems {
        println!(
            "{}:{}: {}",
            shown(&problem.file),
            problem.line,
            problem.message
        );
    }
    println!(
        "check-book: {} chapters, {} lesson commands and {} xtask commands checked ({} run by no test, demo, figure or CI step), {} problems",
        files.len(),
        commands.len(),
        xtask_commands.len(),
        uncovered,
        problems.len()
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every `.md` file under `dir`, sorted, recursively.
fn markdown_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(markdown_files(&path)?);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// What one chapter holds: its problems, and the lesson commands to ask `--help` about.
#[derive(Debug, Default)]
pub struct FileReport {
    pub problems: Vec<Problem>,
    pub commands: Vec<LessonCommand>,
    /// The `cargo xtask ...` commands, for step 5.
    pub xtask_commands: Vec<XtaskCommand>,
}

/// Checks one Markdown file (`text`, read from `file`, inside the book's `src`).
pub fn check_file(src: &Path, file: &Path, text: &str) -> FileReport {
    let mut report = FileReport::default();
    let dir = file.parent().unwrap_or(src);
    let mut problem = |line: usize, message: String| {
        report.problems.push(Problem {
            file: file.to_path_buf(),
            line,
            message,
        })
    };

    for (line, spec) in includes(text) {
        if let Err(message) = check_include(dir, &spec) {
            problem(line, message);
        }
    }
    for (line, target) in links(text) {
        if let Err(message) = check_link(src, file, &target) {
            problem(line, message);
        }
    }
    for (line, command) in commands(text) {
        match check_command(&command) {
            Ok(lessons) => {
                report
                    .commands
                    .extend(lessons.into_iter().map(|lesson| LessonCommand {
                        file: file.to_path_buf(),
                        line,
                        ..lesson
                    }));
                report
                    .xtask_commands
                    .extend(
                        coverage::xtask_args(&command)
                            .into_iter()
                            .map(|args| XtaskCommand {
                                file: file.to_path_buf(),
                                line,
                                args,
                            }),
                    );
            }
            Err(message) => problem(line, format!("`{command}`: {message}")),
        }
    }
    report
}

// ---- 1. includes --------------------------------------------------------------------

/// Every `{{#include ...}}` (and `#rustdoc_include`) with its line, not escaped with `\`.
pub fn includes(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let escaped = rest[..start].ends_with('\\');
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let inner = after[..end].trim();
            for keyword in ["include ", "rustdoc_include "] {
                if let Some(spec) = inner.strip_prefix(keyword) {
                    if !escaped {
                        out.push((index + 1, spec.trim().to_string()));
                    }
                }
            }
            rest = &after[end + 2..];
        }
    }
    out
}

/// `path`, `path:anchor`, `path:10`, `path:10:20`, `path::20`: the file must exist and
/// hold the anchor, or have the lines.
pub fn check_include(dir: &Path, spec: &str) -> Result<(), String> {
    let (path, selector) = match spec.split_once(':') {
        Some((path, selector)) => (path, Some(selector)),
        None => (spec, None),
    };
    let file = dir.join(path);
    let text = std::fs::read_to_string(&file)
        .map_err(|err| format!("{{{{#include {spec}}}}}: cannot read {path}: {err}"))?;
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let is_range = selector.chars().all(|c| c.is_ascii_digit() || c == ':');
    if is_range {
        let lines = text.lines().count();
        for number in selector.split(':').filter(|n| !n.is_empty()) {
            let number: usize = number
                .parse()
                .map_err(|_| format!("bad line number in {spec}"))?;
            if number > lines {
                return Err(format!(
                    "{{{{#include {spec}}}}}: {path} has only {lines} lines"
                ));
            }
        }
        return Ok(());
    }
    let has = |marker: &str| {
        text.lines().any(|line| {
            line.split_once(marker)
                .is_some_and(|(_, name)| name.trim() == selector)
        })
    };
    match (has("ANCHOR:"), has("ANCHOR_END:")) {
        (true, true) => Ok(()),
        (false, _) => Err(format!(
            "{{{{#include {spec}}}}}: {path} has no `ANCHOR: {selector}` line"
        )),
        (true, false) => Err(format!(
            "{{{{#include {spec}}}}}: {path} has `ANCHOR: {selector}` but no `ANCHOR_END: {selector}`"
        )),
    }
}

// ---- Markdown, read by pulldown-cmark (the parser mdBook itself uses) --------------

/// The Markdown extensions mdBook turns on (smart punctuation included: it changes what
/// a heading's text is, and so its id).
fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
}

/// `text`'s Markdown events, each with the line (from 1) where it starts.
fn events(text: &str) -> impl Iterator<Item = (usize, Event<'_>)> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    Parser::new_ext(text, markdown_options())
        .into_offset_iter()
        .map(move |(event, range)| (starts.partition_point(|&s| s <= range.start), event))
}

// ---- 2. links and images ------------------------------------------------------------

/// Every link and image target, with its line: Markdown links and images (inline or by
/// reference), and `src="..."` / `href="..."` in HTML. Code is not looked into.
pub fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (line, event) in events(text) {
        match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) if link_type != LinkType::Email => out.push((line, dest_url.into_string())),
            Event::Start(Tag::Image { dest_url, .. }) => out.push((line, dest_url.into_string())),
            Event::Html(html) | Event::InlineHtml(html) => {
                for attribute in ["src=\"", "href=\""] {
                    for (start, _) in html.match_indices(attribute) {
                        let value = &html[start + attribute.len()..];
                        let end = value.find('"').unwrap_or(value.len());
                        out.push((line, value[..end].to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A relative target must name a file inside the book's `src`; a `#fragment` must name
/// a heading of the target chapter. Web links are not fetched.
pub fn check_link(src: &Path, file: &Path, target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("empty link target".into());
    }
    if target.contains("://") || target.starts_with("mailto:") {
        return Ok(());
    }
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    };
    let dir = file.parent().unwrap_or(src);
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else {
        normalize(&dir.join(path))
    };
    if !resolved.starts_with(normalize(src)) {
        return Err(format!(
            "link to `{target}` leaves the book (docs/src): the built book would not have it; write the path as code instead"
        ));
    }
    if !resolved.is_file() {
        return Err(format!("link to `{target}`: no such file"));
    }
    if let Some(fragment) = fragment {
        if resolved.extension().is_some_and(|ext| ext == "md") {
            let text = std::fs::read_to_string(&resolved).unwrap_or_default();
            let ids = heading_ids(&text);
            if !ids.contains(fragment) {
                return Err(format!(
                    "link to `{target}`: no heading with id `{fragment}` there (ids: {})",
                    ids.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The ids mdBook gives a chapter's headings: [`slug`] of the heading's text, repeats
/// numbered `-1`, `-2`; a `{#custom-id}` wins.
pub fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    // The heading being read: its custom id, and its text so far.
    let mut heading: Option<(Option<String>, String)> = None;
    for (_, event) in events(text) {
        match (event, &mut heading) {
            (Event::Start(Tag::Heading { id, .. }), _) => {
                heading = Some((id.map(|id| id.into_string()), String::new()))
            }
            (Event::Text(part) | Event::Code(part), Some((_, title))) => title.push_str(&part),
            (Event::End(TagEnd::Heading(_)), Some((custom, title))) => {
                let id = match custom.take() {
                    Some(custom) => custom,
                    None => {
                        let id = slug(title);
                        let count = seen.entry(id.clone()).or_insert(0);
                        *count += 1;
                        match *count {
                            1 => id,
                            n => format!("{id}-{}", n - 1),
                        }
                    }
                };
                ids.insert(id);
                heading = None;
            }
            _ => {}
        }
    }
    ids
}

/// mdBook's `normalize_id`, applied to a heading's text: letters, digits, `_` and `-`
/// kept (lowercased), whitespace made `-`, everything else dropped.
pub fn slug(title: &str) -> String {
    title
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

// ---- 3. commands --------------------------------------------------------------------

/// Every command the book tells a student to type, with its line:
/// - in ```console blocks, the lines after a `$ ` prompt;
/// - in ```sh / ```bash / ```shell blocks, every line that is not a comment;
/// - in any other block, `$ ` lines, and lines that run `cargo run` or `cargo xtask`;
/// - in prose, inline code that starts with `cargo run` or `cargo xtask`.
pub fn commands(text: &str) -> Vec<(usize, String)> {
    let runs_a_lesson =
        |line: &str| line.starts_with("cargo run") || line.starts_with("cargo xtask");
    let mut out = Vec::new();
    let mut language: Option<String> = None; // inside a code block: its language
    for (first_line, event) in events(text) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                language = Some(match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split([',', ' ']).next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                })
            }
            Event::End(TagEnd::CodeBlock) => language = None,
            Event::Text(code) if language.is_some() => {
                for (index, line) in code.lines().enumerate() {
                    let trimmed = line.trim();
                    let prompted = trimmed.strip_prefix("$ ");
                    let command = match language.as_deref().unwrap_or("") {
                        "console" => prompted,
                        "sh" | "bash" | "shell" => prompted.or_else(|| {
                            (!trimmed.is_empty() && !trimmed.starts_with('#')).then_some(trimmed)
                        }),
                        _ => prompted.or_else(|| runs_a_lesson(trimmed).then_some(trimmed)),
                    };
                    if let Some(command) = command {
                        out.push((first_line + index, command.trim().to_string()));
                    }
                }
            }
            Event::Code(span) if runs_a_lesson(&span) => out.push((first_line, span.into_string())),
            _ => {}
        }
    }
    out
}

/// Splits a shell line into words (by `shlex`: quotes, escapes, `#` comments), with the
/// separators `|`, `;`, `&&`, `||`, `&` as words of their own and redirections
/// (`< file`, `>out`, `2>&1`) removed. `None` if the quotes do not close.
pub fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut skip_next = false;
    for word in shlex::split(line)? {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        // A redirection: digits, then `<` or `>` (doubled or not), then `&N` or a file
        // name, or nothing (the file is the next word).
        let operator = word.trim_start_matches(|c: char| c.is_ascii_digit());
        let target = operator.trim_start_matches(['<', '>']);
        if target.len() < operator.len() {
            skip_next = target.is_empty();
            continue;
        }
        match word.strip_suffix(';') {
            Some(rest) if !rest.is_empty() => words.extend([rest.to_string(), ";".to_string()]),
            _ => words.push(word),
        }
    }
    Some(words)
}

/// Checks one command line; returns the lesson commands in it (a pipe or `&&` may hold
/// two) for the `--help` check and step 5.
pub fn check_command(line: &str) -> Result<Vec<LessonCommand>, String> {
    let words = shell_words(line).ok_or("a quote is not closed: a shell would not run this")?;
    let mut lessons = Vec::new();
    for segment in words.split(|w| matches!(w.as_str(), "|" | ";" | "&&" | "||" | "&")) {
        let mut segment = segment;
        // `sudo`, `timeout 5` and `VAR=value` prefixes run the command after them.
        loop {
            match segment.first().map(String::as_str) {
                Some("sudo") => segment = &segment[1..],
                Some("timeout") if segment.len() > 1 => segment = &segment[2..],
                Some(word) if word.contains('=') && !word.starts_with('-') => {
                    segment = &segment[1..]
                }
                _ => break,
            }
        }
        let Some(program) = segment.first() else {
            continue;
        };
        if program == "cargo" {
            lessons.extend(check_cargo(&segment[1..])?);
        } else if !KNOWN_TOOLS.split_whitespace().any(|tool| tool == program) {
            return Err(format!(
                "`{program}` is not a lesson command nor a tool the book knows (add it to KNOWN_TOOLS in xtask/src/book.rs if it is real)"
            ));
        }
    }
    Ok(lessons)
}

/// `cargo run -p PKG [--release] -- ROLE ARGS`, `cargo xtask CMD ARGS`, or another cargo
/// subcommand (`build`, `test`, `clippy`, `fmt`, `doc`).
fn check_cargo(args: &[String]) -> Result<Option<LessonCommand>, String> {
    let Some(sub) = args.first() else {
        return Err("`cargo` with no subcommand".into());
    };
    match sub.as_str() {
        "xtask" => {
            // The book's words must be a command line xtask accepts (flags included).
            use clap::Parser as _;
            let words = std::iter::once("cargo xtask").chain(args[1..].iter().map(String::as_str));
            match crate::Cli::try_parse_from(words) {
                Ok(_) => {}
                Err(err) if !err.use_stderr() => {} // --help
                Err(err) => {
                    let first = err.to_string();
                    let first = first.lines().next().unwrap_or_default();
                    return Err(format!(
                        "`cargo xtask {}`: {}",
                        args[1..].join(" "),
                        first.trim_start_matches("error: ")
                    ));
                }
            }
            if args.get(1).is_some_and(|command| command == "demo") {
                let names: Vec<String> = args[2..]
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .cloned()
                    .collect();
                lessons::select(&names).map_err(|err| format!("{err:#}"))?;
            }
            Ok(None)
        }
        "run" => {
            let (before, after) = match args.iter().position(|a| a == "--") {
                Some(split) => (&args[1..split], &args[split + 1..]),
                None => (&args[1..], &args[args.len()..]),
            };
            let package = before
                .iter()
                .position(|a| a == "-p" || a == "--package")
                .and_then(|i| before.get(i + 1))
                .ok_or("`cargo run` without `-p PACKAGE`: say which lesson")?;
            let lesson = LESSONS.iter().find(|l| l.package == package);
            // A lesson being written may have its crate before its line in the table:
            // then its roles are checked by `ROLE --help` alone (step 4).
            if lesson.is_none() && coverage::folder_of(&workspace_root(), package).is_none() {
                let known: Vec<&str> = LESSONS.iter().map(|l| l.package).collect();
                return Err(format!(
                    "no lesson package `{package}` (lessons: {})",
                    known.join(", ")
                ));
            }
            let role = after.first().filter(|a| !a.starts_with('-')).cloned();
            if let (Some(role), Some(lesson)) = (&role, lesson) {
                if !lesson.roles.contains(&role.as_str()) {
                    return Err(format!(
                        "`{package}` has no role `{role}` (roles: {})",
                        lesson.roles.join(", ")
                    ));
                }
            }
            let flags = after
                .iter()
                .filter(|a| a.starts_with("--") && a.len() > 2)
                .map(|a| a.split('=').next().unwrap_or(a).to_string())
                .collect();
            Ok(Some(LessonCommand {
                file: PathBuf::new(),
                line: 0,
                package: package.clone(),
                role,
                flags,
            }))
        }
        "build" | "test" | "clippy" | "fmt" | "doc" | "check" | "install" => Ok(None),
        other => Err(format!("`cargo {other}`: not a command the course uses")),
    }
}

// ---- 4. --help ----------------------------------------------------------------------

/// Builds the lessons the book runs, asks each `ROLE --help`, and checks every flag the
/// book passes is in the help.
fn check_help(commands: &[LessonCommand]) -> anyhow::Result<Vec<Problem>> {
    let packages: BTreeSet<&str> = commands.iter().map(|c| c.package.as_str()).collect();
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let packages: Vec<&str> = packages.into_iter().collect();
    let bin_dir = cargo::build_bins(&packages, Profile::Debug, true)
        .context("the book's commands need the lessons to compile")?;
    let mut help: BTreeMap<(String, Option<String>), String> = BTreeMap::new();
    let mut problems = Vec::new();
    for command in commands {
        let key = (command.package.clone(), command.role.clone());
        if !help.contains_key(&key) {
            let exe = bin_dir.join(format!(
                "{}{}",
                command.package,
                std::env::consts::EXE_SUFFIX
            ));
            let mut run = Command::new(&exe);
            run.args(command.role.iter()).arg("--help");
            let output = run
                .output()
                .with_context(|| format!("cannot run {}", exe.display()))?;
            if !output.status.success() {
                problems.push(Problem {
                    file: command.file.clone(),
                    line: command.line,
                    message: format!(
                        "`{} {} --help` failed: {}",
                        command.package,
                        command.role.as_deref().unwrap_or(""),
                        String::from_utf8_lossy(&output.stderr).trim()
                    ),
                });
                help.insert(key, String::new());
                continue;
            }
            help.insert(
                key.clone(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
            );
        }
        let text = &help[&key];
        for flag in &command.flags {
            if !help_has_flag(text, flag) {
                problems.push(Problem {
                    file: command.file.clone(),
                    line: command.line,
                    message: format!(
                        "`cargo run -p {} -- {}` has no option `{flag}` (see its --help)",
                        command.package,
                        command.role.as_deref().unwrap_or("")
                    ),
                });
            }
        }
    }
    Ok(problems)
}

/// Whether clap's help text lists `flag` (as `--flag` followed by a space, `=`, `,`,
/// `[` or `<`, or at the end of a line).
pub fn help_has_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        let before_ok = help[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '-');
        let after = help[i + flag.len()..].chars().next();
        before_ok && after.is_none_or(|c| matches!(c, ' ' | '=' | ',' | '[' | '<' | '\n'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch book for one test, in a folder of its own.
    fn temp_book(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-book-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn includes_are_found_unless_escaped() {
        let text =
            "a\n{{#include ../x.rs:main}}\n\\{{#include nope.rs}}\n{{#rustdoc_include y.rs:2:4}}";
        assert_eq!(
            includes(text),
            [(2, "../x.rs:main".to_string()), (4, "y.rs:2:4".to_string())]
        );
    }

    #[test]
    fn an_include_needs_both_anchor_lines() {
        let dir = temp_book(
            "include",
            &[(
                "code.rs",
                "// ANCHOR: good\nfn a() {}\n// ANCHOR_END: good\n// ANCHOR: half\n",
            )],
        );
        assert_eq!(check_include(&dir, "code.rs:good"), Ok(()));
        assert_eq!(check_include(&dir, "code.rs"), Ok(()));
        assert_eq!(check_include(&dir, "code.rs:2:3"), Ok(()));
        let err = check_include(&dir, "code.rs:missing").unwrap_err();
        assert!(err.contains("no `ANCHOR: missing`"), "{err}");
        let err = check_include(&dir, "code.rs:half").unwrap_err();
        assert!(err.contains("no `ANCHOR_END: half`"), "{err}");
        let err = check_include(&dir, "code.rs:go").unwrap_err();
        assert!(
            err.contains("no `ANCHOR: go`"),
            "a prefix of an anchor is not the anchor: {err}"
        );
        assert!(check_include(&dir, "code.rs:9")
            .unwrap_err()
            .contains("only 4 lines"));
        assert!(check_include(&dir, "gone.rs:good")
            .unwrap_err()
            .contains("cannot read"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn links_in_prose_but_not_in_code() {
        let text = "See [tcp](tcp.md#opening) and ![fig](../figures/a.svg \"title\").\n\
                    `[not](a link)`\n```\n[nor](this)\n```\nBy [reference][ref], <https://x.org>.\n\
                    \n[ref]: other.md\n\n<img src=\"x.svg\">\n\n    [indented](code)\n";
        let got: Vec<(usize, String)> = links(text);
        let want = [
            (1, "tcp.md#opening"),
            (1, "../figures/a.svg"),
            (6, "other.md"),
            (6, "https://x.org"),
            (10, "x.svg"),
        ];
        assert_eq!(got, want.map(|(line, t)| (line, t.to_string())));
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        assert_eq!(
            slug("Encapsulation on a real datagram"),
            "encapsulation-on-a-real-datagram"
        );
        assert_eq!(slug("TIME_WAIT, and why 2 MSL"), "time_wait-and-why-2-msl");
        assert_eq!(slug("UDP, and TCP vs UDP"), "udp-and-tcp-vs-udp");
        assert_eq!(
            slug("Client/server and browser/server"),
            "clientserver-and-browserserver"
        );
        assert_eq!(slug("--trace"), "--trace");
        assert_eq!(slug("Ünïcode ok"), "ünïcode-ok");
        let ids = heading_ids(
            "# Try it\ntext\n## Try it\n```\n# not a heading\n```\n### `ss` output\n\
             ## Custom {#mine}\n## See [the RFC](https://x.org) now\nSetext\n---\n## Try it\n\
             ## Watching loss: `--drop`\n## Bob's \"test\" -- done...",
        );
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(
            ids,
            [
                "bobs-test--done",
                "mine",
                "see-the-rfc-now",
                "setext",
                "ss-output",
                "try-it",
                "try-it-1",
                "try-it-2",
                "watching-loss---drop"
            ]
        );
    }

    #[test]
    fn links_must_resolve_inside_the_book() {
        let dir = temp_book(
            "links",
            &[
                ("src/a.md", "# Top\n## Part two\n"),
                ("src/sub/b.md", "x"),
                ("src/figures/f.svg", "<svg/>"),
                ("outside.rs", "x"),
            ],
        );
        let src = dir.join("src");
        let b = src.join("sub/b.md");
        assert_eq!(check_link(&src, &b, "../a.md"), Ok(()));
        assert_eq!(check_link(&src, &b, "../a.md#part-two"), Ok(()));
        assert_eq!(check_link(&src, &b, "../figures/f.svg"), Ok(()));
        assert_eq!(
            check_link(&src, &b, "https://www.rfc-editor.org/rfc/rfc1350"),
            Ok(())
        );
        assert!(check_link(&src, &b, "../a.md#part-three")
            .unwrap_err()
            .contains("no heading"));
        assert!(check_link(&src, &b, "c.md")
            .unwrap_err()
            .contains("no such file"));
        assert!(check_link(&src, &b, "../../outside.rs")
            .unwrap_err()
            .contains("leaves the book"));
        assert!(check_link(&src, &src.join("a.md"), "#top").is_ok());
        assert!(check_link(&src, &src.join("a.md"), "#bottom").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn commands_are_found_where_a_student_would_type_them() {
        let text = "Run `cargo run -p tcp-basic -- server` now.\n\
                    ```console\n$ ss -tan\nState  Recv-Q\n```\n\
                    ```sh\n# a comment\nip addr\n```\n\
                    ```text\ncargo xtask demo 01     # terminal 1\nlistening on 127.0.0.1:8888\n```\n\
                    ```rust\nlet x = 1;\n```";
        let got: Vec<(usize, String)> = commands(text);
        let lines: Vec<&str> = got.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(
            lines,
            [
                "cargo run -p tcp-basic -- server",
                "ss -tan",
                "ip addr",
                "cargo xtask demo 01     # terminal 1"
            ]
        );
        assert_eq!(got[0].0, 1);
        assert_eq!(got[1].0, 3);
    }

    #[test]
    fn shell_words_split_pipes_and_drop_redirections() {
        assert_eq!(
            shell_words("printf 'one\\ntwo|x\\n' | cargo run -p tcp-basic -- burst 2>&1 # hi")
                .unwrap(),
            [
                "printf",
                "one\\ntwo|x\\n",
                "|",
                "cargo",
                "run",
                "-p",
                "tcp-basic",
                "--",
                "burst"
            ]
        );
        assert_eq!(
            shell_words("cargo run -p tcp-basic -- client < /dev/null >out.txt && ss -tan; ls")
                .unwrap(),
            [
                "cargo",
                "run",
                "-p",
                "tcp-basic",
                "--",
                "client",
                "&&",
                "ss",
                "-tan",
                ";",
                "ls"
            ]
        );
        assert_eq!(
            shell_words("tshark -i lo -f \"udp port 6969\"").unwrap(),
            ["tshark", "-i", "lo", "-f", "udp port 6969"]
        );
        assert_eq!(shell_words("echo 'open"), None);
        assert!(
            check_command("echo 'open | cargo run -p tcp-basic -- server")
                .unwrap_err()
                .contains("quote")
        );
    }

    #[test]
    fn lesson_commands_name_a_real_package_role_and_flags() {
        let found =
            check_command("echo hi | cargo run -p tcp-basic -- client --trace --addr=127.0.0.1:1")
                .unwrap()
                .remove(0);
        assert_eq!(found.package, "tcp-basic");
        assert_eq!(found.role.as_deref(), Some("client"));
        assert_eq!(found.flags, ["--trace", "--addr"]);
        assert_eq!(
            check_command("cargo run -p tcp-basic -- --help").unwrap()[0].role,
            None
        );
        let err = check_command("cargo run -p tcp-basics -- server").unwrap_err();
        assert!(err.contains("no lesson package `tcp-basics`"), "{err}");
        let err = check_command("cargo run -p tcp-basic -- serve").unwrap_err();
        assert!(
            err.contains("no role `serve`") && err.contains("server, client"),
            "{err}"
        );
        assert!(check_command("cargo run -- server")
            .unwrap_err()
            .contains("-p PACKAGE"));
    }

    #[test]
    fn xtask_and_tool_commands() {
        assert_eq!(check_command("cargo xtask demo 01"), Ok(vec![]));
        assert_eq!(check_command("cargo xtask check-book"), Ok(vec![]));
        assert!(check_command("cargo xtask demo 99")
            .unwrap_err()
            .contains("no lesson called"));
        assert!(check_command("cargo xtask deploy")
            .unwrap_err()
            .contains("unrecognized subcommand 'deploy'"));
        assert_eq!(
            check_command("sudo tcpdump -i lo -n 'udp port 8080'"),
            Ok(vec![])
        );
        assert_eq!(
            check_command("ss -tan 'sport = :8888 or dport = :8888'"),
            Ok(vec![])
        );
        assert!(check_command("netcatt 127.0.0.1 8888")
            .unwrap_err()
            .contains("`netcatt`"));
        assert!(check_command("cargo frobnicate").is_err());
    }

    #[test]
    fn xtask_commands_come_from_its_command_line() {
        let commands = xtask_commands();
        for command in ["list", "demo", "bench", "check-book", "figures"] {
            assert!(commands.iter().any(|c| c == command), "{commands:?}");
        }
        assert!(check_command("cargo xtask demo --step 01").is_ok());
        assert!(check_command("cargo xtask bench tftp --quick --timeout 5s").is_ok());
        let err = check_command("cargo xtask bench tftp --timeout 5").unwrap_err();
        assert!(err.contains("no unit"), "{err}");
        let err = check_command("cargo xtask figures --chek").unwrap_err();
        assert!(err.contains("--chek"), "{err}");
    }

    #[test]
    fn help_flags_match_whole_words() {
        let help = "Options:\n      --addr <ADDR>  where\n      --trace\n      --trace-all  x\n  -h, --help";
        assert!(help_has_flag(help, "--addr"));
        assert!(help_has_flag(help, "--trace"));
        assert!(help_has_flag(help, "--help"));
        assert!(!help_has_flag(help, "--tra"));
        assert!(!help_has_flag(help, "--backlog"));
    }

    #[test]
    fn a_whole_chapter_reports_each_problem_with_its_line() {
        let dir = temp_book("chapter", &[
            ("src/ok.md", "# Ok\n"),
            (
                "src/ch.md",
                "# Ch\n[good](ok.md)\n[bad](nope.md)\n```console\n$ cargo run -p tcp-basic -- sever\n```\n",
            ),
        ]);
        let src = dir.join("src");
        let file = src.join("ch.md");
        let text = std::fs::read_to_string(&file).unwrap();
        let report = check_file(&src, &file, &text);
        let got: Vec<(usize, bool)> = report
            .problems
            .iter()
            .map(|p| {
                (
                    p.line,
                    p.message.contains("nope.md") || p.message.contains("sever"),
                )
            })
            .collect();
        assert_eq!(got, [(3, true), (5, true)]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
