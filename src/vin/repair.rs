//! Repair candidates for a mistyped VIN.
//!
//! 1. `O` and `Q` become `0`, `I` becomes `1` (they are never VIN characters; these are the usual
//!    misreadings).
//! 2. If the check digit still fails: every single-character substitution and every adjacent
//!    transposition that makes it valid. A 16-character VIN gets every single insertion that makes
//!    it valid, an 18-character VIN every single deletion.
//!
//! Candidates must be valid VINs (legal model-year code included; the check digit for North American
//! VINs). A dropped or doubled character next to its twin (`…0042…` typed `…042…`) is the likeliest
//! length error and ranks first; outside North America no check digit narrows an insertion down, so a
//! 16-character foreign VIN gets hundreds of equally plausible candidates (the limit keeps the best). They come ranked: fewest and most
//! plausible edits first, where a visually confusable substitution (`S`/`5`, `B`/`8`, `Z`/`2`, …) costs
//! less than an arbitrary one. A VIN from outside North America needs no check digit, so step 1's
//! result is a candidate for it even when the digit fails.

use super::check_digit::transliterate;
use super::{has_valid_check_digit, is_model_year_code, is_north_american, normalize};

/// The characters a VIN may contain.
const VIN_CHARS: &[u8; 33] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

/// Index of the check digit (position 9).
const CHECK_DIGIT_INDEX: usize = 8;
/// The cost of replacing the check digit: below a confusable substitution (0.5) and a transposition
/// (0.6), so that fix ranks first.
const CHECK_DIGIT_FIX_COST: f32 = 0.4;

/// Pairs of characters people (and OCR) confuse, both ways.
const CONFUSABLE: &[(u8, u8)] = &[
    (b'0', b'D'),
    (b'0', b'U'),
    (b'1', b'L'),
    (b'1', b'7'),
    (b'1', b'T'),
    (b'2', b'Z'),
    (b'3', b'8'),
    (b'4', b'A'),
    (b'5', b'S'),
    (b'6', b'G'),
    (b'6', b'8'),
    (b'8', b'B'),
    (b'9', b'G'),
    (b'C', b'G'),
    (b'E', b'F'),
    (b'M', b'N'),
    (b'P', b'R'),
    (b'U', b'V'),
    (b'V', b'Y'),
    (b'K', b'X'),
];

/// One edit that turns the input into a candidate. Positions are 1-based, in the VIN after the
/// edits before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VinEdit {
    /// The character at `position` was `from`, the candidate has `to`.
    Substitute {
        /// 1-based position.
        position: usize,
        /// The character in the input.
        from: char,
        /// The character in the candidate.
        to: char,
    },
    /// The characters at `position` and `position + 1` were swapped.
    Transpose {
        /// 1-based position of the first of the two.
        position: usize,
    },
    /// `inserted` was added so that it stands at `position` in the candidate.
    Insert {
        /// 1-based position in the candidate.
        position: usize,
        /// The added character.
        inserted: char,
    },
    /// The character at `position` was dropped.
    Delete {
        /// 1-based position.
        position: usize,
        /// The dropped character.
        found: char,
    },
}

impl VinEdit {
    /// A stable code for the kind of edit: `"substitute"`, `"transpose"`, `"insert"` or `"delete"`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Substitute { .. } => "substitute",
            Self::Transpose { .. } => "transpose",
            Self::Insert { .. } => "insert",
            Self::Delete { .. } => "delete",
        }
    }
}

impl std::fmt::Display for VinEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Substitute { position, from, to } => write!(f, "`{from}` → `{to}` at position {position}"),
            Self::Transpose { position } => {
                write!(f, "swap positions {position} and {}", position + 1)
            }
            Self::Insert { position, inserted } => {
                write!(f, "insert `{inserted}` at position {position}")
            }
            Self::Delete { position, found } => write!(f, "drop `{found}` at position {position}"),
        }
    }
}

/// A repaired VIN and the edits that produced it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VinRepair {
    /// The candidate VIN (valid).
    pub(crate) candidate: String,
    /// The edits, in order.
    pub(crate) edits: Vec<VinEdit>,
    /// How implausible the edits are; lower is likelier. Candidates come sorted by it.
    pub(crate) cost: f32,
}

