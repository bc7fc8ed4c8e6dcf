//! JSON text read and written straight from and into byte buffers, shared by the stats converter and
//! the sandbox.
//!
//! [`Scanner`] is a pull reader over a page's text that hands out *slices* of it: strings stay in
//! their escaped form (so they can be copied into JSON output unchanged), numbers stay as their text,
//! and objects or arrays a caller does not look into are validated and returned whole. It builds no
//! tree and allocates nothing, which is what lets the stats converter run below the cost of parsing
//! the same bytes into Python objects.

use std::borrow::Cow;
use std::fmt;
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

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 128;

/// Why a text is not the JSON a caller expected, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanError {
    /// Byte offset in the text.
    pub(crate) pos: usize,
    /// What was expected or found.
    pub(crate) what: Cow<'static, str>,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.pos)
    }
}

impl std::error::Error for ScanError {}

/// The type of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Object,
    Array,
}

/// One JSON value as its text: `raw` is exactly what the page holds (strings with their quotes and
/// escapes, containers whole and validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Value<'a> {
    pub(crate) kind: Kind,
    pub(crate) raw: &'a str,
    /// A string with at least one escape sequence.
    escaped: bool,
}

impl<'a> Value<'a> {
    /// A string's content still escaped, valid inside quotes in JSON output; `None` if not a string.
    #[inline]
    pub(crate) fn str_escaped(&self) -> Option<&'a str> {
        (self.kind == Kind::String).then(|| &self.raw[1..self.raw.len() - 1])
    }

    /// A string's content decoded; `None` if not a string.
    #[inline]
    pub(crate) fn str_decoded(&self) -> Option<Cow<'a, str>> {
        let inner = self.str_escaped()?;
        if !self.escaped {
            return Some(Cow::Borrowed(inner));
        }
        // The scanner has validated every escape, so decoding cannot fail.
        serde_json::from_str::<String>(self.raw).ok().map(Cow::Owned)
    }

    /// `true` or `false`; `None` if not a boolean.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match (self.kind, self.raw) {
            (Kind::Bool, "true") => Some(true),
            (Kind::Bool, _) => Some(false),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }
}

