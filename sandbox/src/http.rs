//! Requests and responses as the handlers see them: parsed query strings (both list encodings),
//! JSON error bodies in Samsara's `{"message", "requestId"}` shape, and helpers for parameters.

use std::sync::atomic::{AtomicU64, Ordering};

/// How a response leaves the server; faults pick something other than `Normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Write the whole response.
    Normal,
    /// Write the headers and half the body, then reset the connection.
    Reset,
    /// Send only the first half of the body, with a matching `Content-Length`.
    Truncate,
}

/// One parsed HTTP request.
#[derive(Debug, Default)]
pub(crate) struct Request {
    /// Upper-case method.
    pub(crate) method: String,
    /// The path without the query string, trailing `/` removed (except for `/`).
    pub(crate) path: String,
    /// The raw query string (without `?`).
    pub(crate) raw_query: String,
    /// Decoded query pairs, in order.
    pub(crate) query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// Builds a request from its parts, decoding the query string.
    pub(crate) fn new(method: &str, target: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let mut path = path.to_string();
        while path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        let query = raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Self {
            method: method.to_ascii_uppercase(),
            path,
            raw_query: raw_query.to_string(),
            query,
            headers,
            body,
        }
    }

    /// The first value of a header.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The last value of a scalar query parameter, if present and non-empty.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A list parameter, accepting CSV (`a=1,2`), repeated keys (`a=1&a=2`) and `a[]=1`.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        let bracketed = format!("{name}[]");
        self.query
            .iter()
            .filter(|(k, _)| *k == name || *k == bracketed)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A list parameter whose values must all be in `allowed` (a 400 naming the first that is not).
    pub(crate) fn enum_list(&self, name: &str, allowed: &[&str]) -> Result<Vec<String>, Response> {
        let list = self.list(name);
        match list.iter().find(|v| !allowed.contains(&v.as_str())) {
            Some(bad) => Err(Response::bad_param(
                name,
                &format!("unknown value `{bad}` (valid: {})", allowed.join(", ")),
            )),
            None => Ok(list),
        }
    }

    /// An optional scalar parameter that must be one of `allowed`.
    pub(crate) fn enum_param(&self, name: &str, allowed: &[&str]) -> Result<Option<&str>, Response> {
        match self.param(name) {
            Some(v) if !allowed.contains(&v) => Err(Response::bad_param(
                name,
                &format!("unknown value `{v}` (valid: {})", allowed.join(", ")),
            )),
            v => Ok(v),
        }
    }

    /// A list parameter of at most `max` values (ID caps).
    pub(crate) fn capped_list(&self, name: &str, max: usize) -> Result<Vec<String>, Response> {
        let list = self.list(name);
        if list.len() > max {
            return Err(Response::bad_param(
                name,
                &format!("at most {max} IDs are allowed"),
            ));
        }
        Ok(list)
    }

    /// A path segment, percent-decoded (`/fleet/vehicles/{id}` → segment 3).
    pub(crate) fn segment(&self, i: usize) -> Option<String> {
        self.path.split('/').nth(i).map(percent_decode)
    }

    /// The body as JSON, or a 400 naming the problem.
    pub(crate) fn json(&self) -> Result<serde_json::Value, Response> {
        if self.body.is_empty() {
            return Ok(serde_json::Value::Object(serde_json::Map::new()));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Response::error(400, &format!("invalid JSON body: {e}")))
    }

    /// An optional integer parameter in `lo..=hi`.
    pub(crate) fn int_param(&self, name: &str, lo: i64, hi: i64) -> Result<Option<i64>, Response> {
        match self.param(name) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
                _ => Err(Response::bad_param(
                    name,
                    &format!("must be an integer from {lo} to {hi}"),
                )),
            },
        }
    }

    /// An optional RFC 3339 time parameter in Unix milliseconds.
    pub(crate) fn time_param(&self, name: &str) -> Result<Option<i64>, Response> {
        match self.param(name) {
            None => Ok(None),
            Some(v) => crate::simtime::parse_rfc3339_ms(v)
                .map(Some)
                .ok_or_else(|| Response::bad_param(name, "must be an RFC 3339 timestamp")),
        }
    }
}

/// Decodes `%XX` escapes and `+` (as a space).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One HTTP response.
#[derive(Debug)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// Extra headers (Content-Type and Content-Length are added by the server).
    pub(crate) headers: Vec<(String, String)>,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// Body bytes.
    pub(crate) body: Vec<u8>,
    /// How to send it.
    pub(crate) delivery: Delivery,
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// A fresh request id such as `sbx-00000000002a`.
pub(crate) fn request_id() -> String {
    format!("sbx-{:012x}", REQUEST_IDS.fetch_add(1, Ordering::Relaxed))
}

impl Response {
    /// A JSON response with raw bytes.
    pub(crate) fn json_bytes(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body,
            delivery: Delivery::Normal,
        }
    }

    /// A JSON response from a value.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
    }

    /// `{"data": value}` with 200.
    #[allow(clippy::needless_pass_by_value)]
    pub(crate) fn data(value: serde_json::Value) -> Self {
        Self::json(200, &serde_json::json!({ "data": value }))
    }

    /// A Samsara error body: `{"message", "requestId"}`; 5xx bodies are plain text, as Samsara sends.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        if status >= 500 {
            let mut r = Self::json_bytes(status, format!("{message}\n").into_bytes());
            r.content_type = "text/plain; charset=utf-8";
            return r;
        }
        Self::json(
            status,
            &serde_json::json!({ "message": message, "requestId": request_id() }),
        )
    }

    /// A 400 naming the parameter.
    pub(crate) fn bad_param(name: &str, problem: &str) -> Self {
        Self::error(400, &format!("Invalid value for parameter `{name}`: {problem}"))
    }

    /// A 404.
    pub(crate) fn not_found(what: &str) -> Self {
        Self::error(404, &format!("{what} not found"))
    }

    /// `204 No Content`.
    pub(crate) fn no_content() -> Self {
        let mut r = Self::json_bytes(204, Vec::new());
        r.content_type = "";
        r
    }

    /// Adds a header.
    #[must_use]
    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Standard reason phrase.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_list_encodings() {
        let r = Request::new(
            "get",
            "/x/?types=gps,engineStates&ids=1&ids=2%2C3&e=a%3Ab",
            vec![],
            vec![],
        );
        assert_eq!(r.path, "/x");
        assert_eq!(r.list("types"), ["gps", "engineStates"]);
        assert_eq!(r.list("ids"), ["1", "2", "3"]);
        assert_eq!(r.param("e"), Some("a:b"));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
