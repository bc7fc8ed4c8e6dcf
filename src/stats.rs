//! Vehicle stats (`/fleet/vehicles/stats/feed` and `/history` pages) to converted NDJSON records.
//!
//! One output line per data point, in page order, with the units converted:
//!
//! ```json
//! {"id":"112:obdOdometerMeters:2024-05-01T12:00:00Z","schemaVersion":1,"vehicleId":"112","vehicleName":"Truck 12",
//!  "externalIds":{"maintenanceId":"250020"},"stat":"obdOdometerMeters","time":"2024-05-01T12:00:00Z",
//!  "value":8705.592465004374,"unit":"mi"}
//! ```
//!
//! `id` is stable (vehicle, stat, time), so a sink can upsert and a page delivered twice after a
//! retry changes nothing. GPS points carry `latitude`, `longitude`, `headingDegrees`, `speed` with
//! `unit`, `isEcuSpeed`, `address` and `location`; fault codes, NFC scans, aux inputs and unknown stat
//! types carry their `value` object unchanged. Points that do not have their documented shape are
//! not dropped: they go to a separate rejects buffer with the reason, so nothing is lost silently.
//! Pages are parsed borrowing from the bytes; no per-record tree is built.

use std::borrow::Cow;

use crate::http::Pagination;
use crate::json::{push_escaped, Kind as JsonKind, ScanError, Scanner, Value};
use crate::units::{convert, Unit};

/// The unit system of converted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnitSystem {
    /// km, °C, kPa, L, km/h.
    #[default]
    Metric,
    /// mi, °F, psi, gal, mph.
    Imperial,
}

impl std::str::FromStr for UnitSystem {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "metric" => Ok(Self::Metric),
            "imperial" | "us" => Ok(Self::Imperial),
            _ => Err(format!("unknown unit system `{s}`: use `metric` or `imperial`")),
        }
    }
}

/// How one stat type's points are converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A number in `from`, written in the metric or imperial unit.
    Scalar {
        from: Unit,
        metric: Unit,
        imperial: Unit,
    },
    /// A number kept as is, with a unit label (`%`, `rpm`).
    Plain(&'static str),
    /// A string enum (`Off`, `On`, `Idle`, …).
    Text,
    /// `evChargingStatus`: 0, 1, 2 to words.
    ChargingStatus,
    /// The GPS object.
    Gps,
    /// Anything else: the point object without `time`, unchanged, as `value`.
    Raw,
}

fn kind_of(stat: &str) -> Kind {
    use Unit::{
        Amp, Celsius, Fahrenheit, Hour, KiloWattHour, Kilometer, KilometersPerHour, Kilopascal, Liter, Meter,
        MicroWattHour, Mile, MilesPerHour, MilliAmp, MilliCelsius, MilliPercent, MilliVolt, Milliliter,
        Millisecond, Pascal, Percent, Psi, Second, UsGallon, Volt,
    };
    let scalar = |from, metric, imperial| Kind::Scalar {
        from,
        metric,
        imperial,
    };
    match stat {
        "obdOdometerMeters" | "gpsOdometerMeters" | "gpsDistanceMeters" | "evDistanceDrivenMeters" => {
            scalar(Meter, Kilometer, Mile)
        }
        "obdEngineSeconds" | "syntheticEngineSeconds" => scalar(Second, Hour, Hour),
        "idlingDurationMilliseconds" => scalar(Millisecond, Hour, Hour),
        "ambientAirTemperatureMilliC"
        | "engineCoolantTemperatureMilliC"
        | "intakeManifoldTemperatureMilliC"
        | "evAverageBatteryTemperatureMilliCelsius" => scalar(MilliCelsius, Celsius, Fahrenheit),
        "engineOilPressureKPa" => scalar(Kilopascal, Kilopascal, Psi),
        "barometricPressurePa" => scalar(Pascal, Kilopascal, Psi),
        "batteryMilliVolts" | "evChargingVoltageMilliVolt" | "evBatteryVoltageMilliVolt" => {
            scalar(MilliVolt, Volt, Volt)
        }
        "evChargingCurrentMilliAmp" | "evBatteryCurrentMilliAmp" => scalar(MilliAmp, Amp, Amp),
        "defLevelMilliPercent" | "evStateOfChargeMilliPercent" | "evBatteryStateOfHealthMilliPercent" => {
            scalar(MilliPercent, Percent, Percent)
        }
        "evChargingEnergyMicroWh" | "evConsumedEnergyMicroWh" | "evRegeneratedEnergyMicroWh" => {
            scalar(MicroWattHour, KiloWattHour, KiloWattHour)
        }
        "fuelConsumedMilliliters" => scalar(Milliliter, Liter, UsGallon),
        "ecuSpeedMph" => scalar(MilesPerHour, KilometersPerHour, MilesPerHour),
        "fuelPercents" | "fuelPercent" | "engineLoadPercent" => Kind::Plain("%"),
        "engineRpm" => Kind::Plain("rpm"),
        "engineStates"
        | "engineState"
        | "seatbeltDriver"
        | "ecuDoorStatus"
        | "spreaderOnState"
        | "spreaderActive"
        | "spreaderBlastState"
        | "spreaderPlowStatus"
        | "spreaderGranularName"
        | "spreaderPrewetName"
        | "spreaderLiquidName" => Kind::Text,
        "evChargingStatus" => Kind::ChargingStatus,
        "gps" => Kind::Gps,
        _ => Kind::Raw,
    }
}

