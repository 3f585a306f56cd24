//! Tests of `spec_diff` on small inline documents and on the upstream reference.
use super::*;
use serde_json::json;

/// OpenAPI 3.1 JSON, inline schemas, `type: [x, "null"]`.
const UPSTREAM: &str = include_str!("upstream-fixture.json");

fn upstream() -> Value {
    let mut doc = parse(UPSTREAM, false).expect("valid JSON");
    add_trivial_ops(&mut doc);
    doc
}

/// OpenAPI 3.0 YAML, `$ref`s, `nullable`, unquoted status codes, `integer`.
const OURS: &str = include_str!("ours-fixture.yaml");

fn add_trivial_ops(doc: &mut Value) {
    for path in ["/v2/deployments/get_config", "/v2/deployments/stream"] {
        doc["paths"][path] = json!({"post": {"responses": {"200": {"description": "ok"}}}});
    }
}

fn ours() -> Value {
    let mut doc = parse(OURS, false).expect("valid YAML");
    add_trivial_ops(&mut doc);
    doc
}

fn texts(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.text.as_str()).collect()
}

#[test]
fn equivalent_documents_differ_only_in_notes() {
    let report = diff(&ours(), &upstream());
    assert!(report.missing.is_empty(), "{}", render(&report));
    assert!(report.diffs.is_empty(), "{}", render(&report));
    let notes = texts(&report.notes);
    for expected in [
        "param query:limit: ours integer, upstream number (narrowed)",
        "response 401 (no content) not in ours",
        "response 204 (no content) not in ours",
    ] {
        assert!(notes.contains(&expected), "no note {expected:?} in {notes:#?}");
    }
    assert!(!report.fails(true));
}

#[test]
fn an_integer_response_field_where_upstream_says_number_is_missing() {
    let mut doc = ours();
    doc["components"]["schemas"]["Deployment"]["properties"]["count"] = json!({"type": "integer"});
    let report = diff(&doc, &upstream());
    assert_eq!(
        texts(&report.missing),
        ["response 200 application/json: data[].count: ours integer, upstream number (fractions refused)"]
    );
    assert!(report.fails(false));
}

#[test]
fn an_upstream_deployments_operation_we_do_not_compare_is_missing() {
    let mut up = upstream();
    up["paths"]["/v2/deployments/{id}/archive"] =
        json!({"post": {"responses": {"200": {"description": "ok"}}}});
    up["paths"]["/v2/deployments/{id}/metrics"] =
        json!({"post": {"responses": {"200": {"description": "ok"}}}});
    up["paths"]["/v2/files"] = json!({"get": {"responses": {"200": {"description": "ok"}}}});
    let report = diff(&ours(), &up);
    let missing: Vec<_> = report.missing.iter().map(|f| (f.op.as_str(), f.text.as_str())).collect();
    assert_eq!(missing, [("POST /v2/deployments/{id}/archive", "operation missing from our spec")]);
    let notes: Vec<_> = report.notes.iter().map(|f| (f.op.as_str(), f.text.as_str())).collect();
    assert!(notes.contains(&("POST /v2/deployments/{id}/metrics", "operation outside the SDK's surface")));
    // An operation of a later revision is no difference of an earlier document.
    assert!(
        notes
            .contains(&("GET /v2/deployments/{keyOrID}/versions", "upstream document has no such operation"))
    );
}

#[test]
fn missing_field_and_subtree() {
    let mut doc = ours();
    let schemas = &mut doc["components"]["schemas"];
    schemas["UserMessage"]["properties"].as_object_mut().unwrap().remove("name");
    schemas["Deployment"]["properties"].as_object_mut().unwrap().remove("tools");
    let report = diff(&doc, &upstream());
    assert_eq!(
        texts(&report.missing),
        [
            "response 200 application/json: data[].tools (+3 nested)",
            "request application/json: messages[]<role=user>.name",
        ]
    );
    assert!(report.fails(false));
}

