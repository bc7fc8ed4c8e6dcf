//! The Readings API (`shared/samsara-api.md` §3.21): `GET /readings/definitions`, `/readings/latest`
//! and `/readings/history` (with `feed=true`).
//!
//! Readings are another view of the telemetry model the stats endpoints use: a vehicle's
//! `odometerEcu` is its `obdOdometerMeters`, `coolantTemp` its `engineCoolantTemperatureMilliC` in °C,
//! and so on. Tire pressures and engine-oil temperature exist only here. Vehicles are entities of
//! type `asset` (asset type `vehicle`).
//!
//! The layout of a reading's `value` is not documented; the sandbox's assumption lives in
//! [`write_value`] alone (see `docs/sandbox.md`).

// The physical model mixes f64 and i64 at magnitudes far below 2^52; casts are deliberate here.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::many_single_char_names
)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde_json::{json, Value};

use crate::fleet::Kind;
use crate::http::{Request, Response};
use crate::jsonw::{envelope, fixed, string};
use crate::model::{Days, Model, Phase, Sampling};
use crate::router::{PageFault, Sandbox};
use crate::simtime::write_rfc3339;
use crate::stattypes::{Render, Stat};

/// Data points per history/feed page, and records per `latest` or definitions page.
pub(crate) const PAGE: usize = 512;
/// `readingIds` per `/readings/latest` request.
const MAX_READING_IDS: usize = 5;
/// `ids` per `/readings/definitions` request.
const MAX_DEFINITION_IDS: usize = 50;
/// Entity types the API knows; the sandbox has data for assets only.
const ENTITY_TYPES: [&str; 2] = ["asset", "sensor"];
/// Asset types (`assetTypes` filter).
const ASSET_TYPES: [&str; 5] = ["uncategorized", "trailer", "equipment", "unpowered", "vehicle"];

/// How a reading's values are typed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DataType {
    /// A number in `unit`, written with `decimals` decimals.
    Continuous {
        /// Unit name as the API spells it (`kilopascal`, `celsius`, …).
        unit: &'static str,
        /// Decimals written.
        decimals: u32,
    },
    /// One of `values` (symbol, label); the number is the index.
    Enum(&'static [(&'static str, &'static str)]),
    /// Free text (the active fault codes).
    Text,
}

/// Which entities report a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reporters {
    /// Every vehicle.
    Vehicles,
    /// Vehicles with a combustion engine.
    Combustion,
    /// Heavy trucks (DEF).
    Heavy,
    /// EVs.
    Ev,
    /// Vehicles and trailers.
    Wheeled,
    /// Refrigerated trailers.
    Reefer,
}

/// One reading definition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Def {
    /// Reading ID.
    pub(crate) id: &'static str,
    label: &'static str,
    description: &'static str,
    category: &'static str,
    /// Value type.
    pub(crate) data_type: DataType,
    grouping: Option<(&'static str, &'static str)>,
    reporters: Reporters,
}

const TIRE_GROUP: Option<(&str, &str)> = Some(("tirePressures", "Tire pressures"));
const KPA: DataType = DataType::Continuous {
    unit: "kilopascal",
    decimals: 1,
};
const CELSIUS: DataType = DataType::Continuous {
    unit: "celsius",
    decimals: 1,
};
const PERCENT: DataType = DataType::Continuous {
    unit: "percent",
    decimals: 1,
};

const fn def(
    id: &'static str,
    label: &'static str,
    description: &'static str,
    data_type: DataType,
    reporters: Reporters,
) -> Def {
    Def {
        id,
        label,
        description,
        category: "diagnostic",
        data_type,
        grouping: None,
        reporters,
    }
}

const fn tire(id: &'static str, label: &'static str, description: &'static str) -> Def {
    Def {
        grouping: TIRE_GROUP,
        ..def(id, label, description, KPA, Reporters::Wheeled)
    }
}

