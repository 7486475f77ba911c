//! The table of lessons: what `list` prints and what `demo` runs.

use crate::demo::Demo;
use crate::scenarios;
use anyhow::bail;

/// One lesson of the course.
pub struct Lesson {
    /// Two digits, as in the folder name.
    pub number: &'static str,
    /// The package (and binary) name: `cargo run -p PACKAGE`.
    pub package: &'static str,
    /// The subcommands of its binary.
    pub roles: &'static [&'static str],
    /// One line: what the lesson teaches.
    pub teaches: &'static str,
    /// The scripted conversation `cargo xtask demo` runs.
    pub scenario: fn(&mut Demo) -> anyhow::Result<()>,
}

impl Lesson {
    /// The folder under `lessons/`, e.g. `01-tcp-basic`.
    pub fn folder(&self) -> String {
        format!("{}-{}", self.number, self.package)
    }
}

/// Every lesson, in course order.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        number: "01",
        package: "tcp-basic",
        roles: &["server", "client", "burst"],
        teaches: "the TCP lifecycle: socket, bind, listen, accept, read, write, close; a read is not a message",
        scenario: scenarios::tcp_basic::run,
    },
    Lesson {
        number: "02",
        package: "threaded-server",
        roles: &["server", "client"],
        teaches: "serving many clients: a thread per connection, then a bounded worker pool",
        scenario: scenarios::threaded_server::run,
    },
    Lesson {
        number: "03",
        package: "udp-echo",
        roles: &["server", "client", "boundaries", "max-size", "refused"],
        teaches: "UDP datagrams: bind, recvfrom, sendto; boundaries kept, truncation, 65,507 bytes, loss and retries",
        scenario: scenarios::udp_echo::run,
    },
    Lesson {
        number: "04",
        package: "full-duplex-chat",
        roles: &["alice", "bob"],
        teaches: "full duplex: a receive thread and a stdin thread on one UDP socket, joined by select!",
        scenario: scenarios::full_duplex_chat::run,
    },
    Lesson {
        number: "05",
        package: "broadcast",
        roles: &["listen", "announce", "subnet"],
        teaches: "UDP broadcast: SO_REUSEADDR, SO_BROADCAST, netmasks and broadcast addresses, IPMsg discovery",
        scenario: scenarios::broadcast::run,
    },
    Lesson {
        number: "06",
        package: "tftp",
        roles: &["server", "download", "get", "put"],
        teaches: "TFTP over UDP: transfer IDs, lock step and windows, timeouts and retransmission, options, a server confined to its root",
        scenario: scenarios::tftp::run,
    },
    Lesson {
        number: "07",
        package: "event-loop",
        roles: &["server"],
        teaches: "one thread, many clients: non-blocking sockets, readiness (epoll via mio), buffers, partial writes",
        scenario: scenarios::event_loop::run,
    },
];

/// Prints the table for `cargo xtask list`.
pub fn print_list() {
    println!("{:<4} {:<18} {:<24} teaches", "no.", "package", "roles");
    for lesson in LESSONS {
        println!(
            "{:<4} {:<18} {:<24} {}",
            lesson.number,
            lesson.package,
            lesson.roles.join(", "),
            lesson.teaches
        );
    }
    println!("\nrun one by hand:  cargo run -p PACKAGE -- ROLE --help");
}

/// The lessons named on the command line (all of them if none is named), in course
/// order and each once.
pub fn select(names: &[String]) -> anyhow::Result<Vec<&'static Lesson>> {
    if names.is_empty() {
        return Ok(LESSONS.iter().collect());
    }
    let mut chosen = Vec::new();
    for name in names {
        let Some(lesson) = find(name) else {
            let known: Vec<String> = LESSONS.iter().map(Lesson::folder).collect();
            bail!(
                "no lesson called `{name}`; name one by number, package or folder: {}",
                known.join(", ")
            );
        };
        chosen.push(lesson);
    }
    chosen.sort_by_key(|lesson| lesson.number);
    chosen.dedup_by_key(|lesson| lesson.number);
    Ok(chosen)
}

fn find(name: &str) -> Option<&'static Lesson> {
    let name = name.trim_start_matches("lessons/").trim_end_matches('/');
    LESSONS.iter().find(|lesson| {
        name == lesson.number
            || name == lesson.package
            || name == lesson.folder()
            || name.parse::<u32>().ok() == lesson.number.parse::<u32>().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lesson_is_found_by_number_package_or_folder() {
        for name in [
            "01",
            "1",
            "tcp-basic",
            "01-tcp-basic",
            "lessons/01-tcp-basic/",
        ] {
            assert_eq!(find(name).map(|l| l.package), Some("tcp-basic"), "{name}");
        }
        assert!(find("99").is_none());
        assert!(find("tcp").is_none());
    }

    #[test]
    fn selection_is_in_course_order_without_repeats() {
        let names: Vec<String> = ["02", "01", "tcp-basic"].map(String::from).to_vec();
        let chosen: Vec<&str> = select(&names).unwrap().iter().map(|l| l.number).collect();
        assert_eq!(chosen, ["01", "02"]);
        assert_eq!(select(&[]).unwrap().len(), LESSONS.len());
        let err = select(&["nope".to_string()]).err().unwrap().to_string();
        assert!(err.contains("01-tcp-basic"), "{err}");
    }

    #[test]
    fn every_lesson_in_the_table_has_its_folder() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (i, lesson) in LESSONS.iter().enumerate() {
            assert_eq!(lesson.number, format!("{:02}", i + 1), "numbered in order");
            let manifest = root
                .join("lessons")
                .join(lesson.folder())
                .join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).unwrap();
            assert!(
                text.contains(&format!("name = \"{}\"", lesson.package)),
                "{}",
                manifest.display()
            );
        }
    }
}