#[test]
fn missing_variant_enum_value_param_and_operation() {
    let mut doc = ours();
    // Ours has variants developer and user, upstream system and user.
    doc["components"]["schemas"]["SystemMessage"]["properties"]["role"]["enum"] = json!(["developer"]);
    doc["components"]["schemas"]["Invoke"]["properties"]["finish_reason"]["enum"] = json!(["stop", "error"]);
    doc["paths"]["/v2/deployments"]["get"]["parameters"].as_array_mut().unwrap().remove(1);
    doc["paths"].as_object_mut().unwrap().remove("/v2/deployments/stream");
    let report = diff(&doc, &upstream());
    let missing = texts(&report.missing);
    for expected in [
        "request application/json: messages[]<role=system> (+2 nested)",
        "response 200 application/json: finish_reason: enum lacks length",
        "param query:starting_after",
        "operation missing from our spec",
    ] {
        assert!(missing.contains(&expected), "no {expected:?} in {missing:#?}");
    }
    assert_eq!(missing.len(), 4, "{missing:#?}");
    assert!(
        texts(&report.notes).contains(&"response 200 application/json: finish_reason: enum has extra error")
    );
}

#[test]
fn type_required_nullable_differences_fail_only_when_strict() {
    let mut doc = ours();
    let props = &mut doc["components"]["schemas"]["Deployment"]["properties"];
    props["description"] = json!({"type": "boolean"});
    props["count"] = json!({"type": "string"});
    doc["components"]["schemas"]["Deployment"]["required"] = json!(["id", "count"]);
    let report = diff(&doc, &upstream());
    assert!(report.missing.is_empty(), "{}", render(&report));
    assert_eq!(
        texts(&report.diffs),
        [
            "response 200 application/json: data[].count: type ours string, upstream number",
            "response 200 application/json: data[].count: required ours true, upstream false",
            "response 200 application/json: data[].description: type ours boolean, upstream string",
            "response 200 application/json: data[].description: nullable ours false, upstream true",
        ]
    );
    assert!(!report.fails(false) && report.fails(true));
}

#[test]
fn merged_alternatives_match_tagged_ones() {
    let mut doc = ours();
    doc["components"]["schemas"]["Message"] = json!({
        "type": "object", "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": ["system", "user"]},
            "name": {"type": "string"},
            "content": {"$ref": "#/components/schemas/UserContent"}
        }
    });
    let report = diff(&doc, &upstream());
    assert!(report.missing.is_empty() && report.diffs.is_empty(), "{}", render(&report));
    assert!(texts(&report.notes).contains(
        &"request application/json: messages[]<role=user>.content: required ours false, upstream true (lenient)"
    ));
}

#[test]
fn leniency_is_a_note_strictness_a_difference() {
    let mut doc = ours();
    let props = &mut doc["components"]["schemas"]["Deployment"]["properties"];
    // Wider than upstream: a note. Narrower: a difference.
    props["description"] = json!({"type": ["string", "boolean"], "nullable": true});
    props["id"] = json!({"type": "string", "nullable": true});
    doc["components"]["schemas"]["Deployment"]["required"] = json!([]);
    let report = diff(&doc, &upstream());
    assert!(report.missing.is_empty(), "{}", render(&report));
    assert_eq!(texts(&report.diffs), Vec::<&str>::new(), "{}", render(&report));
    let notes = texts(&report.notes);
    for expected in [
        "response 200 application/json: data[].description: type ours boolean|string, upstream string (wider)",
        "response 200 application/json: data[].id: required ours false, upstream true (lenient)",
        "response 200 application/json: data[].id: nullable ours true, upstream false (lenient)",
    ] {
        assert!(notes.contains(&expected), "no note {expected:?} in {notes:#?}");
    }
}

#[test]
fn open_enum_where_upstream_has_none_is_a_note() {
    let mut doc = ours();
    let props = &mut doc["components"]["schemas"]["Deployment"]["properties"];
    props["id"] = json!({"type": "string", "enum": ["a", "b"]});
    let closed = diff(&doc, &upstream());
    assert_eq!(
        texts(&closed.diffs),
        ["response 200 application/json: data[].id: ours restricts to enum a|b"]
    );
    doc["components"]["schemas"]["Deployment"]["properties"]["id"]["x-orq-open"] = json!(true);
    let open = diff(&doc, &upstream());
    assert!(open.diffs.is_empty(), "{}", render(&open));
    assert!(
        texts(&open.notes).contains(&"response 200 application/json: data[].id: ours lists open enum a|b")
    );
}

