//! The form-template catalogue (`GET /form-templates`) and the check of submitted field inputs
//! against it: every input must name a field of the submission's template and carry the value object
//! of that field's type; a multiple-choice or check-boxes answer must be one of the field's options,
//! given by option ID (`valueId`/`valueIds`, the only keys the 14.x request model has; a `value` label
//! sent along must name the same option), and is stored with both ID and label, as every read returns
//! them.

use serde_json::{json, Map, Value};

use crate::http::Response;
use crate::simtime::{parse_rfc3339_ms, rfc3339_ms};

/// A field's type and, for choices, its options (option ID, label).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `number`: `numberValue{value}`.
    Number,
    /// `text`: `textValue{value}`.
    Text,
    /// `multiple_choice`: `multipleChoiceValue{value, valueId}`.
    Choice(&'static [(&'static str, &'static str)]),
    /// `check_boxes`: `checkBoxesValue{value[], valueIds[]}`.
    Boxes(&'static [(&'static str, &'static str)]),
    /// `datetime`: `dateTimeValue{type, value}`.
    DateTime,
}

impl Kind {
    /// The field `type` on the wire.
    pub(crate) fn wire(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Text => "text",
            Self::Choice(_) => "multiple_choice",
            Self::Boxes(_) => "check_boxes",
            Self::DateTime => "datetime",
        }
    }

    /// The key of the value object in a field input.
    pub(crate) fn value_key(self) -> &'static str {
        match self {
            Self::Number => "numberValue",
            Self::Text => "textValue",
            Self::Choice(_) => "multipleChoiceValue",
            Self::Boxes(_) => "checkBoxesValue",
            Self::DateTime => "dateTimeValue",
        }
    }
}

/// One field of a template.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldDef {
    /// Field ID.
    pub(crate) id: &'static str,
    /// Label.
    pub(crate) label: &'static str,
    /// Type and options.
    pub(crate) kind: Kind,
    /// Whether the driver must fill it in.
    pub(crate) required: bool,
}

/// A form template.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Template {
    /// Template ID.
    pub(crate) id: &'static str,
    /// Current revision.
    pub(crate) revision: &'static str,
    /// Title.
    pub(crate) title: &'static str,
    /// `formCategory` (14.x enum).
    pub(crate) category: &'static str,
    /// Fields, in order.
    pub(crate) fields: &'static [FieldDef],
}

const YES_NO: &[(&str, &str)] = &[("o-yes", "Yes"), ("o-no", "No")];
/// The freight-condition options of a proof of delivery.
pub(crate) const CONDITIONS: &[(&str, &str)] = &[
    ("o-intact", "Intact"),
    ("o-damaged", "Damaged"),
    ("o-refused", "Refused"),
];

const fn field(id: &'static str, label: &'static str, kind: Kind, required: bool) -> FieldDef {
    FieldDef {
        id,
        label,
        kind,
        required,
    }
}

/// Every template of the organisation.
pub(crate) const TEMPLATES: &[Template] = &[
    Template {
        id: "9b1e6a52-0000-4000-8000-000000000001",
        revision: "rev-1",
        title: "Pre-trip inspection",
        category: "assetInspection",
        fields: &[
            field("f-odometer", "Odometer", Kind::Number, true),
            field("f-tires", "Tires OK?", Kind::Choice(YES_NO), true),
            field("f-notes", "Notes", Kind::Text, false),
        ],
    },
    Template {
        id: "9b1e6a52-0000-4000-8000-000000000002",
        revision: "rev-1",
        title: "Fuel receipt",
        category: "fuel",
        fields: &[
            field("f-litres", "Litres", Kind::Number, true),
            field("f-station", "Station", Kind::Text, false),
        ],
    },
    Template {
        id: "9b1e6a52-0000-4000-8000-000000000003",
        revision: "rev-2",
        title: "Proof of delivery",
        category: "routing",
        fields: &[
            field("f-delivered-at", "Delivered at", Kind::DateTime, true),
            field("f-condition", "Freight condition", Kind::Choice(CONDITIONS), true),
            field("f-pieces", "Pieces", Kind::Number, true),
            field("f-receiver", "Received by", Kind::Text, true),
        ],
    },
    Template {
        id: "9b1e6a52-0000-4000-8000-000000000004",
        revision: "rev-1",
        title: "Incident report",
        category: "safety",
        fields: &[
            field(
                "f-kind",
                "What happened",
                Kind::Choice(&[
                    ("o-collision", "Collision"),
                    ("o-near-miss", "Near miss"),
                    ("o-injury", "Injury"),
                ]),
                true,
            ),
            field(
                "f-parties",
                "Who was involved",
                Kind::Boxes(&[
                    ("o-vehicle", "Other vehicle"),
                    ("o-pedestrian", "Pedestrian"),
                    ("o-property", "Property"),
                ]),
                false,
            ),
            field("f-description", "Description", Kind::Text, true),
        ],
    },
];

