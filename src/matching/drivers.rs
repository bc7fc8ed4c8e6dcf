//! Driver matching: external ids, licence number + state, email, phone, username, employee number,
//! name.
//!
//! Rosters exported from HR and payroll systems mangle identifiers in known ways; each is undone
//! before comparing: licence numbers with a state prefix or dropped leading zeros
//! ([`license_key`]), employee numbers with dropped zeros or written as floats ([`employee_key`]),
//! accented, transliterated or mojibake names ([`fold_to_ascii`], German `ü` / `ue`), phones with
//! an extension ([`phone_key`]). Conflicting evidence is weighed against the rest: a licence from
//! another state with another number is expected after a move, and a different licence costs less
//! when an identifier only one person has (email, employee number, username) agrees. A
//! generational suffix on one side only (`Jr`, a father and son sharing a household phone) counts
//! against a link.

use super::engine::{key, run, BlockKey, Prepared};
use super::fold::fold_to_ascii;
use super::names::{align, same_given_name, Aligned};
use super::normalize::{email_key, employee_key, ident_key, license_key, phone_key, state_code};
use super::scorers::{default_process, jaro_winkler, osa_bounded, token_set_ratio};
use super::{
    external_keys, external_link, external_pairs, MatchOptions, MatchResult, Reason, Reasons, Tally,
    DRIVER_NEAR_MISS,
};

/// A driver record from either side. Field names follow Samsara's driver object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Driver {
    /// The record's id in its own system.
    pub id: String,
    /// Full name, any order ("Smith, John" and "John Smith" compare equal).
    pub name: Option<String>,
    /// Driver's licence number.
    pub license_number: Option<String>,
    /// The licence's issuing state or province.
    pub license_state: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number, any format.
    pub phone: Option<String>,
    /// Samsara username.
    pub username: Option<String>,
    /// Employee or payroll number. When absent, an external id named `payrollId`, `employeeId` or
    /// `employeeNumber` stands in (Samsara keeps the payroll id there).
    pub employee_id: Option<String>,
    /// External ids, `(key, value)`.
    pub external_ids: Vec<(String, String)>,
}

/// External-id keys (lower case) that hold an employee number.
const EMPLOYEE_KEYS: [&str; 4] = ["payrollid", "employeeid", "employeenumber", "employeeno"];

/// A generational suffix, canonical: `Jr`/`Junior`, `Sr`/`Senior`, `II`/`2nd`, `III`/`3rd`,
/// `IV`/`4th`.
fn suffix_of(token: &str) -> Option<u8> {
    Some(match token {
        "jr" | "junior" => 1,
        "sr" | "senior" => 2,
        "ii" | "2nd" => 3,
        "iii" | "3rd" => 4,
        "iv" | "4th" => 5,
        _ => return None,
    })
}

/// German umlauts written out (`ue` for `ü`) against folded (`u`): `ae`, `oe`, `ue` → `a`, `o`, `u`.
fn collapse_digraphs(token: &str) -> String {
    token.replace("ae", "a").replace("oe", "o").replace("ue", "u")
}

#[derive(Debug)]
struct Prep {
    id: String,
    license: Option<String>,
    /// The licence as written ([`ident_key`]): a typo in what looked like a state prefix
    /// (`WY948723` vs `GY948723`) is one edit here, two in the keys.
    license_raw: Option<String>,
    state: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    username: Option<String>,
    employee: Option<String>,
    /// Name tokens (folded to ASCII, processed, suffix removed), sorted and joined.
    name: String,
    /// The same tokens.
    tokens: Vec<String>,
    /// `name` / `tokens` with German digraphs collapsed; empty when no token has one.
    name_dg: String,
    tokens_dg: Vec<String>,
    /// The generational suffix ([`suffix_of`]).
    suffix: Option<u8>,
    ext: Vec<(String, String)>,
}

