//! Lesson 06, TFTP: the protocol, kept apart from the sockets.
//!
//! - [`packet`]: the six packets as bytes on the wire (encode, decode, display);
//! - [`netascii`]: the text mode's line-end translation, both ways;
//! - [`options`]: option negotiation (blksize, timeout, tsize, windowsize);
//! - [`path`]: which names the server may serve (nothing outside its root);
//! - [`transfer`]: the two state machines, the sender and the receiver of DATA. They
//!   never touch a socket: they are told what arrived (or that a timeout fired) and say
//!   what to send next. That keeps them readable, and lets tests lose, duplicate and
//!   reorder packets at will;
//! - [`driver`]: the thin loop that runs a state machine over a real `UdpSocket`;
//! - [`partial`]: received files are written under a temporary name, renamed when whole;
//! - [`client`]: what `get` and `put` share (options, error hints, progress line).
//!
//! The roles (`src/server.rs`, `src/get.rs`, `src/put.rs`) are built from these.

pub mod client;
pub mod driver;
pub mod netascii;
pub mod options;
pub mod packet;
pub mod partial;
pub mod path;
pub mod transfer;