/// The template with this ID.
pub(crate) fn find(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

/// The template's wire shape.
pub(crate) fn template_json(t: &Template) -> Value {
    let fields: Vec<Value> = t
        .fields
        .iter()
        .map(|f| {
            let mut j =
                json!({"id": f.id, "label": f.label, "type": f.kind.wire(), "isRequired": f.required});
            if let Kind::Choice(opts) | Kind::Boxes(opts) = f.kind {
                j["options"] = opts
                    .iter()
                    .map(|(id, label)| json!({"id": id, "label": label}))
                    .collect();
            }
            if let Kind::DateTime = f.kind {
                j["allowedDateTimeValueType"] = json!("datetime");
            }
            j
        })
        .collect();
    json!({"id": t.id, "revisionId": t.revision, "title": t.title, "description": format!("{} (sandbox)", t.title),
        "formCategory": t.category, "createdAtTime": "2024-01-01T00:00:00Z", "updatedAtTime": "2024-01-01T00:00:00Z",
        "createdBy": {"id": "1", "type": "user"}, "updatedBy": {"id": "1", "type": "user"}, "fields": fields,
        "sections": [{"id": "s-1", "label": "Main", "fieldIndexFirstInclusive": 0,
            "fieldIndexLastInclusive": t.fields.len().saturating_sub(1)}]})
}

/// A stored field input (response shape): `{"id", "label", "type", "<kind>Value": value}`.
pub(crate) fn input(f: &FieldDef, value: Value) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(f.id));
    m.insert("label".into(), json!(f.label));
    m.insert("type".into(), json!(f.kind.wire()));
    m.insert(f.kind.value_key().into(), value);
    Value::Object(m)
}

fn bad(id: &str, problem: &str) -> Response {
    Response::bad_param("fields", &format!("field `{id}`: {problem}"))
}

/// One option by ID or label; both given must agree.
fn option(
    f: &FieldDef,
    opts: &'static [(&'static str, &'static str)],
    id: Option<&Value>,
    label: Option<&Value>,
) -> Result<(&'static str, &'static str), Response> {
    let offered = || {
        opts.iter()
            .map(|(i, l)| format!("`{i}` ({l})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by_id = match id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(opts.iter().find(|o| o.0 == s).ok_or_else(|| {
            bad(
                f.id,
                &format!("option `{s}` is not offered; use one of {}", offered()),
            )
        })?),
        Some(_) => return Err(bad(f.id, "option IDs must be strings")),
    };
    let by_label = match label {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(opts.iter().find(|o| o.1 == s).ok_or_else(|| {
            bad(
                f.id,
                &format!("option `{s}` is not offered; use one of {}", offered()),
            )
        })?),
        Some(_) => return Err(bad(f.id, "option labels must be strings")),
    };
    match (by_id, by_label) {
        (Some(a), Some(b)) if a != b => Err(bad(
            f.id,
            &format!("`valueId` `{}` and `value` `{}` name different options", a.0, b.1),
        )),
        (Some(o), _) => Ok(*o),
        (None, _) => Err(bad(
            f.id,
            &format!(
                "give the option by ID (`valueId` or `valueIds`), one of {}",
                offered()
            ),
        )),
    }
}

