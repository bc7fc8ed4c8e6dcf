//! Person names as HR and payroll exports mangle them, undone: UTF-8 text that was read as Latin-1
//! or Windows-1252 (`JosÃ©` for `José`), and accented Latin letters folded to ASCII (`Lâm Đỗ` →
//! `Lam Do`, `Müller` → `Muller`), so that both systems' spellings of a name compare equal.
//!
//! The fold table covers Latin-1 Supplement, Latin Extended-A and -B and Latin Extended Additional
//! (Vietnamese): each letter's canonical decomposition with the marks dropped, and the letters that
//! have none written out (`Æ` → `AE`, `ß` → `ss`, `Đ` → `D`, `Ł` → `L`, `Ø` → `O`, `Þ` → `TH`).
//! Combining marks (text already decomposed) are dropped. Other scripts pass through unchanged.

use std::borrow::Cow;

/// `(letter, ASCII)`, sorted by letter. Generated from Unicode's decompositions (NFKD, letters
/// only) plus the hand-written rows for letters without one; `tests/test_matching_drivers.py`
/// checks every row against Python's `unicodedata`.
#[rustfmt::skip]
const FOLD: &[(char, &str)] = &[
    ('\u{00c0}', "A"), ('\u{00c1}', "A"), ('\u{00c2}', "A"), ('\u{00c3}', "A"), ('\u{00c4}', "A"),
    ('\u{00c5}', "A"), ('\u{00c6}', "AE"), ('\u{00c7}', "C"), ('\u{00c8}', "E"), ('\u{00c9}', "E"),
    ('\u{00ca}', "E"), ('\u{00cb}', "E"), ('\u{00cc}', "I"), ('\u{00cd}', "I"), ('\u{00ce}', "I"),
    ('\u{00cf}', "I"), ('\u{00d0}', "D"), ('\u{00d1}', "N"), ('\u{00d2}', "O"), ('\u{00d3}', "O"),
    ('\u{00d4}', "O"), ('\u{00d5}', "O"), ('\u{00d6}', "O"), ('\u{00d8}', "O"), ('\u{00d9}', "U"),
    ('\u{00da}', "U"), ('\u{00db}', "U"), ('\u{00dc}', "U"), ('\u{00dd}', "Y"), ('\u{00de}', "TH"),
    ('\u{00df}', "ss"), ('\u{00e0}', "a"), ('\u{00e1}', "a"), ('\u{00e2}', "a"), ('\u{00e3}', "a"),
    ('\u{00e4}', "a"), ('\u{00e5}', "a"), ('\u{00e6}', "ae"), ('\u{00e7}', "c"), ('\u{00e8}', "e"),
    ('\u{00e9}', "e"), ('\u{00ea}', "e"), ('\u{00eb}', "e"), ('\u{00ec}', "i"), ('\u{00ed}', "i"),
    ('\u{00ee}', "i"), ('\u{00ef}', "i"), ('\u{00f0}', "d"), ('\u{00f1}', "n"), ('\u{00f2}', "o"),
    ('\u{00f3}', "o"), ('\u{00f4}', "o"), ('\u{00f5}', "o"), ('\u{00f6}', "o"), ('\u{00f8}', "o"),
    ('\u{00f9}', "u"), ('\u{00fa}', "u"), ('\u{00fb}', "u"), ('\u{00fc}', "u"), ('\u{00fd}', "y"),
    ('\u{00fe}', "th"), ('\u{00ff}', "y"), ('\u{0100}', "A"), ('\u{0101}', "a"), ('\u{0102}', "A"),
    ('\u{0103}', "a"), ('\u{0104}', "A"), ('\u{0105}', "a"), ('\u{0106}', "C"), ('\u{0107}', "c"),
    ('\u{0108}', "C"), ('\u{0109}', "c"), ('\u{010a}', "C"), ('\u{010b}', "c"), ('\u{010c}', "C"),
    ('\u{010d}', "c"), ('\u{010e}', "D"), ('\u{010f}', "d"), ('\u{0110}', "D"), ('\u{0111}', "d"),
    ('\u{0112}', "E"), ('\u{0113}', "e"), ('\u{0114}', "E"), ('\u{0115}', "e"), ('\u{0116}', "E"),
    ('\u{0117}', "e"), ('\u{0118}', "E"), ('\u{0119}', "e"), ('\u{011a}', "E"), ('\u{011b}', "e"),
    ('\u{011c}', "G"), ('\u{011d}', "g"), ('\u{011e}', "G"), ('\u{011f}', "g"), ('\u{0120}', "G"),
    ('\u{0121}', "g"), ('\u{0122}', "G"), ('\u{0123}', "g"), ('\u{0124}', "H"), ('\u{0125}', "h"),
    ('\u{0126}', "H"), ('\u{0127}', "h"), ('\u{0128}', "I"), ('\u{0129}', "i"), ('\u{012a}', "I"),
    ('\u{012b}', "i"), ('\u{012c}', "I"), ('\u{012d}', "i"), ('\u{012e}', "I"), ('\u{012f}', "i"),
    ('\u{0130}', "I"), ('\u{0131}', "i"), ('\u{0132}', "IJ"), ('\u{0133}', "ij"), ('\u{0134}', "J"),
    ('\u{0135}', "j"), ('\u{0136}', "K"), ('\u{0137}', "k"), ('\u{0138}', "k"), ('\u{0139}', "L"),
    ('\u{013a}', "l"), ('\u{013b}', "L"), ('\u{013c}', "l"), ('\u{013d}', "L"), ('\u{013e}', "l"),
    ('\u{013f}', "L"), ('\u{0140}', "l"), ('\u{0141}', "L"), ('\u{0142}', "l"), ('\u{0143}', "N"),
    ('\u{0144}', "n"), ('\u{0145}', "N"), ('\u{0146}', "n"), ('\u{0147}', "N"), ('\u{0148}', "n"),
    ('\u{0149}', "n"), ('\u{014a}', "N"), ('\u{014b}', "n"), ('\u{014c}', "O"), ('\u{014d}', "o"),
    ('\u{014e}', "O"), ('\u{014f}', "o"), ('\u{0150}', "O"), ('\u{0151}', "o"), ('\u{0152}', "OE"),
    ('\u{0153}', "oe"), ('\u{0154}', "R"), ('\u{0155}', "r"), ('\u{0156}', "R"), ('\u{0157}', "r"),
    ('\u{0158}', "R"), ('\u{0159}', "r"), ('\u{015a}', "S"), ('\u{015b}', "s"), ('\u{015c}', "S"),
    ('\u{015d}', "s"), ('\u{015e}', "S"), ('\u{015f}', "s"), ('\u{0160}', "S"), ('\u{0161}', "s"),
    ('\u{0162}', "T"), ('\u{0163}', "t"), ('\u{0164}', "T"), ('\u{0165}', "t"), ('\u{0166}', "T"),
    ('\u{0167}', "t"), ('\u{0168}', "U"), ('\u{0169}', "u"), ('\u{016a}', "U"), ('\u{016b}', "u"),
    ('\u{016c}', "U"), ('\u{016d}', "u"), ('\u{016e}', "U"), ('\u{016f}', "u"), ('\u{0170}', "U"),
    ('\u{0171}', "u"), ('\u{0172}', "U"), ('\u{0173}', "u"), ('\u{0174}', "W"), ('\u{0175}', "w"),
    ('\u{0176}', "Y"), ('\u{0177}', "y"), ('\u{0178}', "Y"), ('\u{0179}', "Z"), ('\u{017a}', "z"),
    ('\u{017b}', "Z"), ('\u{017c}', "z"), ('\u{017d}', "Z"), ('\u{017e}', "z"), ('\u{017f}', "s"),
    ('\u{0180}', "b"), ('\u{0181}', "B"), ('\u{018a}', "D"), ('\u{0191}', "F"), ('\u{0192}', "f"),
    ('\u{0197}', "I"), ('\u{0198}', "K"), ('\u{0199}', "k"), ('\u{019a}', "l"), ('\u{019d}', "N"),
    ('\u{01a0}', "O"), ('\u{01a1}', "o"), ('\u{01af}', "U"), ('\u{01b0}', "u"), ('\u{01b5}', "Z"),
    ('\u{01b6}', "z"), ('\u{01c4}', "DZ"), ('\u{01c5}', "Dz"), ('\u{01c6}', "dz"), ('\u{01c7}', "LJ"),
    ('\u{01c8}', "Lj"), ('\u{01c9}', "lj"), ('\u{01ca}', "NJ"), ('\u{01cb}', "Nj"), ('\u{01cc}', "nj"),
    ('\u{01cd}', "A"), ('\u{01ce}', "a"), ('\u{01cf}', "I"), ('\u{01d0}', "i"), ('\u{01d1}', "O"),
    ('\u{01d2}', "o"), ('\u{01d3}', "U"), ('\u{01d4}', "u"), ('\u{01d5}', "U"), ('\u{01d6}', "u"),
    ('\u{01d7}', "U"), ('\u{01d8}', "u"), ('\u{01d9}', "U"), ('\u{01da}', "u"), ('\u{01db}', "U"),
    ('\u{01dc}', "u"), ('\u{01de}', "A"), ('\u{01df}', "a"), ('\u{01e0}', "A"), ('\u{01e1}', "a"),
    ('\u{01e2}', "AE"), ('\u{01e3}', "ae"), ('\u{01e4}', "G"), ('\u{01e5}', "g"), ('\u{01e6}', "G"),
    ('\u{01e7}', "g"), ('\u{01e8}', "K"), ('\u{01e9}', "k"), ('\u{01ea}', "O"), ('\u{01eb}', "o"),
    ('\u{01ec}', "O"), ('\u{01ed}', "o"), ('\u{01f0}', "j"), ('\u{01f1}', "DZ"), ('\u{01f2}', "Dz"),
    ('\u{01f3}', "dz"), ('\u{01f4}', "G"), ('\u{01f5}', "g"), ('\u{01f8}', "N"), ('\u{01f9}', "n"),
    ('\u{01fa}', "A"), ('\u{01fb}', "a"), ('\u{01fc}', "AE"), ('\u{01fd}', "ae"), ('\u{01fe}', "O"),
    ('\u{01ff}', "o"), ('\u{0200}', "A"), ('\u{0201}', "a"), ('\u{0202}', "A"), ('\u{0203}', "a"),
    ('\u{0204}', "E"), ('\u{0205}', "e"), ('\u{0206}', "E"), ('\u{0207}', "e"), ('\u{0208}', "I"),
    ('\u{0209}', "i"), ('\u{020a}', "I"), ('\u{020b}', "i"), ('\u{020c}', "O"), ('\u{020d}', "o"),
    ('\u{020e}', "O"), ('\u{020f}', "o"), ('\u{0210}', "R"), ('\u{0211}', "r"), ('\u{0212}', "R"),
    ('\u{0213}', "r"), ('\u{0214}', "U"), ('\u{0215}', "u"), ('\u{0216}', "U"), ('\u{0217}', "u"),
    ('\u{0218}', "S"), ('\u{0219}', "s"), ('\u{021a}', "T"), ('\u{021b}', "t"), ('\u{021e}', "H"),
    ('\u{021f}', "h"), ('\u{0226}', "A"), ('\u{0227}', "a"), ('\u{0228}', "E"), ('\u{0229}', "e"),
    ('\u{022a}', "O"), ('\u{022b}', "o"), ('\u{022c}', "O"), ('\u{022d}', "o"), ('\u{022e}', "O"),
    ('\u{022f}', "o"), ('\u{0230}', "O"), ('\u{0231}', "o"), ('\u{0232}', "Y"), ('\u{0233}', "y"),
    ('\u{0238}', "db"), ('\u{0239}', "qp"), ('\u{023a}', "A"), ('\u{023b}', "C"), ('\u{023c}', "c"),
    ('\u{023e}', "T"), ('\u{0243}', "B"), ('\u{0244}', "U"), ('\u{0246}', "E"), ('\u{0247}', "e"),
    ('\u{0248}', "J"), ('\u{0249}', "j"), ('\u{024c}', "R"), ('\u{024d}', "r"), ('\u{024e}', "Y"),
    ('\u{024f}', "y"), ('\u{1e00}', "A"), ('\u{1e01}', "a"), ('\u{1e02}', "B"), ('\u{1e03}', "b"),
    ('\u{1e04}', "B"), ('\u{1e05}', "b"), ('\u{1e06}', "B"), ('\u{1e07}', "b"), ('\u{1e08}', "C"),
    ('\u{1e09}', "c"), ('\u{1e0a}', "D"), ('\u{1e0b}', "d"), ('\u{1e0c}', "D"), ('\u{1e0d}', "d"),
    ('\u{1e0e}', "D"), ('\u{1e0f}', "d"), ('\u{1e10}', "D"), ('\u{1e11}', "d"), ('\u{1e12}', "D"),
    ('\u{1e13}', "d"), ('\u{1e14}', "E"), ('\u{1e15}', "e"), ('\u{1e16}', "E"), ('\u{1e17}', "e"),
    ('\u{1e18}', "E"), ('\u{1e19}', "e"), ('\u{1e1a}', "E"), ('\u{1e1b}', "e"), ('\u{1e1c}', "E"),
    ('\u{1e1d}', "e"), ('\u{1e1e}', "F"), ('\u{1e1f}', "f"), ('\u{1e20}', "G"), ('\u{1e21}', "g"),
    ('\u{1e22}', "H"), ('\u{1e23}', "h"), ('\u{1e24}', "H"), ('\u{1e25}', "h"), ('\u{1e26}', "H"),
    ('\u{1e27}', "h"), ('\u{1e28}', "H"), ('\u{1e29}', "h"), ('\u{1e2a}', "H"), ('\u{1e2b}', "h"),
    ('\u{1e2c}', "I"), ('\u{1e2d}', "i"), ('\u{1e2e}', "I"), ('\u{1e2f}', "i"), ('\u{1e30}', "K"),
    ('\u{1e31}', "k"), ('\u{1e32}', "K"), ('\u{1e33}', "k"), ('\u{1e34}', "K"), ('\u{1e35}', "k"),
    ('\u{1e36}', "L"), ('\u{1e37}', "l"), ('\u{1e38}', "L"), ('\u{1e39}', "l"), ('\u{1e3a}', "L"),
    ('\u{1e3b}', "l"), ('\u{1e3c}', "L"), ('\u{1e3d}', "l"), ('\u{1e3e}', "M"), ('\u{1e3f}', "m"),
    ('\u{1e40}', "M"), ('\u{1e41}', "m"), ('\u{1e42}', "M"), ('\u{1e43}', "m"), ('\u{1e44}', "N"),
    ('\u{1e45}', "n"), ('\u{1e46}', "N"), ('\u{1e47}', "n"), ('\u{1e48}', "N"), ('\u{1e49}', "n"),
    ('\u{1e4a}', "N"), ('\u{1e4b}', "n"), ('\u{1e4c}', "O"), ('\u{1e4d}', "o"), ('\u{1e4e}', "O"),
    ('\u{1e4f}', "o"), ('\u{1e50}', "O"), ('\u{1e51}', "o"), ('\u{1e52}', "O"), ('\u{1e53}', "o"),
    ('\u{1e54}', "P"), ('\u{1e55}', "p"), ('\u{1e56}', "P"), ('\u{1e57}', "p"), ('\u{1e58}', "R"),
    ('\u{1e59}', "r"), ('\u{1e5a}', "R"), ('\u{1e5b}', "r"), ('\u{1e5c}', "R"), ('\u{1e5d}', "r"),
    ('\u{1e5e}', "R"), ('\u{1e5f}', "r"), ('\u{1e60}', "S"), ('\u{1e61}', "s"), ('\u{1e62}', "S"),
    ('\u{1e63}', "s"), ('\u{1e64}', "S"), ('\u{1e65}', "s"), ('\u{1e66}', "S"), ('\u{1e67}', "s"),
    ('\u{1e68}', "S"), ('\u{1e69}', "s"), ('\u{1e6a}', "T"), ('\u{1e6b}', "t"), ('\u{1e6c}', "T"),
    ('\u{1e6d}', "t"), ('\u{1e6e}', "T"), ('\u{1e6f}', "t"), ('\u{1e70}', "T"), ('\u{1e71}', "t"),
    ('\u{1e72}', "U"), ('\u{1e73}', "u"), ('\u{1e74}', "U"), ('\u{1e75}', "u"), ('\u{1e76}', "U"),
    ('\u{1e77}', "u"), ('\u{1e78}', "U"), ('\u{1e79}', "u"), ('\u{1e7a}', "U"), ('\u{1e7b}', "u"),
    ('\u{1e7c}', "V"), ('\u{1e7d}', "v"), ('\u{1e7e}', "V"), ('\u{1e7f}', "v"), ('\u{1e80}', "W"),
    ('\u{1e81}', "w"), ('\u{1e82}', "W"), ('\u{1e83}', "w"), ('\u{1e84}', "W"), ('\u{1e85}', "w"),
    ('\u{1e86}', "W"), ('\u{1e87}', "w"), ('\u{1e88}', "W"), ('\u{1e89}', "w"), ('\u{1e8a}', "X"),
    ('\u{1e8b}', "x"), ('\u{1e8c}', "X"), ('\u{1e8d}', "x"), ('\u{1e8e}', "Y"), ('\u{1e8f}', "y"),
    ('\u{1e90}', "Z"), ('\u{1e91}', "z"), ('\u{1e92}', "Z"), ('\u{1e93}', "z"), ('\u{1e94}', "Z"),
    ('\u{1e95}', "z"), ('\u{1e96}', "h"), ('\u{1e97}', "t"), ('\u{1e98}', "w"), ('\u{1e99}', "y"),
    ('\u{1e9a}', "a"), ('\u{1e9b}', "s"), ('\u{1e9c}', "s"), ('\u{1e9d}', "s"), ('\u{1e9e}', "SS"),
    ('\u{1e9f}', "d"), ('\u{1ea0}', "A"), ('\u{1ea1}', "a"), ('\u{1ea2}', "A"), ('\u{1ea3}', "a"),
    ('\u{1ea4}', "A"), ('\u{1ea5}', "a"), ('\u{1ea6}', "A"), ('\u{1ea7}', "a"), ('\u{1ea8}', "A"),
    ('\u{1ea9}', "a"), ('\u{1eaa}', "A"), ('\u{1eab}', "a"), ('\u{1eac}', "A"), ('\u{1ead}', "a"),
    ('\u{1eae}', "A"), ('\u{1eaf}', "a"), ('\u{1eb0}', "A"), ('\u{1eb1}', "a"), ('\u{1eb2}', "A"),
    ('\u{1eb3}', "a"), ('\u{1eb4}', "A"), ('\u{1eb5}', "a"), ('\u{1eb6}', "A"), ('\u{1eb7}', "a"),
    ('\u{1eb8}', "E"), ('\u{1eb9}', "e"), ('\u{1eba}', "E"), ('\u{1ebb}', "e"), ('\u{1ebc}', "E"),
    ('\u{1ebd}', "e"), ('\u{1ebe}', "E"), ('\u{1ebf}', "e"), ('\u{1ec0}', "E"), ('\u{1ec1}', "e"),
    ('\u{1ec2}', "E"), ('\u{1ec3}', "e"), ('\u{1ec4}', "E"), ('\u{1ec5}', "e"), ('\u{1ec6}', "E"),
    ('\u{1ec7}', "e"), ('\u{1ec8}', "I"), ('\u{1ec9}', "i"), ('\u{1eca}', "I"), ('\u{1ecb}', "i"),
    ('\u{1ecc}', "O"), ('\u{1ecd}', "o"), ('\u{1ece}', "O"), ('\u{1ecf}', "o"), ('\u{1ed0}', "O"),
    ('\u{1ed1}', "o"), ('\u{1ed2}', "O"), ('\u{1ed3}', "o"), ('\u{1ed4}', "O"), ('\u{1ed5}', "o"),
    ('\u{1ed6}', "O"), ('\u{1ed7}', "o"), ('\u{1ed8}', "O"), ('\u{1ed9}', "o"), ('\u{1eda}', "O"),
    ('\u{1edb}', "o"), ('\u{1edc}', "O"), ('\u{1edd}', "o"), ('\u{1ede}', "O"), ('\u{1edf}', "o"),
    ('\u{1ee0}', "O"), ('\u{1ee1}', "o"), ('\u{1ee2}', "O"), ('\u{1ee3}', "o"), ('\u{1ee4}', "U"),
    ('\u{1ee5}', "u"), ('\u{1ee6}', "U"), ('\u{1ee7}', "u"), ('\u{1ee8}', "U"), ('\u{1ee9}', "u"),
    ('\u{1eea}', "U"), ('\u{1eeb}', "u"), ('\u{1eec}', "U"), ('\u{1eed}', "u"), ('\u{1eee}', "U"),
    ('\u{1eef}', "u"), ('\u{1ef0}', "U"), ('\u{1ef1}', "u"), ('\u{1ef2}', "Y"), ('\u{1ef3}', "y"),
    ('\u{1ef4}', "Y"), ('\u{1ef5}', "y"), ('\u{1ef6}', "Y"), ('\u{1ef7}', "y"), ('\u{1ef8}', "Y"),
    ('\u{1ef9}', "y"),
];

