//! Subnet arithmetic: which part of an IPv4 address names the network, which part the
//! host, and the network's directed broadcast address. Pure computation, no sockets.
//!
//! An IPv4 address is a 32-bit number. A *netmask* splits it in two: the bits where the
//! mask has 1s are the *network part* (the same for every machine on the network), the
//! bits where it has 0s are the *host part* (different for each). The 1s come first, so
//! a mask is also written as their count, the *prefix length*: `255.255.255.0` is `/24`.
//!
//! ```text
//! address    192.168.1.37    11000000.10101000.00000001.00100101
//! mask       255.255.255.0   11111111.11111111.11111111.00000000   (/24)
//! network    192.168.1.0     address AND mask       (host bits all 0)
//! host part  0.0.0.37        address AND NOT mask
//! broadcast  192.168.1.255   network OR NOT mask    (host bits all 1)
//! ```
//!
//! The address with every host bit 1 is the *directed broadcast* of that network
//! (RFC 919, RFC 922): a datagram sent there reaches every host on it. The *limited
//! broadcast* `255.255.255.255` means "everyone on the link I send from" and is never
//! forwarded by a router (RFC 919: "the address 255.255.255.255 denotes a broadcast on a
//! local hardware network, which must not be forwarded").
//!
//! ```
//! use broadcast::Subnet;
//! let subnet: Subnet = "192.168.1.37/24".parse().unwrap();
//! assert_eq!(subnet.network().to_string(), "192.168.1.0");
//! assert_eq!(subnet.host_part().to_string(), "0.0.0.37");
//! assert_eq!(subnet.broadcast().unwrap().to_string(), "192.168.1.255");
//! ```

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The longest prefix: all 32 bits name the network (a single host).
pub const MAX_PREFIX: u8 = 32;

// ANCHOR: mask_of
/// The mask with `prefix` leading 1 bits (`24` gives `255.255.255.0`); `None` past 32.
///
/// ```
/// use broadcast::netmask::mask_of;
/// assert_eq!(mask_of(20), Some([255, 255, 240, 0].into()));
/// ```
pub fn mask_of(prefix: u8) -> Option<Ipv4Addr> {
    match prefix {
        // `u32::MAX << 32` would overflow: /0 is the one mask with no 1s at all.
        0 => Some(Ipv4Addr::from(0)),
        1..=MAX_PREFIX => Some(Ipv4Addr::from(u32::MAX << (32 - prefix))),
        _ => None,
    }
}
// ANCHOR_END: mask_of

/// The prefix length of a mask (`255.255.240.0` gives `20`), or an error if its 1s are
/// not all at the front (`255.0.255.0` is not a netmask).
pub fn prefix_of(mask: Ipv4Addr) -> Result<u8, SubnetError> {
    let bits = u32::from(mask);
    let ones = bits.leading_ones();
    if bits.count_ones() != ones {
        return Err(SubnetError::NotAMask(mask));
    }
    // At most 32, so the conversion cannot fail.
    Ok(u8::try_from(ones).unwrap_or(MAX_PREFIX))
}

/// An address in the dotted binary form that shows the mask at work:
/// `11000000.10101000.00000001.00100101`.
pub fn binary(address: Ipv4Addr) -> String {
    address
        .octets()
        .map(|octet| format!("{octet:08b}"))
        .join(".")
}

/// Why a text or a mask does not give a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubnetError {
    /// No `/` between the address and the prefix or mask.
    NoSlash(String),
    /// The part before the `/` is not an IPv4 address.
    BadAddress(String),
    /// A prefix length over 32 (or not a number).
    BadPrefix(String),
    /// A mask whose 1 bits are not all at the front.
    NotAMask(Ipv4Addr),
}

impl fmt::Display for SubnetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubnetError::NoSlash(text) => write!(
                f,
                "`{text}` has no prefix: write ADDRESS/PREFIX or ADDRESS/MASK, e.g. 192.168.1.37/24"
            ),
            SubnetError::BadAddress(text) => {
                write!(f, "`{text}` is not an IPv4 address such as 192.168.1.37")
            }
            SubnetError::BadPrefix(text) => write!(
                f,
                "`{text}` is not a prefix length (0 to 32) or a mask such as 255.255.255.0"
            ),
            SubnetError::NotAMask(mask) => write!(
                f,
                "{mask} ({}) is not a netmask: its 1 bits must all come first",
                binary(*mask)
            ),
        }
    }
}