/// The response value object of `f` for a request value object `v`.
fn value_of(f: &FieldDef, v: &Map<String, Value>) -> Result<Value, Response> {
    match f.kind {
        Kind::Number => match v.get("value") {
            Some(Value::Number(n)) => Ok(json!({"value": n})),
            other => Err(bad(
                f.id,
                &format!(
                    "`numberValue.value` must be a number, not `{}`",
                    other.unwrap_or(&Value::Null)
                ),
            )),
        },
        Kind::Text => match v.get("value") {
            Some(Value::String(s)) => Ok(json!({"value": s})),
            _ => Err(bad(f.id, "`textValue.value` must be a string")),
        },
        Kind::DateTime => {
            let s = v.get("value").and_then(Value::as_str).unwrap_or_default();
            let ms = parse_rfc3339_ms(s).ok_or_else(|| {
                bad(
                    f.id,
                    &format!("`dateTimeValue.value` `{s}` must be an RFC 3339 timestamp"),
                )
            })?;
            Ok(json!({"type": "datetime", "value": rfc3339_ms(ms)}))
        }
        Kind::Choice(opts) => {
            let (id, label) = option(f, opts, v.get("valueId"), v.get("value"))?;
            Ok(json!({"value": label, "valueId": id}))
        }
        Kind::Boxes(opts) => {
            let ids = v
                .get("valueIds")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(f.id, "give the options as `valueIds` (an array of option IDs)"))?;
            let given: Vec<(Option<&Value>, Option<&Value>)> = ids.iter().map(|i| (Some(i), None)).collect();
            let mut picked = Vec::new();
            for (i, l) in given {
                let o = option(f, opts, i, l)?;
                if !picked.contains(&o) {
                    picked.push(o);
                }
            }
            Ok(json!({"value": picked.iter().map(|o| o.1).collect::<Vec<_>>(),
                "valueIds": picked.iter().map(|o| o.0).collect::<Vec<_>>()}))
        }
    }
}

/// Checks a request's `fields` against `t` and returns them in the response shape, in template order.
/// An input names its field by `id`; its `type`, when given, must be the field's; it carries exactly
/// the value object of that type.
pub(crate) fn check_inputs(t: &Template, given: &Value) -> Result<Vec<(usize, Value)>, Response> {
    let arr = given
        .as_array()
        .ok_or_else(|| Response::bad_param("fields", "must be an array of field inputs"))?;
    let mut out: Vec<(usize, Value)> = Vec::new();
    for item in arr {
        let o = item
            .as_object()
            .ok_or_else(|| Response::bad_param("fields", "each field input must be an object"))?;
        let id = o.get("id").and_then(Value::as_str).ok_or_else(|| {
            Response::bad_param("fields", "each field input needs the `id` of a template field")
        })?;
        let (pos, f) = t
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.id == id)
            .ok_or_else(|| {
                let ids: Vec<String> = t.fields.iter().map(|f| format!("`{}`", f.id)).collect();
                bad(
                    id,
                    &format!(
                        "not a field of template `{}`; its fields are {}",
                        t.id,
                        ids.join(", ")
                    ),
                )
            })?;
        if let Some(ty) = o.get("type").filter(|v| !v.is_null()) {
            if ty.as_str() != Some(f.kind.wire()) {
                return Err(bad(id, &format!("`type` {ty} must be `{}`", f.kind.wire())));
            }
        }
        let key = f.kind.value_key();
        if let Some(other) = o
            .keys()
            .find(|k| k.ends_with("Value") && k.as_str() != key && !o[k.as_str()].is_null())
        {
            return Err(bad(
                id,
                &format!("a `{}` field takes `{key}`, not `{other}`", f.kind.wire()),
            ));
        }
        let v = o
            .get(key)
            .and_then(Value::as_object)
            .ok_or_else(|| bad(id, &format!("a `{}` field needs `{key}`", f.kind.wire())))?;
        let value = value_of(f, v)?;
        out.retain(|(p, _)| *p != pos);
        out.push((pos, input(f, value)));
    }
    Ok(out)
}