impl VinRepair {
    /// The edits joined into one readable description.
    pub(crate) fn description(&self) -> String {
        self.edits
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn confusable(a: u8, b: u8) -> bool {
    CONFUSABLE
        .iter()
        .any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b))
}

/// The cost of adding or dropping `c` at index `i` of the shorter VIN `short`: a character next to
/// its twin (a doubled keystroke, or one of a pair lost) is the likelier slip.
fn length_cost(short: &[u8], i: usize, c: u8) -> f32 {
    let twin = short.get(i) == Some(&c) || (i > 0 && short.get(i - 1) == Some(&c));
    if twin {
        0.7
    } else {
        0.9
    }
}

/// Whether `v` (17 bytes) is a candidate: legal characters, model-year code, and a check digit
/// that holds (or, outside North America, any check digit when `lenient`).
fn acceptable(v: &[u8], lenient: bool) -> bool {
    v.len() == 17
        && v.iter().all(|&c| transliterate(c).is_some())
        && is_model_year_code(v[9])
        && (has_valid_check_digit(v) || (lenient && !is_north_american(v)))
}

/// Repair candidates for `s`, best first, at most `limit`. Empty when `s` is already valid or
/// nothing within one edit (after the `O`/`I`/`Q` mapping) is.
pub(crate) fn repair(s: &str, limit: usize) -> Vec<VinRepair> {
    let text = normalize(s);
    if super::is_valid(&text) || !text.is_ascii() {
        return Vec::new();
    }
    // Step 1: the letters a VIN never has.
    let mut base = text.into_bytes();
    let mut mapped = Vec::new();
    for (i, c) in base.iter_mut().enumerate() {
        let to = match *c {
            b'O' | b'Q' => b'0',
            b'I' => b'1',
            _ => continue,
        };
        mapped.push(VinEdit::Substitute {
            position: i + 1,
            from: char::from(*c),
            to: char::from(to),
        });
        *c = to;
    }
    #[allow(clippy::cast_precision_loss)]
    let base_cost = 0.1 * mapped.len() as f32;
    let mut out = Vec::new();
    let mut push = |v: Vec<u8>, extra: Option<VinEdit>, cost: f32| {
        let mut edits = mapped.clone();
        edits.extend(extra);
        if let Ok(candidate) = String::from_utf8(v) {
            out.push(VinRepair {
                candidate,
                edits,
                cost: base_cost + cost,
            });
        }
    };
    if !mapped.is_empty() && acceptable(&base, true) {
        push(base, None, 0.0);
    } else if base.len() == 17 && base.iter().all(|&c| transliterate(c).is_some()) {
        // Step 2: one substitution or one adjacent transposition.
        for i in 0..17 {
            let from = base[i];
            for &to in VIN_CHARS {
                if to == from {
                    continue;
                }
                let mut v = base.clone();
                v[i] = to;
                if acceptable(&v, false) {
                    // The check digit itself mistyped (or computed wrong by whoever issued the
                    // record) is the likeliest single cause of a failing check: one position, one
                    // right value, while every other substitution only happens to balance the sum.
                    let cost = if i == CHECK_DIGIT_INDEX {
                        CHECK_DIGIT_FIX_COST
                    } else if confusable(from, to) {
                        0.5
                    } else {
                        1.0
                    };
                    let edit = VinEdit::Substitute {
                        position: i + 1,
                        from: char::from(from),
                        to: char::from(to),
                    };
                    push(v, Some(edit), cost);
                }
            }
        }
        for i in 0..16 {
            if base[i] != base[i + 1] {
                let mut v = base.clone();
                v.swap(i, i + 1);
                if acceptable(&v, false) {
                    push(v, Some(VinEdit::Transpose { position: i + 1 }), 0.6);
                }
            }
        }
    } else if base.len() == 16 {
        for i in 0..=16 {
            for &c in VIN_CHARS {
                // Inserting next to an equal character gives the same VIN from both sides: once.
                if i > 0 && base[i - 1] == c {
                    continue;
                }
                let mut v = base.clone();
                v.insert(i, c);
                if acceptable(&v, true) {
                    let edit = VinEdit::Insert {
                        position: i + 1,
                        inserted: char::from(c),
                    };
                    push(v, Some(edit), length_cost(&base, i, c));
                }
            }
        }
    } else if base.len() == 18 {
        for i in 0..18 {
            let mut v = base.clone();
            let found = v.remove(i);
            // Dropping either of two equal neighbours gives the same VIN: keep the first.
            if i > 0 && base[i - 1] == found {
                continue;
            }
            if acceptable(&v, true) {
                let edit = VinEdit::Delete {
                    position: i + 1,
                    found: char::from(found),
                };
                let cost = length_cost(&v, i, found);
                push(v, Some(edit), cost);
            }
        }
    }
    out.sort_by(|a, b| {
        a.cost
            .total_cmp(&b.cost)
            .then_with(|| a.candidate.cmp(&b.candidate))
    });
    out.dedup_by(|a, b| a.candidate == b.candidate);
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "1M8GDM9AXKP042788";

    #[test]
    fn maps_o_i_q() {
        let r = repair("1M8GDM9AXKPO42788", 10);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].candidate, GOOD);
        assert_eq!(r[0].description(), "`O` → `0` at position 12");
        let r = repair("IM8GDM9AXKP042788", 10);
        assert_eq!(r[0].candidate, GOOD);
        assert_eq!(r[0].edits[0].kind(), "substitute");
        let r = repair("1M8GDM9AXKPQ42788", 10);
        assert_eq!(r[0].candidate, GOOD);
    }

    #[test]
    fn finds_transposition_and_substitution() {
        // Positions 15 and 16 swapped.
        let r = repair("1M8GDM9AXKP042878", 50);
        assert!(r
            .iter()
            .any(|c| c.candidate == GOOD && c.edits == [VinEdit::Transpose { position: 15 }]));
        // `S` typed for `5`-like confusions rank before arbitrary substitutions.
        let r = repair("1M8GDM9AXKP042781", 50);
        assert!(r.iter().any(|c| c.candidate == GOOD));
        assert!(r.iter().all(|c| has_valid_check_digit(c.candidate.as_bytes())));
        assert!(r.windows(2).all(|w| w[0].cost <= w[1].cost));
        // A wrong check digit is itself a one-character repair, and the likeliest one.
        let r = repair("1M8GDM9A1KP042788", 50);
        assert_eq!(r[0].candidate, GOOD);
        assert_eq!(r[0].description(), "`1` → `X` at position 9");
    }

    #[test]
    fn eighteen_characters_drop_one() {
        let r = repair("1M8GDM9AXKP0427888", 50);
        assert!(r
            .iter()
            .any(|c| c.candidate == GOOD && c.edits[0].kind() == "delete"));
    }

    #[test]
    fn sixteen_characters_get_one_inserted() {
        // The second `8` of `…788` lost: restoring a twin ranks before other insertions.
        let r = repair("1M8GDM9AXKP04278", 1000);
        let hit = r.iter().position(|c| c.candidate == GOOD);
        let hit = hit.map(|i| &r[i]);
        assert!(hit.is_some_and(|c| c.edits[0].kind() == "insert" && (c.cost - 0.7).abs() < 1e-6));
        assert!(r.iter().all(|c| super::super::is_valid(&c.candidate)));
        assert!(r.windows(2).all(|w| w[0].cost <= w[1].cost));
        // One edit each, and no candidate twice.
        let mut seen: Vec<&str> = r.iter().map(|c| c.candidate.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), r.len());
        // A lost check digit.
        let r = repair("1M8GDM9AKP042788", 1000);
        assert!(r.iter().any(|c| c.candidate == GOOD
            && c.edits
                == [VinEdit::Insert {
                    position: 9,
                    inserted: 'X'
                }]
            && c.description() == "insert `X` at position 9"));
    }

    #[test]
    fn nothing_to_do_or_nothing_possible() {
        assert!(repair(GOOD, 10).is_empty());
        assert!(repair("", 10).is_empty());
        assert!(repair("12345", 10).is_empty());
        assert!(repair("1M8GDM9AXKP04278é", 10).is_empty());
        assert_eq!(repair("1M8GDM9A1KP042788", 3).len(), 3);
    }

    #[test]
    fn foreign_vin_keeps_its_check_digit() {
        let r = repair("WDB124O821A123456", 10);
        assert_eq!(r[0].candidate, "WDB1240821A123456");
    }
}
