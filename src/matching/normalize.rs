//! Field normalisers for matching: unit numbers out of names, plates, states, makes, phones, emails.

/// Words that announce a unit number in a vehicle name ("Truck #4", "UNIT 0004", "T-004").
#[rustfmt::skip]
const UNIT_WORDS: &[&str] = &[
    "asset", "bus", "fleet", "no", "num", "number", "t", "tk", "tr", "tractor", "trailer", "trk", "trl", "truck",
    "u", "un", "unit", "v", "van", "veh", "vehicle",
    // Body types fleets name units by ("Pickup 12", "Reefer 0310").
    "bobtail", "boxtruck", "car", "ev", "flatbed", "pickup", "reefer", "semi", "shuttle", "suv", "tanker",
];

/// Splits a name into lower-case alphanumeric tokens, also between letters and digits
/// (`"T004"` → `t`, `004`). `#` is kept as a token of its own.
fn tokens(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_digit = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            let digit = c.is_ascii_digit();
            if !cur.is_empty() && digit != cur_digit {
                out.push(std::mem::take(&mut cur));
            }
            cur_digit = digit;
            cur.extend(c.to_lowercase());
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if c == '#' {
                out.push("#".to_owned());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn strip_zeros(digits: &str) -> String {
    let t = digits.trim_start_matches('0');
    if t.is_empty() {
        "0".to_owned()
    } else {
        t.to_owned()
    }
}

/// The unit number in a vehicle name, leading zeros dropped: `"Truck #4"`, `"T-004"`, `"UNIT 0004"`
/// and `"4"` all give `"4"`. A number after `#` or a unit word wins; otherwise the name's only
/// number, alone or behind a prefix of one or two letters. `None` when there is no such number.
pub fn unit_number(name: &str) -> Option<String> {
    let t = tokens(name);
    let is_num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    for w in t.windows(2) {
        if (w[0] == "#" || UNIT_WORDS.contains(&w[0].as_str())) && is_num(&w[1]) {
            return Some(strip_zeros(&w[1]));
        }
    }
    // Otherwise only a bare number, perhaps behind a short prefix ("0042", "T004", "A-12"), so that
    // model numbers ("F-150", "3000R") are not taken for unit numbers.
    // A zero-padded number behind any word ("Loader 0042") is a unit number too: model numbers and
    // years are not written with leading zeros.
    match t.as_slice() {
        [n] if is_num(n) && n.len() <= 8 => Some(strip_zeros(n)),
        [p, n] if p.len() <= 2 && !is_num(p) && is_num(n) && n.len() <= 8 => Some(strip_zeros(n)),
        [p, n] if !is_num(p) && is_num(n) && n.len() >= 2 && n.len() <= 8 && n.starts_with('0') => {
            Some(strip_zeros(n))
        }
        _ => None,
    }
}

/// A vehicle name for comparison: [`default_process`](super::default_process)ed, with leading
/// zeros dropped from numbers, so `"Truck 0241"` and `"TRUCK #241"` compare equal.
pub fn name_key(name: &str) -> String {
    let p = super::default_process(name);
    let mut out = String::with_capacity(p.len());
    for tok in p.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if tok.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&strip_zeros(tok));
        } else {
            out.push_str(tok);
        }
    }
    out
}

/// A plate as a comparison key: upper case, alphanumerics only, `O` folded to `0` and `I` to `1`
/// (the characters states avoid or print alike). `None` when nothing is left.
pub fn plate_key(plate: &str) -> Option<String> {
    let k: String = plate
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' => '1',
            u => u,
        })
        .collect();
    (!k.is_empty()).then_some(k)
}

