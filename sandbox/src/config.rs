//! Command-line flags.

/// Usage text for `--help`.
pub(crate) const USAGE: &str = "\
samsara-sandbox: a local, deterministic simulator of the Samsara REST API (and a reference FMC endpoint)

USAGE: samsara-sandbox [FLAGS]

  --port N              TCP port on 127.0.0.1 (0 = pick a free one; default 0)
  --seed N              fleet and telemetry seed (default 7)
  --vehicles N          number of vehicles (default 50)
  --drivers N           number of drivers (default: vehicles + 20%)
  --trailers N          trailers (assets), hauled by the branch's trucks (default: vehicles / 4)
  --days N              days of history before --start (default 2)
  --start RFC3339       simulated time at start-up (default 2026-11-01T00:00:00Z)
  --time-scale X        simulated seconds per real second (0 = only /__sandbox/clock/advance; default 0)
  --token T             accept token T with all scopes (repeatable)
  --token 'T=S1,S2'     accept token T with only scopes S1, S2 (e.g. 'Read Vehicles')
  --token 'T@V[=S1,S2]' token T at API version V (YYYY-MM-DD; default 2025-06-11; the
                        X-Samsara-Version header overrides it per request)
                        (no --token: one token `sandbox-token` with all scopes at 2025-06-11)
  --fmc-token T         require `Authorization: Bearer T` on /fmc/v1/ (repeatable; default: open)
  --rate-limits on|off  enforce Samsara's and the FMC endpoint's rate limits (default on)
  --gaps on|off         connectivity gaps: some trips' points upload late (default off)
  --episodes on|off     maintenance episodes: faults that open, flap and clear, low voltage, low oil
                        pressure, tire leaks, odometer rollbacks and jumps (default off)
  --no-obd-odometer P   P % of vehicles (0-100) report no `obdOdometerMeters` (no OBD odometer
                        coverage: their GPS odometer is all there is; default 0)
  --db PATH             SQLite file for the FMC endpoint (default in-memory)
  --threads N           worker threads (default 32)
  --help                this text

Prints `listening on http://127.0.0.1:PORT` as its first stdout line, then serves until killed.
";

/// One accepted token.
#[derive(Debug, Clone)]
pub(crate) struct TokenSpec {
    /// The secret.
    pub(crate) value: String,
    /// Scopes, or `None` for all.
    pub(crate) scopes: Option<Vec<String>>,
    /// API version (`YYYY-MM-DD`), or `None` for `version::DEFAULT`.
    pub(crate) version: Option<String>,
}

/// Parsed flags.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Port.
    pub(crate) port: u16,
    /// Seed.
    pub(crate) seed: u64,
    /// Vehicles.
    pub(crate) vehicles: usize,
    /// Drivers.
    pub(crate) drivers: usize,
    /// Trailers.
    pub(crate) trailers: usize,
    /// Days of history.
    pub(crate) days: u32,
    /// Start, Unix ms.
    pub(crate) start_ms: i64,
    /// Time scale.
    pub(crate) time_scale: f64,
    /// Tokens.
    pub(crate) tokens: Vec<TokenSpec>,
    /// Tokens the FMC endpoint accepts; empty = no authentication.
    pub(crate) fmc_tokens: Vec<String>,
    /// Rate limits on.
    pub(crate) rate_limits: bool,
    /// SQLite path.
    pub(crate) db: Option<String>,
    /// Connectivity gaps.
    pub(crate) gaps: bool,
    /// Maintenance episodes (`--episodes on`).
    pub(crate) episodes: bool,
    /// Percent of vehicles without an OBD odometer (`--no-obd-odometer`).
    pub(crate) no_obd_odometer: u32,
    /// Worker threads.
    pub(crate) threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 0,
            seed: 7,
            vehicles: 50,
            drivers: 60,
            trailers: 12,
            days: 2,
            start_ms: 1_793_491_200_000,
            time_scale: 0.0,
            tokens: Vec::new(),
            fmc_tokens: Vec::new(),
            rate_limits: true,
            db: None,
            gaps: false,
            episodes: false,
            no_obd_odometer: 0,
            threads: 32,
        }
    }
}

fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|_| format!("{flag}: invalid value `{v}`"))
}

