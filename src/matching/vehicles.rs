//! Vehicle matching: external ids, VIN (exact, `O`/`0`-folded, typo, partial), plate + state, unit
//! number, name, make / model / year.

use super::engine::{key, run, BlockKey, Prepared};
use super::normalize::{make_agrees, make_key, name_key, plate_key, state_code, unit_number};
use super::scorers::{default_process, osa_bounded, token_set_ratio};
use super::{
    external_keys, external_link, external_pairs, MatchOptions, MatchResult, Reason, Reasons, Tally,
};
use crate::vin::{
    check_digit::transliterate, has_valid_check_digit, is_north_american, model_year_candidates,
};

/// A vehicle record from either side. Field names follow Samsara's vehicle object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vehicle {
    /// The record's id in its own system.
    pub id: String,
    /// VIN as entered (normalised here), a partial VIN (last 6–10 characters) also helps.
    pub vin: Option<String>,
    /// Licence plate as entered.
    pub license_plate: Option<String>,
    /// The plate's state or province (code or name).
    pub license_plate_state: Option<String>,
    /// Vehicle name; unit numbers are pulled out of it.
    pub name: Option<String>,
    /// Make.
    pub make: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Model year.
    pub year: Option<u16>,
    /// External ids, `(key, value)`.
    pub external_ids: Vec<(String, String)>,
}

/// A vehicle prepared for comparison (flags are cached facts about the VIN, not a state machine).
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)]
struct Prep {
    id: String,
    /// Normalised VIN, `O`/`Q` → `0`, `I` → `1`.
    vin: Vec<u8>,
    /// Normalised VIN before folding (to tell an exact match from a folded one).
    vin_raw: Vec<u8>,
    /// 17 legal characters.
    full: bool,
    check_ok: bool,
    north_american: bool,
    plate: Option<String>,
    state: Option<String>,
    unit: Option<String>,
    name: String,
    make: Option<String>,
    /// `make` was decoded from the VIN rather than given.
    make_from_vin: bool,
    model: String,
    year: Option<u16>,
    ext: Vec<(String, String)>,
}

fn prep(v: &Vehicle) -> Prep {
    let vin_raw: Vec<u8> = v
        .vin
        .as_deref()
        .map(crate::vin::normalize)
        .unwrap_or_default()
        .into_bytes()
        .into_iter()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    let vin: Vec<u8> = vin_raw
        .iter()
        .map(|&c| match c {
            b'O' | b'Q' => b'0',
            b'I' => b'1',
            c => c,
        })
        .collect();
    let full = vin.len() == 17 && vin.iter().all(|&c| transliterate(c).is_some());
    let decoded_make = if full {
        crate::vin::manufacturer(std::str::from_utf8(&vin).unwrap_or(""))
    } else {
        None
    };
    Prep {
        id: v.id.clone(),
        full,
        check_ok: full && has_valid_check_digit(&vin),
        north_american: is_north_american(&vin),
        vin,
        vin_raw,
        plate: v.license_plate.as_deref().and_then(plate_key),
        state: v.license_plate_state.as_deref().and_then(state_code),
        unit: v.name.as_deref().and_then(unit_number),
        name: v.name.as_deref().map(name_key).unwrap_or_default(),
        make_from_vin: v.make.as_deref().and_then(make_key).is_none(),
        make: v
            .make
            .as_deref()
            .and_then(make_key)
            .or_else(|| decoded_make.and_then(make_key)),
        model: v.model.as_deref().map(default_process).unwrap_or_default(),
        year: v.year.filter(|&y| (1900..=2100).contains(&y)),
        ext: external_pairs(&v.external_ids),
    }
}

