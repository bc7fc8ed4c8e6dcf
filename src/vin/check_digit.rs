//! The VIN check digit (position 9), per 49 CFR 565.15(c) and ISO 3779.
//!
//! Each character is transliterated to a number (digits as themselves; letters per the table in
//! 49 CFR 565.15(c)(1), with `I`, `O` and `Q` not allowed), multiplied by its position's weight, and the
//! sum taken modulo 11; a remainder of 10 is written `X`.

/// Position weights, 49 CFR 565.15(c)(2). Position 9 (the check digit itself) weighs 0.
pub(crate) const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// The numeric value of a VIN character, or `None` for a character a VIN may not contain.
pub(crate) const fn transliterate(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => (c - b'0') as u32,
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

/// The check digit (`b'0'..=b'9'` or `b'X'`) a 17-character, upper-case VIN should carry at position 9.
///
/// The character at position 9 is ignored. `None` when the length is not 17 or a character is not
/// allowed in a VIN.
pub fn compute_check_digit(vin: &[u8]) -> Option<u8> {
    if vin.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (i, (&c, &w)) in vin.iter().zip(WEIGHTS.iter()).enumerate() {
        if i == 8 {
            // Position 9 is the check digit: weight 0, but it must still be a legal character.
            if !(c.is_ascii_digit() || c == b'X') {
                transliterate(c)?;
            }
            continue;
        }
        sum += transliterate(c)? * w;
    }
    let rem = sum % 11;
    Some(if rem == 10 {
        b'X'
    } else {
        b'0' + u8::try_from(rem).unwrap_or(0)
    })
}

/// Whether `vin` (17 upper-case characters) carries the check digit its other characters call for.
pub fn has_valid_check_digit(vin: &[u8]) -> bool {
    compute_check_digit(vin).is_some_and(|d| vin.get(8) == Some(&d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vins() {
        // Published examples with correct check digits.
        for vin in ["1M8GDM9AXKP042788", "11111111111111111", "1HGCM82633A004352"] {
            assert!(has_valid_check_digit(vin.as_bytes()), "{vin}");
        }
        assert_eq!(
            compute_check_digit(b"1M8GDM9A_KP042788"),
            None,
            "`_` is not a VIN character"
        );
        assert_eq!(compute_check_digit(b"1M8GDM9AXKP04278"), None, "16 characters");
        assert!(!has_valid_check_digit(b"1M8GDM9A1KP042788"));
        assert_eq!(compute_check_digit(b"1M8GDM9A0KP042788"), Some(b'X'));
    }

    #[test]
    fn letters_i_o_q_are_not_vin_characters() {
        for c in [b'I', b'O', b'Q', b'a', b'-'] {
            assert_eq!(transliterate(c), None);
        }
    }
}