/// The readings the sandbox has data for (IDs, labels and units as the 14.x SDK docstring lists them).
pub(crate) const DEFS: &[Def] = &[
    tire(
        "tirePressuresFrontLeft",
        "Tire pressure, front left",
        "Represents the tire pressure for the front-left tire.",
    ),
    tire(
        "tirePressuresFrontRight",
        "Tire pressure, front right",
        "Represents the tire pressure for the front-right tire.",
    ),
    tire(
        "tirePressuresBackLeft",
        "Tire pressure, back left",
        "Represents the tire pressure for the back-left tire.",
    ),
    tire(
        "tirePressuresBackRight",
        "Tire pressure, back right",
        "Represents the tire pressure for the back-right tire.",
    ),
    def(
        "engineLoadPercent",
        "Engine Load",
        "Engine load percentage.",
        PERCENT,
        Reporters::Combustion,
    ),
    def(
        "oilPressure",
        "Engine Oil Pressure",
        "Represents the oil pressure in the engine.",
        KPA,
        Reporters::Combustion,
    ),
    def(
        "engineOilTemperature",
        "Engine Oil Temperature",
        "Temperature of the engine oil",
        CELSIUS,
        Reporters::Combustion,
    ),
    def(
        "coolantTemp",
        "Engine Coolant Temp",
        "Represents the engine coolant temperature.",
        CELSIUS,
        Reporters::Combustion,
    ),
    def(
        "fuelLevelPerc",
        "Fuel Level",
        "Percentage of fuel remaining in the tank.",
        PERCENT,
        Reporters::Combustion,
    ),
    def(
        "defLevel",
        "DEF Level",
        "Represents the DEF (Diesel Exhaust Fluid) level percentage.",
        PERCENT,
        Reporters::Heavy,
    ),
    def(
        "evChargingStatus",
        "EV Charging Status",
        "Charging status for electric and hybrid vehicles.",
        DataType::Enum(&[
            ("unknown", "Unknown"),
            ("notCharging", "Not Charging"),
            ("charging", "Charging"),
        ]),
        Reporters::Ev,
    ),
    def(
        "odometerEcu",
        "Odometer (ECU)",
        "Represents the total distance traveled as recorded by the ECU.",
        DataType::Continuous {
            unit: "meter",
            decimals: 0,
        },
        Reporters::Vehicles,
    ),
    def(
        "odometerGps",
        "Odometer (GPS)",
        "Represents the total distance traveled as determined by GPS.",
        DataType::Continuous {
            unit: "meter",
            decimals: 0,
        },
        Reporters::Vehicles,
    ),
    def(
        "engineHours",
        "Engine Hours (ECU)",
        "Represents the total engine runtime in hours as reported by the ECU.",
        DataType::Continuous {
            unit: "second",
            decimals: 0,
        },
        Reporters::Vehicles,
    ),
    def(
        "engineState",
        "Engine State",
        "Indicates the current state of the engine, such as running, stopped.",
        DataType::Enum(&[("off", "Off"), ("running", "Running"), ("idling", "Idling")]),
        Reporters::Vehicles,
    ),
    Def {
        category: "reefer",
        ..def(
            "reeferReturnAirZone1",
            "Reefer Return Air Temperature (Zone 1)",
            "Return air temperature for the reefer's zone 1",
            CELSIUS,
            Reporters::Reefer,
        )
    },
    Def {
        category: "reefer",
        ..def(
            "reeferSupplyAirZone1",
            "Reefer Supply Air Temperature (Zone 1)",
            "Supply air temperature for the reefer's zone 1",
            CELSIUS,
            Reporters::Reefer,
        )
    },
    Def {
        category: "reefer",
        ..def(
            "reeferSetPointZone1",
            "Reefer Set Point (Zone 1)",
            "Current set point for the reefer's zone 1",
            CELSIUS,
            Reporters::Reefer,
        )
    },
    def(
        "batteryVoltage",
        "Battery Voltage",
        "Voltage of the asset's battery.",
        DataType::Continuous {
            unit: "volt",
            decimals: 2,
        },
        Reporters::Vehicles,
    ),
    def(
        "evChargingEnergy",
        "EV Charging Energy",
        "Energy the charger delivers to the high-voltage battery.",
        DataType::Continuous {
            unit: "watthour",
            decimals: 0,
        },
        Reporters::Ev,
    ),
    def(
        "evHighCapacityBatteryVoltage",
        "EV High Capacity Battery Voltage",
        "Voltage of the high-voltage traction battery.",
        DataType::Continuous {
            unit: "volt",
            decimals: 1,
        },
        Reporters::Ev,
    ),
    def(
        "faultCodes",
        "Fault Codes",
        "The engine fault code active now (J1939 `SPN n FMI m` or OBD-II `Pxxxx`); empty when none.",
        DataType::Text,
        Reporters::Vehicles,
    ),
];

/// A reading's value at one instant: a number, an index into the definition's enum values, or text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Sample {
    /// Continuous.
    Number(f64),
    /// Enum index.
    Symbol(usize),
    /// Text.
    Text(&'static str),
}

/// The sandbox's layout of a reading `value`, driven by the definition's `type`:
/// continuous `{"dataType":"continuous","number":689.5,"unit":"kilopascal"}`,
/// enum `{"dataType":"enum","symbol":"charging","number":2}` (the number is the symbol's position in
/// `type.enumValues`, as the enum alert thresholds pair `number` and `symbol`). Change it here only.
pub(crate) fn write_value(out: &mut Vec<u8>, dt: DataType, s: Sample) {
    match (dt, s) {
        (DataType::Continuous { unit, decimals }, Sample::Number(x)) => {
            out.extend_from_slice(b"{\"dataType\":\"continuous\",\"number\":");
            fixed(out, x, decimals);
            out.extend_from_slice(b",\"unit\":");
            string(out, unit);
            out.push(b'}');
        }
        (DataType::Enum(values), Sample::Symbol(i)) => {
            out.extend_from_slice(b"{\"dataType\":\"enum\",\"symbol\":");
            string(out, values.get(i).map_or("unknown", |v| v.0));
            out.extend_from_slice(b",\"number\":");
            crate::jsonw::int(out, i64::try_from(i).unwrap_or(0));
            out.push(b'}');
        }
        (DataType::Text, Sample::Text(text)) => {
            out.extend_from_slice(b"{\"dataType\":\"string\",\"string\":");
            string(out, text);
            out.push(b'}');
        }
        // A definition and its sample always agree; keep the output valid JSON regardless.
        _ => out.extend_from_slice(b"{}"),
    }
}

