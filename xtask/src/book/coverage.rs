//! Step 5 of `check-book`: every command the book tells a student to type was run by
//! someone. A lesson command (`cargo run -p PKG -- ROLE --flag value ...`) must be run,
//! with the same role and the same set of flag names (values may differ: tests use
//! their own ports, files and rates), by one of:
//!
//! - a test of that lesson: `lessons/NN-name/tests/**/*.rs`, and `lessons/NN-name/src/**/*.rs`
//!   files that spawn the binary (they mention `CARGO_BIN_EXE_`);
//! - its demo scenario, `xtask/src/scenarios/<package_with_underscores>.rs` (CI runs
//!   `cargo xtask demo`);
//! - its `fn run_<package_with_underscores>` in `xtask/src/figures.rs` (CI runs
//!   `cargo xtask figures --check`, which runs the lessons with `--trace`).
//!
//! A `cargo xtask ...` command must be run by `.ci/run` or by a test in `xtask/tests/`.
//!
//! # How invocations are found: a heuristic on Rust's tokens
//!
//! The Rust files are lexed into token trees by `proc-macro2` (string literals,
//! identifiers, punctuation, bracket groups; comments dropped). Then:
//!
//! 1. A `[...]` group that holds a role as a string literal, directly (not inside a
//!    nested group), is a run of that role; its flags are every `"--flag"` literal
//!    anywhere inside the group, nested groups included:
//!    `["burst", "--addr", &addr, "--framing", "none"]`.
//! 2. A `(...)` group that holds a role literal directly counts too if it also holds a
//!    `[...]` group (the role and an argument array passed along together, as in
//!    `client("get", addr, &dir, &["x", "--timeout", "0.05"])`); without one it is most
//!    likely a name or a needle (`demo.expect("server", "left")`) and does not count.
//! 3. A chain of `.arg(...)` / `.args(...)` calls is one group:
//!    `.arg("server").arg("--root").arg(&root).args(["--addr", "127.0.0.1:0"])`.
//! 4. A helper: a `fn NAME` whose body runs exactly one role (by 1-3), like
//!    `fn server(addr: &str, extra: &[&str])` building `vec!["server", "--addr", addr]`.
//!    Each call `NAME(...)` in the same lesson's files is a run of that role with the
//!    body's flags plus every `"--flag"` literal in the call's arguments.
//!
//! Limits, on purpose: flags built at run time (`format!("--{name}")`), roles chosen in
//! a block (`if put { "put" } else { "get" }`), arguments added in a later statement
//! (`command.args(extra)` after the chain ended), helpers of helpers, and two helpers of
//! one name (both free functions, or both methods) in one lesson's files (the last one read wins) are not seen
//! (under-counting: the checker then asks for a test that is already there, which is
//! fixed by writing the arguments as one list); a flag literal that sits in a group only
//! conditionally, a role in a list of roles (`for role in ["get", "put"]`), or an
//! invocation that a test expects to fail (`server --drop 30` must be refused) still
//! counts as a run of that role with those flags (over-counting).
//! Nothing checks that the test asserts what the book says the command shows: that is
//! for the reviewer of the test.

use super::{shell_words, LessonCommand, Problem};
use crate::lessons::LESSONS;
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Flags that count as given on both sides, whether or not they are: tests must use port
/// 0 where the book shows the fixed default ports (`--addr`; chat's `--bind` and
/// `--peer`; broadcast's `--to`, whose default 127.255.255.255:6868 is a fixed port too,
/// and which tests may only point at loopback or a network namespace of their own) and
/// temporary folders where the book shows a real one (tftp's `--root`), so a test adds
/// these flags where the book leaves them out; and `--help` is run by this checker
/// itself (step 4).
pub const ALWAYS_SATISFIED: &[&str] = &["--addr", "--bind", "--peer", "--to", "--root", "--help"];

/// `cargo xtask bench` options that only change how much is measured (the same code
/// runs): `.ci/run`'s `bench tftp --quick --mib 1 --timeout 5s` is the book's `bench tftp`.
pub const BENCH_SIZE_KNOBS: &[&str] = &["--quick", "--runs", "--mib", "--timeout"];

