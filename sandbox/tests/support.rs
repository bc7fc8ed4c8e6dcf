//! Starting a sandbox process and talking to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A running sandbox, killed on drop.
pub(crate) struct Sandbox {
    child: Child,
    /// Base URL.
    pub(crate) url: String,
    /// HTTP client.
    pub(crate) http: reqwest::blocking::Client,
}

impl Sandbox {
    /// Starts the binary with extra flags (after `--port 0`).
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_samsara-sandbox"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sandbox");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read URL line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("URL line")
            .to_string();
        Self {
            child,
            url,
            http: reqwest::blocking::Client::new(),
        }
    }

    /// The default fleet: seed 7, 50 vehicles, 2 days, no rate limits unless asked.
    pub(crate) fn default_fleet() -> Self {
        Self::start(&[
            "--seed",
            "7",
            "--vehicles",
            "50",
            "--drivers",
            "60",
            "--days",
            "2",
            "--start",
            "2026-11-02T18:00:00Z",
            "--rate-limits",
            "off",
        ])
    }

    /// A request with the default token.
    pub(crate) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth("sandbox-token")
    }

    /// GET with the default token: (status, JSON body or Null).
    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        let r = self.req(reqwest::Method::GET, path).send().expect("send");
        let status = r.status().as_u16();
        (
            status,
            r.text()
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null),
        )
    }

    /// A JSON write with the default token.
    pub(crate) fn send(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .req(m, path)
            .body(serde_json::to_vec(body).unwrap())
            .header("content-type", "application/json")
            .send()
            .expect("send");
        let status = r.status().as_u16();
        (
            status,
            r.text()
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null),
        )
    }

    /// An admin call.
    pub(crate) fn admin(&self, method: &str, path: &str, body: &Value) -> Value {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.http
            .request(m, format!("{}{path}", self.url))
            .body(serde_json::to_vec(body).unwrap())
            .header("content-type", "application/json")
            .send()
            .expect("admin")
            .text()
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    }

    /// The process ID.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Moves the simulated clock.
    pub(crate) fn advance(&self, seconds: i64) {
        self.admin(
            "POST",
            "/__sandbox/clock/advance",
            &serde_json::json!({ "seconds": seconds }),
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `RFC 3339` of `base` plus `seconds` (whole seconds, UTC).
pub(crate) fn rfc3339_after(base: &str, seconds: i64) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(base).unwrap() + chrono::Duration::seconds(seconds);
    t.with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