/// US states, DC and Canadian provinces by name, for [`state_code`].
#[rustfmt::skip]
const STATES: &[(&str, &str)] = &[
    ("ALABAMA", "AL"), ("ALASKA", "AK"), ("ARIZONA", "AZ"), ("ARKANSAS", "AR"), ("CALIFORNIA", "CA"),
    ("COLORADO", "CO"), ("CONNECTICUT", "CT"), ("DELAWARE", "DE"), ("DISTRICTOFCOLUMBIA", "DC"),
    ("FLORIDA", "FL"), ("GEORGIA", "GA"), ("HAWAII", "HI"), ("IDAHO", "ID"), ("ILLINOIS", "IL"),
    ("INDIANA", "IN"), ("IOWA", "IA"), ("KANSAS", "KS"), ("KENTUCKY", "KY"), ("LOUISIANA", "LA"),
    ("MAINE", "ME"), ("MARYLAND", "MD"), ("MASSACHUSETTS", "MA"), ("MICHIGAN", "MI"), ("MINNESOTA", "MN"),
    ("MISSISSIPPI", "MS"), ("MISSOURI", "MO"), ("MONTANA", "MT"), ("NEBRASKA", "NE"), ("NEVADA", "NV"),
    ("NEWHAMPSHIRE", "NH"), ("NEWJERSEY", "NJ"), ("NEWMEXICO", "NM"), ("NEWYORK", "NY"),
    ("NORTHCAROLINA", "NC"), ("NORTHDAKOTA", "ND"), ("OHIO", "OH"), ("OKLAHOMA", "OK"), ("OREGON", "OR"),
    ("PENNSYLVANIA", "PA"), ("RHODEISLAND", "RI"), ("SOUTHCAROLINA", "SC"), ("SOUTHDAKOTA", "SD"),
    ("TENNESSEE", "TN"), ("TEXAS", "TX"), ("UTAH", "UT"), ("VERMONT", "VT"), ("VIRGINIA", "VA"),
    ("WASHINGTON", "WA"), ("WESTVIRGINIA", "WV"), ("WISCONSIN", "WI"), ("WYOMING", "WY"),
    ("ALBERTA", "AB"), ("BRITISHCOLUMBIA", "BC"), ("MANITOBA", "MB"), ("NEWBRUNSWICK", "NB"),
    ("NOVASCOTIA", "NS"), ("ONTARIO", "ON"), ("QUEBEC", "QC"), ("SASKATCHEWAN", "SK"),
];

/// A state or province as its two-letter code: `"ca"`, `"CA "`, `"California"` → `"CA"`; other
/// text is upper-cased with non-letters dropped. `None` when empty.
pub fn state_code(state: &str) -> Option<String> {
    let s: String = state
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.is_empty() {
        return None;
    }
    if s.len() == 2 {
        return Some(s);
    }
    Some(
        STATES
            .iter()
            .find(|(name, _)| *name == s)
            .map_or(s, |(_, code)| (*code).to_owned()),
    )
}

/// Make spellings fleets use, to one canonical name.
#[rustfmt::skip]
const MAKES: &[(&str, &str)] = &[
    ("CHEV", "CHEVROLET"), ("CHEVY", "CHEVROLET"), ("DODGE", "RAM"), ("FRHT", "FREIGHTLINER"),
    ("FREIGHTLINER", "FREIGHTLINER"), ("FRTL", "FREIGHTLINER"), ("FUSO", "MITSUBISHI FUSO"),
    ("GREATDANE", "GREAT DANE"), ("HYUNDAITRANSLEAD", "HYUNDAI TRANSLEAD"), ("ICBUS", "IC BUS"),
    ("MITSUBISHIFUSO", "MITSUBISHI FUSO"), ("TRANSLEAD", "HYUNDAI TRANSLEAD"),
    ("WESTERNSTAR", "WESTERN STAR"),
    ("GMC", "GMC"), ("INTERNATIONAL", "INTERNATIONAL"), ("INTL", "INTERNATIONAL"),
    ("KENWORTH", "KENWORTH"), ("KW", "KENWORTH"), ("MERCEDES", "MERCEDES-BENZ"),
    ("MERCEDESBENZ", "MERCEDES-BENZ"), ("NAVISTAR", "INTERNATIONAL"), ("PETE", "PETERBILT"),
    ("PETERBILT", "PETERBILT"), ("RAM", "RAM"), ("UTILITY", "UTILITY TRAILER"),
    ("UTILITYTRAILER", "UTILITY TRAILER"), ("VOLVO", "VOLVO"), ("VOLVOTRUCKS", "VOLVO"),
    ("VNL", "VOLVO"), ("WABASH", "WABASH"), ("WABASHNATIONAL", "WABASH"),
];

/// A make as a canonical upper-case name (`"Chevy"` → `"CHEVROLET"`, `"Intl"` → `"INTERNATIONAL"`).
pub fn make_key(make: &str) -> Option<String> {
    let s: String = make
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.is_empty() {
        return None;
    }
    Some(
        MAKES
            .iter()
            .find(|(k, _)| *k == s)
            .map_or(s, |(_, v)| (*v).to_owned()),
    )
}

