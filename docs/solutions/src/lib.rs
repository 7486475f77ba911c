//! Solutions to the exercises of the book, for teachers (and for students who tried
//! first). They live here, apart from the lessons, so a lesson's code stays the code the
//! chapter explains; they are a crate of the workspace, so `cargo test --workspace` and
//! clippy compile and test them and they never rot.
//!
//! Each module answers one exercise, names it, and proves itself with tests that use
//! only loopback and port 0. They use only the standard library (and mio, for lesson
//! 07's event loop): the point is the socket calls, visible.
//!
//! | module | exercise |
//! |--------|----------|
//! | [`subnets`] | Background, IP addresses: private ranges, hosts in a prefix, same network |
//! | [`upper_echo`] | Lesson 01, exercise 4: an upper-case echo that survives a UTF-8 character split across reads |
//! | [`client_counter`] | Lesson 02, exercise 3: "you are client number N", with an `AtomicUsize` |
//! | [`numbered_datagrams`] | Lesson 03, exercise 4: a sequence number so the server can tell a retry from a new message |
//! | [`presence`] | Lesson 05, exercise 4: who is present, from BR_ENTRY, ANSENTRY and BR_EXIT |
//! | [`who`] | Lesson 07, exercise 5: a `who` command, and why one thread needs no lock for it |

pub mod client_counter;
pub mod numbered_datagrams;
pub mod presence;
pub mod subnets;
pub mod upper_echo;
pub mod who;
