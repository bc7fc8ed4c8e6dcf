//! The reference FMC endpoint (`/fmc/v1/`, contract in `docs/fmc-api.yaml`): batch upserts of records
//! per stream with `Idempotency-Key`, stored in SQLite; and the FMC's master lists, a noisy copy of the
//! simulated fleet whose ground truth is served under `/__sandbox/truth/`.
//!
//! Every call goes through [`serve`]: bearer auth (when `--fmc-token` is given), fault rules with an
//! explicit FMC path, the per-token rate limit, then the handler.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use samsara_fmc::endpoints::Rate;
use serde_json::{json, Value};

use crate::faults::{injected, Kind};
use crate::fleet::{Fleet, BRANCHES};
use crate::http::{Delivery, Request, Response};
use crate::limits::Limiter;
use crate::rng::Rng;
use crate::router::{PageFault, Sandbox};
use crate::simtime::{real_sleep, rfc3339_ms};

/// Most records accepted in one batch.
pub(crate) const MAX_BATCH: usize = 5_000;

/// The FMC endpoint's rate limit per token (or for all callers together when it is open): a token
/// bucket holding one second's requests.
pub(crate) const FMC_RATE: Rate = Rate::per_second(25);

/// The FMC side's state.
#[derive(Debug)]
pub(crate) struct Fmc {
    db: Mutex<Connection>,
    /// The master lists, built on first use (at 50,000 vehicles they take a quarter of a GB, which a
    /// sandbox serving only telemetry should not pay for).
    lists: OnceLock<Lists>,
    seed: u64,
    /// Changes scripted through `POST /__sandbox/fmc/changes`.
    pub(crate) scripted: Mutex<Vec<Value>>,
    limiter: Limiter,
}

fn noisy_vin(rng: &mut Rng, vin: &str) -> String {
    let r = rng.unit();
    let mut b: Vec<char> = vin.chars().collect();
    if r < 0.68 {
        return vin.to_string();
    } else if r < 0.78 {
        let i = usize::try_from(rng.below(17)).unwrap_or(0);
        b[i] = char::from(*rng.pick(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789"));
    } else if r < 0.88 {
        for c in &mut b {
            match *c {
                '0' => *c = 'O',
                '1' => *c = 'I',
                _ => {}
            }
        }
    } else if r < 0.93 {
        return vin.to_ascii_lowercase();
    } else {
        return String::new();
    }
    b.into_iter().collect()
}

fn noisy_plate(rng: &mut Rng, plate: &str) -> Value {
    let r = rng.unit();
    if r < 0.6 {
        json!(plate)
    } else if r < 0.78 {
        json!(plate.replace(['-', ' '], ""))
    } else if r < 0.9 {
        Value::Null
    } else {
        json!(crate::fleet::pattern(rng, "LLL DDDD"))
    }
}

impl Fmc {
    /// Opens (or creates) the database; the master lists come from the fleet on first use.
    pub(crate) fn open(path: Option<&str>, seed: u64) -> Result<Self, String> {
        let db = match path {
            Some(p) => Connection::open(p),
            None => Connection::open_in_memory(),
        }
        .map_err(|e| format!("cannot open database: {e}"))?;
        db.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS records (stream TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
               deliveries INTEGER NOT NULL, first_received TEXT NOT NULL, last_received TEXT NOT NULL,
               seq INTEGER NOT NULL, PRIMARY KEY (stream, id));
             CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, stream TEXT NOT NULL,
               status INTEGER NOT NULL, response TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS files (stream TEXT NOT NULL, name TEXT NOT NULL,
               content_type TEXT NOT NULL, body BLOB NOT NULL, digest TEXT NOT NULL,
               deliveries INTEGER NOT NULL, duplicates INTEGER NOT NULL, first_received TEXT NOT NULL,
               last_received TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (stream, name));",
        )
        .map_err(|e| format!("cannot create tables: {e}"))?;
        // Columns added later; a database file from an older sandbox gains them here.
        for (table, column) in [
            ("records", "duplicates INTEGER NOT NULL DEFAULT 0"),
            ("idempotency", "digest TEXT NOT NULL DEFAULT ''"),
            ("idempotency", "replays INTEGER NOT NULL DEFAULT 0"),
        ] {
            let name = column.split(' ').next().unwrap_or_default();
            let present: bool = db
                .query_row(
                    &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
                    params![name],
                    |r| r.get(0),
                )
                .map_err(|e| format!("cannot read the schema: {e}"))?;
            if !present {
                db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column}"))
                    .map_err(|e| format!("cannot migrate table {table}: {e}"))?;
            }
        }
        Ok(Self {
            db: Mutex::new(db),
            lists: OnceLock::new(),
            seed,
            scripted: Mutex::new(Vec::new()),
            limiter: Limiter::default(),
        })
    }

    /// The master lists and their ground truth for `fleet` (the sandbox's own), built once.
    fn lists(&self, fleet: &Fleet) -> &Lists {
        self.lists.get_or_init(|| {
            // One stream for the original noise (so each seed's base lists stay as they were) and one
            // for the duplicates, re-issued plates, fleet orders, namesakes and the rest added later.
            let mut rng = Rng::new(self.seed, 500);
            let mut extra = Rng::new(self.seed, 501);
            let (vehicles, truth_v) = vehicle_list(fleet, &mut rng, &mut extra);
            let (drivers, truth_d) = driver_list(fleet, &mut rng, &mut extra);
            Lists {
                vehicles,
                drivers,
                truth_v,
                truth_d,
            }
        })
    }

    /// Ground truth for vehicle matching.
    pub(crate) fn truth_vehicles(&self, fleet: &Fleet) -> Value {
        self.lists(fleet).truth_v.clone()
    }

    /// Ground truth for driver matching.
    pub(crate) fn truth_drivers(&self, fleet: &Fleet) -> Value {
        self.lists(fleet).truth_d.clone()
    }
}

