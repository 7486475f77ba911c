//! `tftp download`, the chapter's first program, against every server a class meets: ours,
//! tftpd-hpa and atftpd. Each file must arrive byte for byte: the edges of the last-block
//! rule (0, 511, 512, 513 bytes), a file past the 16-bit block-number rollover (more
//! than 65535 blocks of 512 bytes), a server that loses 20% of what it sends, and a file
//! that does not exist.

mod peers;

use peers::*;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// The edges of the last-block rule: a block shorter than 512 bytes ends the transfer, so
/// a 512-byte file ends with an empty block, and an empty file is one empty block.
const EDGES: &[usize] = &[0, 511, 512, 513];
/// 34 MB: more than 65535 blocks of 512 bytes, so the block number rolls over (65535, then 0).
const ROLLOVER: usize = 34_000_000;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tftp"))
}

/// Runs `tftp download NAME LOCAL --addr ADDR` (with `extra` flags) in `dir`.
fn download(addr: SocketAddr, name: &str, dir: &Path, extra: &[&str]) -> Output {
    Command::new(exe())
        .args(["download", name, name, "--addr", &addr.to_string()])
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("run tftp download")
}

/// Downloads every file of `sizes` from `server` (serving `root`) into `local`, and
/// checks each one byte for byte.
fn download_all(server: &Server, root: &Path, local: &Path, sizes: &[usize], extra: &[&str]) {
    for &len in sizes {
        let name = format!("file-{len}.bin");
        let bytes = make_file(root, &name, len);
        let out = download(server.addr, &name, local, extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "download of {len} bytes from {} failed: {stderr}",
            server.name
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.starts_with("listening on ")
                && stdout.contains(&format!("downloaded {len} bytes from ")),
            "{stdout}"
        );
        check_same(&bytes, &local.join(&name), &server.name).unwrap_or_else(|e| panic!("{e:#}"));
    }
}

#[test]
fn from_our_server_every_edge_of_the_last_block() {
    let scratch = Scratch::new("download-ours");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    let server = our_server(exe(), &root, &[]);
    download_all(&server, &root, &local, EDGES, &[]);
}

#[test]
fn from_tftpd_hpa_and_atftpd() {
    let scratch = Scratch::new("download-peers");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    let mut ran = 0;
    for server in [tftpd_hpa(&root), atftpd(&root)].into_iter().flatten() {
        download_all(&server, &root, &local, EDGES, &[]);
        ran += 1;
    }
    assert!(ran > 0 || !under_ci(), "no peer server ran");
}

#[test]
fn through_a_server_that_loses_a_fifth_of_what_it_sends() {
    let scratch = Scratch::new("download-loss");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    // The server loses 20% of what it sends and resends after its own timeout (50 ms at
    // first on loopback, doubling). The download gives up after 5 silences of 1 s, by
    // which time the server has resent about 8 times: 0.2^8, 3 in a million per block.
    // The server itself gives up after 6 losses in a row (0.2^6 = 1 in 15,625 per block),
    // so the file stays small: 20 blocks. The seed makes the losses repeatable.
    let server = our_server(exe(), &root, &["--drop", "0.2", "--seed", "7"]);
    download_all(&server, &root, &local, &[0, 10_000], &[]);
}

#[test]
fn past_the_block_number_rollover() {
    let scratch = Scratch::new("download-rollover");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    let server = our_server(exe(), &root, &[]);
    download_all(&server, &root, &local, &[ROLLOVER], &[]);
    for peer in [tftpd_hpa(&root), atftpd(&root)].into_iter().flatten() {
        download_all(&peer, &root, &local, &[ROLLOVER], &[]);
    }
}

#[test]
fn a_missing_file_says_so_and_leaves_no_file() {
    let scratch = Scratch::new("download-missing");
    let (root, local) = (scratch.folder("root"), scratch.folder("local"));
    let server = our_server(exe(), &root, &[]);
    let out = download(server.addr, "nothing-here.bin", &local, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("sent ERROR 1: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert!(!local.join("nothing-here.bin").exists());
}

#[test]
fn no_server_means_a_few_tries_then_a_clear_error() {
    let scratch = Scratch::new("download-silence");
    // A UDP port nobody answers on: held by this socket, which never replies.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let out = download(
        addr,
        "x.bin",
        &scratch.folder("local"),
        &["--timeout", "50ms"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        stderr.matches("sending again").count(),
        4,
        "one line per retry: {stderr}"
    );
    assert!(
        stderr.contains("after 5 tries of 50ms") && stderr.contains("is the server running?"),
        "{stderr}"
    );
    // The RRQ arrived five times, each the same bytes.
    let mut buf = [0u8; 64];
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for _ in 0..5 {
        let (len, _) = silent.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"\x00\x01x.bin\x00octet\x00");
    }
}