/// One run of a role found in the code: which role, with which flag names, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub role: String,
    pub flags: BTreeSet<String>,
    /// `path:line` of the role literal (for messages).
    pub at: String,
}

// ---- tokens and groups --------------------------------------------------------------

/// A Rust token tree, cut down to what the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// A string literal's value, with its line.
    Str(String, usize),
    Ident(String, usize),
    Punct(char),
    Group(char, Vec<Node>),
    /// Any other literal (numbers, chars, byte strings).
    Other,
}

/// Rust source as token trees, lexed by `proc-macro2` (the lexer syn and every derive
/// macro use): comments dropped, doc comments and strings of every kind read as Rust
/// reads them. A file that does not lex (it would not compile either) gives nothing.
fn parse(source: &str) -> Vec<Node> {
    source.parse::<TokenStream>().map(nodes).unwrap_or_default()
}

fn nodes(tokens: TokenStream) -> Vec<Node> {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => Node::Group(
                match group.delimiter() {
                    Delimiter::Parenthesis => '(',
                    Delimiter::Bracket => '[',
                    Delimiter::Brace => '{',
                    Delimiter::None => ' ',
                },
                nodes(group.stream()),
            ),
            TokenTree::Ident(ident) => Node::Ident(ident.to_string(), ident.span().start().line),
            TokenTree::Punct(punct) => Node::Punct(punct.as_char()),
            TokenTree::Literal(literal) => {
                let line = literal.span().start().line;
                match syn::Lit::new(literal) {
                    syn::Lit::Str(text) => Node::Str(text.value(), line),
                    _ => Node::Other,
                }
            }
        })
        .collect()
}

// ---- invocations --------------------------------------------------------------------

/// Every string literal anywhere in `items` (nested groups included).
fn literals(items: &[Node], out: &mut Vec<(String, usize)>) {
    for item in items {
        match item {
            Node::Str(text, line) => out.push((text.clone(), *line)),
            Node::Group(_, inner) => literals(inner, out),
            _ => {}
        }
    }
}

/// The flag names among `items`' literals: `--name` (and `--name=value` as `--name`).
fn flags_in(items: &[Node]) -> BTreeSet<String> {
    let mut all = Vec::new();
    literals(items, &mut all);
    all.into_iter()
        .filter(|(text, _)| text.starts_with("--") && text.len() > 2 && !text.contains(' '))
        .map(|(text, _)| text.split('=').next().unwrap_or(&text).to_string())
        .collect()
}

/// The runs in one list of items (rules 1-3 of the module docs), nested groups included.
fn direct_invocations(items: &[Node], roles: &[&str], file: &str, out: &mut Vec<Invocation>) {
    let mut i = 0;
    while i < items.len() {
        // Rule 3: `.arg(..)` / `.args(..)` chains, merged into one list.
        if is_arg_call(items, i) {
            // The arguments of every call, flattened into one list: `.arg("server")` gives
            // its literal, `.args(["--addr", a])` or `.args(&[..])` the array's items.
            let mut merged = Vec::new();
            let mut j = i;
            while is_arg_call(items, j) {
                if let Node::Group(_, inner) = &items[j + 2] {
                    match inner.as_slice() {
                        [Node::Group('[', array)] | [Node::Punct('&'), Node::Group('[', array)] => {
                            merged.extend(array.iter().cloned())
                        }
                        _ => merged.extend(inner.iter().cloned()),
                    }
                }
                j += 3;
            }
            add_group('[', &merged, roles, file, out);
            // Groups nested in the arguments are still looked into on their own.
            direct_invocations(&merged, roles, file, out);
            i = j;
            continue;
        }
        if let Node::Group(open, inner) = &items[i] {
            add_group(*open, inner, roles, file, out);
            direct_invocations(inner, roles, file, out);
        }
        i += 1;
    }
}

/// Whether `items[i..]` starts with `.arg(` or `.args(`.
fn is_arg_call(items: &[Node], i: usize) -> bool {
    matches!(
        (items.get(i), items.get(i + 1), items.get(i + 2)),
        (Some(Node::Punct('.')), Some(Node::Ident(name, _)), Some(Node::Group('(', _)))
            if name == "arg" || name == "args"
    )
}

