//! Lesson 07, exercise 5: "Add a `who` command that answers with the number of clients
//! connected now. Why is it simpler here than in lesson 02?"
//!
//! The number is `clients.len()`, read when the line is answered. One thread owns every
//! connection, so nothing can add or remove a client between that read and the answer:
//! no `Mutex`, no atomic, no race. In lesson 02 each client has a thread of its own, so
//! the count must be shared by all of them (an `Arc<AtomicUsize>`, as in
//! [`client_counter`](crate::client_counter)), raised by each thread as it starts and
//! lowered as it ends, and an answer may already be out of date when it is sent.
//!
//! Below is lesson 07's loop cut to what the exercise needs: accept until `WouldBlock`,
//! read until `WouldBlock`, answer each whole line. (It leaves out what lesson 07 adds
//! for strangers: the idle timeout, the output limit and partial writes.)

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, ErrorKind, Read as _, Write as _};

/// The listener's token; clients get 0, 1, 2 ...
const LISTENER: Token = Token(usize::MAX);

/// The answer to one line, when `connected` clients are connected.
pub fn answer(line: &[u8], connected: usize) -> Vec<u8> {
    if line == b"who" {
        let clients = if connected == 1 { "client" } else { "clients" };
        format!("{connected} {clients} connected\n").into_bytes()
    } else {
        [b"Hello, ", line, b"!\n"].concat()
    }
}

/// One client: its socket and the bytes of a line not finished yet.
struct Client {
    stream: TcpStream,
    input: Vec<u8>,
}

/// Serves on `listener` until `total` clients have connected and gone.
pub fn serve(listener: std::net::TcpListener, total: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(64);
    let mut clients: HashMap<Token, Client> = HashMap::new();
    let (mut next, mut gone) = (0, 0);
    while gone < total {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    let (mut stream, _peer) = match listener.accept() {
                        Ok(client) => client,
                        Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                        Err(err) => return Err(err),
                    };
                    let token = Token(next);
                    next += 1;
                    poll.registry()
                        .register(&mut stream, token, Interest::READABLE)?;
                    let input = Vec::new();
                    clients.insert(token, Client { stream, input });
                }
                continue;
            }
            // The exercise's whole answer: the count, read on the loop's only thread.
            let connected = clients.len();
            let Some(client) = clients.get_mut(&event.token()) else {
                continue;
            };
            if !read_and_answer(client, connected) {
                clients.remove(&event.token()); // close(): dropping the stream
                gone += 1;
            }
        }
    }
    Ok(())
}

/// Reads what has arrived and answers each whole line. Returns `false` once the client
/// has closed (or failed): then the caller drops it.
fn read_and_answer(client: &mut Client, connected: usize) -> bool {
    let mut buffer = [0u8; 4096];
    let mut open = true;
    loop {
        match client.stream.read(&mut buffer) {
            Ok(0) => {
                open = false; // answer what came before the end, then close
                break;
            }
            Ok(n) => client.input.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    while let Some(end) = client.input.iter().position(|&byte| byte == b'\n') {
        let line: Vec<u8> = client.input.drain(..=end).collect();
        let line = line.strip_suffix(b"\n").unwrap_or(&line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // An answer is a few bytes, and the socket's send buffer takes them whole while
        // the client reads. (Lesson 07 keeps what a full buffer does not take: `flush`.)
        if client.stream.write_all(&answer(line, connected)).is_err() {
            return false;
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader};

    #[test]
    fn who_counts_and_other_lines_are_greeted() {
        assert_eq!(answer(b"who", 1), b"1 client connected\n");
        assert_eq!(answer(b"who", 3), b"3 clients connected\n");
        assert_eq!(answer(b"Ada", 3), b"Hello, Ada!\n");
    }

    /// Sends `line` and returns the answer.
    fn ask(client: &mut BufReader<std::net::TcpStream>, line: &str) -> String {
        client.get_mut().write_all(line.as_bytes()).unwrap();
        let mut answer = String::new();
        client.read_line(&mut answer).unwrap();
        answer
    }

    #[test]
    fn who_answers_with_the_clients_connected_now() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || serve(listener, 3));
        let connect = || BufReader::new(std::net::TcpStream::connect(addr).unwrap());
        let mut ada = connect();
        assert_eq!(ask(&mut ada, "Ada\n"), "Hello, Ada!\n");
        assert_eq!(ask(&mut ada, "who\n"), "1 client connected\n");
        // Once Bob has been answered, the server has accepted him: two now.
        let mut bob = connect();
        assert_eq!(ask(&mut bob, "Bob\n"), "Hello, Bob!\n");
        assert_eq!(ask(&mut ada, "who\n"), "2 clients connected\n");
        let mut cy = connect();
        assert_eq!(ask(&mut cy, "who\r\n"), "3 clients connected\n");
        drop((ada, bob, cy));
        server.join().unwrap().unwrap();
    }
}