/// What converting one page produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Converted {
    /// Records written to the output.
    pub records: usize,
    /// Points written to the rejects buffer.
    pub rejected: usize,
    /// The page's pagination, when it had one.
    pub pagination: Option<Pagination>,
}

/// A page that cannot be read at all (as opposed to a bad point, which is rejected and counted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid vehicle stats page: {0}")]
pub struct PageError(pub String);

impl From<ScanError> for PageError {
    fn from(e: ScanError) -> Self {
        Self(e.to_string())
    }
}

/// Converts one stats page (feed or history) into NDJSON lines appended to `out`; points that do not
/// have their documented shape go to `rejects` as `{"vehicleId","stat","error","point"}` lines.
///
/// On an error both buffers are left as they were: a page is converted whole or not at all.
pub fn convert_stats_page(
    body: &[u8],
    units: UnitSystem,
    out: &mut Vec<u8>,
    rejects: &mut Vec<u8>,
) -> Result<Converted, PageError> {
    let (out_len, rejects_len) = (out.len(), rejects.len());
    let converted = convert_page(body, units, out, rejects);
    if converted.is_err() {
        out.truncate(out_len);
        rejects.truncate(rejects_len);
    }
    converted
}

fn convert_page(
    body: &[u8],
    units: UnitSystem,
    out: &mut Vec<u8>,
    rejects: &mut Vec<u8>,
) -> Result<Converted, PageError> {
    let text = std::str::from_utf8(body).map_err(|e| PageError(format!("the page is not UTF-8 ({e})")))?;
    // Records repeat their vehicle's identity, so the output is about twice the page.
    out.reserve(body.len() * 2);
    let mut sink = Sink {
        units,
        out,
        rejects,
        done: Converted::default(),
    };
    let mut has_data = false;
    let mut sc = Scanner::new(text);
    sc.object(|sc, key| match &*name(key) {
        "data" => {
            has_data = true;
            if !sc.next_is(JsonKind::Array) {
                return Err(sc.fail("`data` is not an array"));
            }
            sc.array(|sc| sink.vehicle(sc))
        }
        "pagination" => {
            let raw = sc.value()?;
            if !raw.is_null() {
                let pagination = serde_json::from_str::<Pagination>(raw.raw)
                    .map_err(|e| sc.fail(format!("`pagination` is not readable ({e})")))?;
                sink.done.pagination = Some(pagination);
            }
            Ok(())
        }
        _ => sc.skip(),
    })?;
    sc.finish()?;
    if !has_data {
        return Err(PageError("missing field `data`".into()));
    }
    Ok(sink.done)
}

/// A key's name (decoded only when it has escapes).
#[inline]
fn name(key: Value<'_>) -> Cow<'_, str> {
    key.str_decoded().unwrap_or_default()
}

/// Where converted records and rejects go.
struct Sink<'o> {
    units: UnitSystem,
    out: &'o mut Vec<u8>,
    rejects: &'o mut Vec<u8>,
    done: Converted,
}

/// A vehicle's identity as it will be written into each of its records: JSON text, strings still
/// escaped.
#[derive(Default)]
struct Identity<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
    external_ids: Option<&'a str>,
    /// `name` has been read (it may be null).
    named: bool,
}

impl Identity<'_> {
    /// Every identity field has been read, so records can be written as their points are read.
    fn complete(&self) -> bool {
        self.id.is_some() && self.named && self.external_ids.is_some()
    }
}