/// `T`, `T=S1,S2`, `T@V` or `T@V=S1,S2`.
fn token_spec(v: &str) -> Result<TokenSpec, String> {
    let (head, scopes) = match v.split_once('=') {
        Some((h, s)) => (
            h,
            Some(
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
            ),
        ),
        None => (v, None),
    };
    let (value, version) = match head.split_once('@') {
        Some((t, ver)) if crate::version::is_valid(ver) => (t, Some(ver.to_string())),
        Some((_, ver)) => return Err(format!("--token: API version `{ver}` is not YYYY-MM-DD")),
        None => (head, None),
    };
    if value.is_empty() {
        return Err("--token: empty token".into());
    }
    Ok(TokenSpec {
        value: value.to_string(),
        scopes,
        version,
    })
}

impl Config {
    /// Parses arguments (without the program name). `Ok(None)` means `--help`.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Self>, String> {
        let mut c = Self::default();
        let mut drivers = None;
        let mut trailers = None;
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") && f != "--token" => (f.to_string(), Some(v.to_string())),
                _ => (a.clone(), None),
            };
            let mut val = || inline.clone().or_else(|| it.next());
            match flag.as_str() {
                "--help" | "-h" => return Ok(None),
                "--port" => c.port = num(&flag, val())?,
                "--seed" => c.seed = num(&flag, val())?,
                "--vehicles" => c.vehicles = num(&flag, val())?,
                "--drivers" => drivers = Some(num(&flag, val())?),
                "--trailers" | "--assets" => trailers = Some(num(&flag, val())?),
                "--days" => c.days = num(&flag, val())?,
                "--start" => {
                    let v = val().ok_or("--start needs a value")?;
                    c.start_ms = crate::simtime::parse_rfc3339_ms(&v)
                        .ok_or(format!("--start: not RFC 3339: `{v}`"))?;
                }
                "--time-scale" => c.time_scale = num(&flag, val())?,
                "--token" => c.tokens.push(token_spec(&val().ok_or("--token needs a value")?)?),
                "--fmc-token" => c.fmc_tokens.push(
                    val()
                        .filter(|t| !t.is_empty())
                        .ok_or("--fmc-token needs a value")?,
                ),
                "--rate-limits" => {
                    c.rate_limits = match val().as_deref() {
                        Some("on" | "true" | "1") => true,
                        Some("off" | "false" | "0") => false,
                        other => return Err(format!("--rate-limits: expected on|off, got {other:?}")),
                    }
                }
                "--gaps" => {
                    c.gaps = match val().as_deref() {
                        Some("on" | "true" | "1") => true,
                        Some("off" | "false" | "0") => false,
                        other => return Err(format!("--gaps: expected on|off, got {other:?}")),
                    }
                }
                "--episodes" => {
                    c.episodes = match val().as_deref() {
                        Some("on" | "true" | "1") => true,
                        Some("off" | "false" | "0") => false,
                        other => return Err(format!("--episodes: expected on|off, got {other:?}")),
                    }
                }
                "--no-obd-odometer" => {
                    c.no_obd_odometer = num(&flag, val())?;
                    if c.no_obd_odometer > 100 {
                        return Err(format!(
                            "--no-obd-odometer: expected 0 to 100, got {}",
                            c.no_obd_odometer
                        ));
                    }
                }
                "--db" => c.db = Some(val().ok_or("--db needs a value")?),
                "--threads" => c.threads = num(&flag, val())?,
                other => return Err(format!("unknown flag `{other}` (see --help)")),
            }
        }
        c.drivers = drivers.unwrap_or(c.vehicles + c.vehicles / 5);
        c.trailers = trailers.unwrap_or(c.vehicles / 4);
        if c.vehicles > 100_000 || c.drivers > 100_000 || c.trailers > 100_000 {
            return Err("at most 100000 vehicles, drivers and trailers".into());
        }
        if !(0.0..=10_000.0).contains(&c.time_scale) {
            return Err("--time-scale must be between 0 and 10000".into());
        }
        if c.tokens.is_empty() {
            c.tokens.push(TokenSpec {
                value: "sandbox-token".into(),
                scopes: None,
                version: None,
            });
        }
        Ok(Some(c))
    }
}