fn prep(d: &Driver) -> Prep {
    let processed = d
        .name
        .as_deref()
        .map(|n| default_process(&fold_to_ascii(n)))
        .unwrap_or_default();
    let mut tokens: Vec<&str> = processed.split_whitespace().collect();
    // A suffix is one only beside at least two other tokens ("John Smith Jr", not "Jr Smith").
    let mut suffix = None;
    if tokens.len() >= 3 {
        if let Some(i) = tokens.iter().rposition(|t| suffix_of(t).is_some()) {
            suffix = suffix_of(tokens[i]);
            tokens.remove(i);
        }
    }
    tokens.sort_unstable();
    let mut dg: Vec<String> = tokens.iter().map(|t| collapse_digraphs(t)).collect();
    let has_dg = dg.iter().zip(&tokens).any(|(a, b)| a != b);
    dg.sort_unstable();
    Prep {
        id: d.id.clone(),
        license: d.license_number.as_deref().and_then(license_key),
        license_raw: d.license_number.as_deref().and_then(ident_key),
        state: d.license_state.as_deref().and_then(state_code),
        email: d.email.as_deref().and_then(email_key),
        phone: d.phone.as_deref().and_then(phone_key),
        username: d.username.as_deref().and_then(ident_key),
        employee: d
            .employee_id
            .as_deref()
            .or_else(|| {
                d.external_ids
                    .iter()
                    .find(|(k, _)| EMPLOYEE_KEYS.contains(&k.trim().to_ascii_lowercase().as_str()))
                    .map(|(_, v)| v.as_str())
            })
            .and_then(employee_key),
        name: tokens.join(" "),
        tokens: tokens.iter().map(|&t| t.to_owned()).collect(),
        name_dg: if has_dg { dg.join(" ") } else { String::new() },
        tokens_dg: if has_dg { dg } else { Vec::new() },
        suffix,
        ext: external_pairs(&d.external_ids),
    }
}

impl Prep {
    /// The name with German digraphs collapsed, or the name itself.
    fn dg(&self) -> (&str, &[String]) {
        if self.name_dg.is_empty() {
            (&self.name, &self.tokens)
        } else {
            (&self.name_dg, &self.tokens_dg)
        }
    }
}

/// Name similarity in `0..=100`: the better of token-set ratio and Jaro-Winkler on sorted tokens.
fn name_similarity(a: &str, b: &str) -> f64 {
    token_set_ratio(a, b).max(jaro_winkler(a, b))
}

/// Whether the names disagree on a token: each has a token the other lacks, and no two of those are
/// spellings of one name (a prefix or initial, a nickname, Jaro-Winkler ≥ 85). `Michael Davis` and
/// `Hector Davis` share only the surname; `John Smith` and `John Q Smith` do not disagree.
fn names_disagree(a: &[String], b: &[String]) -> bool {
    let only_a: Vec<&str> = a.iter().filter(|t| !b.contains(t)).map(String::as_str).collect();
    let only_b: Vec<&str> = b.iter().filter(|t| !a.contains(t)).map(String::as_str).collect();
    let close = |x: &str, y: &str| {
        x.starts_with(y) || y.starts_with(x) || same_given_name(x, y) || jaro_winkler(x, y) >= 85.0
    };
    !only_a.is_empty() && !only_b.is_empty() && !only_a.iter().any(|x| only_b.iter().any(|y| close(x, y)))
}

/// The most a pair of names that disagree on a token ([`names_disagree`]) may score: a shared
/// surname is weak evidence (families, and common surnames, share them).
const DISAGREE_CAP: f64 = 70.0;

/// Highest similarity a name reaches only through a nickname or an initial: such a match is
/// good evidence, not as good as the same name written out.
const ALIGNED_CAP: f64 = 90.0;