impl Sink<'_> {
    /// One `data` entry: its identity, and every other key a stat's points.
    ///
    /// Samsara sends `id`, `name` and `externalIds` first, so points are converted as they are read;
    /// a stat that comes before the identity is complete is read again once it is.
    fn vehicle<'a>(&mut self, sc: &mut Scanner<'a>) -> Result<(), ScanError> {
        let start = sc.pos();
        let mut who = Identity::default();
        let mut waiting: Vec<(Value<'a>, usize)> = Vec::new();
        if !sc.next_is(JsonKind::Object) {
            return Err(sc.fail("a `data` entry is not an object"));
        }
        sc.object(|sc, key| {
            match &*name(key) {
                "id" => {
                    let v = sc.value()?;
                    who.id = Some(
                        v.str_escaped()
                            .ok_or_else(|| sc.fail("vehicle `id` is not a string"))?,
                    );
                }
                "name" => {
                    let v = sc.value()?;
                    let name = v.str_escaped();
                    if name.is_none() && !v.is_null() {
                        return Err(sc.fail("vehicle `name` is not a string"));
                    }
                    who.name = name;
                    who.named = true;
                }
                "externalIds" => who.external_ids = Some(sc.value()?.raw),
                _ if who.complete() => self.stat(sc, &who, key)?,
                _ => {
                    waiting.push((key, sc.pos_of_next()));
                    sc.skip()?;
                }
            }
            if who.complete() && !waiting.is_empty() {
                self.replay(sc, &who, &mut waiting)?;
            }
            Ok(())
        })?;
        if who.id.is_none() {
            return Err(ScanError {
                pos: start,
                what: "a `data` entry has no vehicle `id`".into(),
            });
        }
        self.replay(sc, &who, &mut waiting)
    }

    /// Converts stats read before the identity was complete, in page order.
    fn replay<'a>(
        &mut self,
        sc: &Scanner<'a>,
        who: &Identity<'a>,
        waiting: &mut Vec<(Value<'a>, usize)>,
    ) -> Result<(), ScanError> {
        for (key, pos) in waiting.drain(..) {
            self.stat(&mut sc.resume_at(pos), who, key)?;
        }
        Ok(())
    }

    /// One stat's array of points; `key` is the stat's name as the page has it.
    fn stat<'a>(
        &mut self,
        sc: &mut Scanner<'a>,
        who: &Identity<'a>,
        key: Value<'a>,
    ) -> Result<(), ScanError> {
        let stat = name(key);
        if !sc.next_is(JsonKind::Array) {
            let found = sc.value()?;
            return Err(sc.fail(format!(
                "stat `{stat}` is not an array of points (found `{}`); this reads feed and history pages",
                excerpt(found.raw)
            )));
        }
        let escaped = key.str_escaped().unwrap_or_default();
        let (head, head_split) = record_head(who, escaped);
        let ctx = Record {
            stat: escaped,
            kind: kind_of(&stat),
            units: self.units,
            head,
            head_split,
        };
        sc.array(|sc| {
            let from = sc.pos_of_next();
            let point = if sc.next_is(JsonKind::Object) {
                Point::read(sc, ctx.kind == Kind::Raw)?
            } else {
                sc.skip()?;
                Point::default()
            };
            let raw = sc.slice(from, sc.pos());
            let line_start = self.out.len();
            let written = if raw.starts_with('{') {
                ctx.write(&point, raw, self.out)
            } else {
                Err("the point is not an object".to_owned())
            };
            match written {
                Ok(()) => self.done.records += 1,
                Err(reason) => {
                    self.out.truncate(line_start);
                    reject(self.rejects, who.id.unwrap_or_default(), ctx.stat, &reason, raw);
                    self.done.rejected += 1;
                }
            }
            Ok(())
        })
    }
}

/// Every field a point may have, as JSON text; read in one pass over the point.
#[derive(Default)]
struct Point<'a> {
    time: Option<Value<'a>>,
    value: Option<Value<'a>>,
    latitude: Option<Value<'a>>,
    longitude: Option<Value<'a>>,
    heading_degrees: Option<Value<'a>>,
    speed_miles_per_hour: Option<Value<'a>>,
    is_ecu_speed: Option<Value<'a>>,
    address: Option<Value<'a>>,
    /// `reverseGeo.formattedLocation`, or the `reverseGeo` value itself when it is not an object.
    location: Option<Value<'a>>,
    reverse_geo_malformed: bool,
    decorations: Option<Value<'a>>,
}

