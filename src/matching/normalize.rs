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

/// Digits of a phone number, the last 10 (drops a leading `+1`/`1`); `None` under 7 digits.
pub fn phone_key(phone: &str) -> Option<String> {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    (d.len() >= 7).then(|| d[d.len().saturating_sub(10)..].to_owned())
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
}
