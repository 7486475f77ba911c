//! # Lesson 05: subnet, the arithmetic behind a broadcast address
//!
//! No socket here: this role prints how a netmask splits an address into its network
//! part and host part, and the network's directed broadcast address (every host bit 1),
//! which is where `announce --to` sends on a LAN. The bit arithmetic is in the lesson's
//! library (`netmask.rs`); this file only shows it.
//!
//! ```text
//! ip -4 addr                                          # find your address/prefix
//! cargo run -p broadcast -- subnet 192.168.1.37/24
//! cargo run -p broadcast -- subnet 172.16.5.4/255.255.240.0
//! ```
//!
//! Observe the binary column: the network part is where the mask has 1s, the host part
//! where it has 0s, and the broadcast address is the network with all the 0s turned to 1s.

use anyhow::Result;
use broadcast::netmask::{binary, Subnet};

/// Options of `broadcast subnet`.
#[derive(clap::Args)]
pub struct Args {
    /// ADDRESS/PREFIX or ADDRESS/MASK, e.g. 192.168.1.37/24 or 192.168.1.37/255.255.255.0
    /// (what `ip -4 addr` shows for an interface).
    #[arg(value_parser = parse_subnet)]
    subnet: Subnet,
}

fn parse_subnet(text: &str) -> Result<Subnet, String> {
    text.parse()
        .map_err(|err: broadcast::netmask::SubnetError| err.to_string())
}

// ANCHOR: print
pub fn run(args: Args) -> Result<()> {
    let subnet = args.subnet;
    let row = |name: &str, ip: std::net::Ipv4Addr, how: &str| {
        println!("{name:<10} {:<16} {}  {how}", ip.to_string(), binary(ip));
    };
    row("address", subnet.address(), "");
    row("mask", subnet.mask(), &format!("/{}", subnet.prefix()));
    row("network", subnet.network(), "address AND mask");
    row("host part", subnet.host_part(), "address AND NOT mask");
    match (subnet.broadcast(), subnet.hosts()) {
        (Some(broadcast), Some((first, last))) => {
            row("broadcast", broadcast, "network OR NOT mask");
            println!("hosts      {first} to {last} ({})", subnet.host_count());
            let port = shared::addr::port_of(shared::addr::BROADCAST_LISTEN);
            println!("announce to all of them: cargo run -p broadcast -- announce --to {broadcast}:{port}");
        }
        _ => println!(
            "broadcast  none: a /{} has no room for one (RFC 3021)",
            subnet.prefix()
        ),
    }
    Ok(())
}
// ANCHOR_END: print