/// The `measurementType` of a unit (the SDK's `UnitResponseBody` enum).
fn measurement_type(unit: &str) -> &'static str {
    match unit {
        "kilopascal" => "pressure",
        "celsius" => "temperature",
        "meter" => "distance",
        "second" => "duration",
        "volt" => "voltage",
        "watthour" => "energy",
        // `percent` and anything unitless.
        _ => "ratio",
    }
}

/// The definition's `type` object, the counterpart of [`write_value`]: a continuous reading's `unit`
/// is the object `{baseUnit, measurementType}` both SDKs model.
fn type_json(dt: DataType) -> Value {
    match dt {
        DataType::Continuous { unit, .. } => {
            json!({"dataType": "continuous", "unit": {"baseUnit": unit, "measurementType": measurement_type(unit)}})
        }
        DataType::Text => json!({"dataType": "string"}),
        DataType::Enum(values) => json!({"dataType": "enum", "enumValues": values
            .iter()
            .enumerate()
            .map(|(i, (symbol, label))| json!({"symbol": symbol, "label": label, "number": i}))
            .collect::<Vec<_>>()}),
    }
}

fn find_def(id: &str) -> Option<&'static Def> {
    DEFS.iter().find(|d| d.id == id)
}

/// What a reporting entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A vehicle of this kind.
    Vehicle(Kind),
    /// A trailer; refrigerated or not.
    Trailer {
        /// Has a reefer unit.
        reefer: bool,
    },
}

impl Class {
    fn asset_type(self) -> &'static str {
        match self {
            Self::Vehicle(_) => "vehicle",
            Self::Trailer { .. } => "trailer",
        }
    }

    fn reports(self, d: &Def) -> bool {
        match (self, d.reporters) {
            (_, Reporters::Wheeled) | (Self::Vehicle(_), Reporters::Vehicles) => true,
            (Self::Vehicle(kind), Reporters::Combustion) => kind != Kind::Ev,
            (Self::Vehicle(kind), Reporters::Heavy) => kind == Kind::Heavy,
            (Self::Vehicle(kind), Reporters::Ev) => kind == Kind::Ev,
            (Self::Trailer { reefer }, Reporters::Reefer) => reefer,
            _ => false,
        }
    }
}

/// An entity that has readings.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    /// Samsara ID.
    pub(crate) id: String,
    /// Its class.
    pub(crate) class: Class,
    /// The fleet vehicle whose trips drive its schedule and physics.
    pub(crate) host: usize,
    /// Salt for per-entity constants.
    pub(crate) salt: u64,
    /// External IDs.
    pub(crate) external_ids: Value,
}

/// Every asset with readings, in entity order: vehicles by fleet index, then trailers (each moves
/// with the truck that hauls it).
pub(crate) fn entities(sb: &Sandbox) -> Vec<Entity> {
    let st = sb.store();
    let nv = sb.fleet.vehicles.len();
    let vehicles = sb.fleet.vehicles.iter().enumerate().map(|(i, v)| Entity {
        id: v.id.clone(),
        class: Class::Vehicle(v.kind),
        host: i,
        salt: i as u64,
        external_ids: st.vehicle_external_ids(i),
    });
    let trailers = sb.fleet.trailers.iter().enumerate().filter_map(|(i, t)| {
        Some(Entity {
            id: t.id.clone(),
            class: Class::Trailer { reefer: t.reefer },
            host: t.tractor?,
            salt: (nv + i) as u64,
            external_ids: st.trailer_external_ids(i),
        })
    });
    vehicles.chain(trailers).collect()
}

/// How a reading is sampled: engine state at transitions, everything else like the analogue stats.
fn sampling(d: &Def) -> Sampling {
    match d.id {
        "engineState" => Sampling::Transitions,
        "faultCodes" => Sampling::Block(21_600),
        _ => Sampling::Periodic(60),
    }
}

/// Computes reading values from the model.
struct Values<'a> {
    r: Render<'a>,
}