/// The names' similarity once either side's nicknames and initials are aligned with the other's
/// tokens (see [`align`]), capped at [`ALIGNED_CAP`], and what was aligned; `None` when nothing was.
fn aligned_similarity(a: &Prep, b: &Prep) -> Option<(f64, Aligned)> {
    let at: Vec<&str> = a.tokens.iter().map(String::as_str).collect();
    let bt: Vec<&str> = b.tokens.iter().map(String::as_str).collect();
    let mut best: Option<(f64, Aligned)> = None;
    for (x, y, other) in [(&at, &bt, &b.name), (&bt, &at, &a.name)] {
        let (mut t, how) = align(x, y);
        if how == Aligned::default() {
            continue;
        }
        t.sort_unstable();
        let sim = name_similarity(&t.join(" "), other).min(ALIGNED_CAP);
        if best.is_none_or(|(s, _)| sim > s) {
            best = Some((sim, how));
        }
    }
    best
}

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
        let states_conflict = matches!((&self.state, &o.state), (Some(x), Some(y)) if x != y);
        let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x == y);
        // An identifier only one person has agrees: then a different licence is more likely a
        // stale one (renewed, replaced) than another person.
        let personal = same(&self.email, &o.email)
            || same(&self.employee, &o.employee)
            || same(&self.username, &o.username);
        match (&self.license, &o.license) {
            (Some(a), Some(b)) if a == b => {
                if !states_conflict {
                    t.add(Reason::LicenseExact, 75.0);
                } else if a.len() >= 6 {
                    // A long number agreeing is rarely chance; the state is the likelier mistake.
                    t.add(Reason::LicenseOtherState, 60.0);
                } else {
                    t.add(Reason::LicenseOtherState, 35.0);
                }
            }
            (Some(a), Some(b)) => {
                let one_edit =
                    |x: &str, y: &str| x.len() >= 5 && osa_bounded(x.as_bytes(), y.as_bytes(), 1) == 1;
                let raw_typo =
                    matches!((&self.license_raw, &o.license_raw), (Some(x), Some(y)) if one_edit(x, y));
                if !states_conflict && (one_edit(a, b) || raw_typo) {
                    t.add(Reason::LicenseTypo, 40.0);
                } else if states_conflict {
                    t.add(Reason::LicenseReissued, -10.0);
                } else if personal {
                    t.add(Reason::LicenseConflict, -15.0);
                } else {
                    t.add(Reason::LicenseConflict, -40.0);
                }
            }
            _ => {}
        }
        if same(&self.email, &o.email) {
            t.add(Reason::EmailExact, 45.0);
        }
        if same(&self.phone, &o.phone) {
            t.add(Reason::PhoneExact, 30.0);
        }
        if same(&self.username, &o.username) {
            t.add(Reason::UsernameExact, 35.0);
        }
        // Employee numbers: equal is good evidence; different says little, since the two systems
        // often number people differently.
        if same(&self.employee, &o.employee) {
            t.add(Reason::EmployeeId, 50.0);
        }
        // A father and son: a suffix on one side only costs 15, different suffixes 40.
        match (self.suffix, o.suffix) {
            (Some(x), Some(y)) if x != y => t.add(Reason::NameSuffixConflict, -40.0),
            (Some(_), None) | (None, Some(_)) if !self.name.is_empty() && !o.name.is_empty() => {
                t.add(Reason::NameSuffixConflict, -15.0);
            }
            _ => {}
        }
        // The name adds at most 30 points: skip the string work when that cannot reach the cutoff.
        if cutoff > 0.0 && t.s + 30.0 < cutoff {
            return t.finish(ext);
        }
        if !self.name.is_empty() && !o.name.is_empty() {
            let ((an, at), (bn, bt)) = (self.dg(), o.dg());
            let digraphs = !self.name_dg.is_empty() || !o.name_dg.is_empty();
            let mut sim = name_similarity(&self.name, &o.name);
            if digraphs {
                sim = sim.max(name_similarity(an, bn));
            }
            if sim > DISAGREE_CAP
                && names_disagree(&self.tokens, &o.tokens)
                && (!digraphs || names_disagree(at, bt))
            {
                sim = DISAGREE_CAP;
            } else if sim < ALIGNED_CAP {
                if let Some((aligned, how)) = aligned_similarity(self, o).filter(|(s, _)| *s > sim) {
                    sim = aligned;
                    if how.nickname {
                        t.add(Reason::NameNickname, 0.0);
                    }
                    if how.initial {
                        t.add(Reason::NameInitial, 0.0);
                    }
                }
            }
            if sim >= 95.0 {
                t.add(Reason::NameSimilar, 30.0);
            } else if sim >= 85.0 {
                t.add(Reason::NameSimilar, 20.0);
            } else if sim >= 70.0 {
                t.add(Reason::NameSimilar, 5.0);
            } else if sim < 60.0 {
                t.add(Reason::NameConflict, -30.0);
            }
        }
        t.finish(ext)
    }
}

