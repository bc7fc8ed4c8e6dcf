//! VIN normalisation, validation, repair and decoding (ISO 3779 / 49 CFR 565).
//!
//! A VIN is 17 characters from `0-9` and `A-Z` without `I`, `O` and `Q` (49 CFR 565.14; ISO 3779).
//! Position 9 is a check digit ([`check_digit`]), mandatory for vehicles made for North America
//! (WMI starting `1`–`5`) and optional elsewhere, so a wrong check digit on a European or Asian VIN
//! is reported as a warning ([`Vin::check_digit_valid`]) rather than an error. Position 10 is the
//! model-year code (49 CFR 565.15(a)), which never is `U`, `Z` or `0`.
//!
//! [`normalize`] trims, upper-cases and drops separators; [`validate`] then checks the structure and
//! returns a [`Vin`] or a [`VinError`] whose [`VinError::reason`] is a stable code. [`repair`] proposes
//! corrections for mistyped VINs and [`decode`] splits a valid one into WMI, model year, plant and
//! serial.

pub mod check_digit;
mod decode;
mod repair;
mod wmi;

pub use check_digit::{compute_check_digit, has_valid_check_digit};
pub(crate) use decode::{decode, model_year_candidates};
pub(crate) use repair::{repair, VinEdit};
pub(crate) use wmi::manufacturer;

/// Characters dropped by [`normalize`]: whitespace and the separators people type into VINs.
const SEPARATORS: &[char] = &['-', '.', '_', '/', '*', '\'', '"', ','];

/// The validated, normalised VIN: 17 upper-case characters, no `I`, `O` or `Q`, a legal model-year
/// code, and (for North American VINs) a correct check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Vin {
    text: String,
    check_digit_valid: bool,
}

impl Vin {
    /// The normalised VIN.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether position 9 holds the check digit the other 16 characters call for. Always `true`
    /// for North American VINs (they are rejected otherwise); may be `false` for others.
    pub(crate) fn check_digit_valid(&self) -> bool {
        self.check_digit_valid
    }

    /// Consumes the VIN and returns its text.
    pub(crate) fn into_string(self) -> String {
        self.text
    }
}

impl std::fmt::Display for Vin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a string is not a valid VIN. Each variant has a stable [`reason`](VinError::reason) code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VinError {
    /// Nothing left after normalisation.
    #[error("the VIN is empty")]
    Empty,
    /// Not 17 characters after normalisation.
    #[error("VIN `{vin}` has {len} characters, a VIN has 17")]
    Length {
        /// The normalised input.
        vin: String,
        /// Its length in characters.
        len: usize,
    },
    /// A character a VIN may not contain (`I`, `O`, `Q`, or anything not `0-9`/`A-Z`).
    #[error("VIN `{vin}` has `{found}` at position {position}, which a VIN may not contain{hint}")]
    Character {
        /// The normalised input.
        vin: String,
        /// 1-based position of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
        /// A suggestion, e.g. "; `O` is usually a mistyped `0`".
        hint: &'static str,
    },
    /// Position 10 is not a model-year code (`U`, `Z` and `0` are never used).
    #[error("VIN `{vin}` has `{found}` at position 10, which is not a model-year code")]
    ModelYear {
        /// The normalised input.
        vin: String,
        /// The character at position 10.
        found: char,
    },
    /// A North American VIN whose position 9 does not match the computed check digit.
    #[error("VIN `{vin}` has check digit `{found}` at position 9 but its characters call for `{expected}`")]
    CheckDigit {
        /// The normalised input.
        vin: String,
        /// The check digit the other characters call for.
        expected: char,
        /// The character at position 9.
        found: char,
    },
}

impl VinError {
    /// The stable reason code: `"empty"`, `"length"`, `"character"`, `"model_year"` or `"check_digit"`.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Length { .. } => "length",
            Self::Character { .. } => "character",
            Self::ModelYear { .. } => "model_year",
            Self::CheckDigit { .. } => "check_digit",
        }
    }

    /// The normalised VIN the error is about (empty for [`VinError::Empty`]).
    pub(crate) fn vin(&self) -> &str {
        match self {
            Self::Empty => "",
            Self::Length { vin, .. }
            | Self::Character { vin, .. }
            | Self::ModelYear { vin, .. }
            | Self::CheckDigit { vin, .. } => vin,
        }
    }
}

/// Trims, upper-cases and drops whitespace and separators (`-`, `.`, `_`, `/`, …). Other
/// characters are kept, so [`validate`] can name them.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !SEPARATORS.contains(c))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether a VIN is subject to the mandatory check digit: North American WMIs start with `1`–`5`.
pub(crate) fn is_north_american(vin: &[u8]) -> bool {
    matches!(vin.first(), Some(b'1'..=b'5'))
}

/// Whether `c` may appear at position 10 (the model-year code).
pub(crate) const fn is_model_year_code(c: u8) -> bool {
    matches!(c, b'1'..=b'9' | b'A'..=b'H' | b'J'..=b'N' | b'P' | b'R'..=b'T' | b'V'..=b'Y')
}

