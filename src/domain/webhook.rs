//! The rules of webhook deliveries (docs/webhooks.md), without I/O: which addresses a target
//! may resolve to, what a target URL looks like, the retry schedule and its jitter, and the
//! Standard Webhooks signature (`whsec_` secrets, `v1,<base64 HMAC-SHA256>`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether a webhook may be sent to `ip`: a public unicast address. Refused: private
/// (10/8, 172.16/12, 192.168/16), loopback, link-local (169.254/16, fe80::/10), unspecified,
/// shared address space (CGNAT, 100.64/10), unique local (fc00::/7), multicast, broadcast,
/// documentation and benchmarking ranges, "this network" (0/8), reserved (240/4), and the
/// IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms of a refused IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240;
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // An IPv4 address in IPv6 clothing is judged as that IPv4 address.
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let refused = ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0); // discard 100::/64
    !refused
}

/// The IPv4 address an IPv6 address carries: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Whether `ip` is a loopback address (allowed with `WEBHOOK_ALLOW_INSECURE=true`).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || embedded_v4(v6).is_some_and(|v| v.is_loopback()),
    }
}

/// Whether a delivery may connect to `ip`: a public address, or with `insecure`
/// (development and tests) also a loopback one.
pub fn address_allowed(ip: IpAddr, insecure: bool) -> bool {
    is_public(ip) || (insecure && is_loopback(ip))
}

/// A webhook target as a subscription names it: `https://host[:port]/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// The host as written (a name, an IPv4 address or an IPv6 address without brackets).
    pub host: String,
    pub port: u16,
}

impl Target {
    /// The host as an address, if the URL names one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// The longest target URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Reads a target URL: `https` (or, with `insecure`, `http`), a host, an optional port, no
/// user information, no fragment, only visible ASCII. An address literal is checked here
/// (`address_allowed`); a host name is checked by whoever resolves it, at subscription time
/// and before every delivery.
pub fn parse_target(url: &str, insecure: bool) -> Result<Target, String> {
    if url.len() > MAX_URL_LEN || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "must be at most {MAX_URL_LEN} visible ASCII characters (percent-encode the rest)"
        ));
    }
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://").filter(|_| insecure) {
        (false, r)
    } else {
        return Err("must be an https:// URL".into());
    };
    if url.contains('#') {
        return Err("must not have a fragment (#…)".into());
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry user information (user:password@)".into());
    }
    let (host, port) = split_host_port(authority)?;
    let default = if https { 443 } else { 80 };
    let target = Target {
        https,
        host: host.to_ascii_lowercase(),
        port: port.unwrap_or(default),
    };
    if let Some(ip) = target.ip()
        && !address_allowed(ip, insecure)
    {
        return Err(refused_address(ip));
    }
    Ok(target)
}

/// The problem with an address a target must not reach.
pub fn refused_address(ip: IpAddr) -> String {
    format!(
        "{ip} is not a public address (private, loopback, link-local, shared, unique local, \
         multicast or reserved); webhooks are sent to public https endpoints only"
    )
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let bad_port = || "has a port that is not a number in 1–65535".to_owned();
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(bad_port)
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("has an unclosed [")?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err("has a bracketed host that is not an IPv6 address".into());
        }
        match after {
            "" => (host, None),
            p => (host, Some(port(p.strip_prefix(':').ok_or_else(bad_port)?)?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(port(p)?)),
            None => (authority, None),
        }
    };
    let name_ok = |h: &str| {
        !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    if !authority.starts_with('[') && !name_ok(host) {
        return Err("has no valid host name".into());
    }
    Ok((host, port))
}

/// Reads `WEBHOOK_RETRY_SCHEDULE`: the waits before each retry, comma-separated, each a whole
/// number with `s`, `m` or `h` (`5s,5m,30m,2h,5h,10h,10h`), each from 1 s to 24 h, 1 to 20 of
/// them. A delivery is attempted once and then once after each wait; in seconds.
pub fn parse_schedule(text: &str) -> Result<Vec<u64>, String> {
    let steps: Vec<&str> = text.split(',').map(str::trim).collect();
    if steps.len() > 20 {
        return Err("has more than 20 steps".into());
    }
    steps
        .into_iter()
        .map(|step| {
            let bad = || format!("{step:?} is not a wait like 30s, 5m or 2h (1s to 24h)");
            let unit = step.chars().last().ok_or_else(bad)?;
            let factor = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(bad()),
            };
            let digits = &step[..step.len() - 1];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            digits
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(factor))
                .filter(|s| (1..=86_400).contains(s))
                .ok_or_else(bad)
        })
        .collect()
}

