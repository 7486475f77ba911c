//! Lesson 02, exercise 3: "Make the server count its clients and greet with `Welcome, you
//! are client number N!`. Which Rust type lets the threads share the counter safely?"
//!
//! The counter is shared by every connection's thread, so it needs either a `Mutex<usize>`
//! or, better for one number, an [`AtomicUsize`]: `fetch_add(1)` reads and increments in
//! one indivisible step, so two clients connecting at the same moment can never get the
//! same number. (A plain `static mut` counter would be a data race, and `unsafe`.)
//!
//! The number is taken in the accept loop, before the thread starts, so clients are
//! numbered in the order the server accepted them.

use std::io::{self, BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

/// The greeting for client number `n`.
pub fn greeting(n: usize) -> String {
    format!("Welcome, you are client number {n}!\n")
}

/// Accepts `clients` connections, each served by its own thread: the greeting, then one
/// echoed line. Returns when all of them are served.
pub fn serve(listener: &TcpListener, clients: usize) -> io::Result<()> {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for _ in 0..clients {
        let (stream, _peer) = listener.accept()?;
        // fetch_add returns the value before the increment: the first client gets 1.
        let number = counter.fetch_add(1, Ordering::Relaxed) + 1;
        threads.push(thread::spawn(move || converse(stream, number)));
    }
    for thread in threads {
        thread
            .join()
            .map_err(|_| io::Error::other("a connection thread panicked"))??;
    }
    Ok(())
}

fn converse(mut stream: TcpStream, number: usize) -> io::Result<()> {
    stream.write_all(greeting(number).as_bytes())?;
    let mut line = String::new();
    BufReader::new(stream.try_clone()?).read_line(&mut line)?;
    stream.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn every_client_gets_its_own_number() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || serve(&listener, 5));
        // Five clients at once, each connected before any says anything.
        let mut streams: Vec<TcpStream> =
            (0..5).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let mut numbers = Vec::new();
        for (i, stream) in streams.iter_mut().enumerate() {
            stream
                .write_all(format!("client {i}\n").as_bytes())
                .unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap();
            let mut lines = reply.lines();
            let greeting = lines.next().unwrap();
            assert_eq!(lines.next(), Some(format!("client {i}").as_str()));
            let n: usize = greeting
                .trim_start_matches("Welcome, you are client number ")
                .trim_end_matches('!')
                .parse()
                .unwrap();
            numbers.push(n);
        }
        server.join().unwrap().unwrap();
        // Connections are accepted in the order they were made: 1 to 5, none twice.
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_greeting_text() {
        assert_eq!(greeting(3), "Welcome, you are client number 3!\n");
    }
}