/// Rules 1 and 2: one group, if it holds a role literal directly.
fn add_group(open: char, items: &[Node], roles: &[&str], file: &str, out: &mut Vec<Invocation>) {
    let counts = match open {
        '[' => true,
        '(' => items.iter().any(|n| matches!(n, Node::Group('[', _))),
        _ => false,
    };
    if !counts {
        return;
    }
    let mut seen = BTreeSet::new();
    for item in items {
        if let Node::Str(text, line) = item {
            if roles.contains(&text.as_str()) && seen.insert(text.clone()) {
                out.push(Invocation {
                    role: text.clone(),
                    flags: flags_in(items),
                    at: format!("{file}:{line}"),
                });
            }
        }
    }
}

/// Rule 4, first half: `fn NAME ... { body }` whose body runs exactly one role.
/// Helpers are keyed by name and by whether they are methods (`fn server(&self)` is
/// called as `x.server()`, a free `fn server(addr)` as `server(addr)`).
type Helpers = BTreeMap<(String, bool), Invocation>;

fn helpers(items: &[Node], roles: &[&str], out: &mut Helpers) {
    for (i, item) in items.iter().enumerate() {
        if let (Node::Ident(keyword, _), Some(Node::Ident(name, _))) = (item, items.get(i + 1)) {
            if keyword == "fn" {
                let method = items[i + 2..]
                    .iter()
                    .find_map(|n| match n {
                        Node::Group('(', params) => Some(params),
                        _ => None,
                    })
                    .is_some_and(|params| {
                        params
                            .iter()
                            .take_while(|n| **n != Node::Punct(','))
                            .any(|n| matches!(n, Node::Ident(word, _) if word == "self"))
                    });
                let body = items[i + 2..].iter().find_map(|n| match n {
                    Node::Group('{', body) => Some(body),
                    _ => None,
                });
                if let Some(body) = body {
                    let mut runs = Vec::new();
                    direct_invocations(body, roles, "", &mut runs);
                    let distinct: BTreeSet<&str> = runs.iter().map(|r| r.role.as_str()).collect();
                    if distinct.len() == 1 {
                        let flags = runs.iter().flat_map(|r| r.flags.clone()).collect();
                        out.insert(
                            (name.clone(), method),
                            Invocation {
                                role: runs[0].role.clone(),
                                flags,
                                at: String::new(),
                            },
                        );
                    }
                }
            }
        }
        if let Node::Group(_, inner) = item {
            helpers(inner, roles, out);
        }
    }
}

/// Rule 4, second half: each call of a helper, with the flags of its arguments.
fn helper_calls(items: &[Node], helpers: &Helpers, file: &str, out: &mut Vec<Invocation>) {
    for (i, item) in items.iter().enumerate() {
        if let (Node::Ident(name, line), Some(Node::Group('(', args))) = (item, items.get(i + 1)) {
            let is_definition = i > 0 && matches!(&items[i - 1], Node::Ident(k, _) if k == "fn");
            let method = i > 0 && items[i - 1] == Node::Punct('.');
            let helper = helpers.get(&(name.clone(), method));
            if let (Some(helper), false) = (helper, is_definition) {
                let mut flags = helper.flags.clone();
                flags.extend(flags_in(args));
                out.push(Invocation {
                    role: helper.role.clone(),
                    flags,
                    at: format!("{file}:{line} (via {name})"),
                });
            }
        }
        if let Node::Group(_, inner) = item {
            helper_calls(inner, helpers, file, out);
        }
    }
}

/// Every run of `roles` in these sources (`(name for messages, Rust source)`); helpers
/// defined in one source are seen in all of them (tests/common/mod.rs).
pub fn invocations(sources: &[(String, String)], roles: &[&str]) -> Vec<Invocation> {
    let trees: Vec<(&str, Vec<Node>)> = sources
        .iter()
        .map(|(name, text)| (name.as_str(), parse(text)))
        .collect();
    let mut known = BTreeMap::new();
    for (_, tree) in &trees {
        helpers(tree, roles, &mut known);
    }
    let mut out = Vec::new();
    for (name, tree) in &trees {
        direct_invocations(tree, roles, name, &mut out);
        helper_calls(tree, &known, name, &mut out);
    }
    out
}