/// Whether the make on a record and the manufacturer decoded from a VIN are the same company.
pub fn make_agrees(make: &str, manufacturer: &str) -> bool {
    let m = make_key(manufacturer).unwrap_or_default();
    m.starts_with(make) || make.starts_with(&m) || (make == "RAM" && m == "DODGE")
}

/// A phone number's ten digits. An extension is cut off (`x214`, `ext. 214`, `#214`, or digits
/// beyond the number: `555-010-2030 214`), a leading `1` / `+1` dropped; a number written with
/// another `+` country code keeps its last ten digits. `None` under 7 digits.
pub fn phone_key(phone: &str) -> Option<String> {
    let mut d = String::with_capacity(16);
    for c in phone.chars() {
        if c.is_ascii_digit() {
            d.push(c);
        } else if d.len() >= 7 && (c.is_alphabetic() || matches!(c, '#' | ',' | ';')) {
            break; // an extension follows
        }
    }
    if d.len() < 7 {
        return None;
    }
    let t = phone.trim_start();
    let foreign = t.starts_with('+') && !t.starts_with("+1");
    let national = match d.strip_prefix('1') {
        Some(rest) if !foreign && d.len() >= 11 => rest,
        _ => d.as_str(),
    };
    Some(if foreign || national.len() <= 10 {
        d[d.len().saturating_sub(10)..].to_owned()
    } else {
        // The number, then an extension written without a marker.
        national[..10].to_owned()
    })
}

/// An email address trimmed and lower-cased; `None` without an `@`.
pub fn email_key(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    (e.contains('@') && e.len() > 2).then_some(e)
}

/// An identifier (licence number, username, VIN fragment) as upper-case alphanumerics.
pub fn ident_key(s: &str) -> Option<String> {
    let k: String = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    (!k.is_empty()).then_some(k)
}

/// Whether `code` is a US state, DC or Canadian province code.
fn is_state_code(code: &str) -> bool {
    STATES.iter().any(|(_, c)| *c == code)
}

/// A licence number as a comparison key, undoing what exports do to it: upper-case alphanumerics
/// ([`ident_key`]); a two-letter state or province code written before an all-digit number dropped
/// (`TX07567840` → `07567840`); then leading zeros of an all-digit number dropped (a spreadsheet
/// read it as a number: `004434640` → `4434640`). Letters-and-digits numbers keep their zeros.
pub fn license_key(s: &str) -> Option<String> {
    let k = ident_key(s)?;
    let b = k.as_bytes();
    let digits = |x: &[u8]| !x.is_empty() && x.iter().all(u8::is_ascii_digit);
    let core = if b.len() >= 6
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && digits(&b[2..])
        && is_state_code(&k[..2])
    {
        &k[2..]
    } else {
        k.as_str()
    };
    Some(if digits(core.as_bytes()) {
        strip_zeros(core)
    } else {
        core.to_owned()
    })
}

