//! What differs between the two APIs the one transport speaks to.
//!
//! The retry classifier, token buckets, deadline, redaction and error chain are shared; a [`Profile`]
//! adds what is particular to one side:
//!
//! | | Samsara | FMC (`docs/fmc-api.yaml`) |
//! |---|---|---|
//! | headers | bearer token, `X-Samsara-Version` | bearer token, `Idempotency-Key` per batch |
//! | pacing | 150/s per token, plus each endpoint's own limit ([`crate::endpoints`]) | 25/s per token |
//! | a 403 | names the scope the endpoint needs | — |
//! | a 401 | says to check or replace the API token | says to check `FMC_TOKEN` |
//!
//! Both send error bodies as `{"message", "requestId"}`.

use crate::endpoints::{self, Endpoint, Rate, TOKEN_RATE};

/// The reference FMC contract's limit: 25 requests per second per token.
pub const FMC_RATE: Rate = Rate::per_second(25);

/// The most records the reference FMC contract takes in one batch.
pub const FMC_MAX_BATCH: usize = 5_000;

/// Which API a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The Samsara API.
    Samsara,
    /// An FMC endpoint speaking the reference contract.
    Fmc,
}

impl Profile {
    /// The limit every request of one client (one token) shares.
    pub(crate) const fn client_rate(self) -> Rate {
        match self {
            Self::Samsara => TOKEN_RATE,
            Self::Fmc => FMC_RATE,
        }
    }

    /// The catalogued endpoint of a request, for its own rate limit and the scope a 403 names.
    pub(crate) fn endpoint(self, method: &str, path: &str) -> Option<&'static Endpoint> {
        match self {
            Self::Samsara => endpoints::lookup(method, path),
            Self::Fmc => None,
        }
    }

    /// What the token is called in messages.
    pub(crate) const fn token_name(self) -> &'static str {
        match self {
            Self::Samsara => "API token",
            Self::Fmc => "FMC token",
        }
    }

    /// How to fix a token that cannot be sent at all.
    pub(crate) const fn token_fix(self) -> &'static str {
        match self {
            Self::Samsara => {
                "set it to a Samsara API token (Settings → API Tokens; in Functions the `SAMSARA_API_TOKEN` secret)"
            }
            Self::Fmc => "set the `FMC_TOKEN` secret to the bearer token the FMC issued",
        }
    }

    /// How to fix a 401.
    pub(crate) const fn unauthorized_fix(self) -> &'static str {
        match self {
            Self::Samsara => {
                "check the API token or replace it with a current one of this organisation (in Functions: the `SAMSARA_API_TOKEN` secret)"
            }
            Self::Fmc => "check the FMC token or replace it (the `FMC_TOKEN` secret)",
        }
    }

    /// What the base URL is called in messages.
    pub(crate) const fn url_name(self) -> &'static str {
        match self {
            Self::Samsara => "base URL",
            Self::Fmc => "FMC URL (`FMC_URL`)",
        }
    }
}
