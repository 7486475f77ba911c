//! Root confinement: the server serves ONE directory, and nothing outside it.
//!
//! TFTP has no login ("TFTP includes no login or access control mechanisms", RFC 1350's
//! security section): whoever reaches the port may ask for any name. The classic attack
//! asks for `../../etc/passwd`, or `/etc/passwd`, or plants a symlink that leads out. We
//! refuse all of these with ERROR 2 (access violation), in two steps:
//!
//! 1. Lexically, before touching the disk: no absolute path, no `..` component, no
//!    backslash (a Windows separator, where `..\..\x` would climb), no empty name.
//! 2. On disk, after following every symlink: the real path (`canonicalize`, i.e.
//!    `realpath(3)`) must still lie inside the real root. A symlink inside the root that
//!    points to another file inside the root is fine; one that leads out is refused.
//!
//! (A production server would also open with `openat2(RESOLVE_BENEATH)` so that a symlink
//! swapped in between the check and the `open` cannot win the race; std has no such call.)

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a requested name is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The name tries to leave the root, or names something that is not a file: ERROR 2.
    Refused(String),
    /// Nothing by that name (or its folder does not exist): ERROR 1.
    NotFound,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Refused(why) => f.write_str(why),
            PathError::NotFound => f.write_str("no such file"),
        }
    }
}

// ANCHOR: lexical
/// Step 1: the name as a relative path of plain components, or a refusal.
pub fn lexical(name: &str) -> Result<PathBuf, PathError> {
    let refuse = |why: &str| Err(PathError::Refused(format!("{name:?}: {why}")));
    if name.contains('\\') {
        return refuse("backslashes are not allowed in names");
    }
    if name.chars().any(char::is_control) {
        return refuse("control characters are not allowed in names");
    }
    let mut relative = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return refuse("absolute paths are outside the served directory")
            }
            Component::ParentDir => return refuse("`..` is not allowed in names"),
        }
    }
    if relative.as_os_str().is_empty() {
        return refuse("names a directory, not a file");
    }
    // An upload in progress: neither served half-written nor replaced (see partial.rs).
    if crate::partial::is_temporary(&relative) {
        return refuse("names an upload in progress");
    }
    Ok(relative)
}
// ANCHOR_END: lexical

fn not_found_or(err: io::Error, what: &str) -> PathError {
    if err.kind() == io::ErrorKind::NotFound {
        PathError::NotFound
    } else {
        PathError::Refused(format!("{what}: {err}"))
    }
}

// ANCHOR: resolve_read
/// The real path of the file `name` to read under `root` (which must already be
/// canonical: see [`canonical_root`]).
pub fn resolve_read(root: &Path, name: &str) -> Result<PathBuf, PathError> {
    let relative = lexical(name)?;
    // Step 2: follow every symlink, then check where we really are.
    let real = root
        .join(relative)
        .canonicalize()
        .map_err(|err| not_found_or(err, name))?;
    if !real.starts_with(root) {
        return Err(PathError::Refused(format!(
            "{name:?} leads outside the served directory"
        )));
    }
    if !real.is_file() {
        return Err(PathError::Refused(format!(
            "{name:?} is not a regular file"
        )));
    }
    // A link to an upload in progress is refused too.
    if crate::partial::is_temporary(&real) {
        return Err(PathError::Refused(format!(
            "{name:?} leads to an upload in progress"
        )));
    }
    Ok(real)
}
// ANCHOR_END: resolve_read

/// The path where an upload of `name` will end up: its folder must exist and really be
/// inside `root`. Whether the file may be created or replaced is the caller's decision.
pub fn resolve_write(root: &Path, name: &str) -> Result<PathBuf, PathError> {
    let relative = lexical(name)?;
    let joined = root.join(&relative);
    let (Some(parent), Some(file_name)) = (joined.parent(), joined.file_name()) else {
        return Err(PathError::Refused(format!("{name:?} is not a file name")));
    };
    let real_parent = parent
        .canonicalize()
        .map_err(|err| not_found_or(err, name))?;
    if !real_parent.starts_with(root) {
        return Err(PathError::Refused(format!(
            "{name:?} leads outside the served directory"
        )));
    }
    let target = real_parent.join(file_name);
    // An existing symlink by that name must lead inside too (even though an upload
    // replaces the link itself and never writes through it).
    if target
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        let inside = target
            .canonicalize()
            .is_ok_and(|real| real.starts_with(root));
        if !inside {
            return Err(PathError::Refused(format!(
                "{name:?} is a link that leads outside the served directory"
            )));
        }
    }
    if target.is_dir() {
        return Err(PathError::Refused(format!("{name:?} is a directory")));
    }
    Ok(target)
}

/// The root's real path, to compare resolved paths against.
pub fn canonical_root(root: &Path) -> io::Result<PathBuf> {
    let real = root.canonicalize()?;
    if !real.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", root.display()),
        ));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_tricks_are_refused_lexically() {
        assert_eq!(lexical("a.txt").unwrap(), PathBuf::from("a.txt"));
        assert_eq!(lexical("./sub//b.bin").unwrap(), PathBuf::from("sub/b.bin"));
        for trick in [
            "/etc/passwd",
            "../x",
            "sub/../../x",
            "..",
            "",
            ".",
            "..\\x",
            "sub/./../x",
            "//x",
            "a\nb",
        ] {
            assert!(
                matches!(lexical(trick), Err(PathError::Refused(_))),
                "{trick:?}"
            );
        }
    }

    #[test]
    #[cfg(unix)] // std's symlink() for the test's links is Unix's
    fn symlinks_out_are_refused_on_disk() {
        let base = std::env::temp_dir().join(format!("tftp-path-test-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(base.join("secret"), "s").unwrap();
        std::fs::write(root.join("ok.txt"), "ok").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("ok.txt"), root.join("in")).unwrap();
        std::os::unix::fs::symlink(&base, root.join("sub/up")).unwrap();
        let real = canonical_root(&root).unwrap();

        assert!(resolve_read(&real, "ok.txt").is_ok());
        assert!(
            resolve_read(&real, "in").is_ok(),
            "a link that stays inside"
        );
        assert_eq!(resolve_read(&real, "missing"), Err(PathError::NotFound));
        for trick in ["out", "sub/up/secret", "sub"] {
            assert!(
                matches!(resolve_read(&real, trick), Err(PathError::Refused(_))),
                "{trick}"
            );
        }
        assert!(resolve_write(&real, "new.txt").is_ok());
        assert!(matches!(
            resolve_write(&real, "sub/up/new"),
            Err(PathError::Refused(_))
        ));
        assert_eq!(resolve_write(&real, "nodir/new"), Err(PathError::NotFound));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
