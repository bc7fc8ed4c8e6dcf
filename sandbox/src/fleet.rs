//! The synthetic fleet, generated once from `--seed`: vehicles with valid VINs (real WMIs, model-year
//! codes and check digits), plates in their branch's state format, unit numbers and names; drivers with
//! licence numbers; and a tag tree of branches and cost centres.

use crate::rng::Rng;

/// The vehicle classes the model distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Class 8 tractor with a J1939 bus.
    Heavy,
    /// Pickup or van with OBD-II.
    Light,
    /// Battery-electric light vehicle (EV stats, no fuel).
    Ev,
}

/// A branch: a home city whose vehicles and drivers share a state and time zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Branch {
    /// City name.
    pub(crate) city: &'static str,
    /// Two-letter state.
    pub(crate) state: &'static str,
    /// Depot latitude.
    pub(crate) lat: f64,
    /// Depot longitude.
    pub(crate) lon: f64,
    /// IANA time zone.
    pub(crate) tz: &'static str,
    /// Plate pattern: `L` letter, `D` digit, anything else literal.
    pub(crate) plate: &'static str,
    /// Licence-number pattern, same letters.
    pub(crate) licence: &'static str,
}

/// The branches, in tag order.
pub(crate) const BRANCHES: [Branch; 8] = [
    Branch {
        city: "Dallas",
        state: "TX",
        lat: 32.7767,
        lon: -96.7970,
        tz: "America/Chicago",
        plate: "LLL-DDDD",
        licence: "DDDDDDDD",
    },
    Branch {
        city: "Atlanta",
        state: "GA",
        lat: 33.7490,
        lon: -84.3880,
        tz: "America/New_York",
        plate: "LLLDDDD",
        licence: "DDDDDDDDD",
    },
    Branch {
        city: "Chicago",
        state: "IL",
        lat: 41.8781,
        lon: -87.6298,
        tz: "America/Chicago",
        plate: "LL DDDDD",
        licence: "LDDDDDDDDDDD",
    },
    Branch {
        city: "Phoenix",
        state: "AZ",
        lat: 33.4484,
        lon: -112.0740,
        tz: "America/Phoenix",
        plate: "LLLDDLL",
        licence: "LDDDDDDDD",
    },
    Branch {
        city: "Sacramento",
        state: "CA",
        lat: 38.5816,
        lon: -121.4944,
        tz: "America/Los_Angeles",
        plate: "DLLLDDD",
        licence: "LDDDDDDD",
    },
    Branch {
        city: "Columbus",
        state: "OH",
        lat: 39.9612,
        lon: -82.9988,
        tz: "America/New_York",
        plate: "LLL DDDD",
        licence: "LLDDDDDD",
    },
    Branch {
        city: "Denver",
        state: "CO",
        lat: 39.7392,
        lon: -104.9903,
        tz: "America/Denver",
        plate: "LLL-LDD",
        licence: "DD-DDD-DDDD",
    },
    Branch {
        city: "Charlotte",
        state: "NC",
        lat: 35.2271,
        lon: -80.8431,
        tz: "America/New_York",
        plate: "LLL-DDDD",
        licence: "DDDDDDDDDDDD",
    },
];

/// Make/model rows: kind, WMI, make, model, VDS prefix (5 chars).
const MODELS: [(Kind, &str, &str, &str, &str); 16] = [
    (Kind::Heavy, "1FU", "Freightliner", "Cascadia", "JHDR5"),
    (Kind::Heavy, "3AK", "Freightliner", "Cascadia", "JHDV2"),
    (Kind::Heavy, "1XK", "Kenworth", "T680", "YD49X"),
    (Kind::Heavy, "1XP", "Peterbilt", "579", "BD49X"),
    (Kind::Heavy, "3HS", "International", "LT625", "DZAR7"),
    (Kind::Heavy, "4V4", "Volvo", "VNL 860", "NC9EH"),
    (Kind::Heavy, "1M1", "Mack", "Anthem", "AN6GY"),
    (Kind::Light, "1FT", "Ford", "F-150", "EW1EP"),
    (Kind::Light, "1FT", "Ford", "Transit 250", "BR2CM"),
    (Kind::Light, "1GC", "Chevrolet", "Silverado 2500HD", "UYNE7"),
    (Kind::Light, "3C6", "Ram", "ProMaster 2500", "LRVDG"),
    (Kind::Light, "5TF", "Toyota", "Tundra", "LA5DB"),
    (Kind::Light, "1GT", "GMC", "Sierra 1500", "UUDED"),
    (Kind::Ev, "1FT", "Ford", "E-Transit", "BW9CK"),
    (Kind::Ev, "1FT", "Ford", "F-150 Lightning", "VW1EV"),
    (Kind::Ev, "5YJ", "Tesla", "Model 3", "3E1EA"),
];