impl<'a> Point<'a> {
    /// Reads a point object; for object-valued stats (`raw`) only its `time` is kept.
    fn read(sc: &mut Scanner<'a>, raw: bool) -> Result<Self, ScanError> {
        let mut p = Point::default();
        sc.object(|sc, key| {
            let key = name(key);
            let slot = match &*key {
                "time" => &mut p.time,
                _ if raw => return sc.skip(),
                "value" => &mut p.value,
                "latitude" => &mut p.latitude,
                "longitude" => &mut p.longitude,
                "headingDegrees" => &mut p.heading_degrees,
                "speedMilesPerHour" => &mut p.speed_miles_per_hour,
                "isEcuSpeed" => &mut p.is_ecu_speed,
                "address" => &mut p.address,
                "decorations" => &mut p.decorations,
                "reverseGeo" if sc.next_is(JsonKind::Object) => {
                    return sc.object(|sc, key| {
                        if name(key) == "formattedLocation" {
                            p.location = Some(sc.value()?);
                            Ok(())
                        } else {
                            sc.skip()
                        }
                    });
                }
                "reverseGeo" => {
                    let v = sc.value()?;
                    p.reverse_geo_malformed = !v.is_null();
                    return Ok(());
                }
                _ => return sc.skip(),
            };
            *slot = Some(sc.value()?);
            Ok(())
        })?;
        Ok(p)
    }
}

/// A string's text still escaped (it is copied into JSON output as is).
fn string<'a>(v: Option<Value<'a>>, field: &str) -> Result<&'a str, String> {
    let v = v.ok_or_else(|| format!("missing field `{field}`"))?;
    v.str_escaped()
        .ok_or_else(|| format!("`{field}` `{}` is not a string", excerpt(v.raw)))
}

/// A JSON number's value and text; `None` for a missing or null field.
fn num<'a>(v: Option<Value<'a>>, field: &str) -> Result<Option<(f64, &'a str)>, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if v.kind == JsonKind::Number {
        if let Ok(n) = v.raw.parse::<f64>() {
            if n.is_finite() {
                return Ok(Some((n, v.raw)));
            }
        }
    }
    Err(format!("`{field}` `{}` is not a finite number", excerpt(v.raw)))
}

fn required<'a>(v: Option<Value<'a>>, field: &str) -> Result<(f64, &'a str), String> {
    num(v, field)?.ok_or_else(|| format!("missing field `{field}`"))
}

/// The start of a long value, for messages.
fn excerpt(raw: &str) -> &str {
    match raw.char_indices().nth(60) {
        Some((end, _)) => &raw[..end],
        None => raw,
    }
}

/// How one stat's records are written.
struct Record<'p> {
    stat: &'p str,
    kind: Kind,
    units: UnitSystem,
    /// See [`record_head`].
    head: Vec<u8>,
    head_split: usize,
}

