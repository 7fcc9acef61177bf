//! Where the platform may send requests that a third party chose (provider webhook endpoints):
//! only to *global* addresses on the AWS backend. [`is_global`] is the address rule,
//! [`internal_name`] the names refused without asking DNS, [`global_host`] the rule for a URL.
//! The outbound HTTP adapter (`mkpf-runtime`'s `egress`) applies them to every DNS answer and
//! every redirect, so a name that resolves inside (or is re-pointed there after registration:
//! DNS rebinding) is never connected to. See `docs/mynapoint.md` (endpoint
//! policy).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a global unicast address: not loopback, private (10/8, 172.16/12,
/// 192.168/16), CGNAT (100.64/10), link-local (169.254/16, incl. the instance metadata address),
/// "this network" (0/8), IETF protocol assignments (192.0.0/24), documentation, benchmarking
/// (198.18/15), multicast, reserved (240/4) or broadcast. IPv6: only 2000::/3 less documentation
/// (2001:db8::/32, 3fff::/20), IETF assignments incl. Teredo (2001::/23) and 6to4 (2002::/16);
/// the NAT64 well-known prefix 64:ff9b::/96 counts as its embedded IPv4 address. IPv4-mapped and
/// -compatible addresses, ULA (fc00::/7), link-local and site-local are not global.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_global_v4(a),
        IpAddr::V6(a) => is_global_v6(a),
    }
}

fn is_global_v4(a: Ipv4Addr) -> bool {
    let [b0, b1, b2, _] = a.octets();
    !(b0 == 0
        || b0 == 10
        || b0 == 127
        || (b0 == 100 && (b1 & 0xc0) == 64)
        || (b0 == 169 && b1 == 254)
        || (b0 == 172 && (b1 & 0xf0) == 16)
        || (b0 == 192 && b1 == 168)
        || (b0 == 192 && b1 == 0 && b2 == 0)
        || (b0 == 192 && b1 == 0 && b2 == 2)
        || (b0 == 192 && b1 == 88 && b2 == 99)
        || (b0 == 198 && (b1 & 0xfe) == 18)
        || (b0 == 198 && b1 == 51 && b2 == 100)
        || (b0 == 203 && b1 == 0 && b2 == 113)
        || b0 >= 224)
}

fn is_global_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    // NAT64 (RFC 6052 well-known prefix): the embedded IPv4 address decides.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [_, _, _, _, _, _, hi, lo] = s;
        return is_global_v4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
    }
    (s[0] & 0xe000) == 0x2000
        && !(s[0] == 0x2001 && s[1] < 0x0200)
        && !(s[0] == 0x2001 && s[1] == 0x0db8)
        && s[0] != 0x2002
        && !(s[0] == 0x3fff && s[1] < 0x1000)
}

/// Names that are never global, refused without a lookup: `localhost` and `*.localhost`
/// (RFC 6761), single-label names (resolved through search domains), and the private suffixes
/// `.local`, `.localdomain`, `.internal` (AWS's `*.ec2.internal`, `*.compute.internal`),
/// `.home.arpa`, `.intranet`, `.lan`. `name` is a lower-case DNS name (a trailing dot allowed).
pub fn internal_name(name: &str) -> bool {
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    const SUFFIXES: [&str; 7] = ["localhost", "local", "localdomain", "internal", "home.arpa", "intranet", "lan"];
    !n.contains('.') || SUFFIXES.iter().any(|s| n == *s || n.ends_with(&format!(".{s}")))
}

/// Whether `url`'s host may be connected to on the AWS backend: a global IP literal
/// ([`is_global`]) or a name that is not [`internal_name`] (which the adapter's resolver checks
/// again on every DNS answer). The URL parser has normalised IPv4 forms (`0x7f000001`) and brackets IPv6
/// literals; a URL without a host is not global.
pub fn global_host(url: &url::Url) -> bool {
    match url.host_str() {
        Some(h) if !h.is_empty() => match h.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            Some(v6) => v6.parse::<Ipv6Addr>().is_ok_and(|a| is_global(a.into())),
            None => match h.parse::<Ipv4Addr>() {
                Ok(a) => is_global(a.into()),
                Err(_) => !internal_name(h),
            },
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_addresses() {
        for g in ["8.8.8.8", "1.1.1.1", "203.0.114.1", "100.128.0.1", "172.32.0.1", "2001:4860:4860::8888", "2400::1"] {
            assert!(is_global(g.parse().unwrap()), "{g}");
        }
        assert!(is_global("64:ff9b::808:808".parse().unwrap()), "NAT64 of 8.8.8.8");
        for n in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.5",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001::1",
            "2001:db8::1",
            "2002:a9fe:a9fe::1",
            "3fff::1",
            "100::1",
        ] {
            assert!(!is_global(n.parse().unwrap()), "{n}");
        }
    }

    #[test]
    fn internal_names() {
        for n in ["localhost", "LOCALHOST.", "api.localhost", "metadata", "ip-10-0-0-1.ec2.internal", "printer.local"] {
            assert!(internal_name(n), "{n}");
        }
        for n in ["pay.example.jp", "localhost.example.jp", "internal.example.com"] {
            assert!(!internal_name(n), "{n}");
        }
    }
}
