//! Calls to partners' webhook URLs. In production a URL must be https and
//! its host must resolve only to public addresses: the name is resolved
//! here, every address checked, and the request pinned to a checked one, so
//! a DNS answer cannot point the shop at its own network (SSRF).
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::ports::{HookAnswer, HookClient};

pub struct HttpHooks {
    /// Production: https only, public addresses only.
    strict: bool,
    timeout: Duration,
}

impl HttpHooks {
    pub fn new(strict: bool) -> Self {
        Self { strict, timeout: Duration::from_secs(10) }
    }
}

/// Addresses a partner URL must never reach in production.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // carrier-grade NAT
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
                || o[0] >= 224 // multicast, reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 || s[0] == 0x2001 && s[1] == 0xdb8
        }
    }
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl HttpHooks {
    /// Resolves the URL's host and returns the address to call, or why not.
    async fn target(&self, url: &reqwest::Url) -> Result<Option<SocketAddr>, String> {
        let host = url.host_str().ok_or("no host")?.to_string();
        let port = url.port_or_known_default().ok_or("no port")?;
        if !self.strict {
            return Ok(None);
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
        if addrs.is_empty() {
            return Err(format!("{host} has no address"));
        }
        if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
            return Err(format!("{host} resolves to a private address ({}): refused", bad.ip()));
        }
        Ok(addrs.first().copied())
    }
}

#[async_trait]
impl HookClient for HttpHooks {
    fn check_url(&self, url: &str) -> Result<(), String> {
        let u = reqwest::Url::parse(url).map_err(|_| "not-a-url".to_string())?;
        let host = u.host_str().unwrap_or_default();
        if host.is_empty() {
            return Err("not-a-url".into());
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("credentials".into());
        }
        match u.scheme() {
            "https" => {}
            "http" if !self.strict && is_loopback_host(host) => {}
            "http" if !self.strict => return Err("http-loopback-only".into()),
            _ => return Err("https-only".into()),
        }
        if self.strict && (is_loopback_host(host) || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(is_private)) {
            return Err("private".into());
        }
        Ok(())
    }

    async fn post(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> HookAnswer {
        let started = Instant::now();
        let answer = |status: Option<u16>, note: String| HookAnswer { status, latency_ms: started.elapsed().as_millis() as u64, note };
        if let Err(e) = self.check_url(url) {
            return answer(None, format!("refused URL ({e})"));
        }
        let Ok(parsed) = reqwest::Url::parse(url) else { return answer(None, "not a URL".into()) };
        let pinned = match self.target(&parsed).await {
            Ok(p) => p,
            Err(e) => return answer(None, e),
        };
        let mut builder = reqwest::Client::builder().timeout(self.timeout).redirect(reqwest::redirect::Policy::none()).user_agent("Vitrina-Webhooks/1");
        if let (Some(addr), Some(host)) = (pinned, parsed.host_str()) {
            builder = builder.resolve(host, addr);
        }
        let client = match builder.build() {
            Ok(c) => c,
            Err(e) => return answer(None, format!("client: {e}")),
        };
        let mut req = client.post(parsed).header("content-type", "application/json").body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let text = res.text().await.unwrap_or_default();
                answer(Some(status), text.chars().take(300).collect())
            }
            Err(e) if e.is_timeout() => answer(None, format!("no answer within {} s", self.timeout.as_secs())),
            Err(e) => answer(None, format!("could not connect: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_addresses_are_recognised() {
        for ip in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_by_mode() {
        let prod = HttpHooks::new(true);
        let dev = HttpHooks::new(false);
        assert!(prod.check_url("https://partner.example.com/hook").is_ok());
        assert!(prod.check_url("http://partner.example.com/hook").is_err());
        assert!(prod.check_url("https://127.0.0.1/hook").is_err());
        assert!(prod.check_url("https://10.0.0.5/hook").is_err());
        assert!(dev.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(dev.check_url("http://localhost:9000/hook").is_ok());
        assert!(dev.check_url("http://partner.example.com/hook").is_err());
        assert!(dev.check_url("ftp://x/y").is_err());
        assert!(prod.check_url("https://u:p@partner.example.com/").is_err());
    }
}