impl Record<'_> {
    /// Writes the point's record to `line`; on an error the caller truncates what was written.
    fn write(&self, p: &Point<'_>, raw: &str, line: &mut Vec<u8>) -> Result<(), String> {
        let time = string(p.time, "time")?;
        match self.kind {
            Kind::Raw => {
                self.head(line, time);
                line.extend_from_slice(b",\"value\":");
                line.extend_from_slice(raw.as_bytes());
                line.extend_from_slice(b"}\n");
                return Ok(());
            }
            Kind::Scalar {
                from,
                metric,
                imperial,
            } => {
                let to = if self.units == UnitSystem::Metric {
                    metric
                } else {
                    imperial
                };
                let (value, _) = required(p.value, "value")?;
                let value = convert(value, from, to).map_err(|e| e.to_string())?;
                self.head(line, time);
                number(line, "value", value);
                text(line, "unit", to.symbol());
            }
            Kind::Plain(unit) => {
                let (_, value) = required(p.value, "value")?;
                self.head(line, time);
                number_text(line, "value", value);
                text(line, "unit", unit);
            }
            Kind::Text => {
                let value = string(p.value, "value")?;
                self.head(line, time);
                text(line, "value", value);
            }
            Kind::ChargingStatus => {
                let word = match required(p.value, "value")?.0 {
                    0.0 => "unknown",
                    1.0 => "notCharging",
                    2.0 => "charging",
                    v => return Err(format!("`value` `{v}` is not a charging status (0, 1 or 2)")),
                };
                self.head(line, time);
                text(line, "value", word);
            }
            Kind::Gps => self.write_gps(p, time, line)?,
        }
        if let Some(d) = p.decorations {
            line.extend_from_slice(b",\"decorations\":");
            line.extend_from_slice(d.raw.as_bytes());
        }
        line.extend_from_slice(b"}\n");
        Ok(())
    }

    fn write_gps(&self, p: &Point<'_>, time: &str, line: &mut Vec<u8>) -> Result<(), String> {
        let (lat, lat_text) = required(p.latitude, "latitude")?;
        let (lon, lon_text) = required(p.longitude, "longitude")?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(format!("position `{lat}, {lon}` is off the globe"));
        }
        let heading = num(p.heading_degrees, "headingDegrees")?;
        let mph = num(p.speed_miles_per_hour, "speedMilesPerHour")?;
        let ecu = match p.is_ecu_speed.filter(|v| !v.is_null()) {
            None => None,
            Some(v) => Some(
                v.as_bool()
                    .ok_or_else(|| format!("`isEcuSpeed` `{}` is not a boolean", excerpt(v.raw)))?,
            ),
        };
        if p.reverse_geo_malformed {
            return Err("`reverseGeo` is not an object".into());
        }
        let location = match p.location.filter(|v| !v.is_null()) {
            None => None,
            Some(v) => Some(v.str_escaped().ok_or_else(|| {
                format!(
                    "`reverseGeo.formattedLocation` `{}` is not a string",
                    excerpt(v.raw)
                )
            })?),
        };
        self.head(line, time);
        number_text(line, "latitude", lat_text);
        number_text(line, "longitude", lon_text);
        if let Some((_, h)) = heading {
            number_text(line, "headingDegrees", h);
        }
        if let Some((mph, mph_text)) = mph {
            match self.units {
                UnitSystem::Imperial => number_text(line, "speed", mph_text),
                UnitSystem::Metric => number(
                    line,
                    "speed",
                    convert(mph, Unit::MilesPerHour, Unit::KilometersPerHour).map_err(|e| e.to_string())?,
                ),
            }
            let unit = match self.units {
                UnitSystem::Imperial => Unit::MilesPerHour,
                UnitSystem::Metric => Unit::KilometersPerHour,
            };
            text(line, "unit", unit.symbol());
        }
        if let Some(ecu) = ecu {
            line.extend_from_slice(if ecu {
                b",\"isEcuSpeed\":true"
            } else {
                b",\"isEcuSpeed\":false"
            });
        }
        if let Some(address) = p.address.filter(|a| !a.is_null()) {
            line.extend_from_slice(b",\"address\":");
            line.extend_from_slice(address.raw.as_bytes());
        }
        if let Some(loc) = location {
            text(line, "location", loc);
        }
        Ok(())
    }

    /// `{"id":…,"vehicleId":…,"vehicleName":…,"externalIds":…,"stat":…,"time":…` (no closing brace).
    fn head(&self, line: &mut Vec<u8>, time: &str) {
        let (id_prefix, middle) = self.head.split_at(self.head_split);
        line.extend_from_slice(id_prefix);
        line.extend_from_slice(time.as_bytes());
        line.extend_from_slice(middle);
        line.extend_from_slice(time.as_bytes());
        line.push(b'"');
    }
}

/// The version of the record this module writes (`schemaVersion`), as `samsara_fmc.records` defines it.
const SCHEMA_VERSION: &str = "1";

/// The parts of a record's head that are the same for all of a stat's points, as one buffer split at
/// the returned offset: `{"id":"<id>:<stat>:` and `","vehicleId":…,"stat":"<stat>","time":"`. Every
/// string here is page text still escaped, so it is copied without escaping again.
fn record_head(who: &Identity<'_>, stat: &str) -> (Vec<u8>, usize) {
    let id = who.id.unwrap_or_default();
    let mut head =
        Vec::with_capacity(96 + 2 * (id.len() + stat.len()) + who.external_ids.map_or(0, str::len));
    head.extend_from_slice(b"{\"id\":\"");
    head.extend_from_slice(id.as_bytes());
    head.push(b':');
    head.extend_from_slice(stat.as_bytes());
    head.push(b':');
    let split = head.len();
    head.push(b'"');
    head.extend_from_slice(b",\"schemaVersion\":");
    head.extend_from_slice(SCHEMA_VERSION.as_bytes());
    text(&mut head, "vehicleId", id);
    if let Some(name) = who.name {
        text(&mut head, "vehicleName", name);
    }
    if let Some(ext) = who.external_ids {
        head.extend_from_slice(b",\"externalIds\":");
        head.extend_from_slice(ext.as_bytes());
    }
    text(&mut head, "stat", stat);
    head.extend_from_slice(b",\"time\":\"");
    (head, split)
}

