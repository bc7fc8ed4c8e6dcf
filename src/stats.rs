//! Vehicle stats (`/fleet/vehicles/stats/feed` and `/history` pages) to converted NDJSON records.
//!
//! One output line per data point, in page order, with the units converted:
//!
//! ```json
//! {"id":"112:obdOdometerMeters:2024-05-01T12:00:00Z","vehicleId":"112","vehicleName":"Truck 12",
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

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::http::Pagination;
use crate::json::push_escaped;
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

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    data: Vec<Vehicle<'a>>,
    pagination: Option<Pagination>,
}

/// One `data` entry: the vehicle's identity and, for every other key, a stat's points.
struct Vehicle<'a> {
    id: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    external_ids: Option<&'a RawValue>,
    stats: Vec<(Cow<'a, str>, Points<'a>)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Vehicle<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vehicle<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a vehicle stats object")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut v = Vehicle {
                    id: None,
                    name: None,
                    external_ids: None,
                    stats: Vec::new(),
                };
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match &*key {
                        "id" => v.id = Some(map.next_value::<Cow<'de, str>>()?),
                        "name" => v.name = map.next_value::<Option<Cow<'de, str>>>()?,
                        "externalIds" => v.external_ids = Some(map.next_value::<&'de RawValue>()?),
                        _ => {
                            let bad = |e: M::Error| {
                                serde::de::Error::custom(format_args!(
                                    "stat `{key}` is not an array of points ({e}); this reads feed and history pages"
                                ))
                            };
                            let points = if kind_of(&key) == Kind::Raw {
                                Points::Raw(map.next_value::<Vec<&'de RawValue>>().map_err(bad)?)
                            } else {
                                Points::Parsed(map.next_value::<Vec<Point<'de>>>().map_err(bad)?)
                            };
                            v.stats.push((key, points));
                        }
                    }
                }
                Ok(v)
            }
        }
        d.deserialize_map(V)
    }
}

/// A stat's points: kept raw for object-valued stats (fault codes, …), parsed in one pass otherwise.
enum Points<'a> {
    Raw(Vec<&'a RawValue>),
    Parsed(Vec<Point<'a>>),
}

/// Every field a non-raw point may have, each as its raw JSON text: one pass over the bytes, and a
/// value of the wrong type becomes a rejected point instead of an unreadable page.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Point<'a> {
    #[serde(borrow, default)]
    time: Option<&'a RawValue>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    #[serde(borrow, default)]
    latitude: Option<&'a RawValue>,
    #[serde(borrow, default)]
    longitude: Option<&'a RawValue>,
    #[serde(borrow, default)]
    heading_degrees: Option<&'a RawValue>,
    #[serde(borrow, default)]
    speed_miles_per_hour: Option<&'a RawValue>,
    #[serde(borrow, default)]
    is_ecu_speed: Option<&'a RawValue>,
    #[serde(borrow, default)]
    address: Option<&'a RawValue>,
    #[serde(borrow, default)]
    reverse_geo: Option<&'a RawValue>,
    #[serde(borrow, default)]
    decorations: Option<&'a RawValue>,
}

impl<'a> Point<'a> {
    fn time(&self) -> Result<Cow<'a, str>, String> {
        string(self.time.ok_or("missing field `time`")?, "time")
    }

    /// The point re-assembled from its fields, for the rejects file.
    fn reassemble(&self) -> String {
        let fields = [
            ("time", self.time),
            ("value", self.value),
            ("latitude", self.latitude),
            ("longitude", self.longitude),
            ("headingDegrees", self.heading_degrees),
            ("speedMilesPerHour", self.speed_miles_per_hour),
            ("isEcuSpeed", self.is_ecu_speed),
            ("address", self.address),
            ("reverseGeo", self.reverse_geo),
            ("decorations", self.decorations),
        ];
        let body: Vec<String> = fields
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("\"{k}\":{}", v.get())))
            .collect();
        format!("{{{}}}", body.join(","))
    }
}