/// Merges `inputs` (from [`check_inputs`]) into the stored `fields` of a submission of `t`: an input
/// replaces the field's earlier answer; the list stays in template order.
pub(crate) fn merge_inputs(t: &Template, current: &Value, inputs: Vec<(usize, Value)>) -> Value {
    let mut by_pos: Vec<Option<Value>> = vec![None; t.fields.len()];
    for cur in current.as_array().into_iter().flatten() {
        if let Some(p) = t.fields.iter().position(|f| cur["id"] == f.id) {
            by_pos[p] = Some(cur.clone());
        }
    }
    for (p, v) in inputs {
        by_pos[p] = Some(v);
    }
    Value::Array(by_pos.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{check_inputs, find, merge_inputs, TEMPLATES};

    #[test]
    fn inputs_are_checked_against_the_template() {
        let incident = find(TEMPLATES[3].id).unwrap();
        let ok = check_inputs(
            incident,
            &json!([{"id": "f-parties", "checkBoxesValue": {"valueIds": ["o-property", "o-vehicle", "o-property"]}},
                    {"id": "f-kind", "type": "multiple_choice", "multipleChoiceValue": {"valueId": "o-injury", "value": "Injury"}}]),
        )
        .unwrap();
        let merged = merge_inputs(incident, &json!([]), ok);
        assert_eq!(
            merged[0]["multipleChoiceValue"],
            json!({"value": "Injury", "valueId": "o-injury"})
        );
        assert_eq!(
            merged[1]["checkBoxesValue"],
            json!({"value": ["Property", "Other vehicle"], "valueIds": ["o-property", "o-vehicle"]})
        );
        let delivery = find(TEMPLATES[2].id).unwrap();
        let when = check_inputs(
            delivery,
            &json!([{"id": "f-delivered-at", "dateTimeValue": {"value": "2026-11-02T10:00:00-05:00"}}]),
        )
        .unwrap();
        assert_eq!(when[0].1["dateTimeValue"]["value"], "2026-11-02T15:00:00.000Z");
        for (bad, needle) in [
            (
                json!([{"id": "f-kind", "multipleChoiceValue": {"valueId": "o-injury", "value": "Collision"}}]),
                "different options",
            ),
            (
                json!([{"id": "f-parties", "checkBoxesValue": {"value": ["Pedestrian"]}}]),
                "valueIds",
            ),
            (
                json!([{"id": "f-kind", "type": "text", "multipleChoiceValue": {"valueId": "o-injury"}}]),
                "`type`",
            ),
            (json!([{"id": "f-description"}]), "textValue"),
            (
                json!([{"id": "f-description", "textValue": {"value": 3}}]),
                "string",
            ),
            (json!([{"textValue": {"value": "x"}}]), "`id`"),
            (json!({"id": "f-kind"}), "array"),
        ] {
            let err = check_inputs(incident, &bad).unwrap_err();
            let body = String::from_utf8(err.body).unwrap();
            assert!(
                body.contains(needle) && body.contains("`fields`"),
                "{bad}: {body}"
            );
        }
        let bad_time = check_inputs(
            delivery,
            &json!([{"id": "f-delivered-at", "dateTimeValue": {"value": "noon"}}]),
        );
        assert!(bad_time.is_err());
    }

    #[test]
    fn a_later_answer_replaces_the_earlier_one() {
        let pre = find(TEMPLATES[0].id).unwrap();
        let first = check_inputs(pre, &json!([{"id": "f-notes", "textValue": {"value": "a"}}, {"id": "f-odometer", "numberValue": {"value": 5}}])).unwrap();
        let cur = merge_inputs(pre, &json!([]), first);
        let again = check_inputs(pre, &json!([{"id": "f-notes", "textValue": {"value": "b"}}])).unwrap();
        let cur = merge_inputs(pre, &cur, again);
        let ids: Vec<&str> = cur
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["f-odometer", "f-notes"]);
        assert_eq!(cur[1]["textValue"]["value"], "b");
    }
}