impl Values<'_> {
    fn sample(&self, d: &Def, e: &Entity, t: i64) -> Sample {
        let v = e.host;
        let stat = |s: &'static str| self.r.int_value(Stat(s), v, t) as f64;
        let m = self.r.model;
        match d.id {
            "engineLoadPercent" => Sample::Number(stat("engineLoadPercent")),
            "oilPressure" => Sample::Number(stat("engineOilPressureKPa")),
            "coolantTemp" => Sample::Number(stat("engineCoolantTemperatureMilliC") / 1000.0),
            "engineOilTemperature" => {
                // Oil follows the coolant, a few degrees hotter once warm and slower to heat up.
                let coolant = stat("engineCoolantTemperatureMilliC") / 1000.0;
                let ambient = self.r.ambient_milli_c(v, t) / 1000.0;
                Sample::Number(ambient + (coolant - ambient) * 0.9 * 1.08 + m.noise(v, t, 40))
            }
            "fuelLevelPerc" => Sample::Number(stat("fuelPercents")),
            "defLevel" => Sample::Number(stat("defLevelMilliPercent") / 1000.0),
            "evChargingStatus" => Sample::Symbol(if self.r.charging(v, t) { 2 } else { 1 }),
            "odometerEcu" => Sample::Number(stat("obdOdometerMeters")),
            "odometerGps" => Sample::Number(stat("gpsOdometerMeters")),
            "engineHours" => Sample::Number(stat("obdEngineSeconds")),
            "engineState" => Sample::Symbol(match m.phase(self.r.days, v, t) {
                Phase::Off => 0,
                Phase::Driving => 1,
                Phase::Idle => 2,
            }),
            "batteryVoltage" => Sample::Number(stat("batteryMilliVolts") / 1000.0),
            "evChargingEnergy" => Sample::Number(stat("evChargingEnergyMicroWh") / 1e6),
            "evHighCapacityBatteryVoltage" => Sample::Number(stat("evBatteryVoltageMilliVolt") / 1000.0),
            "faultCodes" => Sample::Text(crate::dtc::active_code(m, v, t).unwrap_or("")),
            "reeferSetPointZone1" => Sample::Number(Self::set_point(e)),
            "reeferReturnAirZone1" | "reeferSupplyAirZone1" => {
                Sample::Number(self.reefer_air(e, t, d.id == "reeferSupplyAirZone1"))
            }
            tire_id => Sample::Number(self.tire_kpa(e, tire_index(tire_id), t)),
        }
    }

    /// A reefer's set point: frozen (-18 °C) or chilled (3 °C) loads, by trailer.
    fn set_point(e: &Entity) -> f64 {
        if e.salt % 3 == 0 {
            -18.0
        } else {
            3.0
        }
    }

    /// Reefer air temperature: the unit cycles around the set point (supply air colder than return
    /// air); while the truck is stopped with the engine idling (loading), the doors are open and the
    /// return air drifts towards the outside temperature.
    fn reefer_air(&self, e: &Entity, t: i64, supply: bool) -> f64 {
        let m = self.r.model;
        let v = e.host;
        let sp = Self::set_point(e);
        let cycle = ((t + e.salt as i64 * 97) % 1200) as f64 / 1200.0 * std::f64::consts::TAU;
        let mut ret = sp + 1.2 + 0.8 * cycle.sin() + 0.3 * m.noise(v, t, 41 + e.salt);
        if m.phase(self.r.days, v, t) == Phase::Idle {
            let ambient = self.r.ambient_milli_c(v, t) / 1000.0;
            ret += (ambient - ret) * 0.35;
        }
        let out = if supply { sp - 2.0 + 0.5 * cycle.cos() } else { ret };
        (out * 10.0).round() / 10.0
    }

    /// Tire pressure (gauge, kPa) of wheel `w` of `e` at `t`: a per-tire cold pressure that follows the
    /// outside temperature (Gay-Lussac on absolute pressure), warms up while driving, seeps ~0.5 kPa a
    /// day until a fortnightly top-up, and now and then leaks for a day until repaired.
    fn tire_kpa(&self, e: &Entity, w: u64, t: i64) -> f64 {
        let m = self.r.model;
        let v = e.host;
        let seed = m.seed;
        let h = |parts: &[u64]| crate::rng::unit(crate::rng::hash(seed, parts));
        let nominal = match e.class {
            Class::Vehicle(Kind::Heavy) => 758.0,
            Class::Vehicle(Kind::Light) => 448.0,
            Class::Vehicle(Kind::Ev) => 290.0,
            Class::Trailer { .. } => 689.0,
        };
        let cold = nominal + (h(&[e.salt, w, 1]) - 0.5) * 28.0;
        // Temperature: absolute pressure scales with absolute temperature (reference 15 °C).
        let ambient = self.r.ambient_milli_c(v, t) / 1000.0;
        let mut tire_c = ambient;
        if let Some(tr) = m.trip_at(self.r.days, v, t) {
            let rolled = (t.min(tr.drive1) - tr.drive0).max(0) as f64;
            let since_stop = (t - tr.drive1).max(0) as f64;
            tire_c += 25.0 * (1.0 - (-rolled / 1200.0).exp()) * (-since_stop / 1800.0).exp();
        }
        let mut p = (cold + 101.3) * (tire_c + 273.15) / 288.15 - 101.3;
        // Seepage since the last top-up (every 14 days, a per-tire phase).
        let period = 14 * 86_400;
        let phase = (h(&[e.salt, w, 2]) * f64::from(period)) as i64;
        let since_top_up = (t - phase).rem_euclid(i64::from(period)) as f64;
        p -= 0.5 * since_top_up / 86_400.0;
        // A leak: in ~4 % of weeks one tire loses 2-12 kPa an hour for up to 30 h, then is repaired.
        let week = (t - 3 * 86_400).div_euclid(7 * 86_400);
        for wk in [week - 1, week] {
            let lh = crate::rng::hash(seed, &[e.salt, wk.unsigned_abs(), 3]);
            if crate::rng::unit(lh) >= 0.04 || lh % 4 != w {
                continue;
            }
            let start = wk * 7 * 86_400 + 3 * 86_400 + ((lh >> 12) % (7 * 86_400 / 60)) as i64 * 60;
            if (start..start + 30 * 3600).contains(&t) {
                let rate = 2.0 + 10.0 * crate::rng::unit(lh >> 7);
                p -= rate * (t - start) as f64 / 3600.0;
            }
        }
        if m.episodes && matches!(e.class, Class::Vehicle(_)) {
            p -= crate::episodes::tire_loss(m, self.r.days, v, w, t);
        }
        (p.max(nominal * 0.2) * 10.0).round() / 10.0
    }
}

