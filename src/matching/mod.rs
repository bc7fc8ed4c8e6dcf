//! Vehicle and driver matching: deterministic keys first, then fuzzy scoring with blocking.
//!
//! Two lists of records that both systems created independently (Samsara's and the FMC's) are
//! linked one to one. Every candidate pair gets a score in `0..=100` built from evidence
//! ([`Reason`]s): shared external ids score 100 outright; exact VIN, plate + state and licence +
//! state carry most of the weight; typo-tolerant VIN comparison (edit distance, with the check digit
//! telling a typo from a different vehicle), plate similarity, unit numbers pulled out of names,
//! name similarity and make/model/year agreement add or subtract. Conflicting strong evidence (two
//! valid, different VINs) pushes a pair below any cutoff, which is what keeps a plate re-issued to
//! another vehicle from linking.
//!
//! Blocking and one-to-one assignment live in `engine.rs` (private); [`scorers`] has the string
//! similarities.

mod drivers;
mod engine;
pub mod fold;
pub mod names;
pub mod normalize;
pub mod scorers;
mod vehicles;

pub use drivers::{match_drivers, Driver};
pub use scorers::{
    default_process, extract_one, jaro_winkler, levenshtein, ratio, token_set_ratio, token_sort_ratio, Scorer,
};
pub use vehicles::{match_vehicles, Vehicle};

/// One piece of evidence about a pair. [`Reason::code`] is the stable string shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// The records share an external id (`key:value`), or one names the other's id.
    ExternalId,
    /// Identical normalised VINs.
    VinExact,
    /// VINs identical once `O`/`Q` → `0` and `I` → `1`.
    VinFolded,
    /// VINs one or two edits apart, same WMI and model year, and the check digit says one is a typo.
    VinTypo,
    /// A partial VIN (last 6–10 characters) that ends the other side's VIN.
    VinSuffix,
    /// Two different VINs that cannot be one typo apart: different vehicles.
    VinConflict,
    /// Identical plates (state equal or missing on a side).
    PlateExact,
    /// Identical plates registered in different states.
    PlateOtherState,
    /// Plates one edit apart.
    PlateSimilar,
    /// Different plates.
    PlateConflict,
    /// The same unit number in both names.
    UnitNumber,
    /// Different unit numbers.
    UnitConflict,
    /// Names that are nearly the same.
    NameSimilar,
    /// Names that clearly differ.
    NameConflict,
    /// Makes agree (from the record or decoded from the VIN).
    MakeAgrees,
    /// Makes differ.
    MakeConflict,
    /// Models agree.
    ModelAgrees,
    /// Years agree (from the record or the VIN's model-year code).
    YearAgrees,
    /// Years differ by more than one.
    YearConflict,
    /// Identical licence numbers (state equal or missing on a side).
    LicenseExact,
    /// Identical licence numbers issued by different states.
    LicenseOtherState,
    /// Licence numbers one edit apart, same state.
    LicenseTypo,
    /// Different licence numbers.
    LicenseConflict,
    /// Identical email addresses.
    EmailExact,
    /// Identical phone numbers (last 10 digits).
    PhoneExact,
    /// Identical usernames.
    UsernameExact,
    /// The names agree once a nickname is read as its formal name (`Bob` / `Robert`).
    NameNickname,
    /// The names agree once an initial is read as the name it starts (`A. Lee` / `Aisha Lee`).
    NameInitial,
    /// Identical employee numbers (an FMC's `employeeId`, Samsara's `externalIds.payrollId`).
    EmployeeId,
    /// Different licence numbers from different states: a licence re-issued after a move, weak
    /// evidence against.
    LicenseReissued,
    /// A generational suffix (`Jr`, `Sr`, `II`, `III`) on one side only, or different ones: a
    /// father and son, evidence against.
    NameSuffixConflict,
}

/// Every reason, in bit order.
const ALL_REASONS: [Reason; 31] = [
    Reason::ExternalId,
    Reason::VinExact,
    Reason::VinFolded,
    Reason::VinTypo,
    Reason::VinSuffix,
    Reason::VinConflict,
    Reason::PlateExact,
    Reason::PlateOtherState,
    Reason::PlateSimilar,
    Reason::PlateConflict,
    Reason::UnitNumber,
    Reason::UnitConflict,
    Reason::NameSimilar,
    Reason::NameConflict,
    Reason::MakeAgrees,
    Reason::MakeConflict,
    Reason::ModelAgrees,
    Reason::YearAgrees,
    Reason::YearConflict,
    Reason::LicenseExact,
    Reason::LicenseOtherState,
    Reason::LicenseTypo,
    Reason::LicenseConflict,
    Reason::EmailExact,
    Reason::PhoneExact,
    Reason::UsernameExact,
    Reason::NameNickname,
    Reason::NameInitial,
    Reason::EmployeeId,
    Reason::LicenseReissued,
    Reason::NameSuffixConflict,
];

impl Reason {
    /// The stable code, e.g. `"vin_exact"`.
    pub fn code(self) -> &'static str {
        match self {
            Self::ExternalId => "external_id",
            Self::VinExact => "vin_exact",
            Self::VinFolded => "vin_o0_i1",
            Self::VinTypo => "vin_typo",
            Self::VinSuffix => "vin_suffix",
            Self::VinConflict => "vin_conflict",
            Self::PlateExact => "plate_exact",
            Self::PlateOtherState => "plate_other_state",
            Self::PlateSimilar => "plate_similar",
            Self::PlateConflict => "plate_conflict",
            Self::UnitNumber => "unit_number",
            Self::UnitConflict => "unit_conflict",
            Self::NameSimilar => "name_similar",
            Self::NameConflict => "name_conflict",
            Self::MakeAgrees => "make",
            Self::MakeConflict => "make_conflict",
            Self::ModelAgrees => "model",
            Self::YearAgrees => "year",
            Self::YearConflict => "year_conflict",
            Self::LicenseExact => "license_exact",
            Self::LicenseOtherState => "license_other_state",
            Self::LicenseTypo => "license_typo",
            Self::LicenseConflict => "license_conflict",
            Self::EmailExact => "email_exact",
            Self::PhoneExact => "phone_exact",
            Self::UsernameExact => "username_exact",
            Self::NameNickname => "name_nickname",
            Self::NameInitial => "name_initial",
            Self::EmployeeId => "employee_id",
            Self::LicenseReissued => "license_reissued",
            Self::NameSuffixConflict => "name_suffix_conflict",
        }
    }
}

