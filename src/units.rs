//! Unit conversion for the quantities Samsara reports.
//!
//! Every unit belongs to one [`Quantity`]; converting across quantities is an error, as is a
//! non-finite value. Linear units convert through a factor to the quantity's base unit; temperature
//! is affine and has its own path. No rounding happens here: formatting is the caller's job.

use std::fmt;
use std::str::FromStr;

/// What a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Base: metre.
    Distance,
    /// Base: second.
    Duration,
    /// Base: degree Celsius (affine).
    Temperature,
    /// Base: kilopascal.
    Pressure,
    /// Base: volt.
    Voltage,
    /// Base: ampere.
    Current,
    /// Base: percent.
    Ratio,
    /// Base: kilowatt-hour.
    Energy,
    /// Base: litre.
    Volume,
    /// Base: kilometre per hour.
    Speed,
}

macro_rules! units {
    ($($variant:ident = $name:literal, $quantity:ident, $factor:expr;)*) => {
        /// A unit, named in Python by its symbol (`"mi"`, `"mC"`, `"kPa"`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Unit {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Unit {
            /// Every unit, in declaration order.
            pub const ALL: &'static [Unit] = &[$(Unit::$variant,)*];

            /// The unit's symbol.
            pub const fn symbol(self) -> &'static str {
                match self { $(Unit::$variant => $name,)* }
            }

            /// What the unit measures.
            pub const fn quantity(self) -> Quantity {
                match self { $(Unit::$variant => Quantity::$quantity,)* }
            }

            /// How many base units one of this unit is (unused for temperature).
            const fn factor(self) -> f64 {
                match self { $(Unit::$variant => $factor,)* }
            }
        }
    };
}

/// International mile, metres.
const MILE_M: f64 = 1_609.344;
/// US liquid gallon, litres.
const GALLON_L: f64 = 3.785_411_784;
/// Pound-force per square inch, kilopascals.
const PSI_KPA: f64 = 6.894_757_293_168_361;

units! {
    Meter = "m", Distance, 1.0;
    Kilometer = "km", Distance, 1_000.0;
    Mile = "mi", Distance, MILE_M;
    Millisecond = "ms", Duration, 0.001;
    Second = "s", Duration, 1.0;
    Minute = "min", Duration, 60.0;
    Hour = "h", Duration, 3_600.0;
    MilliCelsius = "mC", Temperature, 0.001;
    Celsius = "C", Temperature, 1.0;
    Fahrenheit = "F", Temperature, 0.0;
    Pascal = "Pa", Pressure, 0.001;
    Kilopascal = "kPa", Pressure, 1.0;
    Psi = "psi", Pressure, PSI_KPA;
    Bar = "bar", Pressure, 100.0;
    MilliVolt = "mV", Voltage, 0.001;
    Volt = "V", Voltage, 1.0;
    MilliAmp = "mA", Current, 0.001;
    Amp = "A", Current, 1.0;
    MilliPercent = "m%", Ratio, 0.001;
    Percent = "%", Ratio, 1.0;
    MicroWattHour = "uWh", Energy, 1e-9;
    WattHour = "Wh", Energy, 0.001;
    KiloWattHour = "kWh", Energy, 1.0;
    Milliliter = "mL", Volume, 0.001;
    Liter = "L", Volume, 1.0;
    UsGallon = "gal", Volume, GALLON_L;
    KilometersPerHour = "km/h", Speed, 1.0;
    MilesPerHour = "mph", Speed, MILE_M / 1_000.0;
    MetersPerSecond = "m/s", Speed, 3.6;
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for Unit {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let found = Self::ALL.iter().find(|u| u.symbol() == s).copied();
        found
            .or_else(|| alias(s))
            .ok_or_else(|| UnitError::Unknown(s.to_owned()))
    }
}

/// Spellings people use besides the symbols.
fn alias(s: &str) -> Option<Unit> {
    Some(match s {
        "µWh" => Unit::MicroWattHour,
        "°C" | "degC" => Unit::Celsius,
        "°F" | "degF" => Unit::Fahrenheit,
        "kph" | "kmh" => Unit::KilometersPerHour,
        "l" => Unit::Liter,
        "ml" => Unit::Milliliter,
        _ => return None,
    })
}

/// A conversion that cannot be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    /// An unknown unit symbol.
    #[error("unknown unit `{0}`: use one of {symbols}", symbols = all_symbols())]
    Unknown(String),
    /// Units of different quantities.
    #[error("cannot convert `{from}` ({from_q:?}) to `{to}` ({to_q:?})")]
    Mismatch {
        /// Source unit.
        from: Unit,
        /// Its quantity.
        from_q: Quantity,
        /// Target unit.
        to: Unit,
        /// Its quantity.
        to_q: Quantity,
    },
    /// NaN or an infinity.
    #[error("cannot convert the non-finite value `{0}`")]
    NonFinite(f64),
}