/// Model-year code (VIN position 10) for 2015–2026.
const YEAR_CODES: [(u16, u8); 12] = [
    (2015, b'F'),
    (2016, b'G'),
    (2017, b'H'),
    (2018, b'J'),
    (2019, b'K'),
    (2020, b'L'),
    (2021, b'M'),
    (2022, b'N'),
    (2023, b'P'),
    (2024, b'R'),
    (2025, b'S'),
    (2026, b'T'),
];

const VIN_CHARS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
const FIRST: [&str; 32] = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Carlos",
    "Aisha",
    "William",
    "Elizabeth",
    "Jose",
    "Susan",
    "Thomas",
    "Jessica",
    "Daniel",
    "Karen",
    "Luis",
    "Nancy",
    "Anthony",
    "Betty",
    "Kevin",
    "Sandra",
    "Brian",
    "Ashley",
    "DeShawn",
    "Emily",
    "Tyrone",
    "Mei",
    "Hector",
    "Olga",
];
const LAST: [&str; 32] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Nguyen",
    "O'Brien",
    "McAllister",
    "Washington",
];

/// One vehicle's immutable identity and model parameters.
#[derive(Debug, Clone)]
pub(crate) struct VehicleSpec {
    /// Index in the fleet.
    pub(crate) idx: usize,
    /// Samsara ID.
    pub(crate) id: String,
    /// Class.
    pub(crate) kind: Kind,
    /// Make.
    pub(crate) make: &'static str,
    /// Model.
    pub(crate) model: &'static str,
    /// Model year.
    pub(crate) year: u16,
    /// 17-character VIN with a valid check digit.
    pub(crate) vin: String,
    /// Licence plate.
    pub(crate) plate: String,
    /// Unit number.
    pub(crate) unit: u32,
    /// Dashboard name.
    pub(crate) name: String,
    /// Branch index.
    pub(crate) branch: usize,
    /// Cost-centre index within the branch (0 or 1).
    pub(crate) cost_centre: usize,
    /// Gateway serial.
    pub(crate) serial: String,
    /// Gateway model.
    pub(crate) gateway_model: &'static str,
}

/// Trailer make/model rows: WMI, make, model, VDS prefix (5 chars), refrigerated.
const TRAILER_MODELS: [(&str, &str, &str, &str, bool); 8] = [
    ("1GR", "Great Dane", "Champion CL", "AA062", false),
    ("1GR", "Great Dane", "Everest", "RA062", true),
    ("1JJ", "Wabash", "DuraPlate", "V2532", false),
    ("1JJ", "Wabash", "ArcticLite", "F2532", true),
    ("1UY", "Utility", "4000D-X", "VA253", false),
    ("1UY", "Utility", "3000R", "RA253", true),
    ("3H3", "Hyundai Translead", "HT Composite", "V532C", false),
    ("3H3", "Hyundai Translead", "ThermoTech", "R532S", true),
];

/// One trailer: an asset of type `trailer`, hauled by one of the branch's trucks.
#[derive(Debug, Clone)]
pub(crate) struct TrailerSpec {
    /// Samsara asset ID.
    pub(crate) id: String,
    /// Dashboard name (`Trailer 5001`).
    pub(crate) name: String,
    /// Make.
    pub(crate) make: &'static str,
    /// Model.
    pub(crate) model: &'static str,
    /// Model year.
    pub(crate) year: u16,
    /// 17-character VIN with a valid check digit.
    pub(crate) vin: String,
    /// Licence plate.
    pub(crate) plate: String,
    /// Branch index.
    pub(crate) branch: usize,
    /// Cost-centre index within the branch.
    pub(crate) cost_centre: usize,
    /// Refrigerated (a reefer unit reports temperatures).
    pub(crate) reefer: bool,
    /// The vehicle that hauls it (its trips move the trailer); `None` in a fleet without vehicles.
    pub(crate) tractor: Option<usize>,
    /// Asset gateway serial.
    pub(crate) serial: String,
}

/// Trailer asset ID for an index.
pub(crate) fn trailer_id(i: usize) -> String {
    format!("{}", 281_474_979_000_000u64 + (i as u64) * 41 + 7)
}

