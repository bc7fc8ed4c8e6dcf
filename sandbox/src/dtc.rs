//! Engine fault codes: J1939 trouble codes for heavy trucks and OBD-II codes for light vehicles and
//! EVs. A code is active for a whole 6-hour block, drawn from the seed per vehicle and block.

use crate::fleet::Kind;
use crate::jsonw::{int, string};
use crate::model::Model;

/// J1939 codes: SPN, FMI, SPN description, FMI description.
const J1939: [(i64, i64, &str, &str); 4] = [
    (3226, 9, "Aftertreatment 1 Outlet NOx", "Abnormal Update Rate"),
    (
        110,
        16,
        "Engine Coolant Temperature",
        "Data Valid But Above Normal Operating Range - Moderately Severe Level",
    ),
    (
        100,
        1,
        "Engine Oil Pressure",
        "Data Valid But Below Normal Operational Range - Most Severe Level",
    ),
    (
        4364,
        18,
        "Aftertreatment 1 SCR Conversion Efficiency",
        "Data Valid But Below Normal Operating Range - Moderately Severe Level",
    ),
];
/// OBD-II codes: DTC ID, short code, description.
const OBD: [(i64, &str, &str); 4] = [
    (
        1056,
        "P0420",
        "Catalyst System Efficiency Below Threshold (Bank 1)",
    ),
    (369, "P0171", "System Too Lean (Bank 1)"),
    (768, "P0300", "Random/Multiple Cylinder Misfire Detected"),
    (
        296,
        "P0128",
        "Coolant Thermostat (Coolant Temperature Below Thermostat Regulating Temperature)",
    ),
];

/// The active code of vehicle `v` at `t` in its short form (`SPN 3226 FMI 9`, `P0420`), if any.
pub(crate) fn active_code(model: &Model, v: usize, t: i64) -> Option<&'static str> {
    /// The J1939 codes' short forms, in [`J1939`] order.
    const J1939_SHORT: [&str; 4] = [
        "SPN 3226 FMI 9",
        "SPN 110 FMI 16",
        "SPN 100 FMI 1",
        "SPN 4364 FMI 18",
    ];
    let h = model.fault_at(v, t)?;
    let i = usize::try_from(h % 4).unwrap_or(0);
    Some(if model.params[v].kind == Kind::Heavy {
        J1939_SHORT[i]
    } else {
        OBD[i].1
    })
}

/// Fault code `h` (as [`Model::fault_at`] gives it) of vehicle `v` as the ground truth names it.
pub(crate) fn describe(model: &Model, v: usize, h: u64) -> serde_json::Value {
    let i = usize::try_from(h % 4).unwrap_or(0);
    if model.params[v].kind == Kind::Heavy {
        let (spn, fmi, _, _) = J1939[i];
        serde_json::json!({"protocol": "j1939", "spn": spn, "fmi": fmi, "txId": 0})
    } else {
        serde_json::json!({"protocol": "obdii", "dtcId": OBD[i].0, "dtcShortCode": OBD[i].1, "txId": 2024})
    }
}

/// Appends the `faultCodes` fields (without `time`) of vehicle `v` at `t`.
pub(crate) fn render(out: &mut Vec<u8>, model: &Model, v: usize, t: i64) {
    let kind = model.params[v].kind;
    let active = model.fault_at(v, t);
    if kind == Kind::Heavy {
        out.extend_from_slice(b",\"canBusType\":\"J1939\",\"j1939\":{\"checkEngineLights\":{");
        let lit = active.is_some();
        out.extend_from_slice(if lit {
            b"\"emissionsIsOn\":true,\"protectIsOn\":false,\"stopIsOn\":false,\"warningIsOn\":true}"
        } else {
            b"\"emissionsIsOn\":false,\"protectIsOn\":false,\"stopIsOn\":false,\"warningIsOn\":false}"
        });
        out.extend_from_slice(b",\"diagnosticTroubleCodes\":[");
        if let Some(h) = active {
            let (spn, fmi, sd, fd) = J1939[usize::try_from(h % 4).unwrap_or(0)];
            out.extend_from_slice(b"{\"fmiId\":");
            int(out, fmi);
            out.extend_from_slice(b",\"fmiDescription\":");
            string(out, fd);
            out.extend_from_slice(b",\"milStatus\":1,\"occurrenceCount\":");
            int(out, 1 + i64::try_from(h % 5).unwrap_or(0));
            out.extend_from_slice(b",\"sourceAddressName\":\"Engine #1\",\"spnDescription\":");
            string(out, sd);
            out.extend_from_slice(b",\"spnId\":");
            int(out, spn);
            out.extend_from_slice(b",\"txId\":0}");
        }
        out.extend_from_slice(b"]}");
    } else {
        out.extend_from_slice(b",\"canBusType\":\"CAN_500\",\"obdii\":{\"checkEngineLightIsOn\":");
        out.extend_from_slice(if active.is_some() { b"true" } else { b"false" });
        out.extend_from_slice(b",\"diagnosticTroubleCodes\":[");
        if let Some(h) = active {
            let (id, code, desc) = OBD[usize::try_from(h % 4).unwrap_or(0)];
            out.extend_from_slice(b"{\"txId\":2024,\"milStatus\":true,\"ignitionType\":\"spark\",\"confirmedDtcs\":[{\"dtcId\":");
            int(out, id);
            out.extend_from_slice(b",\"dtcShortCode\":");
            string(out, code);
            out.extend_from_slice(b",\"dtcDescription\":");
            string(out, desc);
            out.extend_from_slice(b"}],\"pendingDtcs\":[],\"permanentDtcs\":[]}");
        }
        out.extend_from_slice(b"]}");
    }
}