/// A set of [`Reason`]s (a bit set; iteration is in declaration order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reasons(u32);

impl Reasons {
    /// Adds a reason.
    pub fn insert(&mut self, r: Reason) {
        self.0 |= 1 << (r as u8);
    }

    /// Whether the set holds `r`.
    pub fn contains(self, r: Reason) -> bool {
        self.0 & (1 << (r as u8)) != 0
    }

    /// The reasons in the set.
    pub fn iter(self) -> impl Iterator<Item = Reason> {
        ALL_REASONS.into_iter().filter(move |&r| self.contains(r))
    }

    /// The codes joined with `+`, e.g. `"vin_exact+plate_exact"` (for test messages).
    #[cfg(test)]
    pub fn codes(self) -> String {
        self.iter().map(Reason::code).collect::<Vec<_>>().join("+")
    }
}

impl From<Reason> for Reasons {
    fn from(r: Reason) -> Self {
        let mut s = Self::default();
        s.insert(r);
        s
    }
}

/// Options shared by [`match_vehicles`] and [`match_drivers`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchOptions {
    /// Pairs scoring below this (`0..=100`) are never linked. Default 60.
    pub score_cutoff: f64,
    /// A best pair with a rival within this many points goes to review. Default 5.
    pub review_margin: f64,
    /// A pair scoring at most this many points below the cutoff, the best still-open candidate of
    /// both its records, goes to review instead of leaving both unmatched. `None`: the record
    /// type's default, [`DRIVER_NEAR_MISS`] for drivers and 0 (off) for vehicles.
    pub near_miss: Option<f64>,
}

/// The default near-miss allowance for drivers: people's records lose identifiers (a licence
/// renewed, a phone changed) more often than vehicles' do, and a person can tell a near miss.
pub const DRIVER_NEAR_MISS: f64 = 10.0;

impl Default for MatchOptions {
    fn default() -> Self {
        Self {
            score_cutoff: 60.0,
            review_margin: 5.0,
            near_miss: None,
        }
    }
}

/// A linked (or proposed) pair: indices into the left and right inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Index into the left records.
    pub left: usize,
    /// Index into the right records.
    pub right: usize,
    /// Score in `0..=100`.
    pub score: f64,
    /// The evidence.
    pub reasons: Reasons,
}

/// The outcome of a match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchResult {
    /// One-to-one links, best first.
    pub links: Vec<Link>,
    /// Pairs a person should decide: each contested best pair followed by its near-tied rivals.
    pub review: Vec<Link>,
    /// Left indices neither linked nor under review.
    pub unmatched_left: Vec<usize>,
    /// Right indices neither linked nor under review.
    pub unmatched_right: Vec<usize>,
}

/// A running score and its reasons, for the record scorers.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) s: f64,
    pub(crate) why: Reasons,
}

impl Tally {
    pub(crate) fn add(&mut self, r: Reason, pts: f64) {
        self.why.insert(r);
        self.s += pts;
    }

    /// The final score (100 for an external-id link, else clamped to `0..=100`) and reasons.
    pub(crate) fn finish(self, external: bool) -> (f64, Reasons) {
        (if external { 100.0 } else { self.s.clamp(0.0, 100.0) }, self.why)
    }
}

/// External ids as comparable `key\0value` strings, without Samsara's automatic `samsara.*` keys.
pub(crate) fn external_pairs(ids: &[(String, String)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = ids
        .iter()
        .filter(|(k, val)| !k.starts_with("samsara.") && !val.trim().is_empty())
        .map(|(k, val)| (k.trim().to_lowercase(), val.trim().to_owned()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether two records are tied by external ids: a shared `key:value`, or one side's value equal
/// to the other's id.
pub(crate) fn external_link(a_id: &str, a: &[(String, String)], b_id: &str, b: &[(String, String)]) -> bool {
    a.iter().any(|p| b.binary_search(p).is_ok())
        || (!b_id.is_empty() && a.iter().any(|(_, v)| v == b_id))
        || (!a_id.is_empty() && b.iter().any(|(_, v)| v == a_id))
}

/// Blocking keys for external ids: pairs and ids (index side and query side mirror each other).
pub(crate) fn external_keys(
    id: &str,
    ids: &[(String, String)],
    out: &mut Vec<engine::BlockKey>,
    query: bool,
) {
    use engine::{key, BlockKey};
    for (k, v) in ids {
        out.push(BlockKey {
            hash: key(b'x', &[k.as_bytes(), v.as_bytes()]),
            exact: true,
        });
        // Index: my values may name the other side's id; query: my id may be one of their values.
        let kind = if query { b'i' } else { b'v' };
        out.push(BlockKey {
            hash: key(kind, &[v.as_bytes()]),
            exact: true,
        });
    }
    if !id.is_empty() {
        let kind = if query { b'v' } else { b'i' };
        out.push(BlockKey {
            hash: key(kind, &[id.as_bytes()]),
            exact: true,
        });
    }
}
