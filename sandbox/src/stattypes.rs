//! The vehicle-stat catalogue (names, snapshot keys, sampling, decoration rules) and the rendering of
//! one stat value at one instant, computed from the model.

// The physical model mixes f64 and i64 at magnitudes far below 2^52 (metres, seconds, milli-units),
// and short names (t, v, k, d) follow the maths; casts and names are deliberate here.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::similar_names,
    clippy::many_single_char_names
)]

use crate::fleet::{Kind, BRANCHES};
use crate::jsonw::{fixed, int, string};
use crate::model::{Counter, Days, Model, Params, Phase, Sampling, Trip};
use crate::simtime::write_rfc3339;

/// Every `types` value Samsara accepts (§3.4); the sandbox has data for the ones in [`SUPPORTED`].
pub(crate) const ALL_TYPES: &[&str] = &[
    "ambientAirTemperatureMilliC",
    "auxInput1",
    "auxInput2",
    "auxInput3",
    "auxInput4",
    "auxInput5",
    "auxInput6",
    "auxInput7",
    "auxInput8",
    "auxInput9",
    "auxInput10",
    "auxInput11",
    "auxInput12",
    "auxInput13",
    "barometricPressurePa",
    "batteryMilliVolts",
    "defLevelMilliPercent",
    "ecuSpeedMph",
    "engineCoolantTemperatureMilliC",
    "engineImmobilizer",
    "engineLoadPercent",
    "engineOilPressureKPa",
    "engineRpm",
    "engineStates",
    "faultCodes",
    "fuelPercents",
    "fuelConsumedMilliliters",
    "gps",
    "gpsDistanceMeters",
    "gpsOdometerMeters",
    "idlingDurationMilliseconds",
    "intakeManifoldTemperatureMilliC",
    "nfcCardScans",
    "obdEngineSeconds",
    "obdOdometerMeters",
    "syntheticEngineSeconds",
    "evStateOfChargeMilliPercent",
    "evChargingStatus",
    "evChargingEnergyMicroWh",
    "evChargingVoltageMilliVolt",
    "evChargingCurrentMilliAmp",
    "evConsumedEnergyMicroWh",
    "evRegeneratedEnergyMicroWh",
    "evBatteryVoltageMilliVolt",
    "evBatteryCurrentMilliAmp",
    "evBatteryStateOfHealthMilliPercent",
    "evAverageBatteryTemperatureMilliCelsius",
    "evDistanceDrivenMeters",
    "spreaderLiquidRate",
    "spreaderGranularRate",
    "spreaderPrewetRate",
    "spreaderAirTemp",
    "spreaderRoadTemp",
    "spreaderOnState",
    "spreaderActive",
    "spreaderBlastState",
    "spreaderGranularName",
    "spreaderPrewetName",
    "spreaderLiquidName",
    "spreaderPlowStatus",
    "seatbeltDriver",
    "tellTales",
    "ecuDoorStatus",
];

/// Stat types the model produces data for.
pub(crate) const SUPPORTED: &[&str] = &[
    "gps",
    "engineStates",
    "faultCodes",
    "obdOdometerMeters",
    "gpsOdometerMeters",
    "gpsDistanceMeters",
    "obdEngineSeconds",
    "syntheticEngineSeconds",
    "fuelPercents",
    "fuelConsumedMilliliters",
    "engineCoolantTemperatureMilliC",
    "ambientAirTemperatureMilliC",
    "engineOilPressureKPa",
    "batteryMilliVolts",
    "defLevelMilliPercent",
    "engineRpm",
    "engineLoadPercent",
    "ecuSpeedMph",
    "evStateOfChargeMilliPercent",
    "evChargingStatus",
    "evChargingEnergyMicroWh",
    "evChargingVoltageMilliVolt",
    "evChargingCurrentMilliAmp",
    "evConsumedEnergyMicroWh",
    "evRegeneratedEnergyMicroWh",
    "evBatteryVoltageMilliVolt",
    "evBatteryCurrentMilliAmp",
    "evBatteryStateOfHealthMilliPercent",
    "evAverageBatteryTemperatureMilliCelsius",
    "evDistanceDrivenMeters",
    "idlingDurationMilliseconds",
    "intakeManifoldTemperatureMilliC",
    "barometricPressurePa",
    "seatbeltDriver",
    "ecuDoorStatus",
    "nfcCardScans",
    "engineImmobilizer",
    "auxInput1",
    "auxInput2",
    "auxInput3",
    "auxInput4",
    "spreaderLiquidRate",
    "spreaderGranularRate",
    "spreaderPrewetRate",
    "spreaderAirTemp",
    "spreaderRoadTemp",
    "spreaderOnState",
    "spreaderActive",
    "spreaderBlastState",
    "spreaderGranularName",
    "spreaderPrewetName",
    "spreaderLiquidName",
    "spreaderPlowStatus",
];