/// The FMC's master lists and the matching ground truth.
#[derive(Debug)]
struct Lists {
    vehicles: Vec<Value>,
    drivers: Vec<Value>,
    truth_v: Value,
    truth_d: Value,
}

/// A unit number the way the FMC writes it.
fn unit_label(rng: &mut Rng, unit: u32) -> String {
    match rng.below(4) {
        0 => format!("UNIT {unit:04}"),
        1 => format!("Truck #{unit}"),
        2 => format!("{unit}"),
        _ => format!("T-{unit}"),
    }
}

/// The VIN `step` vehicles further along the same fleet order: serial (positions 12–17) advanced,
/// check digit recomputed; WMI, VDS, model year and plant unchanged.
fn next_in_order(vin: &str, step: u32) -> String {
    let serial: u32 = vin.get(11..).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut v = vin.as_bytes()[..11.min(vin.len())].to_vec();
    v.extend(format!("{:06}", (serial + step) % 1_000_000).bytes());
    if let Some(c) = samsara_fmc::vin::compute_check_digit(&v) {
        v[8] = c;
    }
    String::from_utf8(v).unwrap_or_default()
}

/// Moves each record's `_truth` object into the ground truth under the id the record gets after the
/// shuffle (`FMC-V00001`, …), and links a stale duplicate to its current record (`duplicateOf`).
fn number(rng: &mut Rng, records: &mut [Value], prefix: &str) -> Vec<Value> {
    shuffle(rng, records);
    let mut pairs = Vec::with_capacity(records.len());
    for (i, r) in records.iter_mut().enumerate() {
        let id = format!("{prefix}{:05}", i + 1);
        let mut t = r
            .as_object_mut()
            .and_then(|o| o.remove("_truth"))
            .unwrap_or_else(|| json!({}));
        t["fmcId"] = json!(id);
        r["id"] = json!(id);
        pairs.push(t);
    }
    let current: std::collections::HashMap<String, Value> = pairs
        .iter()
        .filter_map(|p| Some((p["samsaraId"].as_str()?.to_owned(), p["fmcId"].clone())))
        .collect();
    for p in &mut pairs {
        if let Some(fid) = p["sameVehicleAs"].as_str().and_then(|s| current.get(s)) {
            p["duplicateOf"] = fid.clone();
        }
    }
    pairs
}