impl Prep {
    fn keys(&self, out: &mut Vec<BlockKey>, query: bool) {
        external_keys(&self.id, &self.ext, out, query);
        if let Some(l) = &self.license {
            let b = l.as_bytes();
            out.push(BlockKey {
                hash: key(b'L', &[b]),
                exact: true,
            });
            if b.len() >= 5 {
                // Typo tolerance: a single edit leaves one half intact.
                let h = b.len() / 2;
                out.push(BlockKey {
                    hash: key(b'l', &[&b[..h]]),
                    exact: false,
                });
                out.push(BlockKey {
                    hash: key(b'm', &[&b[h..]]),
                    exact: false,
                });
                out.push(BlockKey {
                    hash: key(b'n', &[&b[b.len() - h..]]),
                    exact: false,
                });
            }
        }
        for (kind, v) in [
            (b'E', &self.email),
            (b'F', &self.phone),
            (b'G', &self.username),
            (b'H', &self.employee),
        ] {
            if let Some(v) = v {
                out.push(BlockKey {
                    hash: key(kind, &[v.as_bytes()]),
                    exact: true,
                });
            }
        }
        for name in [&self.name, &self.name_dg] {
            if name.is_empty() {
                continue;
            }
            out.push(BlockKey {
                hash: key(b'N', &[name.as_bytes()]),
                exact: false,
            });
            for t in name.split(' ').filter(|t| t.len() >= 3) {
                out.push(BlockKey {
                    hash: key(b'T', &[t.as_bytes()]),
                    exact: false,
                });
            }
        }
    }
}

