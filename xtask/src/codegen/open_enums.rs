//! Open enums: `x-orq-open` string enums with an `Other(String)` catch-all,
//! emitted as invocations of orq-api's `open_enum!` (`crates/orq-api/src/open.rs`).

use serde_json::Value;

use super::OPEN_ENUM_EXTENSION;

/// An `x-orq-open` string enum of the spec.
pub(super) struct OpenEnum {
    pub(super) name: String,
    description: String,
    values: Vec<String>,
}

pub(super) fn open_enums(document: &Value) -> Result<Vec<OpenEnum>, String> {
    let schemas = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or("the spec has no components/schemas")?;
    let mut found = Vec::new();
    for (name, schema) in schemas {
        if schema.get(OPEN_ENUM_EXTENSION) != Some(&Value::Bool(true)) || schema.get("oneOf").is_some() {
            continue;
        }
        let values = schema
            .get("enum")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{name}: {OPEN_ENUM_EXTENSION} needs a string `enum`"))?
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| format!("{name}: enum values must be strings"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let description = schema.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
        found.push(OpenEnum { name: name.clone(), description, values });
    }
    Ok(found)
}

/// `expected_output` -> `ExpectedOutput`, `google-ai` -> `GoogleAi`, `b64_json` -> `B64Json`.
pub(super) fn variant_name(value: &str) -> String {
    let mut name = String::new();
    for word in value.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.extend(chars);
        }
    }
    if name.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        name.insert(0, 'V');
    }
    name
}

/// The `open_enums` module of the generated code, as text: one invocation of
/// orq-api's `open_enum!` per enum, which defines the enum and its impls.
/// Written out here rather than by prettyplease, which lays out a macro's
/// body as one run of tokens.
pub(super) fn module(enums: &[OpenEnum]) -> String {
    let mut text = String::from(
        "/// Response-side enums that keep values this version does not know.\npub mod open_enums {\n",
    );
    for (i, open) in enums.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str("    crate::open::open_enum! {\n");
        for line in open.description.lines() {
            text.push_str(format!("        /// {line}").trim_end());
            text.push('\n');
        }
        text.push_str(&format!("        {} {{\n", open.name));
        for value in &open.values {
            let literal = proc_macro2::Literal::string(value);
            text.push_str(&format!("            {} = {literal},\n", variant_name(value)));
        }
        text.push_str("        }\n    }\n");
    }
    text.push_str("}\n");
    text
}