/// `source` with only the function `fn NAME` left (its lines, from `fn` to its closing
/// brace; the other lines blank, so line numbers stay right), or `None` if there is no
/// such function.
pub fn function_source(source: &str, name: &str) -> Option<String> {
    fn find(tokens: TokenStream, name: &str) -> Option<(usize, usize)> {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match (tree, trees.get(i + 1)) {
                (TokenTree::Ident(keyword), Some(TokenTree::Ident(found)))
                    if keyword == "fn" && found == name =>
                {
                    let body = trees[i + 2..].iter().find_map(|tree| match tree {
                        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(g),
                        _ => None,
                    })?;
                    return Some((keyword.span().start().line, body.span().end().line));
                }
                (TokenTree::Group(group), _) => {
                    if let Some(found) = find(group.stream(), name) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        None
    }
    let (first, last) = find(source.parse().ok()?, name)?;
    let kept = source.lines().enumerate().map(|(index, line)| {
        if (first..=last).contains(&(index + 1)) {
            line
        } else {
            ""
        }
    });
    Some(kept.collect::<Vec<_>>().join("\n"))
}

// ---- what is covered ----------------------------------------------------------------

/// The flags of a book command that a run must also have.
pub fn required_flags(flags: &[String]) -> BTreeSet<String> {
    flags
        .iter()
        .filter(|f| !ALWAYS_SATISFIED.contains(&f.as_str()))
        .cloned()
        .collect()
}

/// Whether one of `runs` is the book's `role` with exactly the book's flags (both sides
/// without the always-satisfied ones).
pub fn covers(runs: &[Invocation], role: &str, flags: &[String]) -> bool {
    let wanted = required_flags(flags);
    runs.iter().any(|run| {
        let have: BTreeSet<String> = run
            .flags
            .iter()
            .filter(|f| !ALWAYS_SATISFIED.contains(&f.as_str()))
            .cloned()
            .collect();
        run.role == role && have == wanted
    })
}

/// The Rust sources that may run lesson `package` (see the module docs), read from the
/// workspace at `root`, as `(path relative to root, text)`.
pub fn lesson_sources(root: &Path, package: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(folder) = LESSONS
        .iter()
        .find(|l| l.package == package)
        .map(|l| l.folder())
        .or_else(|| folder_of(root, package))
    else {
        return out;
    };
    let lesson = root.join("lessons").join(&folder);
    for path in rust_files(&lesson.join("tests")) {
        push_source(root, &path, &mut out);
    }
    for path in rust_files(&lesson.join("src")) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("CARGO_BIN_EXE_") {
            push_source(root, &path, &mut out);
        }
    }
    let underscored = package.replace('-', "_");
    let scenario = root
        .join("xtask/src/scenarios")
        .join(format!("{underscored}.rs"));
    push_source(root, &scenario, &mut out);
    let figures = root.join("xtask/src/figures.rs");
    if let Ok(text) = std::fs::read_to_string(&figures) {
        if let Some(body) = function_source(&text, &format!("run_{underscored}")) {
            out.push((format!("xtask/src/figures.rs (fn run_{underscored})"), body));
        }
    }
    out
}

/// A lesson folder not (yet) in the LESSONS table, found by its package name.
pub fn folder_of(root: &Path, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    std::fs::read_dir(root.join("lessons"))
        .ok()?
        .flatten()
        .find(|entry| {
            std::fs::read_to_string(entry.path().join("Cargo.toml"))
                .is_ok_and(|m| m.lines().any(|l| l.trim() == wanted))
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
}

fn push_source(root: &Path, path: &Path, out: &mut Vec<(String, String)>) {
    if let Ok(text) = std::fs::read_to_string(path) {
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        out.push((name, text));
    }
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The roles a lesson command may name: the table's, or (for a lesson not yet in the
/// table) the book's own role words.
fn roles_of(package: &str, commands: &[LessonCommand]) -> Vec<String> {
    if let Some(lesson) = LESSONS.iter().find(|l| l.package == package) {
        return lesson.roles.iter().map(|r| r.to_string()).collect();
    }
    let roles: BTreeSet<String> = commands
        .iter()
        .filter(|c| c.package == package)
        .filter_map(|c| c.role.clone())
        .collect();
    roles.into_iter().collect()
}

/// Step 5 for lesson commands: a problem for each book command no test, demo or figure
/// runs.
pub fn check_lesson_commands(root: &Path, commands: &[LessonCommand]) -> Vec<Problem> {
    let mut runs_of: BTreeMap<&str, Vec<Invocation>> = BTreeMap::new();
    let mut problems = Vec::new();
    for command in commands {
        // `cargo run -p PKG -- --help`: no role; step 4 ran it.
        let Some(role) = &command.role else {
            continue;
        };
        let runs = runs_of.entry(command.package.as_str()).or_insert_with(|| {
            let roles = roles_of(&command.package, commands);
            let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
            invocations(&lesson_sources(root, &command.package), &roles)
        });
        if covers(runs, role, &command.flags) {
            continue;
        }
        let wanted = required_flags(&command.flags);
        let shown = if wanted.is_empty() {
            format!("no flags (other than {})", ALWAYS_SATISFIED.join(" "))
        } else {
            wanted.into_iter().collect::<Vec<_>>().join(" ")
        };
        let tried: BTreeSet<String> = runs
            .iter()
            .filter(|r| &r.role == role)
            .map(|r| {
                let flags = required_flags(&r.flags.iter().cloned().collect::<Vec<_>>());
                format!("[{}]", flags.into_iter().collect::<Vec<_>>().join(" "))
            })
            .collect();
        problems.push(Problem {
            file: command.file.clone(),
            line: command.line,
            message: format!(
                "`cargo run -p {} -- {role}` with {shown} is run by no test, demo or figure of the lesson \
                 (runs of `{role}` found with: {}); add a test that runs it (tests/book_commands.rs) or fix the book",
                command.package,
                if tried.is_empty() { "none".to_string() } else { tried.into_iter().collect::<Vec<_>>().join(", ") }
            ),
        });
    }
    problems
}

// ---- cargo xtask commands -----------------------------------------------------------

/// A `cargo xtask ...` command in the book: its words after `xtask`, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XtaskCommand {
    pub file: PathBuf,
    pub line: usize,
    pub args: Vec<String>,
}

/// Every `cargo xtask ...` in a command line (after pipes, `&&`, `sudo` and the like).
pub fn xtask_args(line: &str) -> Vec<Vec<String>> {
    let words = shell_words(line).unwrap_or_default();
    words
        .split(|w| matches!(w.as_str(), "|" | ";" | "&&" | "||" | "&"))
        .filter_map(|segment| {
            let start = segment
                .windows(2)
                .position(|pair| pair[0] == "cargo" && pair[1] == "xtask")?;
            Some(segment[start + 2..].to_vec())
        })
        .collect()
}

/// The runs of xtask that CI and xtask's own tests make: `.ci/run`'s `cargo xtask` lines
/// (exact words) and the argument lists of `xtask/tests/*.rs` (by the heuristic above,
/// with xtask's commands as the roles; every literal kept, not only flags).
pub fn xtask_runs(root: &Path) -> Vec<Vec<String>> {
    let mut runs = Vec::new();
    if let Ok(ci) = std::fs::read_to_string(root.join(".ci/run")) {
        for line in ci.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') {
                continue;
            }
            runs.extend(xtask_args(trimmed));
        }
    }
    for path in rust_files(&root.join("xtask/tests")) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            runs.extend(xtask_test_runs(&text));
        }
    }
    runs
}