/// A JSON string's text, borrowed unless it has escapes.
fn string<'a>(raw: &'a RawValue, field: &str) -> Result<Cow<'a, str>, String> {
    let text = raw.get();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !inner.contains('\\') {
            return Ok(Cow::Borrowed(inner));
        }
        if let Ok(owned) = serde_json::from_str::<String>(text) {
            return Ok(Cow::Owned(owned));
        }
    }
    Err(format!("`{field}` `{text}` is not a string"))
}

/// A JSON number's value.
fn num(raw: Option<&RawValue>, field: &str) -> Result<Option<f64>, String> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.get() {
        "null" => Ok(None),
        text => match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(format!("`{field}` `{text}` is not a finite number")),
        },
    }
}

fn required(raw: Option<&RawValue>, field: &str) -> Result<f64, String> {
    num(raw, field)?.ok_or_else(|| format!("missing field `{field}`"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReverseGeo<'a> {
    #[serde(borrow, default)]
    formatted_location: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct TimeOnly<'a> {
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// Converts one stats page (feed or history) into NDJSON lines appended to `out`; points that do not
/// have their documented shape go to `rejects` as `{"vehicleId","stat","error","point"}` lines.
pub fn convert_stats_page(
    body: &[u8],
    units: UnitSystem,
    out: &mut Vec<u8>,
    rejects: &mut Vec<u8>,
) -> Result<Converted, PageError> {
    let page: Page<'_> = serde_json::from_slice(body).map_err(|e| PageError(e.to_string()))?;
    let mut done = Converted {
        pagination: page.pagination,
        ..Converted::default()
    };
    for vehicle in &page.data {
        let Some(id) = vehicle.id.as_deref() else {
            return Err(PageError("a `data` entry has no vehicle `id`".into()));
        };
        for (stat, points) in &vehicle.stats {
            let ctx = Context {
                vehicle,
                id,
                stat,
                kind: kind_of(stat),
                units,
            };
            match points {
                Points::Raw(points) => {
                    for &point in points {
                        match Context::guarded(out, |out| ctx.write_raw(point, out)) {
                            Ok(()) => done.records += 1,
                            Err(reason) => {
                                reject(rejects, id, stat, &reason, point.get());
                                done.rejected += 1;
                            }
                        }
                    }
                }
                Points::Parsed(points) => {
                    for point in points {
                        match Context::guarded(out, |out| ctx.write_point(point, out)) {
                            Ok(()) => done.records += 1,
                            Err(reason) => {
                                reject(rejects, id, stat, &reason, &point.reassemble());
                                done.rejected += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(done)
}

struct Context<'p, 'a> {
    vehicle: &'p Vehicle<'a>,
    id: &'p str,
    stat: &'p str,
    kind: Kind,
    units: UnitSystem,
}

impl Context<'_, '_> {
    /// Runs `write`, leaving `out` as it was when it fails.
    fn guarded(
        out: &mut Vec<u8>,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
    ) -> Result<(), String> {
        let start = out.len();
        let written = write(out);
        if written.is_err() {
            out.truncate(start);
        }
        written
    }

    /// An object-valued stat: the point without change as `value`.
    fn write_raw(&self, point: &RawValue, line: &mut Vec<u8>) -> Result<(), String> {
        let p: TimeOnly<'_> = serde_json::from_str(point.get()).map_err(|e| e.to_string())?;
        self.head(line, &p.time);
        line.extend_from_slice(b",\"value\":");
        line.extend_from_slice(point.get().as_bytes());
        line.extend_from_slice(b"}\n");
        Ok(())
    }

    fn write_point(&self, p: &Point<'_>, line: &mut Vec<u8>) -> Result<(), String> {
        let time = p.time()?;
        match self.kind {
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
                let value = convert(required(p.value, "value")?, from, to).map_err(|e| e.to_string())?;
                self.head(line, &time);
                number(line, "value", value);
                text(line, "unit", to.symbol());
            }
            Kind::Plain(unit) => {
                let value = required(p.value, "value")?;
                self.head(line, &time);
                number(line, "value", value);
                text(line, "unit", unit);
            }
            Kind::Text => {
                let value = string(p.value.ok_or("missing field `value`")?, "value")?;
                self.head(line, &time);
                text(line, "value", &value);
            }
            Kind::ChargingStatus => {
                let word = match required(p.value, "value")? {
                    0.0 => "unknown",
                    1.0 => "notCharging",
                    2.0 => "charging",
                    v => return Err(format!("`value` `{v}` is not a charging status (0, 1 or 2)")),
                };
                self.head(line, &time);
                text(line, "value", word);
            }
            Kind::Gps => self.write_gps(p, &time, line)?,
            Kind::Raw => return Err("internal: raw stats are written by `write_raw`".into()),
        }
        decorations(line, p.decorations);
        line.extend_from_slice(b"}\n");
        Ok(())
    }

    fn write_gps(&self, p: &Point<'_>, time: &str, line: &mut Vec<u8>) -> Result<(), String> {
        let (lat, lon) = (
            required(p.latitude, "latitude")?,
            required(p.longitude, "longitude")?,
        );
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(format!("position `{lat}, {lon}` is off the globe"));
        }
        let heading = num(p.heading_degrees, "headingDegrees")?;
        let mph = num(p.speed_miles_per_hour, "speedMilesPerHour")?;
        let ecu = match p.is_ecu_speed.map(RawValue::get) {
            None | Some("null") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => return Err(format!("`isEcuSpeed` `{other}` is not a boolean")),
        };
        let location = match p.reverse_geo {
            Some(raw) if raw.get() != "null" => {
                serde_json::from_str::<ReverseGeo<'_>>(raw.get())
                    .map_err(|e| format!("`reverseGeo` is not an object: {e}"))?
                    .formatted_location
            }
            _ => None,
        };
        self.head(line, time);
        number(line, "latitude", lat);
        number(line, "longitude", lon);
        if let Some(h) = heading {
            number(line, "headingDegrees", h);
        }
        if let Some(mph) = mph {
            let (speed, unit) = match self.units {
                UnitSystem::Imperial => (mph, Unit::MilesPerHour),
                UnitSystem::Metric => (
                    convert(mph, Unit::MilesPerHour, Unit::KilometersPerHour).map_err(|e| e.to_string())?,
                    Unit::KilometersPerHour,
                ),
            };
            number(line, "speed", speed);
            text(line, "unit", unit.symbol());
        }
        if let Some(ecu) = ecu {
            line.extend_from_slice(if ecu {
                b",\"isEcuSpeed\":true"
            } else {
                b",\"isEcuSpeed\":false"
            });
        }
        if let Some(address) = p.address.filter(|a| a.get() != "null") {
            line.extend_from_slice(b",\"address\":");
            line.extend_from_slice(address.get().as_bytes());
        }
        if let Some(loc) = location {
            text(line, "location", &loc);
        }
        Ok(())
    }

    /// `{"id":…,"vehicleId":…,"vehicleName":…,"externalIds":…,"stat":…,"time":…` (no closing brace).
    fn head(&self, line: &mut Vec<u8>, time: &str) {
        line.extend_from_slice(b"{\"id\":\"");
        push_escaped(line, self.id);
        line.push(b':');
        push_escaped(line, self.stat);
        line.push(b':');
        push_escaped(line, time);
        line.push(b'"');
        text(line, "vehicleId", self.id);
        if let Some(name) = &self.vehicle.name {
            text(line, "vehicleName", name);
        }
        if let Some(ext) = self.vehicle.external_ids {
            line.extend_from_slice(b",\"externalIds\":");
            line.extend_from_slice(ext.get().as_bytes());
        }
        text(line, "stat", self.stat);
        text(line, "time", time);
    }
}

/// `,"key":"value"` with the value escaped. Keys are literals that need no escaping.
fn text(line: &mut Vec<u8>, key: &str, value: &str) {
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":\"");
    push_escaped(line, value);
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

fn decorations(line: &mut Vec<u8>, raw: Option<&RawValue>) {
    if let Some(d) = raw {
        line.extend_from_slice(b",\"decorations\":");
        line.extend_from_slice(d.get().as_bytes());
    }
}

fn reject(rejects: &mut Vec<u8>, id: &str, stat: &str, reason: &str, point: &str) {
    rejects.extend_from_slice(b"{\"vehicleId\":\"");
    push_escaped(rejects, id);
    rejects.push(b'"');
    text(rejects, "stat", stat);
    text(rejects, "error", reason);
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
}
