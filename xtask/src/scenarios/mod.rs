//! What each lesson's demo does: which servers start, which clients talk to them, what
//! they type, and the lines that prove the conversation happened.
//!
//! Servers always bind `127.0.0.1:0` and the demo reads the real port from their
//! `listening on` line.

pub mod broadcast;
pub mod event_loop;
pub mod full_duplex_chat;
pub mod tcp_basic;
pub mod tftp;
pub mod threaded_server;
pub mod udp_echo;