/// The argument lists in an xtask test that start with one of xtask's commands.
pub fn xtask_test_runs(source: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let commands = super::xtask_commands();
    fn walk(items: &[Node], commands: &[String], out: &mut Vec<Vec<String>>) {
        for item in items {
            if let Node::Group(open, inner) = item {
                let words: Vec<String> = inner
                    .iter()
                    .filter_map(|n| match n {
                        Node::Str(text, _) => Some(text.clone()),
                        _ => None,
                    })
                    .collect();
                if *open == '[' && words.first().is_some_and(|w| commands.contains(w)) {
                    out.push(words);
                }
                walk(inner, commands, out);
            }
        }
    }
    walk(&parse(source), &commands, &mut out);
    out
}

/// Whether one of `runs` runs the book's `cargo xtask ARGS`:
/// - `demo LESSON...`: a `demo` run with no lesson (it runs them all) or with each one;
/// - anything else: the same words, flags compared as a set, except that `bench`'s size
///   knobs (`--quick`, `--runs N`, ...) are ignored on both sides, with their values.
pub fn xtask_covered(runs: &[Vec<String>], args: &[String]) -> bool {
    let Some(command) = args.first() else {
        // `cargo xtask` alone prints the usage: nothing to run.
        return true;
    };
    if command == "demo" {
        let demos: Vec<&[String]> = runs
            .iter()
            .filter(|r| r.first().is_some_and(|c| c == "demo"))
            .map(|r| &r[1..])
            .collect();
        let all = demos.iter().any(|lessons| lessons.is_empty());
        let wanted = &args[1..];
        return all
            || !wanted.is_empty()
                && wanted
                    .iter()
                    .all(|lesson| demos.iter().any(|lessons| lessons.contains(lesson)));
    }
    let normal = |words: &[String]| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut skip_value = false;
        for word in words {
            if skip_value {
                skip_value = false;
                continue;
            }
            if words[0] == "bench" && BENCH_SIZE_KNOBS.contains(&word.as_str()) {
                skip_value = word != "--quick";
                continue;
            }
            out.insert(word.clone());
        }
        out
    };
    let wanted = normal(args);
    runs.iter().any(|run| normal(run) == wanted)
}

