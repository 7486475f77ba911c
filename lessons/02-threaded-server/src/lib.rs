//! The line protocol of lesson 02, shared by the server and the client.
//!
//! ```text
//! server: Welcome!\n          (as soon as the client is accepted)
//! client: Ada\n
//! server: Hello, Ada!\n
//! client: exit\n              (or it closes the connection)
//! ```

/// The greeting the server sends first, with its `\n`.
pub const WELCOME: &str = "Welcome!\n";

/// The line that ends a conversation.
pub const EXIT: &str = "exit";

/// The longest line the server accepts: 64 KiB. A client that sends more without a line
/// end gets an error line and is disconnected, so it cannot make the server buffer
/// without end.
pub const MAX_LINE: usize = 64 * 1024;

/// The answer to a line: `Hello, X!\n`.
pub fn reply(name: &str) -> String {
    format!("Hello, {name}!\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_lines() {
        assert_eq!(WELCOME, "Welcome!\n");
        assert_eq!(reply("Ada"), "Hello, Ada!\n");
        assert_eq!(reply(""), "Hello, !\n");
    }
}