/// The FMC's vehicle master list and its ground truth. Each pair says what a matcher should do with
/// the FMC record (`expect`): `link` to `samsaraId`, `none` (no Samsara counterpart), or `review`
/// (a stale duplicate of the vehicle in `sameVehicleAs`, whose current record is `duplicateOf`).
/// `kind` names the trap a record was made for: `duplicate` (both records of a re-registered vehicle),
/// `reissuedPlate` (a replacement carrying a retired vehicle's plate, `plateFrom`) or `fleetOrder` (a
/// later serial of the same order as `sameOrderAs`).
fn vehicle_list(fleet: &Fleet, rng: &mut Rng, extra: &mut Rng) -> (Vec<Value>, Value) {
    let mut vehicles = Vec::new();
    let mut samsara_only = Vec::new();
    let mut retired = Vec::new();
    let mut next_unit = 7000;
    for v in &fleet.vehicles {
        if rng.chance(0.08) {
            samsara_only.push(json!(v.id));
            retired.push(v);
            continue;
        }
        let unit = unit_label(rng, v.unit);
        let make = if rng.chance(0.3) {
            v.make.to_ascii_uppercase()
        } else {
            v.make.to_string()
        };
        let year = if rng.chance(0.05) { v.year - 1 } else { v.year };
        let state = BRANCHES[v.branch].state;
        let mut rec = json!({"vin": noisy_vin(rng, &v.vin), "licensePlate": noisy_plate(rng, &v.plate),
            "licenseState": state, "unitNumber": unit, "make": make, "model": v.model, "year": year,
            "_truth": {"samsaraId": v.id, "expect": "link"}});
        if extra.chance(0.025) {
            // Re-registered and entered again: the old record keeps the old plate (and its own typos);
            // the new one carries the current plate. Which is current, only the FMC can say: review.
            let mut old = rec.clone();
            old["vin"] = json!(noisy_vin(extra, &v.vin));
            old["licensePlate"] = json!(crate::fleet::pattern(extra, BRANCHES[v.branch].plate));
            old["unitNumber"] = json!(unit_label(extra, v.unit));
            old["_truth"] =
                json!({"samsaraId": null, "expect": "review", "kind": "duplicate", "sameVehicleAs": v.id});
            rec["licensePlate"] = json!(v.plate);
            rec["_truth"]["kind"] = json!("duplicate");
            vehicles.push(old);
        }
        if extra.chance(0.06) {
            // More of the same fleet order that Samsara does not have (yet): consecutive serials.
            for step in 1..=1 + u32::try_from(extra.below(2)).unwrap_or(0) {
                next_unit += 1;
                vehicles.push(json!({"vin": next_in_order(&v.vin, step), "licensePlate": crate::fleet::pattern(extra, BRANCHES[v.branch].plate),
                    "licenseState": state, "unitNumber": unit_label(extra, next_unit), "make": v.make, "model": v.model, "year": v.year,
                    "_truth": {"samsaraId": null, "expect": "none", "kind": "fleetOrder", "sameOrderAs": v.id}}));
            }
        }
        vehicles.push(rec);
    }
    for v in retired {
        // Sold or retired: gone from the FMC, still in Samsara. Half the time its plate moved to the
        // replacement, which often takes over the unit number too.
        if !extra.chance(0.5) {
            continue;
        }
        let year = (v.year + 1 + u16::try_from(extra.below(3)).unwrap_or(0)).min(2026);
        let unit = if extra.chance(0.5) {
            v.unit
        } else {
            next_unit += 1;
            next_unit
        };
        let vin = crate::fleet::make_vin(extra, &v.vin[..3], &v.vin[3..8], year);
        vehicles.push(
            json!({"vin": vin, "licensePlate": v.plate, "licenseState": BRANCHES[v.branch].state,
            "unitNumber": unit_label(extra, unit), "make": v.make, "model": v.model, "year": year,
            "_truth": {"samsaraId": null, "expect": "none", "kind": "reissuedPlate", "plateFrom": v.id}}),
        );
    }
    for i in 0..fleet.vehicles.len().div_ceil(20) {
        let year = 2018 + u16::try_from(rng.below(8)).unwrap_or(0);
        vehicles.push(json!({"vin": crate::fleet::make_vin(rng, "1FU", "JGLDR", year), "licensePlate": crate::fleet::pattern(rng, "LLL-DDDD"),
            "licenseState": "TX", "unitNumber": format!("UNIT {:04}", 9000 + i), "make": "Freightliner", "model": "M2 106", "year": year,
            "_truth": {"samsaraId": null, "expect": "none"}}));
    }
    let pairs = number(rng, &mut vehicles, "FMC-V");
    (vehicles, json!({"pairs": pairs, "samsaraOnly": samsara_only}))
}

/// Nicknames the FMC's clerks write for first names.
const NICKNAMES: [(&str, &str); 16] = [
    ("James", "Jim"),
    ("Robert", "Bob"),
    ("Michael", "Mike"),
    ("Patricia", "Patty"),
    ("David", "Dave"),
    ("Jennifer", "Jenny"),
    ("William", "Bill"),
    ("Elizabeth", "Liz"),
    ("Susan", "Sue"),
    ("Thomas", "Tom"),
    ("Jessica", "Jess"),
    ("Daniel", "Dan"),
    ("Anthony", "Tony"),
    ("Sandra", "Sandy"),
    ("Kevin", "Kev"),
    ("Nancy", "Nan"),
];

/// A licence number with one character mistyped (a digit for a digit, a letter for a letter).
fn licence_typo(rng: &mut Rng, lic: &str) -> String {
    let mut b = lic.as_bytes().to_vec();
    let slots: Vec<usize> = (0..b.len()).filter(|&i| b[i].is_ascii_alphanumeric()).collect();
    if slots.is_empty() {
        return lic.to_owned();
    }
    let i = *rng.pick(&slots);
    let pool: &[u8] = if b[i].is_ascii_digit() {
        b"0123456789"
    } else {
        b"ABCDEFGHJKLMNPRSTUVWXYZ"
    };
    let old = b[i];
    while b[i] == old {
        b[i] = *rng.pick(pool);
    }
    String::from_utf8(b).unwrap_or_default()
}