/// The auxiliary inputs a vehicle may have wired: input, name, who has it (`auxInput5`…`13` are
/// wired on no simulated vehicle).
const AUX: [(&str, &str); 4] = [
    ("auxInput1", "Power Take-Off"),
    ("auxInput2", "Beacon Lights"),
    ("auxInput3", "Plow"),
    ("auxInput4", "Salter"),
];

/// A requested stat type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat(pub &'static str);

impl Stat {
    /// Parses a `types`/`decorations` value.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        ALL_TYPES.iter().find(|t| **t == s).map(|t| Self(t))
    }

    /// The key in `/fleet/vehicles/stats` (singular for three types).
    pub(crate) fn snapshot_key(self) -> &'static str {
        match self.0 {
            "engineStates" => "engineState",
            "fuelPercents" => "fuelPercent",
            "nfcCardScans" => "nfcCardScan",
            s => s,
        }
    }

    /// The key of its array in feed/history pages (`locations` for the legacy locations API).
    pub(crate) fn feed_key(self) -> &'static str {
        if self.0 == "location" {
            "locations"
        } else {
            self.0
        }
    }

    /// Whether it may be used in `decorations` (the SDK enum excludes EV stats and two others;
    /// `tellTales` is allowed, though no response model has a field for it).
    pub(crate) fn decoration_allowed(self) -> bool {
        !(self.0.starts_with("ev") || matches!(self.0, "gpsOdometerMeters" | "syntheticEngineSeconds"))
    }

    /// How the model samples it.
    pub(crate) fn sampling(self) -> Sampling {
        match self.0 {
            "gps" | "location" => Sampling::Periodic(5),
            "engineStates" | "engineImmobilizer" => Sampling::Transitions,
            "nfcCardScans" => Sampling::Starts,
            "faultCodes" => Sampling::Block(21_600),
            _ => Sampling::Periodic(60),
        }
    }

    /// Whether vehicle `p` reports it (its class and equipment).
    pub(crate) fn reported_by(self, p: &Params) -> bool {
        if self.0 == "location" {
            return true;
        }
        if !SUPPORTED.contains(&self.0) {
            return false;
        }
        let kind = p.kind;
        match self.0 {
            s if s.starts_with("ev") => kind == Kind::Ev,
            s if s.starts_with("spreader") => p.plow,
            "auxInput1" | "auxInput2" => p.work,
            "auxInput3" | "auxInput4" => p.plow,
            "ecuDoorStatus" => p.van,
            "nfcCardScans" => p.shared,
            "engineImmobilizer" => p.immobilizer,
            "obdOdometerMeters" => p.obd_odometer,
            "fuelPercents"
            | "fuelConsumedMilliliters"
            | "engineCoolantTemperatureMilliC"
            | "engineOilPressureKPa"
            | "engineRpm"
            | "engineLoadPercent"
            | "idlingDurationMilliseconds"
            | "intakeManifoldTemperatureMilliC"
            | "barometricPressurePa" => kind != Kind::Ev,
            "defLevelMilliPercent" => kind == Kind::Heavy,
            _ => true,
        }
    }
}

/// Renders stat values for one request.
pub(crate) struct Render<'a> {
    /// The model.
    pub(crate) model: &'a Model,
    /// Schedules covering the request.
    pub(crate) days: &'a Days,
    /// Manual odometer overrides: vehicle → (time s, manual m, model odometer then m).
    pub(crate) overrides: &'a std::collections::BTreeMap<usize, (i64, f64, f64)>,
}