/// The offset of the first byte at or after `i` that ends a run of plain string content: a quote, a
/// backslash or a control character (or the end). Eight bytes at a time, with word arithmetic.
#[inline]
fn plain_run(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero (exact as an any-byte test; the borrow only flags bytes above a zero).
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let special = zero_byte(w ^ (ONES * u64::from(b'"')))
            | zero_byte(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if special != 0 {
            // The lowest flagged byte is exact: borrows only run towards higher bytes.
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// A pull reader over JSON text; see the module documentation.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// The byte offset of the next unread byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The text between two offsets this scanner has handed out.
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a str {
        &self.text[from..to]
    }

    /// A scanner over the same text, at `pos` (an offset this scanner handed out).
    #[must_use]
    pub(crate) fn resume_at(&self, pos: usize) -> Self {
        Self { text: self.text, pos }
    }

    /// The offset of the next value, blanks skipped.
    pub(crate) fn pos_of_next(&mut self) -> usize {
        self.ws();
        self.pos
    }

    /// An error at the current position, for a caller's own expectation.
    pub(crate) fn fail(&self, what: impl Into<Cow<'static, str>>) -> ScanError {
        ScanError {
            pos: self.pos,
            what: what.into(),
        }
    }

    fn error<T>(&self, what: impl Into<Cow<'static, str>>) -> Result<T, ScanError> {
        Err(ScanError {
            pos: self.pos,
            what: what.into(),
        })
    }

    fn ws(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8, what: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(format!("expected {what}, found {}", self.found()))
        }
    }

    fn found(&self) -> String {
        match self.text.get(self.pos..).and_then(|rest| rest.chars().next()) {
            None => "the end of the text".to_owned(),
            Some(c) => format!("`{c}`"),
        }
    }

    /// Only blanks remain.
    pub(crate) fn finish(&mut self) -> Result<(), ScanError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.error(format!("expected the end of the text, found {}", self.found())),
        }
    }

    /// Reads one value. Objects and arrays are validated and returned whole.
    pub(crate) fn value(&mut self) -> Result<Value<'a>, ScanError> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Value<'a>, ScanError> {
        let start = match self.peek() {
            Some(_) => self.pos,
            None => return self.error("expected a value, found the end of the text"),
        };
        let bytes = self.text.as_bytes();
        let (kind, escaped) = match bytes[start] {
            b'"' => (Kind::String, self.string_body()?),
            b'{' | b'[' if depth >= MAX_DEPTH => return self.error("JSON nested too deeply"),
            b'{' => {
                self.object(|s, _| s.value_at(depth + 1).map(drop))?;
                (Kind::Object, false)
            }
            b'[' => {
                self.array(|s| s.value_at(depth + 1).map(drop))?;
                (Kind::Array, false)
            }
            b'-' | b'0'..=b'9' => {
                self.number_body()?;
                (Kind::Number, false)
            }
            _ => {
                let rest = &bytes[start..];
                let (kind, len) = if rest.starts_with(b"true") {
                    (Kind::Bool, 4)
                } else if rest.starts_with(b"false") {
                    (Kind::Bool, 5)
                } else if rest.starts_with(b"null") {
                    (Kind::Null, 4)
                } else {
                    return self.error(format!("expected a value, found {}", self.found()));
                };
                self.pos += len;
                (kind, false)
            }
        };
        Ok(Value {
            kind,
            raw: &self.text[start..self.pos],
            escaped,
        })
    }

    /// Skips one value.
    pub(crate) fn skip(&mut self) -> Result<(), ScanError> {
        self.value().map(drop)
    }

    /// Consumes a string at `pos` (on its opening quote); returns whether it had escapes.
    fn string_body(&mut self) -> Result<bool, ScanError> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            i = plain_run(bytes, i);
            let Some(&b) = bytes.get(i) else {
                self.pos = i;
                return self.error("unterminated string");
            };
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match bytes.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u')
                            if bytes
                                .get(i + 2..i + 6)
                                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                        {
                            i += 6;
                        }
                        _ => {
                            self.pos = i;
                            return self.error("invalid escape in string");
                        }
                    }
                }
                0..=0x1f => {
                    self.pos = i;
                    return self.error("control character in string");
                }
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(escaped)
    }

    /// Consumes a number at `pos`, checking JSON's grammar.
    fn number_body(&mut self) -> Result<(), ScanError> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos;
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let int = digits(&mut i);
        let ok = match int {
            0 => false,
            1 => true,
            _ => bytes[i - int] != b'0',
        };
        let ok =
            ok && (bytes.get(i) != Some(&b'.') || {
                i += 1;
                digits(&mut i) > 0
            }) && (!matches!(bytes.get(i), Some(b'e' | b'E')) || {
                i += 1;
                if matches!(bytes.get(i), Some(b'+' | b'-')) {
                    i += 1;
                }
                digits(&mut i) > 0
            });
        if !ok {
            return self.error(format!("invalid number {}", self.found()));
        }
        self.pos = i;
        Ok(())
    }

    /// Reads an object, calling `each` with the scanner and every key; `each` must read the value.
    pub(crate) fn object(
        &mut self,
        mut each: impl FnMut(&mut Self, Value<'a>) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.eat(b'{', "`{`")?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.error(format!("expected a key, found {}", self.found()));
            }
            let key = self.value_at(0)?;
            self.eat(b':', "`:`")?;
            each(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.error(format!("expected `,` or `}}`, found {}", self.found())),
            }
        }
    }

    /// Reads an array, calling `each` with the scanner for every element; `each` must read it.
    pub(crate) fn array(
        &mut self,
        mut each: impl FnMut(&mut Self) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.eat(b'[', "`[`")?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            each(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.error(format!("expected `,` or `]`, found {}", self.found())),
            }
        }
    }

    /// `true` when the next value is `kind`'s opening byte (`{`, `[`) or literal, without reading it.
    pub(crate) fn next_is(&mut self, kind: Kind) -> bool {
        matches!(
            (kind, self.peek()),
            (Kind::Object, Some(b'{'))
                | (Kind::Array, Some(b'['))
                | (Kind::String, Some(b'"'))
                | (Kind::Null, Some(b'n'))
        )
    }
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

    fn scan(text: &str) -> Result<Value<'_>, ScanError> {
        let mut sc = Scanner::new(text);
        let v = sc.value()?;
        sc.finish()?;
        Ok(v)
    }

    #[test]
    fn values_are_handed_out_as_their_text() {
        let v = scan(r#" {"a": [1, -2.5e3, "x\"y", true, null], "b": {}} "#).unwrap();
        assert_eq!(
            (v.kind, v.raw),
            (Kind::Object, r#"{"a": [1, -2.5e3, "x\"y", true, null], "b": {}}"#)
        );
        let s = scan(r#""Truck \"7\" \u00e9""#).unwrap();
        assert_eq!(s.str_escaped(), Some(r#"Truck \"7\" \u00e9"#));
        assert_eq!(s.str_decoded().as_deref(), Some("Truck \"7\" é"));
        assert_eq!(scan("false").unwrap().as_bool(), Some(false));
        assert!(scan("null").unwrap().is_null());
        assert_eq!(scan("-0.5E+2").unwrap().kind, Kind::Number);
    }

    #[test]
    fn malformed_text_is_refused_with_its_position() {
        for (bad, what) in [
            ("", "expected a value"),
            ("{\"a\" 1}", "expected `:`"),
            ("[1,]", "expected a value"),
            ("{\"a\":1,}", "expected a key"),
            ("\"open", "unterminated string"),
            ("\"\\x\"", "invalid escape"),
            ("\"\\u12g4\"", "invalid escape"),
            ("\"a\u{1}b\"", "control character"),
            ("01", "invalid number"),
            ("1.", "invalid number"),
            ("-", "invalid number"),
            ("1e", "invalid number"),
            ("tru", "expected a value"),
            ("[1] 2", "expected the end"),
        ] {
            let err = scan(bad).unwrap_err();
            assert!(err.what.contains(what), "{bad:?}: {err}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(scan(&deep).unwrap_err().what.contains("nested too deeply"));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(scan(&ok).is_ok());
    }

    /// Random byte edits of a valid document: the scanner accepts exactly what `serde_json` accepts.
    #[test]
    fn accepts_what_serde_json_accepts() {
        let doc = r#"{"data":[{"id":"1","name":"T\"1","gps":[{"time":"2024-05-01T12:00:00Z","latitude":37.5,"longitude":-122.25,"isEcuSpeed":false,"reverseGeo":{"formattedLocation":"Main St \u00e9"}}],"x":[null,true,0,-1.5e-3,{}]}],"pagination":{"endCursor":"","hasNextPage":false}}"#;
        let alphabet = b"{}[]:,\"\\ 0123456789.-+eEtrufalsn\x01\tu";
        let mut rng = fastrand::Rng::with_seed(7);
        let mut disagreements = Vec::new();
        for _ in 0..20_000 {
            let mut bytes = doc.as_bytes().to_vec();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..bytes.len());
                match rng.u8(..3) {
                    0 => bytes[at] = alphabet[rng.usize(..alphabet.len())],
                    1 => drop(bytes.remove(at)),
                    _ => bytes.insert(at, alphabet[rng.usize(..alphabet.len())]),
                }
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let ours = scan(text).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(text).is_ok();
            if ours != theirs {
                disagreements.push((text.to_owned(), ours));
            }
        }
        assert!(
            disagreements.is_empty(),
            "{:?}",
            &disagreements[..disagreements.len().min(3)]
        );
    }
}