/// The FMC's driver roster and its ground truth (`expect` `link` or `none`; `kind: "namesake"` for
/// an FMC-only driver with a Samsara driver's name, `sameNameAs`).
fn driver_list(fleet: &Fleet, rng: &mut Rng, extra: &mut Rng) -> (Vec<Value>, Value) {
    let mut drivers = Vec::new();
    let mut d_only = Vec::new();
    let mut employee = 20_000;
    for d in &fleet.drivers {
        if rng.chance(0.07) {
            d_only.push(json!(d.id));
            continue;
        }
        let (first, last) = d.name.split_once(' ').unwrap_or((&d.name, ""));
        let style = rng.below(3);
        let first = match NICKNAMES.iter().find(|(n, _)| *n == first) {
            Some((_, nick)) if style < 2 && extra.chance(0.25) => nick,
            _ => first,
        };
        let name = match style {
            0 => format!("{first} {last}"),
            1 => format!("{}, {}", last.to_ascii_uppercase(), first.to_ascii_uppercase()),
            _ => format!("{}. {last}", &first[..1]),
        };
        let mut lic = if rng.chance(0.2) {
            d.licence.replace('-', "")
        } else {
            d.licence.clone()
        };
        let r = extra.unit();
        if r < 0.04 {
            lic = licence_typo(extra, &lic);
        } else if r < 0.12 {
            // Re-keyed with spaces every four characters, lower case.
            let plain: Vec<char> = lic.chars().filter(char::is_ascii_alphanumeric).collect();
            lic = plain
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_lowercase();
        }
        let payroll = d.payroll.clone().filter(|_| rng.chance(0.8));
        let r = extra.unit();
        let emp = match payroll {
            // The FMC's employee number is the payroll id for part of the roster (sometimes
            // re-keyed), its own numbering for the rest.
            Some(p) if r < 0.55 => Some(p),
            Some(p) if r < 0.7 => Some(format!("{}-{}", p[..2].to_ascii_lowercase(), &p[2..])),
            _ if r < 0.85 => {
                employee += 1;
                Some(format!("E{employee}"))
            }
            _ => None,
        };
        let r = extra.unit();
        let phone = if r < 0.1 {
            Value::Null
        } else if r < 0.25 {
            json!(d.phone.chars().filter(char::is_ascii_digit).collect::<String>())
        } else {
            json!(d.phone)
        };
        let state = BRANCHES[d.branch].state;
        if extra.chance(0.04) {
            // Another person with the same name, licensed in the same state.
            employee += 1;
            drivers.push(json!({"name": name, "licenseNumber": crate::fleet::pattern(extra, BRANCHES[d.branch].licence),
                "licenseState": state, "employeeId": format!("E{employee}"), "phone": crate::fleet::pattern(extra, "(DDD) 555-DDDD"),
                "_truth": {"samsaraId": null, "expect": "none", "kind": "namesake", "sameNameAs": d.id}}));
        }
        drivers.push(json!({"name": name, "licenseNumber": lic, "licenseState": state,
            "employeeId": emp, "phone": phone, "_truth": {"samsaraId": d.id, "expect": "link"}}));
    }
    let pairs = number(rng, &mut drivers, "FMC-D");
    (drivers, json!({"pairs": pairs, "samsaraOnly": d_only}))
}

fn shuffle(rng: &mut Rng, v: &mut [Value]) {
    for i in (1..v.len()).rev() {
        let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
        v.swap(i, j);
    }
}

fn valid_stream(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
}

/// The token label (`fmc-token-N`) of an authorised request, `None` when the endpoint is open, or
/// the 401 to answer.
fn authorize(sb: &Sandbox, req: &Request) -> Result<Option<String>, Response> {
    let tokens = &sb.cfg.fmc_tokens;
    if tokens.is_empty() {
        return Ok(None);
    }
    let unauthorized = |message: &str| {
        Err(Response::error(401, message).with_header("WWW-Authenticate", "Bearer realm=\"fmc\""))
    };
    let Some(value) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
    else {
        return unauthorized("Unauthorized: missing `Authorization: Bearer <token>` header");
    };
    match tokens.iter().position(|t| t == value) {
        Some(i) => Ok(Some(format!("fmc-token-{}", i + 1))),
        None => unauthorized("Unauthorized: unknown FMC token"),
    }
}