/// Step 5 for xtask commands.
pub fn check_xtask_commands(root: &Path, commands: &[XtaskCommand]) -> Vec<Problem> {
    let runs = xtask_runs(root);
    commands
        .iter()
        .filter(|c| !xtask_covered(&runs, &c.args))
        .map(|c| Problem {
            file: c.file.clone(),
            line: c.line,
            message: format!(
                "`cargo xtask {}` is run neither by .ci/run nor by a test in xtask/tests/",
                c.args.join(" ")
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: &[&str] = &["server", "client", "burst", "get", "put"];

    fn runs(source: &str) -> Vec<(String, Vec<String>)> {
        invocations(&[("t.rs".to_string(), source.to_string())], ROLES)
            .into_iter()
            .map(|r| (r.role, r.flags.into_iter().collect()))
            .collect()
    }

    fn run(role: &str, flags: &[&str]) -> (String, Vec<String>) {
        (
            role.to_string(),
            flags.iter().map(|f| f.to_string()).collect(),
        )
    }

    #[test]
    fn an_array_with_a_role_is_a_run_with_its_flag_literals() {
        let got = runs(r#"let a = ["burst", "--addr", &addr, "--framing", "none"];"#);
        assert_eq!(got, [run("burst", &["--addr", "--framing"])]);
        let got = runs(r#"x(&["server", "--addr", "127.0.0.1:0", "--workers=2"])"#);
        assert_eq!(got, [run("server", &["--addr", "--workers"])]);
        // Flags in a nested group of the same list count; values are not flags.
        let got = runs(r#"demo.client("get", &["get", &a, &format!("{}", "--x"), "-- not"])"#);
        assert!(got.contains(&run("get", &["--x"])), "{got:?}");
    }

    #[test]
    fn a_call_with_a_role_counts_only_with_an_argument_array() {
        let got = runs(r#"client("put", addr, &dir, &["t.txt", "--mode", "netascii"]);"#);
        assert_eq!(got, [run("put", &["--mode"])]);
        // A name or a needle is not a run.
        assert!(runs(r#"demo.expect("server", "left --trace")?;"#).is_empty());
        assert!(runs(r#"Program::spawn("server", command(&args))"#).is_empty());
        // Nor is a role in a comment, a doc string, a block or an unrelated literal.
        assert!(runs("// [\"server\", \"--trace\"]\n/* [\"client\"] */").is_empty());
        assert!(runs(r#"let s = "cargo run -p x -- server --trace";"#).is_empty());
        assert!(runs(r#"cmd.arg(if put { "put" } else { "get" });"#).is_empty());
        assert!(runs(r#"let c = '"'; let d = ["servers", "--trace"];"#).is_empty());
    }

    #[test]
    fn an_arg_chain_is_one_list() {
        let got = runs(
            r#"command.arg("server").arg("--root").arg(&root).args(["--addr", "127.0.0.1:0", "--allow-write"]);"#,
        );
        assert_eq!(got, [run("server", &["--addr", "--allow-write", "--root"])]);
        // A later statement is not part of the chain (a documented limit).
        let got = runs(r#"command.arg("get"); command.args(["--trace"]);"#);
        assert_eq!(got, [run("get", &[])]);
    }

    #[test]
    fn a_helper_that_runs_one_role_carries_it_to_its_calls() {
        let source = r#"
            fn server(addr: &str, extra: &[&str]) -> (Program, SocketAddr) {
                let mut args = vec!["server", "--addr", addr];
                args.extend_from_slice(extra);
                start_ready("server", tcp_basic(&args), WAIT).unwrap()
            }
            #[test]
            fn t() {
                let (s, a) = server("127.0.0.1:0", &["--framing", "none"]);
                let (s, a) = server("127.0.0.1:0", &[]);
            }
        "#;
        let got = runs(source);
        assert!(
            got.contains(&run("server", &["--addr", "--framing"])),
            "{got:?}"
        );
        assert!(got.contains(&run("server", &["--addr"])), "{got:?}");
        // A method of the same name is another helper, called with a dot.
        let both = format!(
            "{source} impl Limited {{ fn server(&self) -> Command {{ c.args([\"server\", \"--nproc\"]); }} }}\n\
             fn u() {{ let s = limited.server(); }}"
        );
        let got = runs(&both);
        assert!(
            got.contains(&run("server", &["--addr", "--framing"])),
            "{got:?}"
        );
        assert_eq!(
            got.iter()
                .filter(|(_, f)| f.contains(&"--nproc".to_string()))
                .count(),
            2,
            "the method's own body and its call: {got:?}"
        );
        // A helper whose body runs two roles is no helper.
        let two = r#"fn both() { a(&["get"]); a(&["put"]); } fn t() { both(&["--trace"]); }"#;
        assert!(!runs(two)
            .iter()
            .any(|(_, f)| f.contains(&"--trace".to_string())));
    }

    #[test]
    fn helpers_are_shared_between_the_files_of_a_lesson() {
        let common = r#"pub fn start_server(extra: &[&str]) { let a = vec!["server", "--addr", "127.0.0.1:0"]; }"#;
        let test = r#"fn t() { let (s, a) = common::start_server(&["--buffer", "8"]); }"#;
        let found = invocations(
            &[
                ("common/mod.rs".to_string(), common.to_string()),
                ("t.rs".to_string(), test.to_string()),
            ],
            ROLES,
        );
        let hit = found
            .iter()
            .find(|r| r.flags.contains("--buffer"))
            .expect("the call runs server --buffer");
        assert_eq!(hit.role, "server");
        assert_eq!(hit.at, "t.rs:1 (via start_server)");
    }

    #[test]
    fn covered_means_same_role_and_same_flag_names() {
        let found = invocations(
            &[(
                "t.rs".to_string(),
                r#"a(&["client", "--addr", &x, "--drop", "0.3", "--timeout", "300ms"]);
                   a(&["server", "--addr", "127.0.0.1:0"]);
                   a(&["burst", "--addr", &x, "--trace"]);"#
                    .to_string(),
            )],
            ROLES,
        );
        let flags = |list: &[&str]| list.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        // Values and --addr/--bind/--peer/--root differ freely.
        assert!(covers(&found, "server", &flags(&[])));
        assert!(covers(&found, "server", &flags(&["--addr", "--root"])));
        assert!(covers(&found, "burst", &flags(&["--trace"])));
        // A flag the book gives that no run gives: not covered.
        assert!(!covers(&found, "server", &flags(&["--trace"])));
        // A run with more flags than the book's command is another command.
        assert!(!covers(&found, "client", &flags(&["--drop"])));
        assert!(covers(&found, "client", &flags(&["--drop", "--timeout"])));
        // The same flags on another role do not count.
        assert!(!covers(&found, "client", &flags(&["--trace"])));
        assert!(!covers(&found, "get", &flags(&[])));
    }

    #[test]
    fn figures_are_cut_to_the_lessons_run_function() {
        let source = "// fn run_tcp_basic() in a comment\nfn run_tcp_basic(b: &Path) {\n    if x { \"}\" }\n    a(&[\"server\"]);\n}\nfn run_udp_echo() { a(&[\"client\"]); }";
        let cut = function_source(source, "run_tcp_basic").unwrap();
        assert_eq!(
            cut,
            "\nfn run_tcp_basic(b: &Path) {\n    if x { \"}\" }\n    a(&[\"server\"]);\n}\n"
        );
        assert!(function_source(source, "run_tftp").is_none());
        // Lines stay where they were.
        let found = invocations(&[("f.rs".into(), cut)], ROLES);
        assert_eq!(found[0].at, "f.rs:4");
    }

    #[test]
    fn xtask_commands_are_covered_by_ci_or_xtask_tests() {
        let words = |line: &str| xtask_args(line).into_iter().next().unwrap();
        assert_eq!(words("cargo xtask demo 03"), ["demo", "03"]);
        assert_eq!(
            xtask_args("cd x && cargo xtask figures --check"),
            [["figures", "--check"]]
        );
        let runs = vec![
            words("cargo xtask demo"),
            words("cargo xtask check-book"),
            words("cargo xtask figures --check"),
            vec![
                "bench".into(),
                "tftp".into(),
                "--quick".into(),
                "--mib".into(),
                "1".into(),
            ],
        ];
        assert!(xtask_covered(&runs, &words("cargo xtask demo 03")));
        assert!(xtask_covered(&runs, &words("cargo xtask demo")));
        assert!(xtask_covered(&runs, &words("cargo xtask check-book")));
        assert!(xtask_covered(&runs, &words("cargo xtask figures --check")));
        assert!(!xtask_covered(&runs, &words("cargo xtask figures")));
        assert!(!xtask_covered(&runs, &words("cargo xtask list")));
        // bench's size knobs do not make another command; its other words do.
        assert!(xtask_covered(&runs, &words("cargo xtask bench tftp")));
        assert!(xtask_covered(
            &runs,
            &words("cargo xtask bench tftp --runs 5")
        ));
        assert!(!xtask_covered(&runs, &words("cargo xtask bench http")));
        // Only a run of every lesson, or of that lesson, covers a demo of it.
        let some = vec![words("cargo xtask demo 01 02")];
        assert!(xtask_covered(&some, &words("cargo xtask demo 02")));
        assert!(!xtask_covered(&some, &words("cargo xtask demo 03")));
        assert!(!xtask_covered(&some, &words("cargo xtask demo")));
    }

    #[test]
    fn xtask_test_argument_lists_are_found() {
        let source = r#"fn t() { xtask(&["list"]); xtask(&["bench", "tftp", "--quick"]); let n = ["not-a-command"]; }"#;
        assert_eq!(
            xtask_test_runs(source),
            [vec!["list"], vec!["bench", "tftp", "--quick"]]
        );
    }

    #[test]
    fn parsing_odd_source_never_panics() {
        for source in [
            "",
            "\"unterminated",
            "r#\"raw",
            "))]]}}",
            "((([",
            "'",
            "'\\",
            "fn",
            "fn x",
            "b\"",
            "/* open",
            "r##\"a\"#\"##",
        ] {
            let _ = invocations(&[("x".into(), source.into())], ROLES);
        }
        let got = runs(r####"let x = [r#"server"#, "--trace"];"####);
        assert_eq!(got, [run("server", &["--trace"])]);
    }
}