fn all_symbols() -> String {
    Unit::ALL
        .iter()
        .map(|u| format!("`{u}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Converts `value` from one unit to another of the same quantity.
pub fn convert(value: f64, from: Unit, to: Unit) -> Result<f64, UnitError> {
    if !value.is_finite() {
        return Err(UnitError::NonFinite(value));
    }
    if from.quantity() != to.quantity() {
        return Err(UnitError::Mismatch {
            from,
            from_q: from.quantity(),
            to,
            to_q: to.quantity(),
        });
    }
    if from == to {
        return Ok(value);
    }
    let out = if from.quantity() == Quantity::Temperature {
        from_celsius(to_celsius(value, from), to)
    } else {
        value * from.factor() / to.factor()
    };
    if out.is_finite() {
        Ok(out)
    } else {
        Err(UnitError::NonFinite(out))
    }
}

fn to_celsius(v: f64, unit: Unit) -> f64 {
    match unit {
        Unit::Fahrenheit => (v - 32.0) * 5.0 / 9.0,
        other => v * other.factor(),
    }
}

fn from_celsius(c: f64, unit: Unit) -> f64 {
    match unit {
        Unit::Fahrenheit => c * 9.0 / 5.0 + 32.0,
        other => c / other.factor(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn hand_computed_table() {
        // (value, from, to, expected), each worked out by hand.
        let cases: &[(f64, &str, &str, f64)] = &[
            (1_609.344, "m", "mi", 1.0),
            (14_010_293.0, "m", "km", 14_010.293),
            (14_010_293.0, "m", "mi", 8_705.592_465_004_374),
            (7_200.0, "s", "h", 2.0),
            (90_000.0, "ms", "min", 1.5),
            (25_000.0, "mC", "C", 25.0),
            (25_000.0, "mC", "F", 77.0),
            (-40.0, "C", "F", -40.0),
            (212.0, "F", "C", 100.0),
            (-17_500.0, "mC", "F", 0.5),
            (689.475_729_316_836_1, "kPa", "psi", 100.0),
            (101_325.0, "Pa", "kPa", 101.325),
            (2.0, "bar", "kPa", 200.0),
            (12_600.0, "mV", "V", 12.6),
            (1_500.0, "mA", "A", 1.5),
            (99_001.0, "m%", "%", 99.001),
            (45_500_000_000.0, "uWh", "kWh", 45.5),
            (1_000.0, "Wh", "kWh", 1.0),
            (3_785.411_784, "mL", "gal", 1.0),
            (2_500.0, "mL", "L", 2.5),
            (60.0, "mph", "km/h", 96.560_64),
            (10.0, "m/s", "km/h", 36.0),
            (100.0, "km/h", "mph", 62.137_119_223_733_4),
        ];
        for &(v, from, to, want) in cases {
            let got = convert(v, from.parse().unwrap(), to.parse().unwrap()).unwrap();
            assert!(close(got, want), "{v} {from} -> {to}: got {got}, want {want}");
        }
    }

    #[test]
    fn round_trips() {
        for &a in Unit::ALL {
            for &b in Unit::ALL.iter().filter(|b| b.quantity() == a.quantity()) {
                let there = convert(123.456, a, b).unwrap();
                assert!(close(convert(there, b, a).unwrap(), 123.456), "{a} <-> {b}");
            }
        }
    }

    #[test]
    fn errors_name_the_value() {
        assert!("furlong"
            .parse::<Unit>()
            .unwrap_err()
            .to_string()
            .starts_with("unknown unit `furlong`: use one of `m`"));
        let e = convert(1.0, Unit::Meter, Unit::Hour).unwrap_err().to_string();
        assert_eq!(e, "cannot convert `m` (Distance) to `h` (Duration)");
        assert!(convert(f64::NAN, Unit::Meter, Unit::Mile)
            .unwrap_err()
            .to_string()
            .contains("NaN"));
        assert!(matches!(
            convert(f64::INFINITY, Unit::Celsius, Unit::Fahrenheit),
            Err(UnitError::NonFinite(_))
        ));
        assert!(matches!(
            convert(f64::MAX, Unit::Kilometer, Unit::Millisecond),
            Err(UnitError::Mismatch { .. })
        ));
        assert!(matches!(
            convert(f64::MAX, Unit::Kilometer, Unit::Meter),
            Err(UnitError::NonFinite(_))
        ));
        assert_eq!("µWh".parse::<Unit>(), Ok(Unit::MicroWattHour));
    }
}
