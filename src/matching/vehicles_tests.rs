//! Tricky vehicle cases: heavy-truck VINs, trailers, unit numbers with leading zeros, O/0 typos,
//! re-issued plates, sequential fleet VINs.

use super::*;
use crate::vin::compute_check_digit;

/// `vin` with its check digit set right.
fn fix(vin: &str) -> String {
    let mut b = vin.as_bytes().to_vec();
    b[8] = compute_check_digit(&b).unwrap();
    String::from_utf8(b).unwrap()
}

fn v(id: &str, vin: &str, plate: &str, state: &str, name: &str, make: &str, year: u16) -> Vehicle {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Vehicle {
        id: id.into(),
        vin: opt(vin),
        license_plate: opt(plate),
        license_plate_state: opt(state),
        name: opt(name),
        make: opt(make),
        model: None,
        year: (year > 0).then_some(year),
        external_ids: vec![],
    }
}

fn pairs(res: &MatchResult) -> Vec<(usize, usize)> {
    let mut p: Vec<_> = res.links.iter().map(|l| (l.left, l.right)).collect();
    p.sort_unstable();
    p
}

#[test]
fn exact_vin_folded_vin_and_typo() {
    let a = fix("1FUJGLDR0CLBP8834");
    let b = fix("1XKYD49X0HJ102030");
    let c = fix("4V4NC9EH0GN123456");
    // O typed for 0; one wrong character; the FMC list wrote it lower-case with dashes.
    let b_o = b.replace('0', "O");
    let mut c_typo = c.clone().into_bytes();
    c_typo[13] = b'8';
    let c_typo = String::from_utf8(c_typo).unwrap();
    assert!(!crate::vin::has_valid_check_digit(c_typo.as_bytes()));
    let left = vec![
        v("s1", &a, "", "", "", "", 0),
        v("s2", &b, "", "", "", "", 0),
        v("s3", &c, "", "", "", "", 0),
    ];
    let right = vec![
        v(
            "f1",
            &format!("{}-{}", &a[..8], &a[8..]).to_lowercase(),
            "",
            "",
            "",
            "",
            0,
        ),
        v("f2", &b_o, "", "", "", "", 0),
        v("f3", &c_typo, "", "", "", "", 0),
    ];
    let res = match_vehicles(&left, &right, &MatchOptions::default());
    assert_eq!(pairs(&res), vec![(0, 0), (1, 1), (2, 2)]);
    let by_left = |i: usize| res.links.iter().find(|l| l.left == i).unwrap().reasons;
    assert!(by_left(0).contains(Reason::VinExact));
    assert!(
        by_left(1).contains(Reason::VinFolded),
        "{} {} {:?}",
        b,
        b_o,
        by_left(1).codes()
    );
    assert!(by_left(2).contains(Reason::VinTypo));
}

#[test]
fn sequential_fleet_vins_do_not_link() {
    // Two valid VINs from one fleet order, serials 1 apart: different trucks.
    let a = fix("1FTFW1E50KFA12345");
    let b = fix("1FTFW1E50KFA12346");
    let res = match_vehicles(
        &[v("s", &a, "", "", "", "", 0)],
        &[v("f", &b, "", "", "", "", 0)],
        &MatchOptions::default(),
    );
    assert!(res.links.is_empty() && res.review.is_empty());
}

#[test]
fn reissued_plate_goes_to_the_right_vehicle() {
    let old = fix("1M2AX07C0CM012345");
    let new = fix("3AKJHHDR0JSJV1234");
    // The FMC still lists the sold Mack with the plate now on the Freightliner, and lists the
    // Freightliner itself without a plate.
    let left = vec![v(
        "s-new",
        &new,
        "TX 1234AB",
        "TX",
        "Truck 12",
        "Freightliner",
        2018,
    )];
    let right = vec![
        v("f-old", &old, "1234AB", "TX", "Unit 7", "Mack", 2012),
        v("f-new", &new, "", "", "T-012", "FRHT", 2018),
    ];
    let res = match_vehicles(&left, &right, &MatchOptions::default());
    assert_eq!(pairs(&res), vec![(0, 1)]);
    assert_eq!(res.unmatched_right, vec![0]);
}

