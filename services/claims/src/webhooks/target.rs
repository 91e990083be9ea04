//! Which URLs a webhook may call. Insurers choose the URL, so we guard against being
//! turned on ourselves: https only in production, no credentials in the URL, and (unless
//! allowed, as in the embedded default and tests) no loopback, private, link-local or
//! otherwise internal address, checked when the URL is registered and again at each
//! delivery (a name may resolve elsewhere later).

use std::net::IpAddr;

use reqwest::Url;

pub fn check_url(raw: &str, production: bool) -> Result<Url, String> {
    if raw.len() > 2000 {
        return Err("at most 2000 characters".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if !production => {}
        _ => return Err("must be an https URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    Ok(url)
}

fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64.0.0/10
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| internal(IpAddr::V4(v4)))
        }
    }
}

/// Fails when `url`'s host resolves to an internal address (and those are not allowed).
pub async fn check_resolved(url: &Url, allow_internal: bool) -> Result<(), String> {
    if allow_internal {
        return Ok(());
    }
    let host = url.host_str().ok_or("must name a host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?;
    for addr in addrs {
        if internal(addr.ip()) {
            return Err(format!("{host} resolves to an internal address"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_calls_https_only_and_never_with_credentials() {
        assert!(check_url("https://hooks.acme.example/claims", true).is_ok());
        assert!(check_url("http://hooks.acme.example/claims", true).is_err());
        assert!(check_url("http://127.0.0.1:9000/", false).is_ok());
        assert!(check_url("https://user:pw@hooks.acme.example/", true).is_err());
        assert!(check_url("ftp://hooks.acme.example/", false).is_err());
        assert!(check_url("not a url", false).is_err());
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_unless_allowed() {
        for raw in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest",
            "https://[::1]/",
            "https://100.64.0.1/",
            "https://[::ffff:192.168.0.1]/",
        ] {
            let url = check_url(raw, true).unwrap();
            assert!(check_resolved(&url, false).await.is_err(), "{raw}");
            assert!(check_resolved(&url, true).await.is_ok(), "{raw}");
        }
        let public = check_url("https://93.184.215.14/", true).unwrap();
        assert!(check_resolved(&public, false).await.is_ok());
    }
}
