//! What the roles of lesson 01 agree on: the quit word, the longest message, and (in
//! [`framing`]) the three ways to find messages in a TCP byte stream that `--framing`
//! chooses between.

pub mod framing;

pub use framing::{Deframer, Framing};

/// The word that ends a conversation (blanks around it ignored), from the tutorial whose
/// half-duplex talk this lesson follows. Either side may say it.
pub const QUIT_WORD: &str = "bye";

/// The longest message the server frames: 1 MiB. A client that sends more without a line
/// end (or announces a bigger length) is cut off instead of filling our memory.
pub const MAX_MESSAGE: usize = 1 << 20;

/// Whether `message` asks to end the conversation.
pub fn is_quit(message: &[u8]) -> bool {
    message.trim_ascii() == QUIT_WORD.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bye_is_the_quit_word() {
        for word in ["bye", " bye \r", "bye\n"] {
            assert!(is_quit(word.as_bytes()), "{word:?}");
        }
        for word in ["", "q", "exit", "Bye bye", "bye!", "\u{fffd}"] {
            assert!(!is_quit(word.as_bytes()), "{word:?}");
        }
    }
}