/// Matches Samsara-side drivers (`left`) against FMC-side drivers (`right`).
pub fn match_drivers(left: &[Driver], right: &[Driver], opts: &MatchOptions) -> MatchResult {
    let l: Vec<Prep> = left.iter().map(prep).collect();
    let r: Vec<Prep> = right.iter().map(prep).collect();
    run(&l, &r, opts, opts.near_miss.unwrap_or(DRIVER_NEAR_MISS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, name: &str, lic: &str, st: &str, email: &str, phone: &str) -> Driver {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Driver {
            id: id.into(),
            name: opt(name),
            license_number: opt(lic),
            license_state: opt(st),
            email: opt(email),
            phone: opt(phone),
            username: None,
            employee_id: None,
            external_ids: vec![],
        }
    }

    #[test]
    fn drivers_match_on_licence_email_phone_and_name() {
        let left = vec![
            d("s1", "John Smith", "D1234567", "CA", "", ""),
            d(
                "s2",
                "Maria Garcia",
                "",
                "",
                "maria.garcia@acme.com",
                "555-010-2030",
            ),
            d("s3", "Wei Chen", "W9876543", "TX", "", ""),
            d("s4", "Ann Lee", "A1112223", "WA", "", ""),
            d("s5", "Sam Jones", "S5555555", "OR", "", ""),
        ];
        let right = vec![
            d("f1", "SMITH, JOHN", "d123-4567", "California", "", ""),
            d(
                "f2",
                "Garcia, Maria",
                "",
                "",
                "Maria.Garcia@acme.com",
                "+1 (555) 010-2030",
            ),
            d("f3", "Chen Wei", "W9876534", "TX", "", ""),
            d("f4", "Bob Brown", "A1112223", "NV", "", ""),
            d("f5", "Sam Jones", "S7777777", "OR", "", ""),
        ];
        let mut res = match_drivers(&left, &right, &MatchOptions::default());
        res.links.sort_by_key(|l| l.left);
        let pairs: Vec<(usize, usize)> = res.links.iter().map(|l| (l.left, l.right)).collect();
        assert_eq!(pairs, vec![(0, 0), (1, 1), (2, 2)]);
        assert!(res.links[0].reasons.contains(Reason::LicenseExact));
        assert!(res.links[2].reasons.contains(Reason::LicenseTypo));
        assert_eq!(
            res.unmatched_left,
            vec![3, 4],
            "other state / other licence: no link"
        );
    }

    #[test]
    fn employee_numbers_match_payroll_ids() {
        let mut s1 = d("s1", "Aisha Lee", "", "", "", "");
        s1.external_ids = vec![("payrollId".into(), "PR01310".into())];
        let s2 = d("s2", "Wei Chen", "", "", "", "");
        let mut f1 = d("f1", "A. Lee", "", "", "", "");
        f1.employee_id = Some("pr-01310".into());
        // The FMC's own numbering for Wei Chen: no evidence either way.
        let mut f2 = d("f2", "Chen, Wei", "W1", "", "", "");
        f2.employee_id = Some("E20017".into());
        let res = match_drivers(&[s1.clone(), s2], &[f1, f2], &MatchOptions::default());
        assert_eq!(res.links.len(), 1, "{res:?}");
        assert_eq!((res.links[0].left, res.links[0].right), (0, 0));
        assert!(res.links[0].reasons.contains(Reason::EmployeeId));
        // Another person with the same number: the names disagree, no link.
        let mut other = d("f3", "Hector Lopez", "", "", "", "");
        other.employee_id = Some("PR01310".into());
        assert!(match_drivers(&[s1], &[other], &MatchOptions::default())
            .links
            .is_empty());
    }

    #[test]
    fn nicknames_and_initials_are_name_evidence() {
        // A mistyped licence (+40) needs the name to reach the cutoff.
        let left = vec![
            d("s1", "Robert Smith", "D1234567", "CA", "", ""),
            d("s2", "Elizabeth Moore", "E7654321", "CA", "", ""),
            d("s3", "Aisha Lee", "06-304-0167", "CO", "", ""),
            d("s4", "William Brown", "W1111111", "CA", "", ""),
            d("s5", "Michael Davis", "M5555555", "CA", "", ""),
        ];
        let right = vec![
            d("f1", "SMITH, BOB", "D1234576", "CA", "", ""),
            d("f2", "Liz Moore", "E7654320", "CA", "", ""),
            d("f3", "A. Lee", "06-304-5167", "CO", "", ""),
            // A nickname of another name, or another given name with the surname: no help.
            d("f4", "Bob Brown", "W1111112", "CA", "", ""),
            d("f5", "Hector Davis", "M5555556", "CA", "", ""),
        ];
        let mut res = match_drivers(&left, &right, &MatchOptions::default());
        res.links.sort_by_key(|l| l.left);
        let pairs: Vec<(usize, usize)> = res.links.iter().map(|l| (l.left, l.right)).collect();
        assert_eq!(pairs, vec![(0, 0), (1, 1), (2, 2)]);
        assert!(res.links[0].reasons.contains(Reason::NameNickname));
        assert!(res.links[2].reasons.contains(Reason::NameInitial));
        // Aligned names weigh less than the same name written out.
        let exact = vec![d("f1", "Robert Smith", "D1234576", "CA", "", "")];
        let full = match_drivers(&left[..1], &exact, &MatchOptions::default());
        assert!(full.links[0].score > res.links[0].score);
    }

    fn pair(a: &Driver, b: &Driver) -> MatchResult {
        match_drivers(
            std::slice::from_ref(a),
            std::slice::from_ref(b),
            &MatchOptions::default(),
        )
    }

    fn linked_with(a: &Driver, b: &Driver, reason: Reason) {
        let res = pair(a, b);
        assert_eq!(res.links.len(), 1, "{a:?} {b:?}: {res:?}");
        assert!(
            res.links[0].reasons.contains(reason),
            "{:?}: {}",
            reason,
            res.links[0].reasons.codes()
        );
    }

    #[test]
    fn a_typo_in_what_reads_as_a_state_prefix_is_a_typo_not_another_licence() {
        // `WY948723` reads as Wyoming + 948723, `GY948723` has no state prefix: one edit as written.
        let s = d("s", "Robert Miller", "GY948723", "", "", "5125550101");
        linked_with(
            &s,
            &d("f", "Robert Miller", "WY948723", "", "", "512-555-0101"),
            Reason::LicenseTypo,
        );
    }

    #[test]
    fn licences_with_a_state_prefix_or_dropped_zeros_are_the_same_licence() {
        // The licence is the only identifier: without the normalisation these were −40.
        let s = d("s", "Wei Chen", "07567840", "TX", "", "");
        linked_with(
            &s,
            &d("f", "CHEN, WEI", "TX07567840", "TX", "", ""),
            Reason::LicenseExact,
        );
        linked_with(
            &s,
            &d("f", "Wei Chen", "7567840", "TX", "", ""),
            Reason::LicenseExact,
        );
        let s = d("s", "Ann Lee", "004434640", "NY", "", "");
        linked_with(
            &s,
            &d("f", "Lee, Ann", "4434640", "NY", "", ""),
            Reason::LicenseExact,
        );
        // Another number behind the same prefix is still another licence.
        assert!(
            pair(&s, &d("f", "Ann Lee", "NY004434641", "NY", "", ""))
                .links
                .len()
                == 1
        );
        assert!(pair(&s, &d("f", "Ann Lee", "NY004434999", "NY", "", ""))
            .links
            .is_empty());
    }

    #[test]
    fn employee_numbers_with_dropped_zeros_or_as_floats_agree() {
        let mut s = d("s", "Maria Lopez", "", "", "", "");
        s.external_ids = vec![("payrollId".into(), "084324".into())];
        for emp in ["84324", "84324.0", "084324"] {
            let mut f = d("f", "LOPEZ, MARIA", "", "", "", "");
            f.employee_id = Some(emp.into());
            linked_with(&s, &f, Reason::EmployeeId);
        }
        let mut f = d("f", "Maria Lopez", "", "", "", "");
        f.employee_id = Some("84325".into());
        assert!(pair(&s, &f).links.is_empty());
    }

    #[test]
    fn accented_transliterated_and_mojibake_names_agree() {
        // An e-mail (+45) needs the name (+30) to link; a name conflict (−30) would sink it.
        for (a, b) in [
            ("Lam Do", "ĐỖ, LÂM"),
            ("Jurgen Muller", "Jürgen Müller"),
            ("Juergen Mueller", "MÜLLER, JÜRGEN"),
            ("Jose Nunez", "JosÃ© NÃºÃ±ez"),
            ("Lukasz Lecki", "Å\u{81}Ä™cki, Å\u{81}ukasz"),
            ("Soren Sorensen", "Søren Sørensen"),
        ] {
            let s = d("s", a, "", "", "x@fleet.example", "");
            let f = d("f", b, "", "", "X@fleet.example", "");
            let res = pair(&s, &f);
            assert_eq!(res.links.len(), 1, "{a} / {b}: {res:?}");
            assert!(res.links[0].reasons.contains(Reason::NameSimilar), "{a} / {b}");
            assert!(!res.links[0].reasons.contains(Reason::NameConflict), "{a} / {b}");
        }
        // Found by the name alone as a candidate: a licence typo (+40) plus the name.
        let s = d("s", "Lâm Đỗ", "D1234567", "CA", "", "");
        let f = d("f", "Lam Do", "D1234576", "CA", "", "");
        linked_with(&s, &f, Reason::LicenseTypo);
    }

    #[test]
    fn a_stale_licence_does_not_sink_a_pair_that_agrees_on_everything_else() {
        let s = d(
            "s",
            "Ana Ruiz",
            "A1234567",
            "CA",
            "ana@acme.example",
            "555-010-2030",
        );
        // Renewed with a new number in the same state: name + phone + e-mail still link.
        linked_with(
            &s,
            &d(
                "f",
                "Ruiz, Ana",
                "A7654321",
                "CA",
                "ana@acme.example",
                "(555) 010-2030",
            ),
            Reason::LicenseConflict,
        );
        // Name + e-mail and a licence from another state (re-issued after a move).
        linked_with(
            &s,
            &d("f", "Ana Ruiz", "98765432", "TX", "ana@acme.example", ""),
            Reason::LicenseReissued,
        );
        // The same number under a wrong state carries most of the licence's weight.
        let res = pair(&s, &d("f", "Ana Ruiz", "A1234567", "NV", "", ""));
        assert_eq!(res.links.len(), 1);
        assert!(res.links[0].reasons.contains(Reason::LicenseOtherState));
        assert!(res.links[0].score >= 85.0, "{}", res.links[0].score);
        // … but not with another person's name.
        assert!(pair(&s, &d("f", "Bob Brown", "A1234567", "NV", "", ""))
            .links
            .is_empty());
        // A different licence with only the name and a (household) phone: not a link.
        let res = pair(&s, &d("f", "Ana Ruiz", "A7654321", "CA", "", "555-010-2030"));
        assert!(res.links.is_empty(), "{res:?}");
    }

    #[test]
    fn phone_extensions_are_cut_off() {
        let s = d("s", "Omar Haddad", "", "", "", "5550102030");
        for phone in [
            "(555) 010-2030 x214",
            "555.010.2030 ext. 7",
            "+1 555 010 2030 #12",
        ] {
            linked_with(&s, &d("f", "HADDAD, OMAR", "", "", "", phone), Reason::PhoneExact);
        }
    }

    #[test]
    fn generational_suffixes_are_evidence_against_a_link() {
        // A father in Samsara, his son in HR: same name, the household phone.
        let father = d("s", "John Smith", "", "", "", "555-010-2030");
        let son = d("f", "SMITH JR, JOHN", "", "", "", "(555) 010-2030");
        let res = pair(&father, &son);
        assert!(res.links.is_empty() && res.review.is_empty(), "{res:?}");
        let sr = d("s", "John Smith Sr.", "", "", "", "555-010-2030");
        assert!(pair(&sr, &son).links.is_empty());
        // Without the suffix, name and phone link; with the same suffix on both sides too.
        assert_eq!(
            pair(&father, &d("f", "Smith, John", "", "", "", "5550102030"))
                .links
                .len(),
            1
        );
        let jr = d("s", "John Smith Jr", "", "", "", "555-010-2030");
        assert_eq!(pair(&jr, &son).links.len(), 1);
        // Both on both sides: each links to himself.
        let left = vec![
            d("s1", "John Smith", "D1111111", "CA", "", "555-010-2030"),
            d("s2", "John Smith Jr", "D2222222", "CA", "", "555-010-2030"),
        ];
        let right = vec![
            d("f1", "SMITH JR, JOHN", "D2222222", "CA", "", "555-010-2030"),
            d("f2", "SMITH SR, JOHN", "D1111111", "CA", "", "555-010-2030"),
        ];
        let mut res = match_drivers(&left, &right, &MatchOptions::default());
        res.links.sort_by_key(|l| l.left);
        let pairs: Vec<(usize, usize)> = res.links.iter().map(|l| (l.left, l.right)).collect();
        assert_eq!(pairs, vec![(0, 1), (1, 0)]);
        // A suffix needs two other tokens: "Jr" alone is a name.
        assert_eq!(prep(&d("s", "Jr Smith", "", "", "", "")).suffix, None);
    }

    #[test]
    fn near_misses_go_to_review_instead_of_unmatched() {
        // Employee number (+50) and a name with a typo in it (+5): 55, just under the cutoff.
        let mut s = d("s", "George Jones", "", "", "", "");
        s.external_ids = vec![("payrollId".into(), "015039".into())];
        let mut f = d("f", "JOYES, GEORGE C", "", "", "", "");
        f.employee_id = Some("15039.0".into());
        let res = pair(&s, &f);
        assert!(res.links.is_empty());
        assert_eq!(res.review.len(), 1, "{res:?}");
        assert!(res.review[0].score < 60.0 && res.review[0].score >= 50.0);
        assert!(res.unmatched_left.is_empty() && res.unmatched_right.is_empty());
        // Turned off, the pair is unmatched.
        let off = MatchOptions {
            near_miss: Some(0.0),
            ..MatchOptions::default()
        };
        let res = match_drivers(&[s], &[f], &off);
        assert!(res.review.is_empty() && res.unmatched_left == vec![0]);
    }
}