/// One driver's initial record.
#[derive(Debug, Clone)]
pub(crate) struct DriverSpec {
    /// Samsara ID.
    pub(crate) id: String,
    /// Full name.
    pub(crate) name: String,
    /// Login.
    pub(crate) username: String,
    /// Licence number.
    pub(crate) licence: String,
    /// Branch index.
    pub(crate) branch: usize,
    /// Payroll ID, when the org uses one.
    pub(crate) payroll: Option<String>,
    /// Phone.
    pub(crate) phone: String,
    /// Deactivated drivers exist too.
    pub(crate) active: bool,
}

/// The generated fleet.
#[derive(Debug, Clone)]
pub(crate) struct Fleet {
    /// Vehicles.
    pub(crate) vehicles: Vec<VehicleSpec>,
    /// Drivers.
    pub(crate) drivers: Vec<DriverSpec>,
    /// Trailers.
    pub(crate) trailers: Vec<TrailerSpec>,
    /// Number of branches used.
    pub(crate) branches: usize,
}

/// Fills a pattern of `L`/`D`.
pub(crate) fn pattern(rng: &mut Rng, pat: &str) -> String {
    pat.bytes()
        .map(|c| match c {
            b'L' => char::from(*rng.pick(LETTERS)),
            b'D' => char::from(b'0' + u8::try_from(rng.below(10)).unwrap_or(0)),
            o => char::from(o),
        })
        .collect()
}

/// A VIN for a WMI, VDS prefix and model year, with its check digit.
pub(crate) fn make_vin(rng: &mut Rng, wmi: &str, vds: &str, year: u16) -> String {
    let mut v: Vec<u8> = Vec::with_capacity(17);
    v.extend_from_slice(wmi.as_bytes());
    v.extend_from_slice(vds.as_bytes());
    v.push(b'0');
    v.push(
        YEAR_CODES
            .iter()
            .find(|(y, _)| *y == year)
            .map_or(b'N', |(_, c)| *c),
    );
    v.push(*rng.pick(VIN_CHARS));
    for _ in 0..6 {
        v.push(b'0' + u8::try_from(rng.below(10)).unwrap_or(0));
    }
    v[8] = samsara_fmc::vin::compute_check_digit(&v).unwrap_or(b'0');
    String::from_utf8(v).unwrap_or_default()
}

/// Vehicle ID for an index.
pub(crate) fn vehicle_id(i: usize) -> String {
    format!("{}", 281_474_977_000_000u64 + (i as u64) * 37 + 11)
}

/// Driver ID for an index.
pub(crate) fn driver_id(i: usize) -> String {
    format!("{}", 52_000_000u64 + (i as u64) * 13 + 3)
}

impl Fleet {
    /// Generates the fleet for a seed, without trailers.
    #[cfg(test)]
    pub(crate) fn generate(seed: u64, vehicles: usize, drivers: usize) -> Self {
        Self::generate_with_trailers(seed, vehicles, drivers, 0)
    }