fn tire_index(id: &str) -> u64 {
    match id {
        "tirePressuresFrontLeft" => 0,
        "tirePressuresFrontRight" => 1,
        "tirePressuresBackLeft" => 2,
        _ => 3,
    }
}

/// Common parameters of `latest` and `history`.
struct Selection {
    entities: Vec<Entity>,
    include_external_ids: bool,
}

fn select(sb: &Sandbox, req: &Request) -> Result<Selection, Response> {
    let entity_type = req
        .param("entityType")
        .ok_or_else(|| Response::bad_param("entityType", "is required (e.g. `asset`)"))?;
    if !ENTITY_TYPES.contains(&entity_type) {
        return Err(Response::bad_param(
            "entityType",
            &format!("unknown entity type `{entity_type}` (valid: asset, sensor)"),
        ));
    }
    let asset_types = req.list("assetTypes");
    if let Some(bad) = asset_types.iter().find(|a| !ASSET_TYPES.contains(&a.as_str())) {
        return Err(Response::bad_param(
            "assetTypes",
            &format!("unknown asset type `{bad}` (valid: {})", ASSET_TYPES.join(", ")),
        ));
    }
    if !asset_types.is_empty() && entity_type != "asset" {
        return Err(Response::bad_param(
            "assetTypes",
            "is only supported when entityType is `asset`",
        ));
    }
    let include_external_ids = crate::streams::flag(req, "includeExternalIds")?;
    if entity_type != "asset" {
        // The simulated organisation has no sensors.
        return Ok(Selection {
            entities: Vec::new(),
            include_external_ids,
        });
    }
    let mut all = entities(sb);
    let ids = req.list("entityIds");
    let ext = req.list("externalIds");
    let mut wanted: Vec<usize> = Vec::new();
    for id in &ids {
        let i = all
            .iter()
            .position(|e| &e.id == id)
            .ok_or_else(|| Response::bad_param("entityIds", &format!("asset `{id}` does not exist")))?;
        wanted.push(i);
    }
    for x in &ext {
        let Some((k, val)) = x.split_once(':') else {
            return Err(Response::bad_param(
                "externalIds",
                &format!("`{x}` is not `key:value`"),
            ));
        };
        let i = all
            .iter()
            .position(|e| e.external_ids.get(k).and_then(Value::as_str) == Some(val))
            .ok_or_else(|| Response::bad_param("externalIds", &format!("no asset has external ID `{x}`")))?;
        wanted.push(i);
    }
    if !ids.is_empty() || !ext.is_empty() {
        wanted.sort_unstable();
        wanted.dedup();
        let mut keep = vec![false; all.len()];
        for i in wanted {
            keep[i] = true;
        }
        let mut it = keep.into_iter();
        all.retain(|_| it.next().unwrap_or(false));
    }
    if !asset_types.is_empty() {
        all.retain(|e| asset_types.iter().any(|a| a == e.class.asset_type()));
    }
    Ok(Selection {
        entities: all,
        include_external_ids,
    })
}

/// Appends one data point: `{"entityId", ["readingId",] "happenedAtTime", "value"[, "externalIds"]}`.
fn record(out: &mut Vec<u8>, vals: &Values<'_>, d: &Def, e: &Entity, t: i64, with_id: bool, ext: bool) {
    out.extend_from_slice(b"{\"entityId\":");
    string(out, &e.id);
    if with_id {
        out.extend_from_slice(b",\"readingId\":");
        string(out, d.id);
    }
    out.extend_from_slice(b",\"happenedAtTime\":\"");
    write_rfc3339(out, t);
    out.extend_from_slice(b"\",\"value\":");
    write_value(out, d.data_type, vals.sample(d, e, t));
    if ext {
        out.extend_from_slice(b",\"externalIds\":");
        out.extend_from_slice(&serde_json::to_vec(&e.external_ids).unwrap_or_default());
    }
    out.push(b'}');
}

