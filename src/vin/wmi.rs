//! World manufacturer identifiers (VIN positions 1–3) for the makes common in fleets, and the
//! country of manufacture from positions 1–2.
//!
//! The table is ours, written from the public WMI assignments (SAE J1044 / 49 CFR 565.16) of the
//! makes fleet management companies see most: light and heavy trucks, vans, trailers. A WMI not in
//! the table decodes to no manufacturer; the country still decodes.

/// `(WMI, manufacturer)`, sorted by WMI for binary search.
///
/// Checked against (names only, nothing copied): the community-maintained WMI list of an open-source
/// JavaScript VIN decoder (trucks, buses, vans, Hyundai Translead); Andrew Turnbull's school-bus VIN
/// notes (IC Bus, formerly Amtran: `1HV`, `4DR`); and, for the trailer makers that list lacks (Great
/// Dane `1GR`, Wabash `1JJ`, Utility `1UY`, Stoughton `1DW`, Fontaine `13N`), the agreement of many
/// published trailer VINs with their stated make. Vanguard and Utilimaster are left out: no source at
/// hand confirmed a WMI. `7G2` (Tesla trucks) and `WD3`/`WD4` (pre-2019 Sprinter) come from the
/// original table and were not re-confirmed.
const WMIS: &[(&str, &str)] = &[
    ("13N", "Fontaine"),
    ("1BA", "Blue Bird"),
    ("1BD", "Blue Bird"),
    ("1C4", "Chrysler/Jeep"),
    ("1C6", "Ram"),
    ("1D7", "Dodge"),
    ("1DW", "Stoughton Trailers"),
    ("1FA", "Ford"),
    ("1FB", "Ford"),
    ("1FC", "Ford"),
    ("1FD", "Ford"),
    ("1FM", "Ford"),
    ("1FT", "Ford"),
    ("1FU", "Freightliner"),
    ("1FV", "Freightliner"),
    ("1G1", "Chevrolet"),
    ("1GB", "Chevrolet"),
    ("1GC", "Chevrolet"),
    ("1GD", "GMC"),
    ("1GN", "Chevrolet"),
    ("1GR", "Great Dane"),
    ("1GT", "GMC"),
    ("1HG", "Honda"),
    ("1HS", "International"),
    ("1HT", "International"),
    ("1HV", "IC Bus"),
    ("1JJ", "Wabash"),
    ("1M1", "Mack"),
    ("1M2", "Mack"),
    ("1N4", "Nissan"),
    ("1N6", "Nissan"),
    ("1NK", "Kenworth"),
    ("1NP", "Peterbilt"),
    ("1T7", "Thomas Built Buses"),
    ("1T8", "Thomas Built Buses"),
    ("1UY", "Utility Trailer"),
    ("1XK", "Kenworth"),
    ("1XP", "Peterbilt"),
    ("2AY", "Hino"),
    ("2AZ", "Hino"),
    ("2C4", "Chrysler"),
    ("2FM", "Ford"),
    ("2FT", "Ford"),
    ("2FU", "Freightliner"),
    ("2FV", "Freightliner"),
    ("2GC", "Chevrolet"),
    ("2GT", "GMC"),
    ("2HS", "International"),
    ("2HT", "International"),
    ("2M1", "Mack"),
    ("2M2", "Mack"),
    ("2NK", "Kenworth"),
    ("2NP", "Peterbilt"),
    ("2WK", "Western Star"),
    ("2WL", "Western Star"),
    ("2WM", "Western Star"),
    ("2XK", "Kenworth"),
    ("2XP", "Peterbilt"),
    ("3AK", "Freightliner"),
    ("3AL", "Freightliner"),
    ("3BK", "Kenworth"),
    ("3BP", "Peterbilt"),
    ("3C6", "Ram"),
    ("3C7", "Ram"),
    ("3D7", "Dodge"),
    ("3FA", "Ford"),
    ("3FT", "Ford"),
    ("3GC", "Chevrolet"),
    ("3GT", "GMC"),
    ("3H3", "Hyundai Translead"),
    ("3HA", "International"),
    ("3HC", "International"),
    ("3HS", "International"),
    ("3HT", "International"),
    ("3N6", "Nissan"),
    ("3TM", "Toyota"),
    ("3WK", "Kenworth"),
    ("3WP", "Peterbilt"),
    ("4DR", "IC Bus"),
    ("4KL", "Isuzu"),
    ("4T1", "Toyota"),
    ("4T3", "Toyota"),
    ("4UZ", "Freightliner Custom Chassis"),
    ("4V4", "Volvo Trucks"),
    ("4V5", "Volvo Trucks"),
    ("4VA", "Volvo Trucks"),
    ("4VE", "Volvo Trucks"),
    ("4VG", "Volvo Trucks"),
    ("4VH", "Volvo Trucks"),
    ("4VM", "Volvo Trucks"),
    ("516", "Autocar"),
    ("54D", "Isuzu"),
    ("5FN", "Honda"),
    ("5KJ", "Western Star"),
    ("5KK", "Western Star"),
    ("5PV", "Hino"),
    ("5TD", "Toyota"),
    ("5TF", "Toyota"),
    ("5VC", "Autocar"),
    ("5WE", "IC Bus"),
    ("5YJ", "Tesla"),
    ("7G2", "Tesla"),
    ("7H4", "Hino"),
    ("7SA", "Tesla"),
    ("J8B", "Chevrolet"),
    ("J8C", "Chevrolet"),
    ("J8D", "GMC"),
    ("J8T", "GMC"),
    ("JAA", "Isuzu"),
    ("JAL", "Isuzu"),
    ("JAM", "Isuzu"),
    ("JHA", "Hino"),
    ("JHB", "Hino"),
    ("JHD", "Hino"),
    ("JHF", "Hino"),
    ("JHH", "Hino"),
    ("JL5", "Mitsubishi Fuso"),
    ("JL6", "Mitsubishi Fuso"),
    ("JLF", "Mitsubishi Fuso"),
    ("JN1", "Nissan"),
    ("JN8", "Nissan"),
    ("JTD", "Toyota"),
    ("JTM", "Toyota"),
    ("JW6", "Mitsubishi Fuso"),
    ("NM0", "Ford"),
    ("W1W", "Mercedes-Benz"),
    ("W1X", "Mercedes-Benz"),
    ("W1Y", "Mercedes-Benz"),
    ("W1Z", "Mercedes-Benz"),
    ("W2W", "Freightliner"),
    ("W2X", "Freightliner"),
    ("W2Y", "Freightliner"),
    ("W2Z", "Freightliner"),
    ("WD3", "Mercedes-Benz"),
    ("WD4", "Mercedes-Benz"),
    ("YV2", "Volvo Trucks"),
    ("YV5", "Volvo Trucks"),
];