impl std::error::Error for SubnetError {}

/// An IPv4 address together with the length of its network prefix, as in
/// `192.168.1.37/24` (what `ip addr` shows for each interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    address: Ipv4Addr,
    prefix: u8,
}

impl Subnet {
    /// `address/prefix`; an error if the prefix is over 32.
    pub fn new(address: Ipv4Addr, prefix: u8) -> Result<Subnet, SubnetError> {
        if prefix > MAX_PREFIX {
            return Err(SubnetError::BadPrefix(prefix.to_string()));
        }
        Ok(Subnet { address, prefix })
    }

    /// `address` with a dotted mask such as `255.255.255.0`.
    pub fn with_mask(address: Ipv4Addr, mask: Ipv4Addr) -> Result<Subnet, SubnetError> {
        Subnet::new(address, prefix_of(mask)?)
    }

    /// The address as given.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// How many leading bits name the network.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    // ANCHOR: parts
    /// The netmask: `prefix` 1 bits, then 0 bits.
    pub fn mask(&self) -> Ipv4Addr {
        mask_of(self.prefix).unwrap_or(Ipv4Addr::BROADCAST)
    }

    /// The network address: `address AND mask`, every host bit 0.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & u32::from(self.mask()))
    }

    /// The host part: `address AND NOT mask`, every network bit 0.
    pub fn host_part(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & !u32::from(self.mask()))
    }

    /// The directed broadcast address: `network OR NOT mask`, every host bit 1.
    ///
    /// `None` for `/31` and `/32`: a /32 is one host, and a /31 is a point-to-point link
    /// whose two addresses are both hosts (RFC 3021: "the use of ... broadcast addresses
    /// on a 31-bit prefix is not possible").
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        (self.prefix <= MAX_PREFIX - 2)
            .then(|| Ipv4Addr::from(u32::from(self.network()) | !u32::from(self.mask())))
    }
    // ANCHOR_END: parts

    /// The first and last address a host can have: everything between the network
    /// address and the broadcast address. `None` for /31 and /32 (see [`Subnet::broadcast`]).
    pub fn hosts(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let broadcast = u32::from(self.broadcast()?);
        Some((
            Ipv4Addr::from(u32::from(self.network()) + 1),
            Ipv4Addr::from(broadcast - 1),
        ))
    }

    /// How many host addresses there are: 2^(host bits) minus the network and broadcast
    /// addresses (0 for /31 and /32).
    pub fn host_count(&self) -> u64 {
        match self.hosts() {
            Some(_) => (1u64 << (MAX_PREFIX - self.prefix)) - 2,
            None => 0,
        }
    }

    /// Whether `ip` is on this network (has the same network part).
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.mask()) == u32::from(self.network())
    }
}

/// `192.168.1.37/24` or `192.168.1.37/255.255.255.0`.
impl FromStr for Subnet {
    type Err = SubnetError;

    fn from_str(text: &str) -> Result<Subnet, SubnetError> {
        let text = text.trim();
        let Some((address, suffix)) = text.split_once('/') else {
            return Err(SubnetError::NoSlash(text.to_string()));
        };
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| SubnetError::BadAddress(address.to_string()))?;
        if let Ok(mask) = suffix.parse::<Ipv4Addr>() {
            return Subnet::with_mask(address, mask);
        }
        let prefix = suffix
            .parse::<u8>()
            .map_err(|_| SubnetError::BadPrefix(suffix.to_string()))?;
        Subnet::new(address, prefix)
    }
}