/// The default retry schedule (about a day in all, as the Standard Webhooks example).
pub const DEFAULT_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// How long to wait after the `failures`-th failed attempt in a row before the next one, in
/// milliseconds, with jitter: the schedule's wait times a factor from 0.9 to 1.1 (`unit` in
/// [0, 1) picks it), so that many deliveries that failed together do not all come back at
/// the same instant. `None`: the schedule is used up, the delivery is parked as failed.
pub fn retry_delay_ms(schedule: &[u64], failures: u32, unit: f64) -> Option<u64> {
    let step = usize::try_from(failures).ok()?.checked_sub(1)?;
    let wait_ms = schedule.get(step)?.saturating_mul(1000);
    let factor = 0.9 + 0.2 * unit.clamp(0.0, 1.0);
    // Waits are at most a day: far inside f64's exact integers.
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    #[allow(clippy::cast_sign_loss)]
    let jittered = (wait_ms as f64 * factor).round() as u64;
    Some(jittered.max(1))
}

/// The prefix of a Standard Webhooks symmetric secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A secret for a subscription from `random` bytes (24 to 64 of them): `whsec_<base64>`.
pub fn secret_from(random: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", B64.encode(random))
}

/// The signing key of a `whsec_` secret: the base64 after the prefix, decoded.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or("a webhook secret starts with whsec_")?;
    B64.decode(b64)
        .map_err(|e| format!("a webhook secret's key is not base64: {e}"))
}

/// The `webhook-signature` header of a message: `v1,` and the base64 of HMAC-SHA256 under
/// the secret's key over `{id}.{timestamp}.{body}`.
pub fn signature(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(e) => unreachable!("HMAC takes a key of any length: {e}"),
    };
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_are_targets() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(public)), "{public} is public");
        }
        for refused in [
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} is refused");
        }
    }

    #[test]
    fn loopback_only_when_insecure() {
        assert!(!address_allowed(ip("127.0.0.1"), false));
        assert!(address_allowed(ip("127.0.0.1"), true));
        assert!(address_allowed(ip("::1"), true));
        assert!(address_allowed(ip("::ffff:127.0.0.1"), true));
        assert!(!address_allowed(ip("10.0.0.1"), true));
        assert!(!address_allowed(ip("169.254.169.254"), true));
    }

    #[test]
    fn target_urls() {
        let t = parse_target("https://hooks.example.org/in?x=1", false).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.https),
            ("hooks.example.org", 443, true)
        );
        let t = parse_target("https://[2606:4700::1]:8443/x", false).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("2606:4700::1", 8443));
        assert!(parse_target("http://hooks.example.org/", false).is_err());
        assert_eq!(
            parse_target("http://127.0.0.1:9000/hook", true)
                .unwrap()
                .port,
            9000
        );
        for bad in [
            "https://127.0.0.1/",
            "https://10.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:192.168.0.1]/",
            "https://user:pw@hooks.example.org/",
            "https://hooks.example.org:0/",
            "https://hooks.example.org:99999/",
            "https:///x",
            "https://exa mple.org/",
            "https://hooks.example.org/#frag",
            "ftp://hooks.example.org/",
            "https://[::1/",
        ] {
            assert!(parse_target(bad, false).is_err(), "{bad} is refused");
        }
        assert!(parse_target("http://10.0.0.1/", true).is_err());
    }

    #[test]
    fn schedules() {
        assert_eq!(
            parse_schedule(DEFAULT_SCHEDULE).unwrap(),
            vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000]
        );
        assert_eq!(parse_schedule(" 1s, 2s ,4s").unwrap(), vec![1, 2, 4]);
        for bad in [
            "", "5", "5x", "s", "-5s", "0s", "25h", "1.5s", "5s,,5s", "5 s",
        ] {
            assert!(parse_schedule(bad).is_err(), "{bad:?} is refused");
        }
        assert!(parse_schedule(&vec!["1s"; 21].join(",")).is_err());
    }

    #[test]
    fn retries_follow_the_schedule_with_bounded_jitter() {
        let s = [1, 60];
        assert_eq!(retry_delay_ms(&s, 0, 0.5), None);
        assert_eq!(retry_delay_ms(&s, 1, 0.5), Some(1000));
        assert_eq!(retry_delay_ms(&s, 1, 0.0), Some(900));
        assert_eq!(retry_delay_ms(&s, 2, 0.999_999), Some(66_000));
        assert_eq!(retry_delay_ms(&s, 3, 0.5), None);
    }

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example of the Standard Webhooks reference libraries.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(secret_key("MfKQ9r8").is_err());
        assert!(secret_from(&[7; 32]).starts_with("whsec_"));
        assert_eq!(secret_key(&secret_from(&[7; 32])).unwrap(), vec![7; 32]);
    }
}