/// `GET /readings/definitions`.
pub(crate) fn definitions(req: &Request) -> Response {
    let ids = req.list("ids");
    if ids.len() > MAX_DEFINITION_IDS {
        return Response::bad_param(
            "ids",
            &format!("at most {MAX_DEFINITION_IDS} reading IDs are allowed"),
        );
    }
    let types = req.list("entityTypes");
    if let Some(bad) = types.iter().find(|t| !ENTITY_TYPES.contains(&t.as_str())) {
        return Response::bad_param("entityTypes", &format!("unknown entity type `{bad}`"));
    }
    let items: Vec<Value> = DEFS
        .iter()
        .filter(|d| ids.is_empty() || ids.iter().any(|i| i == d.id))
        .filter(|_| types.is_empty() || types.iter().any(|t| t == "asset"))
        .map(|d| {
            let mut j = json!({"readingId": d.id, "label": d.label, "description": d.description,
                "category": d.category, "entityType": "asset", "ingestionEnabled": false,
                "type": type_json(d.data_type)});
            if let DataType::Enum(values) = d.data_type {
                j["enumValues"] = json!(values
                    .iter()
                    .map(|(s, l)| json!({"symbol": s, "label": l}))
                    .collect::<Vec<_>>());
            }
            if let Some((id, label)) = d.grouping {
                j["grouping"] = json!({"id": id, "label": label});
            }
            j
        })
        .collect();
    match crate::entities::parse_offset(req.param("after")) {
        Ok(start) => crate::entities::page_of(items, start, PAGE),
        Err(e) => e,
    }
}

