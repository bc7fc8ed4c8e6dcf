//! Handlers for `/tags` and `/tags/{id}`: list, create, get, merge-patch (arrays replace), replace
//! members (PUT) and delete (204).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::entities::{paged, want_str};
use crate::http::{Request, Response};
use crate::router::Sandbox;
use crate::store::{Entity, Tag, MEMBER_KINDS};

/// `GET /tags`.
pub(crate) fn list_tags(sb: &Sandbox, req: &Request, repeat: bool) -> Response {
    let st = sb.store();
    let items = st.tags.values().map(|t| st.tag_json(t)).collect();
    paged(items, req, repeat)
}

/// `GET|PATCH|PUT|DELETE /tags/{id}` and `POST /tags`.
pub(crate) fn tag(sb: &Sandbox, req: &Request) -> Response {
    let mut st = sb.store();
    let key = if req.method == "POST" {
        None
    } else {
        let id = req.segment(2).unwrap_or_default();
        match st.find_tag(&id) {
            Some(k) => Some(k),
            None => return Response::not_found(&format!("tag {id}")),
        }
    };
    match (req.method.as_str(), key) {
        ("GET", Some(k)) => return Response::data(st.tags.get(&k).map_or(Value::Null, |t| st.tag_json(t))),
        ("DELETE", Some(k)) => {
            let id = k.to_string();
            if st.tags.values().any(|t| t.parent.as_deref() == Some(id.as_str())) {
                return Response::error(400, &format!("tag {id} has child tags; delete them first"));
            }
            st.tags.remove(&k);
            return Response::no_content();
        }
        _ => {}
    }
    let body = match req.json() {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Response::error(400, "request body must be a JSON object"),
        Err(e) => return e,
    };
    let k = if let Some(k) = key {
        k
    } else {
        if want_str(&body, "name").ok().flatten().is_none_or(str::is_empty) {
            return Response::bad_param("name", "is required");
        }
        st.next_tag_id()
    };
    let mut tag = st.tags.get(&k).cloned().unwrap_or_else(|| Tag {
        id: k.to_string(),
        name: String::new(),
        parent: None,
        external_ids: BTreeMap::new(),
        members: BTreeMap::new(),
    });
    let res = (|| -> Result<(), Response> {
        if let Some(n) = want_str(&body, "name")? {
            if st.tags.values().any(|t| t.name == n && t.id != tag.id) {
                return Err(Response::bad_param(
                    "name",
                    &format!("a tag named `{n}` already exists"),
                ));
            }
            n.clone_into(&mut tag.name);
        }
        if body.contains_key("parentTagId") {
            tag.parent = match want_str(&body, "parentTagId")? {
                None | Some("") => None,
                Some(p) => {
                    let pk = st.find_tag(p).filter(|&pk| pk != k).ok_or_else(|| {
                        Response::bad_param("parentTagId", &format!("tag `{p}` does not exist"))
                    })?;
                    // The new parent must not sit below this tag: walk up from it.
                    let mut up = Some(pk.to_string());
                    let mut steps = 0;
                    while let Some(cur) = up {
                        if cur == tag.id || steps > st.tags.len() {
                            return Err(Response::bad_param(
                                "parentTagId",
                                &format!(
                                    "tag `{p}` is below tag `{}`; a tag cannot be its own ancestor",
                                    tag.id
                                ),
                            ));
                        }
                        steps += 1;
                        up = st
                            .find_tag(&cur)
                            .and_then(|c| st.tags.get(&c))
                            .and_then(|t| t.parent.clone());
                    }
                    Some(pk.to_string())
                }
            };
        }
        if let Some(ext) = body.get("externalIds").filter(|_| req.method != "PUT") {
            let ext = ext
                .as_object()
                .ok_or_else(|| Response::bad_param("externalIds", "must be an object"))?;
            st.check_external_ids(ext, (Entity::Tag, &tag.id))?;
            // PATCH is a JSON merge patch (RFC 7396): the keys sent replace theirs, `null` (or `""`)
            // deletes one, the others stay; POST starts from none.
            if req.method == "POST" {
                tag.external_ids.clear();
            }
            for (a, b) in ext {
                match b {
                    Value::Null => tag.external_ids.remove(a),
                    Value::String(s) if s.is_empty() => tag.external_ids.remove(a),
                    Value::String(s) => tag.external_ids.insert(a.clone(), s.clone()),
                    other => tag.external_ids.insert(a.clone(), other.to_string()),
                };
            }
        }
        for kind in MEMBER_KINDS {
            let given = body.get(kind);
            if given.is_none() && req.method != "PUT" {
                continue;
            }
            let ids: Vec<String> = given
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for id in &ids {
                let ok = match kind {
                    "vehicles" => st.find_vehicle(id).is_some(),
                    "drivers" => st.find_driver(id).is_some(),
                    "assets" => st.find_trailer(id).is_some(),
                    _ => true,
                };
                if !ok {
                    return Err(Response::bad_param(kind, &format!("`{id}` does not exist")));
                }
            }
            tag.members.insert(kind, ids.into_iter().collect());
        }
        Ok(())
    })();
    if let Err(e) = res {
        return e;
    }
    let out = st.tag_json(&tag);
    st.tags.insert(k, tag);
    Response::data(out)
}
