//! JSON text written straight into byte buffers, shared by the stats converter and the sandbox.

use std::io::Write;

/// Appends `s` escaped for a JSON string (without the quotes).
pub fn push_escaped(line: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        line.extend_from_slice(&bytes[from..i]);
        if escape.is_empty() {
            let _ = write!(line, "\\u{b:04x}");
        } else {
            line.extend_from_slice(escape);
        }
        from = i + 1;
    }
    line.extend_from_slice(&bytes[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        push_escaped(&mut out, "Truck \"7\"\\\n\u{1}é");
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#"Truck \"7\"\\\n\u0001é"#);
        let v: serde_json::Value =
            serde_json::from_str(&format!("\"{}\"", std::str::from_utf8(&out).unwrap())).unwrap();
        assert_eq!(v, "Truck \"7\"\\\n\u{1}é");
    }
}