/// The manufacturer a WMI (VIN positions 1–3, upper case) belongs to, for the makes in our table.
pub(crate) fn manufacturer(wmi: &str) -> Option<&'static str> {
    let wmi = wmi.get(..3)?;
    WMIS.binary_search_by(|&(w, _)| w.cmp(wmi))
        .ok()
        .map(|i| WMIS[i].1)
}

/// The country (or region) of manufacture from VIN positions 1–2 (ISO 3780 ranges, the common ones).
pub(crate) fn country(vin: &str) -> Option<&'static str> {
    let b = vin.as_bytes();
    let (c1, c2) = (*b.first()?, b.get(1).copied().unwrap_or(b'A'));
    Some(match c1 {
        b'1' | b'4' | b'5' | b'7' => "United States",
        b'2' => "Canada",
        b'3' => match c2 {
            b'A'..=b'W' => "Mexico",
            b'X'..=b'Z' | b'1'..=b'7' => "Costa Rica",
            _ => "Cayman Islands",
        },
        b'6' => "Australia",
        b'8' => match c2 {
            b'A'..=b'E' => "Argentina",
            b'F'..=b'K' => "Chile",
            _ => "South America",
        },
        b'9' => match c2 {
            b'A'..=b'E' | b'3'..=b'9' => "Brazil",
            _ => "South America",
        },
        b'J' => "Japan",
        b'K' => match c2 {
            b'L'..=b'R' => "South Korea",
            _ => "Asia",
        },
        b'L' => "China",
        b'M' => match c2 {
            b'A'..=b'E' => "India",
            b'F'..=b'K' => "Indonesia",
            b'L'..=b'R' => "Thailand",
            _ => "Asia",
        },
        b'N' => match c2 {
            b'L'..=b'R' => "Turkey",
            _ => "Asia",
        },
        b'S' => match c2 {
            b'A'..=b'M' => "United Kingdom",
            b'N'..=b'T' => "Germany",
            b'U'..=b'Z' => "Poland",
            _ => "Europe",
        },
        b'T' => match c2 {
            b'A'..=b'H' => "Switzerland",
            b'J'..=b'P' => "Czech Republic",
            b'R'..=b'V' => "Hungary",
            _ => "Europe",
        },
        b'V' => match c2 {
            b'A'..=b'E' => "Austria",
            b'F'..=b'R' => "France",
            b'S'..=b'W' => "Spain",
            _ => "Europe",
        },
        b'W' => "Germany",
        b'Y' => match c2 {
            b'A'..=b'E' => "Belgium",
            b'F'..=b'K' => "Finland",
            b'S'..=b'W' => "Sweden",
            _ => "Europe",
        },
        b'Z' => match c2 {
            b'A'..=b'R' => "Italy",
            _ => "Europe",
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(WMIS.windows(2).all(|w| w[0].0 < w[1].0), "WMIS must be sorted");
        assert!(WMIS.iter().all(|(w, _)| w.len() == 3));
    }

    #[test]
    fn fleet_makes() {
        let cases = [
            ("1FTFW1E50KFA12345", Some("Ford"), Some("United States")),
            ("1FUJGLDR9CLBP8834", Some("Freightliner"), Some("United States")),
            ("3AKJHHDR5JSJV1234", Some("Freightliner"), Some("Mexico")),
            ("1XKYD49X0HJ123456", Some("Kenworth"), Some("United States")),
            ("4V4NC9EH5GN123456", Some("Volvo Trucks"), Some("United States")),
            (
                "1UYVS2538EU123456",
                Some("Utility Trailer"),
                Some("United States"),
            ),
            ("JALC4W162E7000001", Some("Isuzu"), Some("Japan")),
            ("5KJJAED10LPLG1234", Some("Western Star"), Some("United States")),
            ("4DRBUC8N0HB123456", Some("IC Bus"), Some("United States")),
            ("1BAKGCPA0KF123456", Some("Blue Bird"), Some("United States")),
            (
                "4UZABRDT0KC123456",
                Some("Freightliner Custom Chassis"),
                Some("United States"),
            ),
            (
                "1T88R4D20K1123456",
                Some("Thomas Built Buses"),
                Some("United States"),
            ),
            ("5VCACLLF0KH123456", Some("Autocar"), Some("United States")),
            ("JL6BRG1S0KK123456", Some("Mitsubishi Fuso"), Some("Japan")),
            ("JHHSDM2H0KK123456", Some("Hino"), Some("Japan")),
            ("1GRAA0621KB123456", Some("Great Dane"), Some("United States")),
            ("1JJV532D0KL123456", Some("Wabash"), Some("United States")),
            (
                "1DW1A5320KS123456",
                Some("Stoughton Trailers"),
                Some("United States"),
            ),
            ("3H3V532C0KT123456", Some("Hyundai Translead"), Some("Mexico")),
            ("13N148201D1123456", Some("Fontaine"), Some("United States")),
            ("WDB1240821A123456", None, Some("Germany")),
            ("2T1BURHE0JC123456", None, Some("Canada")),
        ];
        for (vin, make, ctry) in cases {
            assert_eq!(manufacturer(vin), make, "{vin}");
            assert_eq!(country(vin), ctry, "{vin}");
        }
        assert_eq!(manufacturer("1F"), None);
        assert_eq!(country(""), None);
        assert_eq!(country("#AB"), None);
    }
}