/// Serves one `/fmc/v1/...` request: auth, faults, rate limit, handler. Returns the response and the
/// token label for the request log.
///
/// Fault rules apply only with an explicit FMC path (`/fmc/v1/streams/{stream}/records`, an exact
/// path, or `/fmc/v1/*`), so rules for "any Samsara route" leave the FMC side alone. `reset`,
/// `truncate` and `fail_after_commit` let the request take effect and break only the answer, which is
/// how a client ends up retrying a batch that was in fact stored. Page faults and `expire_cursor`
/// apply to the change feed.
pub(crate) fn serve(sb: &Sandbox, req: &Request) -> (Response, Option<String>) {
    let label = match authorize(sb, req) {
        Ok(l) => l,
        Err(r) => return (r, None),
    };
    let segs: Vec<&str> = req.path.split('/').collect();
    let template = if segs.len() == 6 && segs[3] == "streams" {
        format!("/fmc/v1/streams/{{stream}}/{}", segs[5])
    } else if segs.len() == 7 && segs[3] == "streams" && segs[5] == "files" {
        "/fmc/v1/streams/{stream}/files/{name}".to_string()
    } else {
        req.path.clone()
    };
    let has_cursor = req.param("after").is_some();
    let feed = req.method == "GET" && req.path == "/fmc/v1/changes";
    let fired = sb.faults.fire(&req.method, &req.path, &template, |r| {
        r.path.as_deref().is_some_and(|p| p != "*")
            && match r.kind {
                Kind::Status | Kind::Slow | Kind::Reset | Kind::Truncate | Kind::FailAfterCommit => true,
                Kind::EmptyPage | Kind::RepeatRecords => feed,
                Kind::ExpireCursor => feed && has_cursor,
                Kind::RevokeToken => false,
            }
    });
    let (mut delivery, mut page_fault, mut fail_after) = (Delivery::Normal, None, None);
    if let Some(rule) = fired {
        match rule.kind {
            Kind::Status => return (injected(&rule), label),
            Kind::Slow => real_sleep(Duration::from_millis(rule.delay_ms.unwrap_or(2_000).min(600_000))),
            Kind::Reset => delivery = Delivery::Reset,
            Kind::Truncate => delivery = Delivery::Truncate,
            Kind::FailAfterCommit => fail_after = Some(rule),
            Kind::EmptyPage => page_fault = Some(PageFault::Empty),
            Kind::RepeatRecords => page_fault = Some(PageFault::Repeat),
            Kind::ExpireCursor => {
                return (
                    Response::bad_param("after", "the cursor has expired; restart without `after`"),
                    label,
                )
            }
            Kind::RevokeToken => {}
        }
    }
    if sb.cfg.rate_limits {
        let key = format!("fmc:{}", label.as_deref().unwrap_or("open"));
        if let Err(wait) = sb.fmc.limiter.take_all(&[(key, FMC_RATE)]) {
            let r = Response::error(429, "Too Many Requests: FMC rate limit exceeded")
                .with_header("Retry-After", &format!("{wait:.5}"));
            return (r, label);
        }
    }
    let mut resp = handle(sb, req, page_fault);
    if let Some(rule) = fail_after {
        return (injected(&rule), label);
    }
    resp.delivery = delivery;
    (resp, label)
}

/// Routes one `/fmc/v1/...` request.
fn handle(sb: &Sandbox, req: &Request, pf: Option<PageFault>) -> Response {
    let segs: Vec<String> = (1..7).map_while(|i| req.segment(i)).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["fmc", "v1", "vehicles"]) => {
            let base = &sb.fmc.lists(&sb.fleet).vehicles;
            Response::json(200, &json!({"data": crate::fmc_changes::vehicles(sb, base)}))
        }
        ("GET", ["fmc", "v1", "tags"]) => Response::json(200, &json!({"data": crate::fmc_changes::tags(sb)})),
        ("GET", ["fmc", "v1", "drivers"]) => {
            let base = &sb.fmc.lists(&sb.fleet).drivers;
            Response::json(200, &json!({"data": crate::fmc_changes::drivers(sb, base)}))
        }
        ("GET", ["fmc", "v1", "changes"]) => crate::fmc_changes::feed(sb, req, pf),
        ("GET", ["fmc", "v1", "streams"]) => streams(sb),
        ("POST", ["fmc", "v1", "streams", s, "records"]) if valid_stream(s) => upsert(sb, req, s),
        ("GET", ["fmc", "v1", "streams", s, "records"]) if valid_stream(s) => list(sb, req, s),
        ("GET", ["fmc", "v1", "streams", s, "summary"]) if valid_stream(s) => summary(sb, s),
        ("PUT", ["fmc", "v1", "streams", s, "files", n]) if valid_stream(s) => put_file(sb, req, s, n),
        ("GET", ["fmc", "v1", "streams", s, "files", n]) if valid_stream(s) => get_file(sb, s, n),
        ("GET", ["fmc", "v1", "streams", s, "files"]) if valid_stream(s) => list_files(sb, s),
        (
            _,
            ["fmc", "v1", "streams", s, "records" | "summary" | "files"]
            | ["fmc", "v1", "streams", s, "files", _],
        ) if !valid_stream(s) => Response::error(
            400,
            &format!("invalid stream name `{s}`: use 1 to 64 of letters, digits, `.`, `_` and `-`"),
        ),
        (
            _,
            ["fmc", "v1", "vehicles" | "drivers" | "tags" | "streams" | "changes"]
            | ["fmc", "v1", "streams", _, "records" | "summary" | "files"]
            | ["fmc", "v1", "streams", _, "files", _],
        ) => Response::error(
            405,
            &format!("Method {} not allowed for {}", req.method, req.path),
        ),
        _ => Response::not_found(&format!("route {} {}", req.method, req.path)),
    }
}