#[test]
fn untyped_upstream_matches_anything_and_render_groups() {
    let mut up = upstream();
    up["components"]["schemas"]["Invoke"]["properties"]["finish_reason"] = json!({});
    let report = diff(&ours(), &up);
    assert!(report.missing.is_empty() && report.diffs.is_empty(), "{}", render(&report));
    let text = render(&report);
    assert!(text.starts_with("GET /v2/deployments\n  note "), "{text}");
    assert!(text.ends_with("summary: 0 missing, 0 differences, 4 notes (5 operations)\n"), "{text}");
}

/// The upstream references our spec covers, each present only when `../shared` is beside the
/// workspace.
const REFERENCES: &[&str] = &[
    "../shared/reference/orq-openapi-2025-04.yaml",
    "../shared/reference/orq-openapi-2026-08.yaml",
    "../shared/reference/orq-openapi-2026-10.yaml",
];

/// The references found, each loaded; a missing one is reported and skipped.
fn references() -> Vec<(PathBuf, Value)> {
    let mut found = Vec::new();
    for relative in REFERENCES {
        let path = crate::workspace_root().join(relative);
        if path.exists() {
            let doc = load(&path).unwrap_or_else(|e| panic!("{e}"));
            found.push((path, doc));
        } else {
            println!("skipped: {} not found", path.display());
        }
    }
    found
}

#[test]
fn upstream_reference_against_itself() {
    for (path, doc) in references() {
        let report = diff(&doc, &doc);
        // Notes only say which compared operations a revision lacks or leaves out.
        let about_operations = |f: &Finding| f.text.contains("operation");
        assert!(
            report.missing.is_empty() && report.diffs.is_empty() && report.notes.iter().all(about_operations),
            "{}: {}",
            path.display(),
            render(&report)
        );
    }
}

#[test]
fn status_falls_back_to_range_or_default() {
    let mut doc = ours();
    doc["paths"]["/v2/deployments"]["get"]["responses"]["4XX"] = json!({"description": "client error"});
    let report = diff(&doc, &upstream());
    let notes = texts(&report.notes);
    assert!(!notes.iter().any(|n| n.contains("401") || n.contains("4XX")), "{notes:#?}");
}

#[test]
fn required_names_apply_across_all_of_and_are_never_invented() {
    let mut up = upstream();
    let schema = &mut up["paths"]["/v2/deployments"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    schema["properties"]["data"]["items"]["properties"]["tools"]["items"]["allOf"]
        .as_array_mut()
        .unwrap()
        .push(json!({"required": ["id"]}));
    up["components"]["schemas"]["Invoke"]["required"] = json!(["ghost"]);
    let report = diff(&ours(), &up);
    assert!(report.missing.is_empty() && report.diffs.is_empty(), "{}", render(&report));
    assert!(texts(&report.notes).contains(
        &"response 200 application/json: data[].tools[].id: required ours false, upstream true (lenient)"
    ));
}

#[test]
fn free_form_object_in_ours_is_a_difference_not_missing() {
    let mut doc = ours();
    doc["components"]["schemas"]["Tool"] = json!({"type": "object"});
    let report = diff(&doc, &upstream());
    assert!(report.missing.is_empty(), "{}", render(&report));
    assert_eq!(
        texts(&report.diffs),
        ["response 200 application/json: data[].tools[]: ours is free-form, upstream has 2 nested paths"]
    );
}

#[test]
fn our_spec_lacks_nothing_either_upstream_has() {
    let ours = load(&crate::workspace_root().join(crate::SPEC_PATH)).expect("our spec parses");
    for (path, upstream) in references() {
        let report = diff(&ours, &upstream);
        assert!(report.missing.is_empty(), "{}: {}", path.display(), render(&report));
        assert!(report.diffs.is_empty(), "{}: {}", path.display(), render(&report));
    }
}
