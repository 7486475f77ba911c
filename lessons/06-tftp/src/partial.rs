//! A file being received is written under a temporary name and renamed when complete,
//! so a failed or abandoned transfer never leaves half a file under the real name.
//!
//! `rename(2)` within one directory is atomic: another program sees either no file (or
//! the old one) or the complete new one, never a half-written one.
//!
//! The temporary name is short and fixed in form, `.tftp-partial-PID-N`, whatever the
//! final name: a name built from the final one (`.NAME.PID-N.part`) is longer than it,
//! so a legal 255-byte name failed with "File name too long". The form is also easy to
//! recognise: the server never serves nor overwrites such a name ([`is_temporary`]), so
//! an upload in progress cannot be read half-written through it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How every temporary name starts.
pub const TEMP_PREFIX: &str = ".tftp-partial-";

/// Whether the last part of `path` is one of our temporary names.
pub fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes()))
}

/// A temporary file beside its final name; removed on drop unless committed.
#[derive(Debug)]
pub struct PartialFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PartialFile {
    /// Creates `.tftp-partial-PID-N` in the folder of `target` (a new file, never an
    /// existing one) and returns it open for writing.
    pub fn create(target: &Path) -> io::Result<(PartialFile, File)> {
        if target.file_name().is_none() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no file name"));
        }
        let folder = target.parent().unwrap_or(Path::new("."));
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = folder.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let partial = PartialFile {
            temp,
            target: target.to_path_buf(),
            committed: false,
        };
        Ok((partial, file))
    }

    /// The temporary path (for messages).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// On Ctrl-C (SIGINT) while the file is received: removes it, says so on stderr, and
    /// exits with 130 (128 + SIGINT, what a shell reports for a program Ctrl-C ended).
    /// Without this, SIGINT ends the process at once, `Drop` never runs, and the hidden
    /// temporary file stays behind. The `ctrlc` crate installs the signal handler (no
    /// `unsafe` of ours); the closure runs on a thread of its own, so it only removes a
    /// path and exits. For the client: a process has one handler, so the server, which
    /// receives many files at once, leaves Ctrl-C to its default.
    pub fn remove_on_ctrl_c(&self) -> Result<(), ctrlc::Error> {
        let temp = self.temp.clone();
        let target = self.target.clone();
        ctrlc::set_handler(move || {
            match fs::remove_file(&temp) {
                Ok(()) => eprintln!(
                    "interrupted: removed the partial download {} (nothing saved as {})",
                    temp.display(),
                    target.display()
                ),
                // Already renamed (complete) or already gone: nothing to clean up.
                Err(_) => eprintln!("interrupted"),
            }
            std::process::exit(130);
        })
    }

    /// Gives the complete file its real name. With `overwrite`, an existing file is
    /// replaced (`rename`); without, an existing file is an `AlreadyExists` error
    /// (`link` + `unlink`: `link(2)` never replaces, so two uploads of one name cannot
    /// both win).
    pub fn commit(mut self, overwrite: bool) -> io::Result<()> {
        if overwrite {
            fs::rename(&self.temp, &self.target)?;
        } else {
            fs::hard_link(&self.temp, &self.target)?;
            let _ = fs::remove_file(&self.temp);
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn committed_or_gone() {
        let dir = std::env::temp_dir().join(format!("tftp-partial-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("f.txt");

        let (partial, mut file) = PartialFile::create(&target).unwrap();
        file.write_all(b"half").unwrap();
        let temp = partial.temp_path().to_path_buf();
        drop(partial);
        assert!(
            !temp.exists() && !target.exists(),
            "abandoned: nothing left"
        );

        let (partial, mut file) = PartialFile::create(&target).unwrap();
        file.write_all(b"whole").unwrap();
        partial.commit(false).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");

        let (partial, _) = PartialFile::create(&target).unwrap();
        let err = partial.commit(false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&target).unwrap(), b"whole", "not replaced");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temp file left");

        let (partial, mut file) = PartialFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        partial.commit(true).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The longest legal name (255 bytes on Linux) can be received: the temporary name
    /// does not grow with it.
    #[test]
    fn the_longest_name_works_and_the_temporary_name_is_recognised() {
        let dir = std::env::temp_dir().join(format!("tftp-partial-long-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("n".repeat(255));
        let (partial, mut file) = PartialFile::create(&target).unwrap();
        assert!(is_temporary(partial.temp_path()));
        assert!(!is_temporary(&target));
        file.write_all(b"long").unwrap();
        partial.commit(false).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"long");
        fs::remove_dir_all(&dir).unwrap();
    }
}