/// `,"key":"value"`: `value` must already be JSON string content (escaped page text, or a literal
/// that needs no escaping).
fn text(line: &mut Vec<u8>, key: &str, value: &str) {
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":\"");
    line.extend_from_slice(value.as_bytes());
    line.push(b'"');
}

/// `,"key":number` for a finite number (integral values without a fraction, as JSON allows).
fn number(line: &mut Vec<u8>, key: &str, value: f64) {
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":");
    // Writing a finite f64 into a Vec cannot fail; callers reject non-finite values first.
    let _ = serde_json::to_writer(&mut *line, &value);
}

/// `,"key":number` with the number's text from the page, which needs no conversion.
fn number_text(line: &mut Vec<u8>, key: &str, value: &str) {
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":");
    line.extend_from_slice(value.as_bytes());
}

/// A rejects line; `id` and `stat` are escaped page text, `reason` is ours.
fn reject(rejects: &mut Vec<u8>, id: &str, stat: &str, reason: &str, point: &str) {
    rejects.extend_from_slice(b"{\"vehicleId\":\"");
    rejects.extend_from_slice(id.as_bytes());
    rejects.push(b'"');
    text(rejects, "stat", stat);
    rejects.extend_from_slice(b",\"error\":\"");
    push_escaped(rejects, reason);
    rejects.push(b'"');
    rejects.extend_from_slice(b",\"point\":");
    rejects.extend_from_slice(point.as_bytes());
    rejects.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn run(page: &Value, units: UnitSystem) -> (Vec<Value>, Vec<Value>, Converted) {
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let c = convert_stats_page(page.to_string().as_bytes(), units, &mut out, &mut rej).unwrap();
        let lines = |b: &[u8]| -> Vec<Value> {
            std::str::from_utf8(b)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        (lines(&out), lines(&rej), c)
    }

    #[test]
    fn converts_every_kind() {
        let page = json!({"data": [{
            "id": "112", "name": "Truck \"12\"", "externalIds": {"maintenanceId": "250020"},
            "obdOdometerMeters": [{"time": "2024-05-01T12:00:00Z", "value": 1_609_344}],
            "engineCoolantTemperatureMilliC": [{"time": "2024-05-01T12:00:01Z", "value": 90_000}],
            "engineStates": [{"time": "2024-05-01T12:00:02Z", "value": "Idle"}],
            "fuelPercents": [{"time": "2024-05-01T12:00:03Z", "value": 54}],
            "evChargingStatus": [{"time": "2024-05-01T12:00:04Z", "value": 2}],
            "gps": [{"time": "2024-05-01T12:00:05Z", "latitude": 37.77, "longitude": -122.41,
                     "headingDegrees": 120, "speedMilesPerHour": 50, "isEcuSpeed": false,
                     "reverseGeo": {"formattedLocation": "Market St"}}],
            "faultCodes": [{"time": "2024-05-01T12:00:06Z", "canBusType": "J1939",
                            "j1939": {"diagnosticTroubleCodes": [{"spnId": 100, "fmiId": 1, "milStatus": 0, "occurrenceCount": 1, "txId": 0}]}}]
        }], "pagination": {"endCursor": "c2", "hasNextPage": true}});
        let (recs, rej, c) = run(&page, UnitSystem::Imperial);
        assert!(rej.is_empty());
        assert_eq!(c.records, 7);
        assert_eq!(
            c.pagination,
            Some(Pagination {
                end_cursor: "c2".into(),
                has_next_page: true
            })
        );
        let by_stat = |s: &str| recs.iter().find(|r| r["stat"] == s).unwrap().clone();
        let odo = by_stat("obdOdometerMeters");
        assert_eq!(odo["id"], "112:obdOdometerMeters:2024-05-01T12:00:00Z");
        assert_eq!(odo["vehicleName"], "Truck \"12\"");
        assert_eq!(odo["externalIds"], json!({"maintenanceId": "250020"}));
        assert_eq!(
            (odo["value"].as_f64().unwrap(), odo["unit"].as_str().unwrap()),
            (1000.0, "mi")
        );
        let temp = by_stat("engineCoolantTemperatureMilliC");
        assert_eq!(
            (temp["value"].as_f64().unwrap(), temp["unit"].as_str().unwrap()),
            (194.0, "F")
        );
        assert_eq!(by_stat("engineStates")["value"], "Idle");
        assert_eq!(by_stat("fuelPercents")["unit"], "%");
        assert_eq!(by_stat("evChargingStatus")["value"], "charging");
        let gps = by_stat("gps");
        assert_eq!(
            (gps["speed"].as_f64().unwrap(), gps["unit"].as_str().unwrap()),
            (50.0, "mph")
        );
        assert_eq!(gps["location"], "Market St");
        assert_eq!(
            by_stat("faultCodes")["value"]["j1939"]["diagnosticTroubleCodes"][0]["spnId"],
            100
        );

        let (metric, _, _) = run(&page, UnitSystem::Metric);
        let gps = metric.iter().find(|r| r["stat"] == "gps").unwrap();
        assert!((gps["speed"].as_f64().unwrap() - 80.467_2).abs() < 1e-9);
        assert_eq!(
            metric
                .iter()
                .find(|r| r["stat"] == "engineCoolantTemperatureMilliC")
                .unwrap()["value"],
            90.0
        );
    }

    #[test]
    fn malformed_points_are_rejected_not_lost() {
        let page = json!({"data": [{"id": "7", "obdOdometerMeters": [
            {"time": "2024-05-01T12:00:00Z", "value": 5},
            {"time": "2024-05-01T12:00:05Z", "value": "lots"},
            {"value": 9},
        ], "gps": [{"time": "t", "latitude": 91.0, "longitude": 0.0}],
           "evChargingStatus": [{"time": "t", "value": 7}]}],
          "pagination": {"endCursor": "", "hasNextPage": false}});
        let (recs, rej, c) = run(&page, UnitSystem::Metric);
        assert_eq!((c.records, c.rejected), (1, 4));
        assert_eq!(recs[0]["value"], 0.005);
        assert!(rej.iter().all(|r| r["vehicleId"] == "7"));
        assert!(rej
            .iter()
            .any(|r| r["error"].as_str().unwrap().contains("off the globe")));
        assert!(rej.iter().any(|r| r["point"]["value"] == "lots"));
    }

    #[test]
    fn unreadable_pages_are_errors() {
        let mut sink = (Vec::new(), Vec::new());
        for bad in [
            &b"{\"data\": ["[..],
            b"[]",
            b"{\"data\":[{\"name\":\"x\"}]}",
            b"<html>",
        ] {
            assert!(convert_stats_page(bad, UnitSystem::Metric, &mut sink.0, &mut sink.1).is_err());
        }
        assert!(sink.0.is_empty() && sink.1.is_empty());
    }

    #[test]
    fn snapshot_pages_are_refused_with_a_reason() {
        let page = json!({"data": [{"id": "1", "engineState": {"time": "t", "value": "On"}}],
                          "pagination": {"endCursor": "", "hasNextPage": false}});
        let err = convert_stats_page(
            page.to_string().as_bytes(),
            UnitSystem::Metric,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("stat `engineState` is not an array"),
            "{err}"
        );
    }

    #[test]
    fn identity_after_the_stats_is_still_on_every_record() {
        let first = r#"{"data":[{"id":"9","name":"Van \"9\"","externalIds":{"k":"v"},"engineStates":[{"time":"t1","value":"On"}],"fuelPercents":[{"time":"t2","value":50}]}],"pagination":{"endCursor":"c","hasNextPage":false}}"#;
        let last = r#"{"pagination":{"endCursor":"c","hasNextPage":false},"data":[{"engineStates":[{"time":"t1","value":"On"}],"name":"Van \"9\"","fuelPercents":[{"time":"t2","value":50}],"externalIds":{"k":"v"},"id":"9"}]}"#;
        let convert = |page: &str| {
            let (mut out, mut rej) = (Vec::new(), Vec::new());
            let c = convert_stats_page(page.as_bytes(), UnitSystem::Metric, &mut out, &mut rej).unwrap();
            (String::from_utf8(out).unwrap(), c)
        };
        let (a, ca) = convert(first);
        let (b, cb) = convert(last);
        assert_eq!(a, b, "same records in the same order");
        assert_eq!((ca, cb.records), (cb.clone(), 2));
        let rec: Value = serde_json::from_str(a.lines().next().unwrap()).unwrap();
        assert_eq!(
            (rec["vehicleName"].as_str(), rec["externalIds"]["k"].as_str()),
            (Some("Van \"9\""), Some("v"))
        );
    }

    #[test]
    fn escaped_page_text_stays_valid_json() {
        let page = json!({"data": [{"id": "a\"b", "name": "Tab\there \u{e9}\u{1f69a}", "engineStates": [
            {"time": "2024-05-01T12:00:00Z", "value": "On \"now\""}]}]});
        let (recs, rej, c) = run(&page, UnitSystem::Metric);
        assert_eq!((c.records, rej.len()), (1, 0));
        assert_eq!(recs[0]["id"], "a\"b:engineStates:2024-05-01T12:00:00Z");
        assert_eq!(recs[0]["vehicleName"], "Tab\there \u{e9}\u{1f69a}");
        assert_eq!(recs[0]["value"], "On \"now\"");
        // A key with an escape is matched by its decoded name.
        let page = r#"{"data":[{"id":"1","name":null,"externalIds":null,"fuel\u0050ercents":[{"time":"t","value":5}]}]}"#;
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        convert_stats_page(page.as_bytes(), UnitSystem::Metric, &mut out, &mut rej).unwrap();
        let rec: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            (rec["stat"].as_str(), rec["unit"].as_str()),
            (Some("fuelPercents"), Some("%"))
        );
    }

    #[test]
    fn points_of_the_wrong_shape_are_rejected_whole() {
        let page = r#"{"data": [{"id": "7", "gps": [
            "not an object",
            {"time": "t", "latitude": 1, "longitude": 2, "reverseGeo": "Main St"},
            {"time": "t", "latitude": 1, "longitude": 2, "reverseGeo": {"formattedLocation": 5}},
            {"time": "t", "latitude": 1, "longitude": 2, "isEcuSpeed": "yes"},
            {"time": "t", "latitude": 1e400, "longitude": 2},
            {"time": "t", "latitude": 1, "longitude": 2, "reverseGeo": null, "speedMilesPerHour": null}
        ]}]}"#;
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let c = convert_stats_page(page.as_bytes(), UnitSystem::Metric, &mut out, &mut rej).unwrap();
        let lines = |b: &[u8]| -> Vec<Value> {
            b.split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect()
        };
        // serde_json refuses the valid JSON number 1e400, so that rejects line is checked as text.
        let rej_text = String::from_utf8(rej.clone()).unwrap();
        let huge = rej_text.lines().nth(4).unwrap();
        assert!(
            huge.contains("1e400` is not a finite number")
                && huge.ends_with(r#""latitude": 1e400, "longitude": 2}}"#),
            "{huge}"
        );
        let rej: Vec<u8> = rej_text
            .lines()
            .filter(|l| !l.contains("1e400"))
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect();
        let (recs, rej) = (lines(&out), lines(&rej));
        assert_eq!((c.records, c.rejected), (1, 5));
        assert_eq!(recs[0]["latitude"], 1);
        assert_eq!(rej[0]["point"], "not an object");
        assert_eq!(rej[1]["point"]["reverseGeo"], "Main St");
        let reasons: Vec<&str> = rej.iter().map(|r| r["error"].as_str().unwrap()).collect();
        assert!(reasons[2].contains("formattedLocation"), "{reasons:?}");
        assert!(reasons[3].contains("isEcuSpeed"), "{reasons:?}");
    }

    #[test]
    fn a_page_failing_late_leaves_the_buffers_as_they_were() {
        let page = r#"{"data":[{"id":"1","engineStates":[{"time":"t","value":"On"}],"gps":[{"time":"t","latitude":"x","longitude":0}]},{"name":"no id"}]}"#;
        let (mut out, mut rej) = (b"kept\n".to_vec(), b"kept\n".to_vec());
        let err = convert_stats_page(page.as_bytes(), UnitSystem::Metric, &mut out, &mut rej).unwrap_err();
        assert!(err.to_string().contains("no vehicle `id`"), "{err}");
        assert_eq!((&out[..], &rej[..]), (&b"kept\n"[..], &b"kept\n"[..]));
        let err = convert_stats_page(b"{\"data\":[]} x", UnitSystem::Metric, &mut out, &mut rej).unwrap_err();
        assert!(err.to_string().contains("at byte 12"), "{err}");
    }
}
