//! Decoding a valid VIN: WMI, descriptor, check digit, model year, plant and serial.
//!
//! The model-year code (position 10) cycles every 30 years (49 CFR 565.15(a)): `A`–`Y` without
//! `I`, `O`, `Q`, `U`, `Z`, then `1`–`9`, starting with `A` = 1980. The cycle is resolved with the
//! position-7 rule (49 CFR 565.15(a)(4)): for vehicles of up to 10,000 lb GVWR, a numeric position 7
//! means 1980–2009 and a letter 2010–2039. Heavy trucks and trailers are not bound by that rule, so
//! [`VinInfo::model_year_candidates`] keeps both readings for callers that know better (a record's
//! `year` field, say).

use super::{validate, wmi, VinError};

/// The 30 model-year codes in order, `A` = 1980.
const YEAR_CODES: &[u8; 30] = b"ABCDEFGHJKLMNPRSTVWXY123456789";

/// A decoded VIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VinInfo {
    /// The normalised VIN.
    pub(crate) vin: String,
    /// World manufacturer identifier, positions 1–3 (for makers of fewer than 1,000 vehicles a year,
    /// position 3 is `9` and positions 12–14 complete it; see [`VinInfo::small_manufacturer`]).
    pub(crate) wmi: String,
    /// Vehicle descriptor section, positions 4–8.
    pub(crate) vds: String,
    /// Position 9.
    pub(crate) check_digit: char,
    /// Whether position 9 is the computed check digit (always `true` for North American VINs).
    pub(crate) check_digit_valid: bool,
    /// Position 10.
    pub(crate) model_year_code: char,
    /// The model year per the position-7 rule.
    pub(crate) model_year: u16,
    /// Both readings of the model-year code within 1980–2039, earlier first.
    pub(crate) model_year_candidates: [u16; 2],
    /// Assembly plant code, position 11.
    pub(crate) plant: char,
    /// Production sequence number, positions 12–17.
    pub(crate) serial: String,
    /// The manufacturer, for the WMIs in our table.
    pub(crate) manufacturer: Option<&'static str>,
    /// Country of manufacture, from positions 1–2.
    pub(crate) country: Option<&'static str>,
    /// Made for North America (WMI `1`–`5`), where the check digit is mandatory.
    pub(crate) north_american: bool,
    /// Position 3 is `9`: a maker of fewer than 1,000 vehicles a year, identified by positions 12–14 too.
    pub(crate) small_manufacturer: bool,
    /// Warning codes that did not make the VIN invalid: `"check_digit"` (a failed check digit on a
    /// VIN from outside North America).
    pub(crate) warnings: Vec<&'static str>,
}

/// Both model years (1980–2009 and 2010–2039) a position-10 code can stand for.
pub(crate) fn model_year_candidates(code: u8) -> Option<[u16; 2]> {
    let i = YEAR_CODES.iter().position(|&c| c == code)?;
    let y = 1980 + u16::try_from(i).ok()?;
    Some([y, y + 30])
}

/// The model year of a 17-character VIN by the position-7 rule, `None` if position 10 is not a code.
pub(crate) fn resolve_model_year(vin: &[u8]) -> Option<u16> {
    let [early, late] = model_year_candidates(*vin.get(9)?)?;
    Some(if vin.get(6).is_some_and(u8::is_ascii_alphabetic) {
        late
    } else {
        early
    })
}

/// Validates and decodes `s`.
pub(crate) fn decode(s: &str) -> Result<VinInfo, VinError> {
    let vin = validate(s)?;
    let text = vin.as_str();
    let b = text.as_bytes();
    let [early, late] = model_year_candidates(b[9]).unwrap_or([0, 0]);
    let model_year = resolve_model_year(b).unwrap_or(early);
    let mut warnings = Vec::new();
    if !vin.check_digit_valid() {
        warnings.push("check_digit");
    }
    Ok(VinInfo {
        wmi: text[..3].to_owned(),
        vds: text[3..8].to_owned(),
        check_digit: char::from(b[8]),
        check_digit_valid: vin.check_digit_valid(),
        model_year_code: char::from(b[9]),
        model_year,
        model_year_candidates: [early, late],
        plant: char::from(b[10]),
        serial: text[11..].to_owned(),
        manufacturer: wmi::manufacturer(text),
        country: wmi::country(text),
        north_american: super::is_north_american(b),
        small_manufacturer: b[2] == b'9',
        warnings,
        vin: vin.into_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_year_cycle() {
        let cases: &[(u8, [u16; 2])] = &[
            (b'A', [1980, 2010]),
            (b'Y', [2000, 2030]),
            (b'1', [2001, 2031]),
            (b'9', [2009, 2039]),
        ];
        for &(code, years) in cases {
            assert_eq!(model_year_candidates(code), Some(years), "{}", char::from(code));
        }
        for code in [b'U', b'Z', b'0', b'I', b'O', b'Q'] {
            assert_eq!(model_year_candidates(code), None);
        }
    }

    #[test]
    fn position_seven_rule() {
        // 2019 Ford F-150: position 7 `E` (a letter) → 2010–2039 cycle; `K` = 2019.
        assert_eq!(resolve_model_year(b"1FTFW1E50KFA12345"), Some(2019));
        // 1989 with a digit at position 7: `K` = 1989.
        assert_eq!(resolve_model_year(b"1M8GDM9AXKP042788"), Some(1989));
    }

    #[test]
    fn decodes_a_ford() {
        let vin = "1FTFW1E53KFA12345";
        let cd = crate::vin::compute_check_digit(vin.as_bytes()).unwrap();
        let mut fixed = vin.as_bytes().to_vec();
        fixed[8] = cd;
        let vin = String::from_utf8(fixed).unwrap();
        let info = decode(&vin.to_lowercase()).unwrap();
        assert_eq!(info.wmi, "1FT");
        assert_eq!(info.vds, "FW1E5");
        assert_eq!(info.model_year, 2019);
        assert_eq!(info.model_year_candidates, [1989, 2019]);
        assert_eq!(info.plant, 'F');
        assert_eq!(info.serial, "A12345");
        assert_eq!(info.manufacturer, Some("Ford"));
        assert_eq!(info.country, Some("United States"));
        assert!(info.north_american && info.check_digit_valid && info.warnings.is_empty());
    }

    #[test]
    fn warns_on_foreign_check_digit() {
        let info = decode("WDB1240821A123456").unwrap();
        assert_eq!(info.warnings, vec!["check_digit"]);
        assert!(!info.north_american);
        assert_eq!(decode("WDB12408").unwrap_err().reason(), "length");
    }
}