/// The ASCII spelling of one letter, when the table has it.
fn fold_char(c: char) -> Option<&'static str> {
    FOLD.binary_search_by(|(k, _)| k.cmp(&c)).ok().map(|i| FOLD[i].1)
}

/// Windows-1252's characters for bytes `0x80..=0x9F` (`None` where the code page has none, and
/// Latin-1 decoders then give the C1 control of that value).
#[rustfmt::skip]
const CP1252: [Option<char>; 32] = [
    Some('€'), None, Some('‚'), Some('ƒ'), Some('„'), Some('…'), Some('†'), Some('‡'),
    Some('ˆ'), Some('‰'), Some('Š'), Some('‹'), Some('Œ'), None, Some('Ž'), None,
    None, Some('‘'), Some('’'), Some('“'), Some('”'), Some('•'), Some('–'), Some('—'),
    Some('˜'), Some('™'), Some('š'), Some('›'), Some('œ'), None, Some('ž'), Some('Ÿ'),
];

/// The byte a character stands for when UTF-8 text was decoded as Latin-1 or Windows-1252.
fn latin_byte(c: char) -> Option<u8> {
    let n = u32::from(c);
    if n < 0x100 {
        return u8::try_from(n).ok();
    }
    CP1252
        .iter()
        .position(|&x| x == Some(c))
        .and_then(|i| u8::try_from(0x80 + i).ok())
}