#[test]
fn trailers_by_plate_and_leading_zero_unit_numbers() {
    // Trailers often have no VIN in Samsara; the FMC has it.
    let t1 = fix("1UYVS2530EU123456");
    let left = vec![
        v("s1", "", "ABC1234", "CA", "TRAILER 0042", "Utility", 2014),
        v("s2", "", "", "", "Truck #4", "Ford", 2019),
    ];
    let right = vec![
        v(
            "f1",
            &t1,
            "ABC-1234",
            "California",
            "T-42",
            "UTILITY TRAILER",
            2014,
        ),
        v(
            "f2",
            &fix("1FTFW1E50KFA99999"),
            "8XYZ123",
            "CA",
            "UNIT 0004",
            "Ford",
            2019,
        ),
    ];
    let res = match_vehicles(&left, &right, &MatchOptions::default());
    // The trailer links by plate + unit; the truck has only unit + make + year: not enough alone.
    assert_eq!(pairs(&res), vec![(0, 0)]);
    let low = MatchOptions {
        score_cutoff: 35.0,
        ..MatchOptions::default()
    };
    let res = match_vehicles(&left, &right, &low);
    assert_eq!(pairs(&res), vec![(0, 0), (1, 1)]);
}

#[test]
fn partial_vin_and_external_ids() {
    let a = fix("1HTMMAAL0CH123456");
    let mut left = vec![v("s1", &a, "", "", "", "", 0), v("s2", "", "", "", "", "", 0)];
    left[1].external_ids = vec![("maintenanceId".into(), "M-77".into())];
    let mut right = vec![
        v("f1", &a[9..], "", "", "", "International", 0),
        v("f2", "", "", "", "", "", 0),
    ];
    right[1].external_ids = vec![("MaintenanceId".into(), "M-77".into())];
    let res = match_vehicles(&left, &right, &MatchOptions::default());
    assert_eq!(pairs(&res), vec![(0, 0), (1, 1)]);
    assert!(res
        .links
        .iter()
        .any(|l| l.reasons.contains(Reason::ExternalId) && (l.score - 100.0).abs() < 1e-9));
    // The FMC id stored on the Samsara record also links.
    let mut left = vec![v("s9", "", "", "", "", "", 0)];
    left[0].external_ids = vec![("fmcId".into(), "f9".into())];
    let res = match_vehicles(&left, &[v("f9", "", "", "", "", "", 0)], &MatchOptions::default());
    assert_eq!(pairs(&res), vec![(0, 0)]);
}

#[test]
fn duplicate_looking_records_go_to_review() {
    let a = fix("1GCWGAFP0J1123456");
    // The FMC lists the same van twice: a person must decide which record is live.
    let left = vec![v("s1", &a, "", "", "Van 3", "Chevrolet", 2018)];
    let right = vec![
        v("f1", &a, "", "", "Van 3", "Chevy", 2018),
        v("f2", &a, "", "", "VAN 003", "Chevy", 2018),
    ];
    let res = match_vehicles(&left, &right, &MatchOptions::default());
    assert!(res.links.is_empty());
    assert_eq!(res.review.len(), 2);
    assert!(res.unmatched_left.is_empty() && res.unmatched_right.is_empty());
}

#[test]
fn empty_and_garbage_inputs() {
    let res = match_vehicles(&[], &[], &MatchOptions::default());
    assert!(res.links.is_empty());
    let junk = v("x", "??", "-", "zz", "#", "", 0);
    let res = match_vehicles(
        std::slice::from_ref(&junk),
        std::slice::from_ref(&junk),
        &MatchOptions::default(),
    );
    assert!(res.links.is_empty());
}

#[test]
fn replacement_with_the_old_plate_and_unit_does_not_link() {
    // The retired truck is still in Samsara; its replacement (same make, model year, plate and
    // unit number) is in the FMC list with its own VIN. Two valid VINs many edits apart decide it.
    let old = fix("5YJ3E1EA0TA126097");
    let new = fix("5YJ3E1EA0T7124457");
    let model = |mut x: Vehicle| {
        x.model = Some("Model 3".into());
        x
    };
    let left = vec![model(v("s1", &old, "VEH54EB", "", "EV 0228", "Tesla", 2026))];
    let right = vec![model(v("f1", &new, "VEH54EB", "AZ", "228", "Tesla", 2026))];
    let res = match_vehicles(&left, &right, &MatchOptions::default());
    assert!(res.links.is_empty() && res.review.is_empty(), "{res:?}");
    // The same pair with a one-character VIN typo instead is one vehicle.
    let mut typo = old.clone().into_bytes();
    typo[14] = if typo[14] == b'1' { b'7' } else { b'1' };
    let right = vec![v(
        "f1",
        std::str::from_utf8(&typo).unwrap(),
        "VEH54EB",
        "AZ",
        "228",
        "Tesla",
        2026,
    )];
    assert_eq!(
        pairs(&match_vehicles(&left, &right, &MatchOptions::default())),
        vec![(0, 0)]
    );
}
