//! Client configuration: where to send requests, with which token and headers, and how patiently.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use super::error::ConfigError;
use super::profile::Profile;
use super::retry::RetryPolicy;

/// The `X-Samsara-Version` sent when none is configured. Pinned, so a token upgraded in the dashboard
/// cannot change response shapes under a running integration (`shared/samsara-api.md` §1.3).
pub const DEFAULT_API_VERSION: &str = "2025-06-11";

/// Time to establish a connection, unless configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Time for one request, body included, unless configured.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A Samsara cloud region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// `https://api.samsara.com`
    Us,
    /// `https://api.eu.samsara.com`
    Eu,
    /// `https://api.ca.samsara.com`
    Ca,
}

impl Region {
    /// The API base URL of the region.
    pub const fn base_url(self) -> &'static str {
        match self {
            Self::Us => "https://api.samsara.com",
            Self::Eu => "https://api.eu.samsara.com",
            Self::Ca => "https://api.ca.samsara.com",
        }
    }
}

impl std::str::FromStr for Region {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "us" => Ok(Self::Us),
            "eu" => Ok(Self::Eu),
            "ca" => Ok(Self::Ca),
            _ => Err(ConfigError::UnknownRegion(s.to_owned())),
        }
    }
}

/// An API token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Checks that `token` can be sent as a bearer token to `profile`'s API.
    pub fn new(token: &str, profile: Profile) -> Result<Self, ConfigError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(ConfigError::BadToken("empty", profile));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::BadToken("not printable ASCII", profile));
        }
        Ok(Self(token.to_owned()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(****)")
    }
}

/// Everything an [`ApiClient`](super::ApiClient) needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) profile: Profile,
    pub(crate) base_url: Url,
    pub(crate) token: Token,
    pub(crate) api_version: String,
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit: bool,
}

impl ClientConfig {
    /// A Samsara API config for `base_url` (a region's URL or an explicit one) with defaults for the
    /// rest.
    ///
    /// `http://` is accepted only for loopback hosts, so a token never crosses a network in clear.
    pub fn new(token: &str, base_url: &str) -> Result<Self, ConfigError> {
        Self::with_profile(Profile::Samsara, token, base_url)
    }

    /// A config for an FMC endpoint speaking the reference contract (`docs/fmc-api.yaml`).
    pub fn fmc(token: &str, base_url: &str) -> Result<Self, ConfigError> {
        Self::with_profile(Profile::Fmc, token, base_url)
    }

    fn with_profile(profile: Profile, token: &str, base_url: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            profile,
            base_url: parse_base_url(base_url, profile)?,
            token: Token::new(token, profile)?,
            api_version: DEFAULT_API_VERSION.to_owned(),
            user_agent: format!("samsara-fmc/{}", crate::VERSION),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::DEFAULT,
            rate_limit: true,
        })
    }

    /// Sets `X-Samsara-Version` (a `YYYY-MM-DD` date; sent to the Samsara API only).
    pub fn api_version(mut self, version: &str) -> Result<Self, ConfigError> {
        let ok = version.len() == 10
            && version.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !ok {
            return Err(ConfigError::BadApiVersion(version.to_owned()));
        }
        version.clone_into(&mut self.api_version);
        Ok(self)
    }

    /// Appends `product` (e.g. `acme-lease-sync/2.1`) to the `User-Agent`.
    #[must_use]
    pub fn user_agent_suffix(mut self, product: &str) -> Self {
        let clean: String = product
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .collect();
        if !clean.trim().is_empty() {
            self.user_agent = format!("samsara-fmc/{} {}", crate::VERSION, clean.trim());
        }
        self
    }

    /// Sets the connect and per-request timeouts.
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Result<Self, ConfigError> {
        retry.validate()?;
        self.retry = retry;
        Ok(self)
    }

    /// Turns client-side rate limiting on or off (off for benchmarks against an unlimited server).
    #[must_use]
    pub fn rate_limit(mut self, on: bool) -> Self {
        self.rate_limit = on;
        self
    }

    /// The base URL, which carries no secret.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// The `User-Agent` sent.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The `X-Samsara-Version` sent.
    pub fn api_version_str(&self) -> &str {
        &self.api_version
    }
}