/// `s` repaired when it is UTF-8 that was decoded as Latin-1 or Windows-1252 (mojibake: `JosÃ©`,
/// `LÃ¢m Ä\u{90}á»—`): every character maps back to one byte and the bytes are valid UTF-8 with
/// at least one multi-byte character. Otherwise `s` unchanged: a real `Ã` followed by a letter
/// that cannot continue a UTF-8 sequence (`Ãlvaro`, `Ñuñez`) is left alone.
pub fn repair_mojibake(s: &str) -> Cow<'_, str> {
    // Mojibake of a multi-byte character always starts with one of `Â`..`ô` (lead bytes C2–F4).
    if !s.chars().any(|c| ('\u{c2}'..='\u{f4}').contains(&c)) {
        return Cow::Borrowed(s);
    }
    let bytes: Option<Vec<u8>> = s.chars().map(latin_byte).collect();
    match bytes.and_then(|b| String::from_utf8(b).ok()) {
        Some(fixed) if fixed.chars().count() < s.chars().count() => Cow::Owned(fixed),
        _ => Cow::Borrowed(s),
    }
}

/// `s` with mojibake repaired ([`repair_mojibake`]) and Latin letters folded to ASCII; combining
/// marks dropped; everything else unchanged.
pub fn fold_to_ascii(s: &str) -> String {
    let s = repair_mojibake(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if ('\u{300}'..='\u{36f}').contains(&c) {
            // A combining mark of decomposed text.
        } else if let Some(a) = fold_char(c) {
            out.push_str(a);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted() {
        assert!(FOLD.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn accents_and_transliterations_fold() {
        for (raw, want) in [
            ("Lâm Đỗ", "Lam Do"),
            ("Müller", "Muller"),
            ("Søren Kierkegård", "Soren Kierkegard"),
            ("Łukasz Wałęsa", "Lukasz Walesa"),
            ("Nguyễn Thị Hương", "Nguyen Thi Huong"),
            ("Straße", "Strasse"),
            ("Ætheling", "AEtheling"),
            ("José", "Jose"),
            ("Jose\u{301}", "Jose"),
            ("Ștefan Țiriac", "Stefan Tiriac"),
            ("Иван", "Иван"),
        ] {
            assert_eq!(fold_to_ascii(raw), want, "{raw}");
        }
    }

    #[test]
    fn mojibake_is_repaired() {
        for good in [
            "José Núñez",
            "Lâm Đỗ",
            "Müller",
            "Zoë Łukasiewicz",
            "François Œuvray",
            "Nguyễn",
        ] {
            // UTF-8 bytes read as Windows-1252 (C1 bytes the code page lacks read as Latin-1).
            let bad: String = good
                .bytes()
                .map(|b| match b {
                    0x80..=0x9f => CP1252[usize::from(b - 0x80)].unwrap_or(char::from(b)),
                    _ => char::from(b),
                })
                .collect();
            assert_ne!(bad, good);
            assert_eq!(repair_mojibake(&bad), good, "{bad}");
        }
        for fine in ["Ãlvaro", "Ñuñez", "Renée Ô", "plain"] {
            assert_eq!(repair_mojibake(fine), fine);
        }
    }
}