/// The VIN segments fuzzy blocking combines: positions 4–6, 7–9, 11–14, 15–17 (0-based ranges).
const SEGMENTS: [std::ops::Range<usize>; 4] = [3..6, 6..9, 10..14, 14..17];
/// Segment pairs used as keys (4–9 alone is a model, not a vehicle, so it is left out).
const SEGMENT_PAIRS: [(usize, usize); 5] = [(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];

impl Prepared for Prep {
    fn index_keys(&self, out: &mut Vec<BlockKey>) {
        self.keys(out, false);
    }

    fn query_keys(&self, out: &mut Vec<BlockKey>) {
        self.keys(out, true);
    }

    #[allow(clippy::many_single_char_names)]
    fn score(&self, o: &Self, cutoff: f64) -> (f64, Reasons) {
        let mut t = Tally::default();
        let ext = external_link(&self.id, &self.ext, &o.id, &o.ext);
        if ext {
            t.add(Reason::ExternalId, 100.0);
        }
        self.score_vin(o, &mut |r, p| t.add(r, p));
        match (&self.plate, &o.plate) {
            (Some(a), Some(b)) if a == b => match (&self.state, &o.state) {
                (Some(x), Some(y)) if x != y => t.add(Reason::PlateOtherState, 10.0),
                (Some(_), Some(_)) => t.add(Reason::PlateExact, 55.0),
                _ => t.add(Reason::PlateExact, 45.0),
            },
            (Some(a), Some(b)) => {
                let states_agree = !matches!((&self.state, &o.state), (Some(x), Some(y)) if x != y);
                if states_agree && a.len() >= 5 && osa_bounded(a.as_bytes(), b.as_bytes(), 1) == 1 {
                    t.add(Reason::PlateSimilar, 15.0);
                } else {
                    t.add(Reason::PlateConflict, -5.0);
                }
            }
            _ => {}
        }
        match (&self.unit, &o.unit) {
            // Unit numbers are the FMC's own fleet ids: long ones are nearly unique.
            (Some(a), Some(b)) if a == b => t.add(Reason::UnitNumber, if a.len() >= 3 { 50.0 } else { 35.0 }),
            (Some(_), Some(_)) => t.add(Reason::UnitConflict, -25.0),
            _ => {}
        }
        // Name, make, model and year add at most 25 points: skip the string work when that cannot
        // lift the pair to the cutoff.
        if cutoff > 0.0 && t.s + 25.0 < cutoff {
            return t.finish(ext);
        }
        if !self.name.is_empty()
            && !o.name.is_empty()
            && (self.name == o.name || token_set_ratio(&self.name, &o.name) >= 95.0)
        {
            t.add(Reason::NameSimilar, 10.0);
        }
        // Makes and years both decoded from VINs say nothing the VIN comparison has not said.
        match (&self.make, &o.make) {
            _ if self.make_from_vin && o.make_from_vin => {}
            (Some(a), Some(b)) if make_agrees(a, b) => t.add(Reason::MakeAgrees, 5.0),
            (Some(_), Some(_)) => t.add(Reason::MakeConflict, -25.0),
            _ => {}
        }
        if !self.model.is_empty()
            && !o.model.is_empty()
            && (self.model == o.model || token_set_ratio(&self.model, &o.model) >= 90.0)
        {
            t.add(Reason::ModelAgrees, 5.0);
        }
        match (self.years(), o.years()) {
            _ if self.year.is_none() && o.year.is_none() => {}
            (Some(a), Some(b)) if a.iter().any(|x| b.contains(x)) => t.add(Reason::YearAgrees, 5.0),
            (Some(a), Some(b)) if a.iter().all(|x| b.iter().all(|y| x.abs_diff(*y) > 1)) => {
                t.add(Reason::YearConflict, -20.0);
            }
            _ => {}
        }
        t.finish(ext)
    }
}

impl Prep {
    fn keys(&self, out: &mut Vec<BlockKey>, query: bool) {
        external_keys(&self.id, &self.ext, out, query);
        let v = &self.vin;
        if v.len() >= 6 {
            out.push(BlockKey {
                hash: key(b'V', &[v]),
                exact: true,
            });
            out.push(BlockKey {
                hash: key(b'S', &[&v[v.len() - 6..]]),
                exact: false,
            });
        }
        if self.full {
            for (a, b) in SEGMENT_PAIRS {
                let parts: [&[u8]; 4] = [
                    &v[..3],
                    &v[9..10],
                    &v[SEGMENTS[a].clone()],
                    &v[SEGMENTS[b].clone()],
                ];
                out.push(BlockKey {
                    hash: key(b'0' + u8::try_from(a * 4 + b).unwrap_or(0), &parts),
                    exact: false,
                });
            }
        }
        if let Some(p) = &self.plate {
            out.push(BlockKey {
                hash: key(b'P', &[p.as_bytes()]),
                exact: true,
            });
            if p.len() >= 5 {
                // One edit apart: both sides index the plate and its one-character deletions.
                out.push(BlockKey {
                    hash: key(b'D', &[p.as_bytes()]),
                    exact: false,
                });
                for i in 0..p.len() {
                    let del = [&p.as_bytes()[..i], &p.as_bytes()[i + 1..]].concat();
                    out.push(BlockKey {
                        hash: key(b'D', &[&del]),
                        exact: false,
                    });
                }
            }
        }
        if let Some(u) = &self.unit {
            out.push(BlockKey {
                hash: key(b'U', &[u.as_bytes()]),
                exact: false,
            });
        }
    }

    /// The years this record can be: its `year` field, else both readings of its VIN's year code.
    fn years(&self) -> Option<Vec<u16>> {
        if let Some(y) = self.year {
            return Some(vec![y]);
        }
        if self.full {
            return model_year_candidates(self.vin[9]).map(|c| c.to_vec());
        }
        None
    }

    fn score_vin(&self, o: &Self, add: &mut impl FnMut(Reason, f64)) {
        let (a, b) = (&self.vin, &o.vin);
        if a.len() < 6 || b.len() < 6 {
            return;
        }
        if a == b {
            if self.vin_raw == o.vin_raw {
                add(Reason::VinExact, 90.0);
            } else {
                add(Reason::VinFolded, 85.0);
            }
            return;
        }
        if self.full && o.full {
            let same_frame = a[..3] == b[..3] && a[9] == b[9];
            let d = osa_bounded(a, b, 2);
            let both_na = self.north_american && o.north_american;
            let both_valid = self.check_ok && o.check_ok;
            match d {
                // One edit: a typo. Two different real VINs one edit apart would need characters
                // with equal transliteration values (`A`/`J`, `B`/`K`/`S`, …), which serials avoid.
                1 => add(Reason::VinTypo, if both_na { 80.0 } else { 70.0 }),
                // Two edits: a typo only if the check digit says so; two valid VINs two edits
                // apart are two vehicles of one fleet order (sequential serials).
                2 if both_na && !both_valid && same_frame => add(Reason::VinTypo, 55.0),
                2 if both_na && both_valid => add(Reason::VinConflict, -60.0),
                2 => {}
                // Three or more edits between two North American VINs that both pass their check
                // digit: two well-formed identities, so two vehicles, whatever else agrees (a plate
                // and unit number passed on to a replacement, say).
                _ if both_na && both_valid => add(Reason::VinConflict, -100.0),
                _ => add(Reason::VinConflict, -60.0),
            }
            return;
        }
        // A partial VIN (last characters only) against a full one.
        let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
        if short.len() <= 10 && long.len() == 17 {
            if long.ends_with(short) {
                add(Reason::VinSuffix, 55.0);
            } else {
                add(Reason::VinConflict, -30.0);
            }
        }
    }
}

/// Matches Samsara-side vehicles (`left`) against FMC-side vehicles (`right`).
pub fn match_vehicles(left: &[Vehicle], right: &[Vehicle], opts: &MatchOptions) -> MatchResult {
    let l: Vec<Prep> = left.iter().map(prep).collect();
    let r: Vec<Prep> = right.iter().map(prep).collect();
    run(&l, &r, opts, opts.near_miss.unwrap_or(0.0))
}

#[cfg(test)]
#[path = "vehicles_tests.rs"]
mod tests;