/// `GET /readings/latest`: the last value of each requested reading per entity at `asOfTime` (default
/// now), entity by entity in the order of `readingIds`.
pub(crate) fn latest(sb: &Sandbox, req: &Request) -> Response {
    let run = || -> Result<Response, Response> {
        let ids = req.list("readingIds");
        if ids.is_empty() {
            return Err(Response::bad_param(
                "readingIds",
                "is required (up to 5 reading IDs)",
            ));
        }
        if ids.len() > MAX_READING_IDS {
            return Err(Response::bad_param(
                "readingIds",
                &format!("at most {MAX_READING_IDS} reading IDs are allowed"),
            ));
        }
        let defs = ids
            .iter()
            .map(|i| {
                find_def(i)
                    .ok_or_else(|| Response::bad_param("readingIds", &format!("unknown reading ID `{i}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sel = select(sb, req)?;
        let now = sb.clock.now_s();
        let at = req
            .time_param("asOfTime")?
            .map_or(now, |ms| ms.div_euclid(1000).min(now));
        let start = crate::entities::parse_offset(req.param("after"))?;
        let model: &Model = &sb.model;
        let days = model.days(at - 8 * 86_400, at);
        let overrides = std::sync::Arc::clone(&sb.store().odometer_overrides);
        let vals = Values {
            r: Render {
                model,
                days: &days,
                overrides: &overrides,
            },
        };
        let mut found: Vec<(usize, &Def, i64)> = Vec::new();
        for (ei, e) in sel.entities.iter().enumerate() {
            for d in &defs {
                if !e.class.reports(d) {
                    continue;
                }
                if let Some(t) = model.prev_visible(&days, e.host, sampling(d), at) {
                    found.push((ei, d, t));
                }
            }
        }
        let end = (start + PAGE).min(found.len());
        let mut out = Vec::with_capacity((end.saturating_sub(start)) * 160 + 64);
        out.extend_from_slice(b"{\"data\":[");
        for (n, &(ei, d, t)) in found.iter().enumerate().take(end).skip(start) {
            if n > start {
                out.push(b',');
            }
            record(
                &mut out,
                &vals,
                d,
                &sel.entities[ei],
                t,
                true,
                sel.include_external_ids,
            );
        }
        let has_next = end < found.len();
        let cursor = if has_next {
            crate::entities::offset_cursor(end)
        } else {
            String::new()
        };
        envelope(&mut out, &cursor, has_next);
        Ok(Response::json_bytes(200, out))
    };
    run().unwrap_or_else(|e| e)
}

/// A history/feed position: everything up to (key time, entity, point time) was served, in the order
/// (ingest time, entity, point time); the key is the point time for history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    t: i64,
    e: u32,
    p: i64,
}

const END: u32 = u32::MAX;

impl Cursor {
    fn check(self, reading: &str) -> u64 {
        let r = reading
            .bytes()
            .fold(0u64, |h, b| crate::rng::mix(h ^ u64::from(b)));
        crate::rng::hash(
            0x7264,
            &[self.t.unsigned_abs(), u64::from(self.e), self.p.unsigned_abs(), r],
        ) & 0xffff
    }

    fn encode(self, reading: &str) -> String {
        format!(
            "UkRH{:x}.{:x}.{:x}.{:x}",
            self.t,
            self.e,
            self.p,
            self.check(reading)
        )
    }

    fn decode(s: &str, reading: &str) -> Option<Self> {
        let mut it = s.strip_prefix("UkRH")?.split('.');
        let t = i64::from_str_radix(it.next()?, 16).ok()?;
        let e = u32::from_str_radix(it.next()?, 16).ok()?;
        let p = i64::from_str_radix(it.next()?, 16).ok()?;
        let c = u64::from_str_radix(it.next()?, 16).ok()?;
        let cur = Self { t, e, p };
        (it.next().is_none() && c == cur.check(reading)).then_some(cur)
    }
}

/// `GET /readings/history`: one reading's data points with `startTime <= happenedAtTime < endTime`
/// (end default now), at most [`PAGE`] per page in (time, entity) order, ending with `endCursor: ""`.
/// With `feed=true` the cursor never ends: without `after` (and without `startTime`) the first page
/// is the latest point per entity, then every new point, ordered by when it reached Samsara.
pub(crate) fn history(sb: &Sandbox, req: &Request, fault: Option<PageFault>) -> Response {
    let run = || -> Result<Response, Response> {
        let id = req
            .param("readingId")
            .ok_or_else(|| Response::bad_param("readingId", "is required (one reading ID)"))?;
        if id.contains(',') {
            return Err(Response::bad_param("readingId", "takes exactly one reading ID"));
        }
        let d = find_def(id)
            .ok_or_else(|| Response::bad_param("readingId", &format!("unknown reading ID `{id}`")))?;
        let feed = crate::streams::flag(req, "feed")?;
        let sel = select(sb, req)?;
        let now = sb.clock.now_s();
        let start = req.time_param("startTime")?.map(|ms| ms.div_euclid(1000));
        let end = req.time_param("endTime")?.map(|ms| ms.div_euclid(1000));
        if !feed && start.is_none() {
            return Err(Response::bad_param(
                "startTime",
                "is required unless feed=true (RFC 3339)",
            ));
        }
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                return Err(Response::bad_param("endTime", "must be after startTime"));
            }
        }
        let cursor = match req.param("after") {
            Some(a) => Some(
                Cursor::decode(a, d.id)
                    .ok_or_else(|| Response::bad_param("after", "not a cursor returned by this endpoint"))?,
            ),
            None => start.map(|s| Cursor {
                t: s - 1,
                e: END,
                p: s - 1,
            }),
        };
        // History ends before endTime (exclusive) and at now; a feed always runs up to now.
        let upper = if feed {
            now
        } else {
            end.map_or(now, |e| (e - 1).min(now))
        };
        let Some(cursor) = cursor else {
            return Ok(feed_latest(sb, &sel, d, now));
        };
        if fault == Some(PageFault::Empty) {
            let mut out = b"{\"data\":[".to_vec();
            envelope(&mut out, &cursor.encode(d.id), true);
            return Ok(Response::json_bytes(200, out));
        }
        let cursor = if fault == Some(PageFault::Repeat) {
            Cursor {
                t: cursor.t - 60,
                e: END,
                p: cursor.t - 60,
            }
        } else {
            cursor
        };
        Ok(walk(sb, &sel, d, cursor, upper, !feed))
    };
    run().unwrap_or_else(|e| e)
}

fn feed_latest(sb: &Sandbox, sel: &Selection, d: &Def, now: i64) -> Response {
    let model: &Model = &sb.model;
    let days = model.days(now - 8 * 86_400, now);
    let overrides = std::sync::Arc::clone(&sb.store().odometer_overrides);
    let vals = Values {
        r: Render {
            model,
            days: &days,
            overrides: &overrides,
        },
    };
    let mut out = b"{\"data\":[".to_vec();
    let mut first = true;
    for e in sel.entities.iter().filter(|e| e.class.reports(d)) {
        if let Some(t) = model.prev_visible(&days, e.host, sampling(d), now) {
            if !first {
                out.push(b',');
            }
            first = false;
            record(&mut out, &vals, d, e, t, false, sel.include_external_ids);
        }
    }
    let c = Cursor {
        t: now,
        e: END,
        p: now,
    };
    envelope(&mut out, &c.encode(d.id), false);
    Response::json_bytes(200, out)
}

/// Serves one page from `cursor` up to `upper` (inclusive).
fn walk(sb: &Sandbox, sel: &Selection, d: &Def, cursor: Cursor, upper: i64, history: bool) -> Response {
    let model: &Model = &sb.model;
    let now = sb.clock.now_s();
    let days: Days = model.days(cursor.t.max(model.origin) - 3 * 3600, upper.max(cursor.t));
    let how = sampling(d);
    let key = |v: usize, t: i64| {
        if t == i64::MAX || history {
            t
        } else {
            model.ingest(&days, v, t)
        }
    };
    let mut next = vec![i64::MAX; sel.entities.len()];
    let mut heap = BinaryHeap::new();
    for (i, e) in sel.entities.iter().enumerate() {
        if !e.class.reports(d) {
            continue;
        }
        let v = e.host;
        let bound = match u32::try_from(i).unwrap_or(END).cmp(&cursor.e) {
            std::cmp::Ordering::Greater if history => cursor.t - 1,
            std::cmp::Ordering::Greater => model.ingest_floor(&days, v, cursor.t) - 1,
            std::cmp::Ordering::Equal => cursor.p,
            std::cmp::Ordering::Less if history => cursor.t,
            std::cmp::Ordering::Less => model.ingest_floor(&days, v, cursor.t + 1) - 1,
        };
        next[i] = model.next_sample(&days, v, how, bound);
        let k = key(v, next[i]);
        if k <= upper {
            heap.push(Reverse((k, i, next[i])));
        }
    }
    let overrides = std::sync::Arc::clone(&sb.store().odometer_overrides);
    let vals = Values {
        r: Render {
            model,
            days: &days,
            overrides: &overrides,
        },
    };
    let mut out = Vec::with_capacity(PAGE * 150);
    out.extend_from_slice(b"{\"data\":[");
    let (mut count, mut last, mut has_next) = (0usize, cursor, false);
    while let Some(Reverse((k, i, t))) = heap.pop() {
        let e = &sel.entities[i];
        let skip = history && model.ingest(&days, e.host, t) > now;
        if !skip {
            if count == PAGE {
                has_next = true;
                break;
            }
            if count > 0 {
                out.push(b',');
            }
            record(&mut out, &vals, d, e, t, false, sel.include_external_ids);
            count += 1;
            last = Cursor {
                t: k,
                e: u32::try_from(i).unwrap_or(END),
                p: t,
            };
        }
        next[i] = model.next_sample(&days, e.host, how, t);
        let nk = key(e.host, next[i]);
        if nk <= upper {
            heap.push(Reverse((nk, i, next[i])));
        }
    }
    let end = if history && !has_next {
        String::new()
    } else {
        last.encode(d.id)
    };
    envelope(&mut out, &end, has_next);
    Response::json_bytes(200, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_is_bound_to_the_reading() {
        let c = Cursor {
            t: 1_793_491_200,
            e: 7,
            p: 1_793_491_140,
        };
        assert_eq!(Cursor::decode(&c.encode("oilPressure"), "oilPressure"), Some(c));
        assert_eq!(Cursor::decode(&c.encode("oilPressure"), "coolantTemp"), None);
        assert_eq!(Cursor::decode("garbage", "oilPressure"), None);
    }

    #[test]
    fn tire_pressures_are_per_tire_drift_and_sometimes_leak() {
        let fleet = crate::fleet::Fleet::generate(7, 40, 1);
        let origin = 1_793_491_200 - 60 * 86_400;
        let model = Model::new(7, origin, &fleet.vehicles, false);
        let days = model.days(origin, origin + 57 * 86_400);
        let overrides = std::collections::BTreeMap::new();
        let vals = Values {
            r: Render {
                model: &model,
                days: &days,
                overrides: &overrides,
            },
        };
        let (mut leaks, mut cold) = (0, Vec::new());
        for (i, spec) in fleet.vehicles.iter().enumerate() {
            let e = Entity {
                id: spec.id.clone(),
                class: Class::Vehicle(spec.kind),
                host: i,
                salt: i as u64,
                external_ids: Value::Null,
            };
            let nominal = match spec.kind {
                Kind::Heavy => 758.0,
                Kind::Light => 448.0,
                Kind::Ev => 290.0,
            };
            for w in 0..4 {
                // Parked at 03:00 local every night: same air temperature, cold tires.
                let night0 = origin.div_euclid(86_400) * 86_400 + model.params[i].shift + 3 * 3600;
                let series: Vec<f64> = (1..56)
                    .map(|d| vals.tire_kpa(&e, w, night0 + d * 86_400))
                    .collect();
                assert!(series.iter().all(|&p| p > nominal * 0.19 && p < nominal * 1.2));
                cold.push((series[0] * 10.0) as i64);
                // Seepage costs 0.5 kPa a night; a leak far more.
                if series.windows(2).any(|x| x[0] - x[1] > 8.0) {
                    leaks += 1;
                }
            }
        }
        cold.sort_unstable();
        cold.dedup();
        assert!(cold.len() > 100, "tires share pressures: {}", cold.len());
        assert!(
            (1..40).contains(&leaks),
            "{leaks} leaking tires in 8 weeks of 160 tires"
        );
    }

    #[test]
    fn values_follow_the_definition_type() {
        let mut out = Vec::new();
        write_value(&mut out, KPA, Sample::Number(689.54));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"dataType":"continuous","number":689.5,"unit":"kilopascal"}"#
        );
        let status = find_def("evChargingStatus").unwrap();
        let mut out = Vec::new();
        write_value(&mut out, status.data_type, Sample::Symbol(2));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"dataType":"enum","symbol":"charging","number":2}"#
        );
        assert_eq!(type_json(status.data_type)["enumValues"][2]["symbol"], "charging");
    }
}
