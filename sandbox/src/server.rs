//! The HTTP/1.1 server: `std::net` plus `httparse`, keep-alive, a small fixed pool of worker threads,
//! and byte-level control of what goes on the wire (for resets and truncated bodies).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::http::{reason, Delivery, Request, Response};
use crate::router::Sandbox;

/// Largest accepted request head.
const MAX_HEAD: usize = 64 * 1024;
/// Largest accepted request body.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// An idle keep-alive connection is closed after this long, to free its worker.
const IDLE: Duration = Duration::from_secs(10);

/// Accepts connections forever, handing each to the worker pool.
pub(crate) fn serve(listener: &TcpListener, sandbox: &Arc<Sandbox>, threads: usize) {
    let (tx, rx) = mpsc::channel::<TcpStream>();
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..threads.max(1) {
        let rx = Arc::clone(&rx);
        let sb = Arc::clone(sandbox);
        std::thread::spawn(move || worker(&rx, &sb));
    }
    for stream in listener.incoming().flatten() {
        if tx.send(stream).is_err() {
            break;
        }
    }
}

fn worker(rx: &Mutex<Receiver<TcpStream>>, sb: &Sandbox) {
    loop {
        let next = rx.lock().map(|r| r.recv());
        match next {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let _ = stream.set_read_timeout(Some(IDLE));
                connection(stream, sb);
            }
            _ => return,
        }
    }
}

enum Parsed {
    Request(Request, bool),
    Bad(&'static str),
    Closed,
}

/// Serves requests on one connection until it closes or asks to.
fn connection(mut stream: TcpStream, sb: &Sandbox) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        match read_request(&mut stream, &mut buf) {
            Parsed::Closed => return,
            Parsed::Bad(msg) => {
                let r = Response::error(400, msg);
                let _ = write_response(&mut stream, &mut out, &r, false);
                return;
            }
            Parsed::Request(req, keep_alive) => {
                // A handler bug must cost one 500, not a worker thread.
                let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sb.handle(&req)))
                    .unwrap_or_else(|_| Response::error(500, "internal sandbox error"));
                if !write_response(&mut stream, &mut out, &resp, keep_alive) || !keep_alive {
                    // Dropping the stream closes it (with a RST after a reset fault, a FIN otherwise).
                    return;
                }
            }
        }
    }
}

/// Reads one request (head and `Content-Length` body) from the stream; leftover bytes stay in `buf`.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Parsed {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let method = req.method.unwrap_or("GET").to_string();
                    let target = req.path.unwrap_or("/").to_string();
                    let http10 = req.version == Some(0);
                    let hdrs: Vec<(String, String)> = req
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    if hdrs
                        .iter()
                        .any(|(k, v)| k == "transfer-encoding" && !v.eq_ignore_ascii_case("identity"))
                    {
                        return Parsed::Bad("chunked request bodies are not supported; send Content-Length");
                    }
                    let len = hdrs
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .map_or(Ok(0), |(_, v)| v.trim().parse::<usize>());
                    let Ok(len) = len else {
                        return Parsed::Bad("invalid Content-Length");
                    };
                    if len > MAX_BODY {
                        return Parsed::Bad("request body too large");
                    }
                    let conn = hdrs
                        .iter()
                        .find(|(k, _)| k == "connection")
                        .map(|(_, v)| v.to_ascii_lowercase());
                    let keep_alive = match conn.as_deref() {
                        Some(c) if c.contains("close") => false,
                        Some(c) if c.contains("keep-alive") => true,
                        _ => !http10,
                    };
                    let expects = hdrs
                        .iter()
                        .any(|(k, v)| k == "expect" && v.eq_ignore_ascii_case("100-continue"));
                    if expects && buf.len() < head_len + len {
                        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                    while buf.len() < head_len + len {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return Parsed::Closed,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[head_len..head_len + len].to_vec();
                    buf.drain(..head_len + len);
                    return Parsed::Request(Request::new(&method, &target, hdrs, body), keep_alive);
                }
                Ok(httparse::Status::Partial) => {
                    if buf.len() > MAX_HEAD {
                        return Parsed::Bad("request head too large");
                    }
                }
                Err(_) => return Parsed::Bad("malformed HTTP request"),
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Parsed::Closed,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Parsed::Closed,
        }
    }
}

/// Writes a response; false when the connection must be dropped.
fn write_response(stream: &mut TcpStream, out: &mut Vec<u8>, r: &Response, keep_alive: bool) -> bool {
    let body: &[u8] = match r.delivery {
        Delivery::Truncate => &r.body[..r.body.len() / 2],
        _ => &r.body,
    };
    out.clear();
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    if !r.content_type.is_empty() {
        let _ = write!(out, "Content-Type: {}\r\n", r.content_type);
    }
    if r.status != 204 {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    for (k, v) in &r.headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    out.extend_from_slice(if keep_alive {
        b"Connection: keep-alive\r\n\r\n"
    } else {
        b"Connection: close\r\n\r\n"
    });
    if r.delivery == Delivery::Reset {
        out.extend_from_slice(&body[..body.len() / 2]);
        let _ = stream.write_all(out);
        let _ = stream.flush();
        reset(stream);
        return false;
    }
    if out.len() + body.len() <= 256 * 1024 {
        out.extend_from_slice(body);
        stream.write_all(out).is_ok()
    } else {
        stream.write_all(out).is_ok() && stream.write_all(body).is_ok()
    }
}

/// Aborts the connection with a TCP RST (`SO_LINGER` 0), so the client sees a reset mid-body.
fn reset(stream: &TcpStream) {
    let sock = socket2::SockRef::from(stream);
    let _ = sock.set_linger(Some(Duration::ZERO));
}