/// Normalises and validates `s`; see the module docs for the rules.
pub(crate) fn validate(s: &str) -> Result<Vin, VinError> {
    let text = normalize(s);
    validate_normalized(text)
}

/// [`validate`] for text that is already normalised.
fn validate_normalized(text: String) -> Result<Vin, VinError> {
    // Characters first: a 16-character VIN with an `O` is best explained by the `O`.
    let text = legal_characters(text)?;
    let len = text.len();
    if len != 17 {
        return Err(VinError::Length { vin: text, len });
    }
    let bytes = text.as_bytes();
    if !is_model_year_code(bytes[9]) {
        let found = char::from(bytes[9]);
        return Err(VinError::ModelYear { vin: text, found });
    }
    let expected = compute_check_digit(bytes).unwrap_or(b'?');
    let check_digit_valid = bytes[8] == expected;
    if !check_digit_valid && is_north_american(bytes) {
        let (expected, found) = (char::from(expected), char::from(bytes[8]));
        return Err(VinError::CheckDigit {
            vin: text,
            expected,
            found,
        });
    }
    Ok(Vin {
        text,
        check_digit_valid,
    })
}

/// `text` (normalised) if it is not empty and every character may appear in a VIN.
fn legal_characters(text: String) -> Result<String, VinError> {
    if text.is_empty() {
        return Err(VinError::Empty);
    }
    if let Some((i, found)) = text
        .chars()
        .enumerate()
        .find(|&(_, c)| !c.is_ascii() || check_digit::transliterate(c as u8).is_none())
    {
        let hint = match found {
            'O' | 'Q' => "; it is usually a mistyped `0`",
            'I' => "; it is usually a mistyped `1`",
            _ => "",
        };
        return Err(VinError::Character {
            vin: text,
            position: i + 1,
            found,
            hint,
        });
    }
    Ok(text)
}

/// Whether `s` is a valid VIN (never fails).
pub(crate) fn is_valid(s: &str) -> bool {
    validate(s).is_ok()
}

/// The check digit `s` (normalised, 17 legal characters) should carry at position 9.
pub(crate) fn check_digit_of(s: &str) -> Result<char, VinError> {
    let text = legal_characters(normalize(s))?;
    let len = text.len();
    compute_check_digit(text.as_bytes())
        .map(char::from)
        .ok_or(VinError::Length { vin: text, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            (" - ", "empty"),
            ("1M8GDM9AXKP04278", "length"),
            ("1M8GDM9AXKP0427888", "length"),
            ("1M8GDM9AXKP04278O", "character"),
            ("1M8GDM9AXKP0427I8", "character"),
            ("1M8GDM9AXKP0427Q8", "character"),
            ("1M8GDM9AXKP04278é", "character"),
            ("1M8GDM9AXKP0427#8", "character"),
            ("1M8GDM9AXUP042788", "model_year"),
            ("1M8GDM9AXZP042788", "model_year"),
            ("1M8GDM9AX0P042788", "model_year"),
            ("1M8GDM9A1KP042788", "check_digit"),
        ];
        for &(input, reason) in cases {
            let err = validate(input).expect_err(input);
            assert_eq!(err.reason(), reason, "{input}: {err}");
        }
    }

    #[test]
    fn normalises_and_accepts() {
        let vin = validate(" 1m8gdm9a-xkp 042.788 ").unwrap();
        assert_eq!(vin.as_str(), "1M8GDM9AXKP042788");
        assert!(vin.check_digit_valid());
        assert!(is_valid("1HGCM82633A004352"));
        assert!(!is_valid("1HGCM82623A004352"));
    }

    #[test]
    fn check_digit_is_a_warning_outside_north_america() {
        // A German VIN with an arbitrary position 9 (Europe does not use the check digit).
        let vin = validate("WDB1240821A123456").unwrap();
        assert!(!vin.check_digit_valid());
        assert_eq!(vin.as_str(), "WDB1240821A123456");
    }

    #[test]
    fn messages_name_the_value() {
        let err = validate("1M8GDM9AXKP04278O").unwrap_err();
        assert_eq!(
            err.to_string(),
            "VIN `1M8GDM9AXKP04278O` has `O` at position 17, which a VIN may not contain; it is usually a mistyped `0`"
        );
        let err = validate("1M8GDM9A1KP042788").unwrap_err();
        assert!(err.to_string().contains("call for `X`"), "{err}");
    }

    #[test]
    fn check_digit_of_input() {
        assert_eq!(check_digit_of("1M8GDM9A1KP042788").unwrap(), 'X');
        assert_eq!(check_digit_of("1m8gdm9a0kp042788").unwrap(), 'X');
        assert_eq!(check_digit_of("12345").unwrap_err().reason(), "length");
        assert_eq!(check_digit_of("").unwrap_err().reason(), "empty");
    }
}