fn db_err(e: &rusqlite::Error) -> Response {
    Response::error(500, &format!("database error: {e}"))
}

fn upsert(sb: &Sandbox, req: &Request, stream: &str) -> Response {
    let Some(key) = req
        .header("idempotency-key")
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
    else {
        return Response::error(400, "missing `Idempotency-Key` header (1-255 characters)");
    };
    let body = match req.json() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let digest = digest(&body);
    let Ok(db) = sb.fmc.db.lock() else {
        return Response::error(500, "database lock poisoned");
    };
    let prior: Option<(String, u16, String, String)> = match db
        .query_row(
            "SELECT stream, status, response, digest FROM idempotency WHERE key = ?1",
            params![key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
    {
        Ok(p) => p,
        Err(e) => return db_err(&e),
    };
    if let Some((s, status, answer, d)) = prior {
        if s != stream {
            return Response::error(
                409,
                &format!("Idempotency-Key `{key}` was already used for stream `{s}`"),
            );
        }
        if !d.is_empty() && d != digest {
            return Response::error(
                422,
                &format!("Idempotency-Key `{key}` was already used with a different body"),
            );
        }
        if let Err(e) = db.execute(
            "UPDATE idempotency SET replays = replays + 1 WHERE key = ?1",
            params![key],
        ) {
            return db_err(&e);
        }
        return Response::json_bytes(status, answer.into_bytes()).with_header("Idempotent-Replayed", "true");
    }
    let Some(records) = body.get("records").and_then(Value::as_array) else {
        return Response::bad_param("records", "the body must be {\"records\": [...]}");
    };
    if records.len() > MAX_BATCH {
        return Response::error(413, &format!("at most {MAX_BATCH} records per batch"));
    }
    let mut ids = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => ids.push(s.clone()),
            Some(Value::Number(n)) => ids.push(n.to_string()),
            _ => {
                return Response::bad_param(
                    &format!("records[{i}].id"),
                    "every record needs a non-empty string or number `id`",
                )
            }
        }
    }
    let now = rfc3339_ms(sb.clock.now_ms());
    let (mut inserted, mut updated) = (0u64, 0u64);
    let res = (|| -> rusqlite::Result<()> {
        let tx = db.unchecked_transaction()?;
        {
            let mut seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| r.get(0))?;
            let mut upd = tx.prepare_cached("UPDATE records SET deliveries = deliveries + 1, duplicates = duplicates + (body = ?3), body = ?3, last_received = ?4 WHERE stream = ?1 AND id = ?2")?;
            let mut ins = tx.prepare_cached("INSERT INTO records (stream, id, body, deliveries, first_received, last_received, seq) VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5)")?;
            for (r, id) in records.iter().zip(&ids) {
                let text = r.to_string();
                if upd.execute(params![stream, id, text, now])? == 0 {
                    seq += 1;
                    ins.execute(params![stream, id, text, now, seq])?;
                    inserted += 1;
                } else {
                    updated += 1;
                }
            }
        }
        let answer =
            json!({"stream": stream, "received": records.len(), "inserted": inserted, "updated": updated})
                .to_string();
        tx.execute(
            "INSERT INTO idempotency (key, stream, status, response, digest) VALUES (?1, ?2, 200, ?3, ?4)",
            params![key, stream, answer, digest],
        )?;
        tx.commit()
    })();
    if let Err(e) = res {
        return db_err(&e);
    }
    Response::json(
        200,
        &json!({"stream": stream, "received": records.len(), "inserted": inserted, "updated": updated}),
    )
}