impl Render<'_> {
    /// Appends `{"time":…, <value fields>[, "decorations":{…}]}`.
    pub(crate) fn point(&self, out: &mut Vec<u8>, stat: Stat, v: usize, t: i64, decorations: &[Stat]) {
        out.extend_from_slice(b"{\"time\":\"");
        write_rfc3339(out, t);
        out.push(b'"');
        self.fields(out, stat, v, t);
        let params = &self.model.params[v];
        let mut decs = decorations.iter().filter(|d| d.reported_by(params)).peekable();
        if decs.peek().is_some() {
            out.extend_from_slice(b",\"decorations\":{");
            for (i, d) in decs.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, d.0);
                out.extend_from_slice(b":{");
                let start = out.len();
                self.fields(out, *d, v, t);
                if out.len() > start && out[start] == b',' {
                    out.remove(start);
                }
                out.push(b'}');
            }
            out.push(b'}');
        }
        out.push(b'}');
    }

    /// Appends `,"field":value…` for one stat (without `time`).
    pub(crate) fn fields(&self, out: &mut Vec<u8>, stat: Stat, v: usize, t: i64) {
        match stat.0 {
            "gps" | "location" => {
                let m = self.model;
                let trip = m.trip_at(self.days, v, t);
                let phase = phase_in(trip, t);
                let odo = m.odometer(self.days, v, t);
                self.gps(out, v, t, phase, odo, trip, stat.0 == "location");
            }
            "engineStates" => {
                out.extend_from_slice(match self.model.phase(self.days, v, t) {
                    Phase::Off => b",\"value\":\"Off\"",
                    Phase::Idle => b",\"value\":\"Idle\"",
                    Phase::Driving => b",\"value\":\"On\"",
                });
            }
            "faultCodes" => crate::dtc::render(out, self.model, v, t),
            "gpsDistanceMeters" => {
                out.extend_from_slice(b",\"value\":");
                fixed(out, self.model.odometer(self.days, v, t) * 1.0031 - 1.0e6, 1);
            }
            "ecuSpeedMph" => {
                let trip = self.model.trip_at(self.days, v, t);
                out.extend_from_slice(b",\"value\":");
                fixed(out, self.speed_mph(v, t, phase_in(trip, t), trip), 1);
            }
            s if s.starts_with("auxInput") => {
                let name = AUX.iter().find(|a| a.0 == s).map_or("Auxiliary", |a| a.1);
                out.extend_from_slice(b",\"name\":");
                string(out, name);
                let on = match s {
                    "auxInput1" | "auxInput2" => self.pto_on(v, t),
                    _ => self.spreading(v, t),
                };
                out.extend_from_slice(if on {
                    b",\"value\":true"
                } else {
                    b",\"value\":false"
                });
            }
            "engineImmobilizer" => {
                out.extend_from_slice(b",\"connected\":true,\"state\":\"ignition_enabled\"");
            }
            "nfcCardScans" => {
                // The card of whoever drives the vehicle that day.
                let d = self.model.day_of(v, t);
                let driver = self.model.driver_for(v, d, 10_000).unwrap_or(0);
                out.extend_from_slice(b",\"card\":{\"id\":");
                string(out, &format!("NFC{:06}", 100_000 + driver * 37 % 900_000));
                out.push(b'}');
            }
            "seatbeltDriver"
            | "ecuDoorStatus"
            | "spreaderOnState"
            | "spreaderActive"
            | "spreaderBlastState"
            | "spreaderPlowStatus"
            | "spreaderGranularName"
            | "spreaderPrewetName"
            | "spreaderLiquidName" => {
                out.extend_from_slice(b",\"value\":");
                string(out, self.text_value(stat, v, t));
            }
            _ => {
                out.extend_from_slice(b",\"value\":");
                int(out, self.int_value(stat, v, t));
            }
        }
    }

    /// The value of an integer-valued stat of vehicle `v` at `t` (0 for stats without data). The
    /// readings API derives its values from these too, so both APIs tell the same story.
    pub(crate) fn int_value(&self, stat: Stat, v: usize, t: i64) -> i64 {
        let m = self.model;
        let p = &m.params[v];
        let days = self.days;
        let trip = m.trip_at(days, v, t);
        let phase = phase_in(trip, t);
        let on = phase != Phase::Off;
        let odo = m.odometer(days, v, t);
        let n = |salt: u64| m.noise(v, t, salt);
        let ambient = || self.ambient_milli_c(v, t);
        match stat.0 {
            "obdOdometerMeters" if m.episodes => (odo + crate::episodes::odometer_offset(m, v, t)) as i64,
            "obdOdometerMeters" | "evDistanceDrivenMeters" => odo as i64,
            // GPS odometer: from a manual override on, the override plus distance driven since (each
            // override applies from its PATCH time on; earlier points keep what they were).
            "gpsOdometerMeters" => match m.manual_at(v, Counter::Odometer, t) {
                Some(o) => (o.value + (odo - o.base).max(0.0)) as i64,
                None => match self.overrides.get(&v) {
                    Some(&(at, manual, base)) if t >= at => (manual + (odo - base).max(0.0)) as i64,
                    _ => (odo * 1.0031) as i64,
                },
            },
            "obdEngineSeconds" => m.engine_seconds(days, v, t),
            // Engine-on time, from a manual `engineHours` baseline on counted from it.
            "syntheticEngineSeconds" => {
                let eng = m.engine_seconds(days, v, t);
                m.manual_at(v, Counter::EngineSeconds, t)
                    .map_or(eng, |o| o.value as i64 + (eng - o.base as i64).max(0))
            }
            "fuelPercents" => (100.0 - 85.0 * ((odo + p.fuel_phase) % p.range) / p.range).round() as i64,
            "fuelConsumedMilliliters" => (odo * if p.kind == Kind::Heavy { 0.39 } else { 0.12 }) as i64,
            "defLevelMilliPercent" => (100_000.0 - 80_000.0 * ((odo + p.fuel_phase) % 4.0e6) / 4.0e6) as i64,
            "ambientAirTemperatureMilliC" | "spreaderAirTemp" => ambient() as i64,
            "engineCoolantTemperatureMilliC" => {
                let c = if let Some(tr) = trip {
                    ambient() + (88_000.0 - ambient()) * ((t - tr.start) as f64 / 600.0).min(1.0)
                } else {
                    let since = self.since_off(v, t) as f64;
                    ambient() + (88_000.0 - ambient()) * (-since / 1800.0).exp()
                };
                c as i64 + (n(5) * 800.0) as i64
            }
            "engineOilPressureKPa"
                if m.episodes && crate::episodes::oil_pressure(m, days, v, t).is_some() =>
            {
                crate::episodes::oil_pressure(m, days, v, t).unwrap_or(0)
            }
            "engineOilPressureKPa" => match phase {
                Phase::Driving => 280 + (n(6) * 60.0) as i64,
                Phase::Idle => 160 + (n(6) * 30.0) as i64,
                Phase::Off => 0,
            },
            "batteryMilliVolts" if m.episodes && crate::episodes::battery(m, days, v, t).is_some() => {
                crate::episodes::battery(m, days, v, t).unwrap_or(0)
            }
            "batteryMilliVolts" => {
                if on {
                    13_900 + (n(7) * 400.0) as i64
                } else {
                    12_450 + (n(7) * 250.0) as i64
                }
            }
            "engineRpm" => match phase {
                Phase::Driving if p.kind == Kind::Heavy => 1_250 + (n(8) * 450.0) as i64,
                Phase::Driving => 1_700 + (n(8) * 700.0) as i64,
                Phase::Idle => 600 + (n(8) * 100.0) as i64,
                Phase::Off => 0,
            },
            "engineLoadPercent" => match phase {
                Phase::Driving => 35 + (n(9) * 40.0) as i64,
                Phase::Idle => 10 + (n(9) * 8.0) as i64,
                Phase::Off => 0,
            },
            "evStateOfChargeMilliPercent" => self.soc(v, t),
            "evChargingStatus" if self.charging(v, t) => 2,
            "evChargingStatus" => 1,
            "evChargingEnergyMicroWh" if self.charging(v, t) => 7_200_000_000,
            "evChargingVoltageMilliVolt" if self.charging(v, t) => 240_000,
            "evChargingCurrentMilliAmp" if self.charging(v, t) => 30_000 + (n(10) * 2_000.0) as i64,
            "evConsumedEnergyMicroWh" => (odo * 250.0 * 1000.0) as i64,
            "evRegeneratedEnergyMicroWh" => (odo * 30.0 * 1000.0) as i64,
            "evBatteryVoltageMilliVolt" => 360_000 + self.soc(v, t) / 2,
            "evBatteryCurrentMilliAmp" => match phase {
                Phase::Driving => 90_000 + (n(11) * 60_000.0) as i64,
                Phase::Idle => 4_000,
                Phase::Off if self.charging(v, t) => -30_000,
                Phase::Off => 0,
            },
            "evBatteryStateOfHealthMilliPercent" => 96_000 - (v as i64 % 7) * 500,
            "idlingDurationMilliseconds" => m.idle_seconds(days, v, t) * 1000,
            "intakeManifoldTemperatureMilliC" => {
                // Charge air: near the outside air when off or idling, 15-35 °C above it under load.
                let boost = if phase == Phase::Driving {
                    15_000.0 + 20_000.0 * (0.5 + n(12))
                } else {
                    4_000.0
                };
                (ambient() + boost) as i64
            }
            // Weather: ±1.5 kPa over a few days around 101.3 kPa.
            "barometricPressurePa" => {
                101_325
                    + (1_500.0 * ((t as f64 / 259_200.0) + p.branch as f64).sin()) as i64
                    + (n(13) * 30.0) as i64
            }
            "spreaderLiquidRate" if self.spreading(v, t) => 40 + (n(14) * 10.0) as i64,
            "spreaderGranularRate" if self.spreading(v, t) => 250 + (n(15) * 50.0) as i64,
            "spreaderPrewetRate" if self.spreading(v, t) => 8 + (n(16) * 2.0) as i64,
            "spreaderRoadTemp" => ambient() as i64 - 1_500 + (n(17) * 500.0) as i64,
            "evAverageBatteryTemperatureMilliCelsius" => {
                ambient() as i64 / 2 + 15_000 + if on { 6_000 } else { 0 }
            }
            _ => 0,
        }
    }

    /// Whether the PTO of vehicle `v` runs at `t` (during the closing idle of a PTO trip).
    fn pto_on(&self, v: usize, t: i64) -> bool {
        self.model
            .trip_at(self.days, v, t)
            .is_some_and(|tr| tr.pto && t >= tr.drive1)
    }

    /// Whether a plow truck is treating the road at `t`: driving on one trip in three while the air is
    /// below 8 °C (early mornings).
    fn spreading(&self, v: usize, t: i64) -> bool {
        let m = self.model;
        m.params[v].plow
            && m.trip_at(self.days, v, t).is_some_and(|tr| {
                (tr.drive0..tr.drive1).contains(&t)
                    && crate::rng::hash(m.seed, &[v as u64, tr.start.unsigned_abs(), 88]) % 3 == 0
            })
            && self.ambient_milli_c(v, t) < 8_000.0
    }

    /// The value of an enum- or string-valued stat.
    fn text_value(&self, stat: Stat, v: usize, t: i64) -> &'static str {
        let m = self.model;
        let trip = m.trip_at(self.days, v, t);
        let phase = phase_in(trip, t);
        let spreading = self.spreading(v, t);
        let on_off = |b: bool| if b { "On" } else { "Off" };
        match stat.0 {
            // Unbuckled with nobody in the seat, and during a `NoSeatbelt` safety event.
            "seatbeltDriver" => {
                let unbuckled = trip.is_none_or(|tr| {
                    crate::events::trip_events(m.seed, v, tr)
                        .iter()
                        .any(|e| e.label == "NoSeatbelt" && (e.start - 60..=e.end).contains(&t))
                });
                if unbuckled {
                    "Unbuckled"
                } else {
                    "Buckled"
                }
            }
            // A van's cargo door opens at its stops (engine idling) and stays shut on the road.
            "ecuDoorStatus" => {
                if phase == Phase::Idle {
                    "Open"
                } else {
                    "Closed"
                }
            }
            "spreaderOnState" => on_off(
                spreading
                    || (phase != Phase::Off && m.params[v].plow && self.ambient_milli_c(v, t) < 8_000.0),
            ),
            "spreaderActive" => on_off(spreading),
            "spreaderBlastState" => on_off(spreading && trip.is_some_and(|tr| t - tr.drive0 < 120)),
            "spreaderPlowStatus" => {
                if spreading {
                    "Down"
                } else {
                    "Up"
                }
            }
            "spreaderGranularName" => "Salt",
            "spreaderPrewetName" => "Brine",
            "spreaderLiquidName" => "Calcium Chloride",
            _ => "Unknown",
        }
    }

    /// Outside air temperature at the vehicle, milli-°C: a daily cycle per branch.
    pub(crate) fn ambient_milli_c(&self, v: usize, t: i64) -> f64 {
        let p = &self.model.params[v];
        let local_h = ((t - p.shift).rem_euclid(86_400)) as f64 / 3600.0;
        14_000.0
            + 8_000.0 * ((local_h - 9.0) / 24.0 * std::f64::consts::TAU).sin()
            + 2_000.0 * (p.branch as f64 % 3.0)
    }

    /// Seconds since the engine last changed state while off (a day when unknown).
    pub(crate) fn since_off(&self, v: usize, t: i64) -> i64 {
        let prev = self.model.prev_sample(self.days, v, Sampling::Transitions, t);
        prev.map_or(86_400, |x| t - x)
    }

    /// Whether EV `v` is charging at `t` (parked in the evening).
    pub(crate) fn charging(&self, v: usize, t: i64) -> bool {
        let local_h = (t - self.model.params[v].shift).rem_euclid(86_400) / 3600;
        self.model.phase(self.days, v, t) == Phase::Off && local_h >= 19
    }

    #[allow(clippy::cast_possible_truncation)]
    fn soc(&self, v: usize, t: i64) -> i64 {
        let p = &self.model.params[v];
        let used = self.model.day_distance(self.days, v, t) / p.range * 90_000.0;
        let level = (97_000.0 - used).max(5_000.0);
        let local = (t - p.shift).rem_euclid(86_400);
        if self.charging(v, t) {
            let frac = ((local - 19 * 3600) as f64 / (5.0 * 3600.0)).min(1.0);
            return (level + (97_000.0 - level) * frac) as i64;
        }
        level as i64
    }

    fn speed_mph(&self, v: usize, t: i64, phase: Phase, trip: Option<&Trip>) -> f64 {
        if phase != Phase::Driving {
            return 0.0;
        }
        let tr = trip.map_or(0.0, |tr| tr.speed);
        (tr * 2.236_94 * (0.97 + 0.06 * self.model.noise(v, t, 12))).max(0.0)
    }

    #[allow(clippy::cast_precision_loss)]
    /// GPS fields; `legacy` uses the locations API names (`heading`, `speed`, no `isEcuSpeed`).
    #[allow(clippy::too_many_arguments)]
    fn gps(
        &self,
        out: &mut Vec<u8>,
        v: usize,
        t: i64,
        phase: Phase,
        odo: f64,
        trip: Option<&Trip>,
        legacy: bool,
    ) {
        let p = &self.model.params[v];
        let (lat, lon, heading) = self.model.position(v, odo);
        out.extend_from_slice(b",\"latitude\":");
        fixed(out, lat, 6);
        out.extend_from_slice(b",\"longitude\":");
        fixed(out, lon, 6);
        out.extend_from_slice(if legacy {
            b",\"heading\":"
        } else {
            b",\"headingDegrees\":"
        });
        fixed(out, heading, 1);
        out.extend_from_slice(if legacy {
            b",\"speed\":"
        } else {
            b",\"speedMilesPerHour\":"
        });
        fixed(out, self.speed_mph(v, t, phase, trip), 1);
        if !legacy {
            out.extend_from_slice(if p.kind == Kind::Heavy {
                b",\"isEcuSpeed\":true"
            } else {
                b",\"isEcuSpeed\":false"
            });
        }
        let b = BRANCHES[p.branch];
        let km = ((lat - b.lat).powi(2) + (lon - b.lon).powi(2)).sqrt() * 100.0;
        out.extend_from_slice(b",\"reverseGeo\":{\"formattedLocation\":\"");
        if km < 1.0 {
            out.extend_from_slice(b.city.as_bytes());
            out.extend_from_slice(b" Depot, ");
        } else {
            int(out, km as i64);
            out.extend_from_slice(b" km from ");
            out.extend_from_slice(b.city.as_bytes());
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(b.state.as_bytes());
        out.extend_from_slice(b"\"}");
    }
}

/// The engine phase at `t` given the trip in progress.
fn phase_in(trip: Option<&Trip>, t: i64) -> Phase {
    match trip {
        Some(tr) if t >= tr.drive0 && t < tr.drive1 => Phase::Driving,
        Some(_) => Phase::Idle,
        None => Phase::Off,
    }
}