/// `192.168.1.37/24`.
impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(text: &str) -> Subnet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn a_home_network() {
        let s = subnet("192.168.1.37/24");
        assert_eq!(s.mask(), ip("255.255.255.0"));
        assert_eq!(s.network(), ip("192.168.1.0"));
        assert_eq!(s.host_part(), ip("0.0.0.37"));
        assert_eq!(s.broadcast(), Some(ip("192.168.1.255")));
        assert_eq!(s.hosts(), Some((ip("192.168.1.1"), ip("192.168.1.254"))));
        assert_eq!(s.host_count(), 254);
        assert_eq!(s.to_string(), "192.168.1.37/24");
    }

    #[test]
    fn a_mask_that_cuts_through_an_octet() {
        let s = subnet("172.16.5.4/255.255.240.0");
        assert_eq!(s.prefix(), 20);
        assert_eq!(s.network(), ip("172.16.0.0"));
        assert_eq!(s.host_part(), ip("0.0.5.4"));
        assert_eq!(s.broadcast(), Some(ip("172.16.15.255")));
        assert_eq!(s.host_count(), 4094);
        assert!(s.contains(ip("172.16.15.1")));
        assert!(!s.contains(ip("172.16.16.1")));
    }

    /// The lesson's default target is loopback's directed broadcast.
    #[test]
    fn loopback_broadcast_is_the_default_target() {
        let s = subnet("127.0.0.1/8");
        assert_eq!(s.network(), ip("127.0.0.0"));
        assert_eq!(s.host_part(), ip("0.0.0.1"));
        let target = shared::addr::parse(shared::addr::BROADCAST_TARGET).unwrap();
        assert_eq!(s.broadcast().map(std::net::IpAddr::V4), Some(target.ip()));
    }

    #[test]
    fn the_lan_of_the_namespace_test() {
        let s = subnet("10.203.0.3/24");
        assert_eq!(s.broadcast(), Some(ip("10.203.0.255")));
        assert_eq!(s.host_part(), ip("0.0.0.3"));
    }

    #[test]
    fn the_edges() {
        let all = subnet("10.1.2.3/0");
        assert_eq!((all.mask(), all.network()), (ip("0.0.0.0"), ip("0.0.0.0")));
        assert_eq!(all.broadcast(), Some(Ipv4Addr::BROADCAST));
        assert_eq!(all.host_part(), ip("10.1.2.3"));
        let p2p = subnet("10.0.0.1/31");
        assert_eq!(
            (p2p.broadcast(), p2p.hosts(), p2p.host_count()),
            (None, None, 0)
        );
        let one = subnet("10.0.0.1/32");
        assert_eq!(
            (one.network(), one.host_part()),
            (ip("10.0.0.1"), ip("0.0.0.0"))
        );
        assert_eq!(one.broadcast(), None);
        let thirty = subnet("10.0.0.1/30");
        assert_eq!(thirty.broadcast(), Some(ip("10.0.0.3")));
        assert_eq!(thirty.host_count(), 2);
    }

    #[test]
    fn masks_and_prefixes_match_for_every_length() {
        for prefix in 0..=MAX_PREFIX {
            let mask = mask_of(prefix).unwrap();
            assert_eq!(prefix_of(mask), Ok(prefix));
            assert_eq!(u32::from(mask).count_ones(), u32::from(prefix));
        }
        assert_eq!(mask_of(33), None);
        assert_eq!(
            binary(ip("255.255.240.0")),
            "11111111.11111111.11110000.00000000"
        );
    }

    #[test]
    fn bad_input_is_an_error_that_shows_the_right_form() {
        let cases = [
            ("192.168.1.37", "no prefix"),
            ("192.168.1/24", "not an IPv4 address"),
            ("192.168.1.37/33", "not a prefix length"),
            ("192.168.1.37/-1", "not a prefix length"),
            ("192.168.1.37/", "not a prefix length"),
            ("192.168.1.37/255.0.255.0", "1 bits must all come first"),
            ("::1/64", "not an IPv4 address"),
        ];
        for (text, expected) in cases {
            let err = text.parse::<Subnet>().unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?} gave {err:?}");
        }
        assert!(Subnet::new(ip("1.2.3.4"), 40).is_err());
        assert_eq!(
            prefix_of(ip("255.255.0.255")),
            Err(SubnetError::NotAMask(ip("255.255.0.255")))
        );
    }
}