/// An employee or payroll number as a comparison key: a number a spreadsheet exported as a float
/// read back as the integer (`4821.0`, `8.4324E+04`), then [`ident_key`], then leading zeros
/// dropped from the digits that end it (`084324` → `84324`, `pr-01310` → `PR1310`), since exports
/// drop them from numbers and keep them in text.
pub fn employee_key(s: &str) -> Option<String> {
    let t = s.trim();
    let as_int = if t.contains('.') {
        t.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && x.fract() == 0.0 && (0.0..1e15).contains(x))
            .map(|x| format!("{x:.0}"))
    } else {
        None
    };
    let k = ident_key(as_int.as_deref().unwrap_or(t))?;
    let split = k.len() - k.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (head, tail) = k.split_at(split);
    Some(if tail.is_empty() {
        k.clone()
    } else {
        format!("{head}{}", strip_zeros(tail))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_numbers() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Truck #4", Some("4")),
            ("T-004", Some("4")),
            ("UNIT 0004", Some("4")),
            ("0004", Some("4")),
            ("T004", Some("4")),
            ("Unit 12 - 2019 Ford F-150", Some("12")),
            ("2019 Ford F-150 #12", Some("12")),
            ("Van 3 (F-250)", Some("3")),
            ("#000", Some("0")),
            ("Trailer 53-117", Some("53")),
            ("2019 Freightliner", None),
            ("Ford F-150", None),
            ("2015 Utility 3000R", None),
            ("A-12", Some("12")),
            ("Bob's truck", None),
            ("", None),
            ("12 34", None),
            ("Pickup 0200", Some("200")),
            ("Reefer 310", Some("310")),
            ("Loader 0042", Some("42")),
            ("Cascadia 2019", None),
            ("Pickup", None),
        ];
        for &(name, want) in cases {
            assert_eq!(unit_number(name).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn name_keys_drop_leading_zeros() {
        assert_eq!(name_key("Truck 0241"), "truck 241");
        assert_eq!(name_key("TRUCK #241"), "truck 241");
        assert_eq!(name_key("Van 000"), "van 0");
        assert_eq!(name_key("  "), "");
    }

    #[test]
    fn plates_states_makes() {
        assert_eq!(plate_key("7abc-123").as_deref(), Some("7ABC123"));
        assert_eq!(plate_key("ABO 1I2").as_deref(), Some("AB0112"));
        assert_eq!(plate_key(" - "), None);
        assert_eq!(state_code("California").as_deref(), Some("CA"));
        assert_eq!(state_code(" tx ").as_deref(), Some("TX"));
        assert_eq!(state_code("New York").as_deref(), Some("NY"));
        assert_eq!(state_code(""), None);
        assert_eq!(make_key("Chevy").as_deref(), Some("CHEVROLET"));
        assert_eq!(make_key("Intl.").as_deref(), Some("INTERNATIONAL"));
        assert_eq!(make_key("Ford").as_deref(), Some("FORD"));
        assert!(make_agrees("FORD", "Ford"));
        assert!(make_agrees("FREIGHTLINER", "Freightliner Custom Chassis"));
        assert!(!make_agrees("FORD", "Kenworth"));
        let fuso = make_key("Fuso").unwrap_or_default();
        assert!(make_agrees(&fuso, "Mitsubishi Fuso"));
        let translead = make_key("Translead").unwrap_or_default();
        assert!(make_agrees(&translead, "Hyundai Translead"));
        assert!(make_agrees("BLUEBIRD", "Blue Bird"));
    }

    #[test]
    fn contact_keys() {
        assert_eq!(phone_key("+1 (555) 010-2030").as_deref(), Some("5550102030"));
        assert_eq!(phone_key("555-0102").as_deref(), Some("5550102"));
        assert_eq!(phone_key("12"), None);
        assert_eq!(
            email_key(" J.Smith@Example.com ").as_deref(),
            Some("j.smith@example.com")
        );
        assert_eq!(email_key("nope"), None);
        assert_eq!(ident_key("d123-456-789").as_deref(), Some("D123456789"));
    }

    #[test]
    fn phone_extensions_and_country_codes() {
        for (raw, want) in [
            ("(555) 010-2030 x214", Some("5550102030")),
            ("555.010.2030 ext. 7", Some("5550102030")),
            ("555-010-2030 #12", Some("5550102030")),
            ("+1 555 010 2030, 44", Some("5550102030")),
            ("555-010-2030 214", Some("5550102030")),
            ("1-555-010-2030 214", Some("5550102030")),
            ("15550102030", Some("5550102030")),
            ("+44 20 7946 0958", Some("2079460958")),
            ("+52 55 1234 5678", Some("5512345678")),
            ("Ext 12", None),
        ] {
            assert_eq!(phone_key(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn licence_keys_undo_prefixes_and_dropped_zeros() {
        for (a, b) in [
            ("TX07567840", "07567840"),
            ("tx-0756-7840", "7567840"),
            ("004434640", "4434640"),
            ("D1234567", "d123-4567"),
            ("on-123456", "123456"),
        ] {
            assert_eq!(license_key(a), license_key(b), "{a} {b}");
        }
        for (a, b) in [
            ("D0123456", "D123456"),    // letters and digits keep their zeros
            ("XY07567840", "07567840"), // not a state code
            ("S1234567", "1234567"),
        ] {
            assert_ne!(license_key(a), license_key(b), "{a} {b}");
        }
        assert_eq!(license_key("000").as_deref(), Some("0"));
        assert_eq!(license_key(" - "), None);
    }

    #[test]
    fn employee_keys_undo_spreadsheet_damage() {
        for (a, b) in [
            ("084324", "84324"),
            ("4821.0", "4821"),
            ("04821", "4821.00"),
            ("8.4324E+04", "84324"),
            ("pr-01310", "PR1310"),
            ("E-20017", "e20017"),
        ] {
            assert_eq!(employee_key(a), employee_key(b), "{a} {b}");
        }
        assert_ne!(employee_key("4821.5"), employee_key("4821"));
        assert_ne!(employee_key("A12"), employee_key("B12"));
        assert_eq!(employee_key(" "), None);
    }
}