    /// Generates the fleet with `trailers` trailers (their own random stream: adding trailers leaves
    /// vehicles and drivers unchanged).
    pub(crate) fn generate_with_trailers(
        seed: u64,
        vehicles: usize,
        drivers: usize,
        trailers: usize,
    ) -> Self {
        let branches = vehicles.div_ceil(40).clamp(2, BRANCHES.len());
        let mut rng = Rng::new(seed, 1);
        let vehicles: Vec<VehicleSpec> = (0..vehicles)
            .map(|idx| {
                let r = rng.unit();
                let pool: Vec<_> = MODELS
                    .iter()
                    .filter(|m| {
                        m.0 == if r < 0.45 {
                            Kind::Heavy
                        } else if r < 0.85 {
                            Kind::Light
                        } else {
                            Kind::Ev
                        }
                    })
                    .collect();
                let &&(kind, wmi, make, model, vds) = rng.pick(&pool);
                let year = if kind == Kind::Ev {
                    2022 + u16::try_from(rng.below(5)).unwrap_or(0)
                } else {
                    2015 + u16::try_from(rng.below(12)).unwrap_or(0)
                };
                let branch = usize::try_from(rng.below(branches as u64)).unwrap_or(0);
                let unit = u32::try_from(100 + idx).unwrap_or(0);
                let prefix = match (kind, model) {
                    (Kind::Heavy, _) => "Truck",
                    (_, m) if m.contains("Transit") || m.contains("ProMaster") => "Van",
                    (Kind::Ev, _) => "EV",
                    _ => "Pickup",
                };
                VehicleSpec {
                    idx,
                    id: vehicle_id(idx),
                    kind,
                    make,
                    model,
                    year,
                    vin: make_vin(&mut rng, wmi, vds, year),
                    plate: pattern(&mut rng, BRANCHES[branch].plate),
                    unit,
                    name: format!("{prefix} {unit:04}"),
                    branch,
                    cost_centre: usize::try_from(rng.below(2)).unwrap_or(0),
                    serial: pattern(&mut rng, "GLLL-LDD-LDD"),
                    gateway_model: if kind == Kind::Heavy { "VG55NA" } else { "VG54NA" },
                }
            })
            .collect();
        let mut rng = Rng::new(seed, 2);
        let drivers = (0..drivers)
            .map(|i| {
                let first = *rng.pick(&FIRST);
                let last = *rng.pick(&LAST);
                let branch = usize::try_from(rng.below(branches as u64)).unwrap_or(0);
                let user: String = format!("{}{}{}", &first[..1], last, i)
                    .to_ascii_lowercase()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                DriverSpec {
                    id: driver_id(i),
                    name: format!("{first} {last}"),
                    username: user,
                    licence: pattern(&mut rng, BRANCHES[branch].licence),
                    branch,
                    payroll: rng.chance(0.7).then(|| format!("PR{:05}", 1000 + i)),
                    phone: pattern(&mut rng, "(DDD) 555-DDDD"),
                    active: !rng.chance(0.05),
                }
            })
            .collect();
        let trailers = Self::trailers(seed, trailers, branches, &vehicles);
        Self {
            vehicles,
            drivers,
            trailers,
            branches,
        }
    }

    fn trailers(seed: u64, n: usize, branches: usize, vehicles: &[VehicleSpec]) -> Vec<TrailerSpec> {
        let mut rng = Rng::new(seed, 4);
        (0..n)
            .map(|i| {
                let &(wmi, make, model, vds, reefer) = rng.pick(&TRAILER_MODELS);
                let year = 2015 + u16::try_from(rng.below(12)).unwrap_or(0);
                let branch = usize::try_from(rng.below(branches as u64)).unwrap_or(0);
                // Hauled by a truck of its branch (any vehicle of the branch, or of the fleet, if none).
                let trucks: Vec<usize> = vehicles
                    .iter()
                    .filter(|v| v.branch == branch && v.kind == Kind::Heavy)
                    .map(|v| v.idx)
                    .collect();
                let tractor = if trucks.is_empty() {
                    (!vehicles.is_empty()).then(|| i % vehicles.len())
                } else {
                    Some(trucks[i % trucks.len()])
                };
                TrailerSpec {
                    id: trailer_id(i),
                    name: format!("Trailer {:04}", 5001 + i),
                    make,
                    model,
                    year,
                    vin: make_vin(&mut rng, wmi, vds, year),
                    plate: pattern(&mut rng, BRANCHES[branch].plate),
                    branch,
                    cost_centre: usize::try_from(rng.below(2)).unwrap_or(0),
                    reefer,
                    tractor,
                    serial: pattern(&mut rng, "GLLL-LDD-LDD"),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vins_are_valid_and_deterministic() {
        let a = Fleet::generate(7, 200, 10);
        let b = Fleet::generate(7, 200, 10);
        for (x, y) in a.vehicles.iter().zip(&b.vehicles) {
            assert_eq!(x.vin, y.vin);
            assert!(
                samsara_fmc::vin::check_digit::has_valid_check_digit(x.vin.as_bytes()),
                "{}",
                x.vin
            );
        }
        assert!(a.vehicles.iter().any(|v| v.kind == Kind::Ev));
        let t = Fleet::generate_with_trailers(7, 200, 10, 60);
        assert_eq!(
            t.vehicles[17].vin, a.vehicles[17].vin,
            "trailers must not shift vehicles"
        );
        for tr in &t.trailers {
            assert!(
                samsara_fmc::vin::check_digit::has_valid_check_digit(tr.vin.as_bytes()),
                "{}",
                tr.vin
            );
            assert!(["1GR", "1JJ", "1UY", "3H3"].contains(&&tr.vin[..3]));
            let host = &t.vehicles[tr.tractor.unwrap()];
            assert_eq!((host.branch, host.kind), (tr.branch, Kind::Heavy));
        }
        assert!(t.trailers.iter().any(|x| x.reefer) && t.trailers.iter().any(|x| !x.reefer));
    }
}
