//! OAuth 2.0 authorisation-code flow on the API host (§3.20): `GET /oauth2/authorize` approves at
//! once and redirects with a one-time `code`; `POST /oauth2/token` (HTTP Basic client credentials,
//! form body) exchanges a code or a refresh token for a bearer access token (1 simulated hour, all
//! scopes) and a new, rotating refresh token; `POST /oauth2/revoke` revokes a refresh token.
//! The client is `sandbox-client` / `sandbox-secret`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::json;

use crate::http::{percent_decode, Request, Response};
use crate::router::{Sandbox, Token};

/// The registered OAuth client.
pub(crate) const CLIENT_ID: &str = "sandbox-client";
/// Its secret.
pub(crate) const CLIENT_SECRET: &str = "sandbox-secret";
/// Access-token lifetime, seconds.
pub(crate) const EXPIRES_IN: i64 = 3600;

/// Codes and refresh tokens issued so far.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    state: Mutex<Issued>,
}

/// Counter, unused authorisation codes, live refresh tokens.
#[derive(Debug, Default)]
struct Issued(u64, BTreeSet<String>, BTreeSet<String>);

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(status, &json!({"error": error, "error_description": description}))
}

/// Decodes standard base64 (for HTTP Basic credentials).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    };
    let bytes: Vec<u8> = s.trim().bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = chunk.len();
        if n < 2 {
            return None;
        }
        out.push(u8::try_from(acc >> 16 & 0xff).ok()?);
        if n > 2 {
            out.push(u8::try_from(acc >> 8 & 0xff).ok()?);
        }
        if n > 3 {
            out.push(u8::try_from(acc & 0xff).ok()?);
        }
    }
    Some(out)
}

fn form(req: &Request) -> BTreeMap<String, String> {
    String::from_utf8_lossy(&req.body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn client_ok(req: &Request) -> bool {
    req.header("authorization")
        .and_then(|h| h.strip_prefix("Basic ").or_else(|| h.strip_prefix("basic ")))
        .and_then(base64_decode)
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|c| c == format!("{CLIENT_ID}:{CLIENT_SECRET}"))
}

/// Routes `/oauth2/...`.
pub(crate) fn handle(sb: &Sandbox, req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/oauth2/authorize") => authorize(sb, req),
        ("POST", "/oauth2/token") => token(sb, req),
        ("POST", "/oauth2/revoke") => revoke(sb, req),
        (_, "/oauth2/authorize" | "/oauth2/token" | "/oauth2/revoke") => Response::error(
            405,
            &format!("Method {} not allowed for {}", req.method, req.path),
        ),
        _ => Response::not_found(&format!("route {} {}", req.method, req.path)),
    }
}

fn next_secret(sb: &Sandbox, kind: &str, n: u64) -> String {
    format!("{kind}-{:016x}", crate::rng::hash(sb.cfg.seed, &[n, 0x0a]))
}

fn authorize(sb: &Sandbox, req: &Request) -> Response {
    if req.param("client_id") != Some(CLIENT_ID) {
        return oauth_error(400, "invalid_client", "unknown client_id");
    }
    if req.param("response_type") != Some("code") {
        return oauth_error(400, "unsupported_response_type", "response_type must be `code`");
    }
    let Some(redirect) = req.param("redirect_uri") else {
        return oauth_error(400, "invalid_request", "redirect_uri is required");
    };
    let Ok(mut g) = sb.oauth.state.lock() else {
        return Response::error(500, "lock poisoned");
    };
    g.0 += 1;
    let code = next_secret(sb, "code", g.0);
    g.1.insert(code.clone());
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let state = req.param("state").unwrap_or("");
    let mut r =
        Response::no_content().with_header("Location", &format!("{redirect}{sep}code={code}&state={state}"));
    r.status = 302;
    r
}

fn token(sb: &Sandbox, req: &Request) -> Response {
    if !client_ok(req) {
        return oauth_error(
            401,
            "invalid_client",
            "HTTP Basic client credentials are required",
        );
    }
    let f = form(req);
    let Ok(mut g) = sb.oauth.state.lock() else {
        return Response::error(500, "lock poisoned");
    };
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            if !f.get("code").is_some_and(|c| g.1.remove(c)) {
                return oauth_error(400, "invalid_grant", "unknown or already used code");
            }
        }
        Some("refresh_token") => {
            if !f.get("refresh_token").is_some_and(|c| g.2.remove(c)) {
                return oauth_error(400, "invalid_grant", "unknown, rotated or revoked refresh token");
            }
        }
        _ => {
            return oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )
        }
    }
    g.0 += 1;
    let n = g.0;
    let (access, refresh) = (next_secret(sb, "access", n), next_secret(sb, "refresh", n));
    g.2.insert(refresh.clone());
    drop(g);
    if let Ok(mut ts) = sb.tokens.lock() {
        ts.push(Token {
            value: access.clone(),
            label: format!("oauth-{n}"),
            scopes: None,
            revoked_at: None,
            expires_at: Some(sb.clock.now_ms() + EXPIRES_IN * 1000),
            version: crate::version::LATEST.into(),
        });
    }
    Response::json(
        200,
        &json!({"access_token": access, "refresh_token": refresh, "expires_in": EXPIRES_IN, "token_type": "bearer", "scope": "admin:read admin:write"}),
    )
}

fn revoke(sb: &Sandbox, req: &Request) -> Response {
    if !client_ok(req) {
        return oauth_error(
            401,
            "invalid_client",
            "HTTP Basic client credentials are required",
        );
    }
    let f = form(req);
    if let (Some(t), Ok(mut g)) = (f.get("token"), sb.oauth.state.lock()) {
        g.2.remove(t);
    }
    Response::json(200, &json!({}))
}
