//! A tiny JSON writer straight into a byte buffer, for the hot stats pages (no `serde_json::Value`
//! tree per point).

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

/// Appends a JSON string literal (escaping shared with the library's stats converter).
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    samsara_fmc::json::push_escaped(out, s);
    out.push(b'"');
}

/// Appends an integer.
/// Closes a page written as `{"data":[…`: `],"pagination":{…}}`.
pub(crate) fn envelope(out: &mut Vec<u8>, end_cursor: &str, has_next: bool) {
    out.extend_from_slice(b"],\"pagination\":{\"endCursor\":");
    string(out, end_cursor);
    out.extend_from_slice(if has_next {
        b",\"hasNextPage\":true}}"
    } else {
        b",\"hasNextPage\":false}}"
    });
}

pub(crate) fn int(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    let mut u = n.unsigned_abs();
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + u8::try_from(u % 10).unwrap_or(0);
        u /= 10;
        if u == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Appends a decimal with exactly `decimals` fraction digits (trailing zeros trimmed, at least one);
/// `decimals == 0` writes an integer.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn fixed(out: &mut Vec<u8>, x: f64, decimals: u32) {
    if decimals == 0 {
        int(out, x.round() as i64);
        return;
    }
    let scale = 10i64.pow(decimals);
    let n = (x * scale as f64).round() as i64;
    if n < 0 {
        out.push(b'-');
    }
    let a = n.unsigned_abs();
    let s = scale.unsigned_abs();
    int(out, i64::try_from(a / s).unwrap_or(0));
    let mut frac = a % s;
    out.push(b'.');
    let mut digits = [b'0'; 12];
    for i in (0..decimals as usize).rev() {
        digits[i] = b'0' + u8::try_from(frac % 10).unwrap_or(0);
        frac /= 10;
    }
    let mut len = decimals as usize;
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    out.extend_from_slice(&digits[..len]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let mut v = Vec::new();
        int(&mut v, -120);
        v.push(b' ');
        fixed(&mut v, -96.79701, 6);
        v.push(b' ');
        fixed(&mut v, 0.0, 1);
        v.push(b' ');
        fixed(&mut v, 172_887_025.4, 0);
        v.push(b' ');
        string(&mut v, "a\"b\u{1}");
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "-120 -96.79701 0.0 172887025 \"a\\\"b\\u0001\""
        );
    }
}