fn list(sb: &Sandbox, req: &Request, stream: &str) -> Response {
    let limit = match req.int_param("limit", 1, 1000) {
        Ok(l) => l.unwrap_or(500),
        Err(e) => return e,
    };
    let after = match crate::entities::parse_offset(req.param("after")) {
        Ok(a) => i64::try_from(a).unwrap_or(0),
        Err(e) => return e,
    };
    let Ok(db) = sb.fmc.db.lock() else {
        return Response::error(500, "database lock poisoned");
    };
    let rows = (|| -> rusqlite::Result<Vec<(i64, Value)>> {
        let mut st = db.prepare_cached("SELECT seq, id, body, deliveries, first_received, last_received FROM records WHERE stream = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")?;
        let rows = st.query_map(params![stream, after, limit + 1], |r| {
            let body: String = r.get(2)?;
            Ok((r.get::<_, i64>(0)?, json!({"id": r.get::<_, String>(1)?, "record": serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
                "deliveries": r.get::<_, i64>(3)?, "firstReceivedAt": r.get::<_, String>(4)?, "lastReceivedAt": r.get::<_, String>(5)?})))
        })?;
        rows.collect()
    })();
    let mut rows = match rows {
        Ok(r) => r,
        Err(e) => return db_err(&e),
    };
    let has_next = rows.len() > usize::try_from(limit).unwrap_or(500);
    rows.truncate(usize::try_from(limit).unwrap_or(500));
    let end = if has_next {
        rows.last()
            .map(|(s, _)| crate::entities::offset_cursor(usize::try_from(*s).unwrap_or(0)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let data: Vec<Value> = rows.into_iter().map(|(_, v)| v).collect();
    Response::json(
        200,
        &json!({"data": data, "pagination": {"endCursor": end, "hasNextPage": has_next}}),
    )
}

/// A digest of a batch body for comparing retries: FNV-1a (64 bits) over its JSON text, whose object
/// keys `serde_json` writes in sorted order, so key order and whitespace do not matter.
fn digest(body: &Value) -> String {
    let h = body.to_string().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016x}")
}

/// `GET /fmc/v1/streams/{stream}/summary`: what a delivery left behind, so a test can assert that
/// nothing was lost or applied twice without paging through the records. `deliveries` = `records`
/// (distinct ids) + `updates` (re-deliveries with a changed body) + `duplicates` (re-deliveries of
/// an identical body); `batches` are applied batches, `replays` answers replayed for a repeated key.
fn summary(sb: &Sandbox, stream: &str) -> Response {
    let Ok(db) = sb.fmc.db.lock() else {
        return Response::error(500, "database lock poisoned");
    };
    let counts = (|| -> rusqlite::Result<[i64; 5]> {
        let (records, deliveries, duplicates) = db.query_row(
            "SELECT COUNT(*), COALESCE(SUM(deliveries), 0), COALESCE(SUM(duplicates), 0) FROM records WHERE stream = ?1",
            params![stream],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (batches, replays) = db.query_row(
            "SELECT COUNT(*), COALESCE(SUM(replays), 0) FROM idempotency WHERE stream = ?1",
            params![stream],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok([records, deliveries, duplicates, batches, replays])
    })();
    match counts {
        Ok([records, deliveries, duplicates, batches, replays]) => Response::data(json!({
            "stream": stream, "records": records, "deliveries": deliveries,
            "updates": deliveries - records - duplicates, "duplicates": duplicates,
            "batches": batches, "replays": replays,
        })),
        Err(e) => db_err(&e),
    }
}

fn streams(sb: &Sandbox) -> Response {
    let Ok(db) = sb.fmc.db.lock() else {
        return Response::error(500, "database lock poisoned");
    };
    let rows = (|| -> rusqlite::Result<Vec<Value>> {
        let mut st = db.prepare(
            "SELECT stream, COUNT(*), SUM(deliveries) FROM records GROUP BY stream ORDER BY stream",
        )?;
        let rows = st.query_map([], |r| Ok(json!({"stream": r.get::<_, String>(0)?, "records": r.get::<_, i64>(1)?, "deliveries": r.get::<_, i64>(2)?})))?;
        rows.collect()
    })();
    match rows {
        Ok(r) => Response::json(200, &json!({"data": r})),
        Err(e) => db_err(&e),
    }
}

/// A file name of the contract: 1-200 of letters, digits, `.`, `_` and `-`, not starting with `.`.
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 200
        && !n.starts_with('.')
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The content types the endpoint serves back (anything else is kept as `application/octet-stream`).
const FILE_TYPES: [&str; 6] = [
    "image/jpeg",
    "image/png",
    "video/mp4",
    "text/csv",
    "application/json",
    "application/octet-stream",
];

/// `PUT /fmc/v1/streams/{stream}/files/{name}`: stores the body's bytes as file `name` of `stream`
/// (replacing an earlier file of the name), idempotent by `Idempotency-Key` as record batches are:
/// the same key with the same bytes is answered from the first upload, with other bytes 422.
fn put_file(sb: &Sandbox, req: &Request, stream: &str, name: &str) -> Response {
    if !valid_name(name) {
        return Response::bad_param(
            "name",
            "use 1 to 200 of letters, digits, `.`, `_` and `-`, not starting with `.`",
        );
    }
    let Some(key) = req
        .header("idempotency-key")
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
    else {
        return Response::error(400, "missing `Idempotency-Key` header (1-255 characters)");
    };
    if req.body.is_empty() {
        return Response::error(400, "the file is empty: send its bytes as the body");
    }
    let ct = req
        .header("content-type")
        .map_or("application/octet-stream", |c| {
            FILE_TYPES
                .iter()
                .copied()
                .find(|t| {
                    c.split(';')
                        .next()
                        .is_some_and(|x| x.trim().eq_ignore_ascii_case(t))
                })
                .unwrap_or("application/octet-stream")
        });
    let digest = req.body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let digest = format!("{digest:016x}");
    let Ok(db) = sb.fmc.db.lock() else {
        return Response::error(500, "database lock poisoned");
    };
    let prior: Option<(String, u16, String, String)> = match db
        .query_row(
            "SELECT stream, status, response, digest FROM idempotency WHERE key = ?1",
            params![key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
    {
        Ok(p) => p,
        Err(e) => return db_err(&e),
    };
    let file_digest = format!("file:{name}:{digest}");
    if let Some((s, status, answer, d)) = prior {
        if s != stream {
            return Response::error(
                409,
                &format!("Idempotency-Key `{key}` was already used for stream `{s}`"),
            );
        }
        if d != file_digest {
            return Response::error(
                422,
                &format!("Idempotency-Key `{key}` was already used with a different body"),
            );
        }
        if let Err(e) = db.execute(
            "UPDATE idempotency SET replays = replays + 1 WHERE key = ?1",
            params![key],
        ) {
            return db_err(&e);
        }
        return Response::json_bytes(status, answer.into_bytes()).with_header("Idempotent-Replayed", "true");
    }
    let now = rfc3339_ms(sb.clock.now_ms());
    let size = req.body.len();
    let res = (|| -> rusqlite::Result<bool> {
        let tx = db.unchecked_transaction()?;
        let updated = tx.execute(
            "UPDATE files SET deliveries = deliveries + 1, duplicates = duplicates + (digest = ?3), body = ?4, digest = ?3, content_type = ?5, last_received = ?6 WHERE stream = ?1 AND name = ?2",
            params![stream, name, digest, req.body, ct, now],
        )?;
        if updated == 0 {
            let seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM files", [], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO files (stream, name, content_type, body, digest, deliveries, duplicates, first_received, last_received, seq) VALUES (?1, ?2, ?3, ?4, ?5, 1, 0, ?6, ?6, ?7)",
                params![stream, name, ct, req.body, digest, now, seq],
            )?;
        }
        let answer = json!({"stream": stream, "name": name, "size": size, "contentType": ct, "digest": digest, "inserted": updated == 0}).to_string();
        tx.execute(
            "INSERT INTO idempotency (key, stream, status, response, digest) VALUES (?1, ?2, 200, ?3, ?4)",
            params![key, stream, answer, file_digest],
        )?;
        tx.commit()?;
        Ok(updated == 0)
    })();
    match res {
        Ok(inserted) => Response::json(
            200,
            &json!({"stream": stream, "name": name, "size": size, "contentType": ct, "digest": digest, "inserted": inserted}),
        ),
        Err(e) => db_err(&e),
    }
}

/// `GET /fmc/v1/streams/{stream}/files/{name}`: the file's bytes.
fn get_file(sb: &Sandbox, stream: &str, name: &str) -> Response {
    let Ok(db) = sb.fmc.db.lock() else {
        return Response::error(500, "database lock poisoned");
    };
    let row: rusqlite::Result<Option<(String, Vec<u8>)>> = db
        .query_row(
            "SELECT content_type, body FROM files WHERE stream = ?1 AND name = ?2",
            params![stream, name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional();
    match row {
        Ok(Some((ct, body))) => {
            let mut resp = Response::json_bytes(200, body);
            resp.content_type = FILE_TYPES
                .iter()
                .copied()
                .find(|t| *t == ct)
                .unwrap_or("application/octet-stream");
            resp
        }
        Ok(None) => Response::not_found(&format!("file {name} of stream {stream}")),
        Err(e) => db_err(&e),
    }
}

/// `GET /fmc/v1/streams/{stream}/files`: every file of the stream (name, type, size, digest, and
/// `deliveries` = uploads that changed or created it + `duplicates`, identical re-uploads under a
/// new key), in upload order.
fn list_files(sb: &Sandbox, stream: &str) -> Response {
    let Ok(db) = sb.fmc.db.lock() else {
        return Response::error(500, "database lock poisoned");
    };
    let rows = (|| -> rusqlite::Result<Vec<Value>> {
        let mut st = db.prepare_cached("SELECT name, content_type, length(body), digest, deliveries, duplicates, first_received, last_received FROM files WHERE stream = ?1 ORDER BY seq")?;
        let rows = st.query_map(params![stream], |r| {
            Ok(json!({"name": r.get::<_, String>(0)?, "contentType": r.get::<_, String>(1)?, "size": r.get::<_, i64>(2)?,
                "digest": r.get::<_, String>(3)?, "deliveries": r.get::<_, i64>(4)?, "duplicates": r.get::<_, i64>(5)?,
                "firstReceivedAt": r.get::<_, String>(6)?, "lastReceivedAt": r.get::<_, String>(7)?}))
        })?;
        rows.collect()
    })();
    match rows {
        Ok(r) => Response::json(200, &json!({"data": r})),
        Err(e) => db_err(&e),
    }
}