fn parse_base_url(raw: &str, profile: Profile) -> Result<Url, ConfigError> {
    let raw = raw.trim();
    let what = profile.url_name();
    // What does not parse is not echoed: it may be a token pasted into the wrong setting.
    let url = Url::parse(raw).map_err(|e| ConfigError::NotAUrl(what, e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::InvalidUrl(
            what,
            shown(&url),
            "credentials in the URL are not allowed; pass the token separately".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::InvalidUrl(
            what,
            shown(&url),
            "no query or fragment allowed".into(),
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(ConfigError::InsecureUrl(what, shown(&url))),
        other => {
            return Err(ConfigError::InvalidUrl(
                what,
                shown(&url),
                format!("unsupported scheme `{other}`"),
            ))
        }
    }
    Ok(url)
}

/// A URL as messages show it: without credentials, query or fragment, where a pasted token could sit.
fn shown(url: &Url) -> String {
    let mut safe = url.clone();
    let _ = safe.set_username("");
    let _ = safe.set_password(None);
    safe.set_query(None);
    safe.set_fragment(None);
    safe.to_string()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let ok = [
            "https://api.samsara.com",
            "https://api.eu.samsara.com/",
            "http://127.0.0.1:8123",
            "http://localhost:9",
            "http://[::1]:80",
        ];
        for url in ok {
            assert!(ClientConfig::new("t", url).is_ok(), "{url}");
        }
        let bad = [
            ("http://api.samsara.com", "plain-HTTP"),
            ("http://10.0.0.1", "plain-HTTP"),
            ("ftp://x", "unsupported scheme"),
            ("api.samsara.com", "invalid base URL: relative URL"),
            ("https://user:pw@api.samsara.com", "credentials"),
            ("https://api.samsara.com?x=1", "query"),
        ];
        for (url, msg) in bad {
            let err = ClientConfig::new("t", url).unwrap_err().to_string();
            assert!(err.contains(msg), "{url}: {err}");
        }
    }

    #[test]
    fn url_errors_never_echo_a_pasted_secret_and_name_the_setting() {
        for url in [
            "https://user:SECRET@api.samsara.com",
            "https://api.samsara.com/?token=SECRET",
            "https://api.samsara.com/#SECRET",
            "SECRET",
        ] {
            let err = ClientConfig::new("t", url).unwrap_err().to_string();
            assert!(!err.contains("SECRET"), "{err}");
        }
        let err = ClientConfig::fmc("t", "http://fmc.example.com?k=SECRET")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`FMC_URL`") && !err.contains("SECRET"), "{err}");
        let err = ClientConfig::fmc(" ", "https://fmc.example.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`FMC_TOKEN`"), "{err}");
    }

    #[test]
    fn regions_and_tokens() {
        assert_eq!(
            "EU".parse::<Region>().unwrap().base_url(),
            "https://api.eu.samsara.com"
        );
        assert!("mars"
            .parse::<Region>()
            .unwrap_err()
            .to_string()
            .contains("`mars`"));
        let p = Profile::Samsara;
        assert_eq!(
            Token::new("  ", p).unwrap_err(),
            ConfigError::BadToken("empty", p)
        );
        assert_eq!(
            Token::new("a b", p).unwrap_err(),
            ConfigError::BadToken("not printable ASCII", p)
        );
        assert_eq!(
            format!("{:?}", Token::new("samsara_api_SECRET", p).unwrap()),
            "Token(****)"
        );
        let cfg = ClientConfig::new("samsara_api_SECRET", "https://api.samsara.com").unwrap();
        assert!(!format!("{cfg:?}").contains("SECRET"));
    }

    #[test]
    fn api_version_is_a_date() {
        let cfg = ClientConfig::new("t", "https://api.samsara.com").unwrap();
        assert_eq!(cfg.api_version_str(), DEFAULT_API_VERSION);
        assert!(cfg.clone().api_version("2025-10-23").is_ok());
        assert!(cfg.api_version("latest").is_err());
    }
}
