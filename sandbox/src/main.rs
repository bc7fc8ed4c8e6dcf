//! The local Samsara sandbox: a deterministic simulator of the Samsara REST API on 127.0.0.1, with
//! fault injection, an admin API and a reference FMC endpoint. See `docs/sandbox.md`.

mod admin;
mod assignments;
mod config;
mod defects;
mod dtc;
mod entities;
mod episodes;
mod events;
mod faults;
mod fleet;
mod fmc;
mod fmc_changes;
mod forms;
mod formtemplates;
mod gaps;
mod http;
mod ifta;
mod issues;
mod jsonw;
mod legacy;
mod limits;
mod media;
mod model;
mod oauth;
mod readings;
mod rng;
mod router;
mod server;
mod simtime;
mod statsapi;
mod stattypes;
mod store;
mod streams;
mod tags;
mod version;

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cfg = match config::Config::parse(std::env::args().skip(1)) {
        Ok(Some(c)) => c,
        Ok(None) => {
            let _ = std::io::stdout().write_all(config::USAGE.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "samsara-sandbox: {e}");
            return ExitCode::from(2);
        }
    };
    let (port, threads) = (cfg.port, cfg.threads);
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "samsara-sandbox: cannot bind 127.0.0.1:{port}: {e}"
            );
            return ExitCode::from(1);
        }
    };
    // Media URLs name the port the sandbox really listens on (`--port 0` picks one).
    let mut cfg = cfg;
    cfg.port = listener.local_addr().map_or(port, |a| a.port());
    let sandbox = match router::Sandbox::new(cfg) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "samsara-sandbox: {e}");
            return ExitCode::from(1);
        }
    };
    let addr = listener.local_addr().map_or(port, |a| a.port());
    let mut out = std::io::stdout().lock();
    if writeln!(out, "listening on http://127.0.0.1:{addr}")
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    drop(out);
    server::serve(&listener, &sandbox, threads);
    ExitCode::SUCCESS
}
