//! Validation of server base URLs and escaping of path segments.

use crate::errors::ClientError;

/// Checks that `raw` is `http://HOST[:PORT][/]` and returns it without trailing slashes.
pub(crate) fn normalize_base_url(raw: &str) -> Result<String, ClientError> {
    let invalid = || ClientError::InvalidUrl {
        url: raw.to_owned(),
    };
    let trimmed = raw.trim_end_matches('/');
    let scheme = ["http://", "https://"].into_iter().find(|scheme| {
        trimmed.len() > scheme.len() && trimmed[..scheme.len()].eq_ignore_ascii_case(scheme)
    });
    let Some(scheme) = scheme else {
        return Err(invalid());
    };
    let authority = &trimmed[scheme.len()..];
    let (host, port) = split_host_port(authority).ok_or_else(invalid)?;
    let host_ok = if host.starts_with('[') {
        host.len() > 2
            && host[1..host.len() - 1]
                .parse::<std::net::Ipv6Addr>()
                .is_ok()
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port != 0));
    if !host_ok || !port_ok {
        return Err(invalid());
    }
    Ok(format!("{scheme}{authority}"))
}

/// Whether the base URL (already normalized) is `https://`.
pub(crate) fn is_https(base_url: &str) -> bool {
    base_url.starts_with("https://")
}

/// Whether the base URL (already normalized) points at this machine, where proxies never help.
pub(crate) fn is_loopback(base_url: &str) -> bool {
    let authority = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let host = split_host_port(authority).map_or("", |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_ok(raw: &str, expected: &str) {
        assert_eq!(normalize_base_url(raw).unwrap(), expected);
    }

    #[track_caller]
    fn check_invalid(raw: &str) {
        let err = normalize_base_url(raw).unwrap_err();
        assert!(
            matches!(&err, ClientError::InvalidUrl { url } if url == raw),
            "{raw:?} gave {err:?}"
        );
    }

    #[test]
    fn accepts_host_and_port_and_trims_trailing_slashes() {
        check_ok("http://127.0.0.1:3000", "http://127.0.0.1:3000");
        check_ok("http://127.0.0.1:3000/", "http://127.0.0.1:3000");
        check_ok("http://localhost:1//", "http://localhost:1");
        check_ok("http://keel.example.com", "http://keel.example.com");
        check_ok("http://[::1]:8080/", "http://[::1]:8080");
        check_ok("HTTP://host_1:80", "http://host_1:80");
        check_ok(
            "https://keel.example.com:8443/",
            "https://keel.example.com:8443",
        );
        check_ok("HTTPS://localhost", "https://localhost");
    }

    #[test]
    fn refuses_other_schemes_paths_and_bad_ports() {
        for raw in [
            "",
            "127.0.0.1:3000",
            "ftp://host",
            "http://",
            "https://",
            "http:///",
            "http://host:port",
            "http://host:0",
            "http://host:65536",
            "http://host:",
            "http://host:80/v1",
            "http://host:80?x=1",
            "http://user@host:80",
            "http://ho st:80",
            "http://[::1",
            "http://[zz]:80",
            "http://:80",
        ] {
            check_invalid(raw);
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:3000"));
        assert!(is_loopback("http://localhost:3000"));
        assert!(is_loopback("http://[::1]:3000"));
        assert!(!is_loopback("http://10.0.0.1:3000"));
        assert!(!is_loopback("http://keel.example.com"));
    }
}
