//! `cargo xtask codegen [--check]`: regenerate `orq-api` from our spec.
//!
//! Writes two files, both formatted by prettyplease so the output does not depend
//! on the local rustfmt:
//! - `crates/orq-api/src/generated.rs`: progenitor's client and types, changed as
//!   listed below, plus the `open_unions`, `lenient` and `open_enums` modules;
//! - `crates/orq-api/src/generated_httpmock.rs`: progenitor's typed httpmock helpers,
//!   with one pass (`escaped_mock_path_parameters`, below).
//!
//! # What differs from plain progenitor
//!
//! Through progenitor's settings and the spec given to it:
//! - Types: the open enums and open unions below replace typify's, `Count` is the
//!   hand-written `crate::Count`, maps are `BTreeMap` (deterministic key order on the
//!   wire and in Debug output), and every type also derives `PartialEq` and
//!   `schemars::JsonSchema`.
//! - Client: per-call options travel in its inner value (`crate::RequestOptions`),
//!   applied by the hand-written `ClientHooks` impl in lib.rs.
//! - Error responses: the client, unlike the mock helpers, is generated without the
//!   spec's error (non-2xx) responses, so every error answer reaches `orq` whole
//!   (status, headers, body) and one decoder reads it.
//!
//! Through passes over the parsed client ([`passes`], [`lenient`]), each finding its
//! code by syntax and failing, naming itself, when it finds none:
//! - `lenient_integers`: every integer field of a generated struct also accepts a
//!   number with no fractional part (`3.0`), which JSON producers are free to send.
//!   (Counts the service sends are `Count`, any number; the integers left are
//!   fields of requests, such as a document's page number.)
//! - `without_api_version_header`: the `api-version` header progenitor derives from
//!   `info.version` is dropped (no spec declares it).
//! - `parsed_operation_urls`: each operation's URL comes from `Client::operation_url`
//!   (parsed once per client) instead of a `format!`ted string reqwest parses on
//!   every call.
//! - `header_maps_allocated_on_use`: the map of header parameters starts empty
//!   instead of allocated.
//! - `non_exhaustive_requests`: every struct, enum and struct-like enum variant a
//!   request can contain (the component schemas reachable from a `requestBody` or a
//!   parameter) is `#[non_exhaustive]`. Code outside `orq-api` then builds them only
//!   through the hand-written constructors of `ext.rs` (or `Default` plus field
//!   assignment) and matches them with `..` and a wildcard arm, so a field or variant
//!   a later spec adds compiles into code written today. Fields stay `pub` for
//!   reading and setting. typify's type patches reach types but not enum variants,
//!   hence a pass. Response types stay exhaustive: users read them, and the mock
//!   server builds them.
//!
//! One pass over the httpmock helpers:
//! - `escaped_mock_path_parameters`: a path parameter's matcher (`key_or_id`)
//!   compares with the value percent-encoded as the client sends it, and
//!   regex-escaped, instead of the raw value inside a regex (which missed `a/b`
//!   and read `.` or `(` as a pattern).
//!
//! Emitted by us:
//! - Open enums ([`open_enums`]): a component schema with `x-orq-open: true` and an
//!   `enum` becomes a flat Rust enum with one variant per listed value and an
//!   `Other(String)` catch-all, so a value the service adds later decodes instead of
//!   failing. typify would make such enums closed. Each is one invocation of
//!   `open_enum!` (hand-written in `crates/orq-api/src/open.rs`), which defines the
//!   enum and its impls; they decode from a borrowed `str` (one shared visitor), so a
//!   known value allocates nothing.
//! - Open unions ([`open_unions`]): a component schema with `x-orq-open: true` and a
//!   `oneOf` becomes a Rust enum with one variant per branch and an
//!   `Other(serde_json::Value)` catch-all that keeps a variant we do not know (or a
//!   known tag whose fields do not fit) exactly as sent, so it re-serialises
//!   unchanged. Branches either fix the tag named by `discriminator.propertyName` (a
//!   newtype variant of the schema in the branch's `allOf`, or a unit variant without
//!   one) or are told apart by JSON type (`x-orq-variant` names them). Decoding reads
//!   the body into one `serde_json::Value`, dispatches on the tag, and decodes the
//!   variant from that value by reference, so the text is parsed once and nothing is
//!   buffered twice. Every union a response can contain must be open.
//! - The `lenient` module the lenient integer fields decode through.

mod lenient;
mod open_enums;
mod open_unions;
mod passes;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use proc_macro2::TokenStream;
use progenitor_impl::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use quote::quote;
use serde_json::Value;

const GENERATED: &str = "crates/orq-api/src/generated.rs";
const GENERATED_HTTPMOCK: &str = "crates/orq-api/src/generated_httpmock.rs";
const OPEN_ENUM_EXTENSION: &str = "x-orq-open";

const HEADER: &str = "\
// @generated by `cargo xtask codegen` from openapi/orq-deployments.yaml.
// Do not edit by hand: change the spec (or xtask/src/codegen/) and regenerate.
";

/// Entry point of `cargo xtask codegen`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => return Err("usage: cargo xtask codegen [--check]".into()),
    };
    let root = crate::workspace_root();
    let outputs = generate(&root.join(crate::SPEC_PATH))?;

    let mut stale = Vec::new();
    for (relative, content) in &outputs {
        let path = root.join(relative);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == *content {
            continue;
        }
        if check {
            print_diff(relative, &current, content);
            stale.push(relative.clone());
        } else {
            std::fs::write(&path, content).map_err(|e| format!("writing {}: {e}", path.display()))?;
            println!("wrote {relative}");
        }
    }
    if !stale.is_empty() {
        for file in &stale {
            eprintln!(
                "stale: {file} differs from what `cargo xtask codegen` generates from {}",
                crate::SPEC_PATH
            );
        }
        eprintln!("run `cargo xtask codegen` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    if check {
        println!("generated code is up to date");
    }
    Ok(ExitCode::SUCCESS)
}

/// What would change in `relative`: a unified diff from the committed file
/// to the generated one, at most [`DIFF_LINES`] lines of it.
fn print_diff(relative: &str, committed: &str, generated: &str) {
    let diff = similar::TextDiff::from_lines(committed, generated);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{relative} (committed)"), &format!("b/{relative} (generated)"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    for line in lines.iter().take(DIFF_LINES) {
        eprintln!("{line}");
    }
    if lines.len() > DIFF_LINES {
        eprintln!("... {} more lines of diff", lines.len() - DIFF_LINES);
    }
}

/// Enough of a stale file's diff to see what changed without flooding the log.
const DIFF_LINES: usize = 400;

/// Generates every output file from the spec at `spec_path`: `(relative path, content)`.
pub fn generate(spec_path: &Path) -> Result<Vec<(String, String)>, String> {
    let text =
        std::fs::read_to_string(spec_path).map_err(|e| format!("reading {}: {e}", spec_path.display()))?;
    let document: Value =
        serde_norway::from_str(&text).map_err(|e| format!("parsing {}: {e}", spec_path.display()))?;
    let open_enums = open_enums::open_enums(&document)?;
    let open_unions = open_unions::open_unions(&document, &open_enums)?;
    open_unions::check_response_unions_are_open(&document)?;
    let requests = request_schemas(&document)?;
    let client_spec: openapiv3::OpenAPI =
        serde_json::from_value(without_error_responses(document.clone()))
            .map_err(|e| format!("{} is not OpenAPI 3.0: {e}", spec_path.display()))?;
    let spec: openapiv3::OpenAPI = serde_json::from_value(document)
        .map_err(|e| format!("{} is not OpenAPI 3.0: {e}", spec_path.display()))?;

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        // Per-call options (timeout, headers) travel in the client's inner value and
        // are applied by the hand-written `ClientHooks` impl in lib.rs.
        .with_inner_type(quote!(crate::RequestOptions))
        .with_hooks(HooksMode::Expected)
        .with_derive("PartialEq")
        .with_derive("::schemars::JsonSchema")
        // Deterministic key order on the wire and in Debug output.
        .with_map_type("::std::collections::BTreeMap");
    for open in &open_enums {
        settings.with_replacement(
            &open.name,
            format!("super::open_enums::{}", open.name),
            [TypeImpl::Display, TypeImpl::FromStr, TypeImpl::FromStringIrrefutable].into_iter(),
        );
    }

    // Counts the service sends keep the number as sent (hand-written in orq-api).
    settings.with_replacement("Count", "crate::Count", [TypeImpl::Display].into_iter());

    for open in &open_unions {
        settings.with_replacement(&open.name, format!("super::open_unions::{}", open.name), [].into_iter());
    }

    let mut generator = Generator::new(&settings);
    let client = generator.generate_tokens(&client_spec).map_err(|e| format!("progenitor: {e}"))?;
    // Our passes over progenitor's output, on one parse of it.
    let mut parsed: syn::File =
        syn::parse2(client).map_err(|e| format!("progenitor output does not parse: {e}"))?;
    lenient::lenient_integers(&mut parsed)?;
    passes::without_api_version_header(&mut parsed)?;
    passes::parsed_operation_urls(&mut parsed)?;
    passes::header_maps_allocated_on_use(&mut parsed)?;
    passes::non_exhaustive_requests(&mut parsed, &requests)?;
    let client = quote::ToTokens::to_token_stream(&parsed);
    let unions = open_unions::module(&open_unions);
    let lenient = lenient::module();
    let generated = quote! {
        #client

        #unions

        #lenient
    };
    let mock = generator.httpmock(&spec, "crate").map_err(|e| format!("progenitor httpmock: {e}"))?;
    let mut mock: syn::File =
        syn::parse2(mock).map_err(|e| format!("progenitor's httpmock output does not parse: {e}"))?;
    passes::escaped_mock_path_parameters(&mut mock)?;
    let mock = quote::ToTokens::to_token_stream(&mock);

    Ok(vec![
        (GENERATED.to_string(), format!("{}\n{}", format_file(generated)?, open_enums::module(&open_enums))),
        (GENERATED_HTTPMOCK.to_string(), format_file(mock)?),
    ])
}

/// `document` without the error (non-2xx) responses of its operations, for the
/// client: an error answer may come from a proxy in any format, so the
/// generated code hands every one over unread
/// (`Error::UnexpectedResponse`, status and headers included) rather than
/// decoding the documented ones and losing the status when that fails. The
/// mock helpers keep them, to answer with a documented error.
fn without_error_responses(mut document: Value) -> Value {
    let operations = document
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
            responses.retain(|status, _| status.starts_with('2'));
        }
    }
    document
}

fn format_file(tokens: TokenStream) -> Result<String, String> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    let pretty = prettyplease::unparse(&file);
    let spaced = progenitor_impl::space_out_items(pretty).map_err(|e| format!("spacing: {e}"))?;
    Ok(format!("{HEADER}\n{spaced}"))
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Names of the component schemas a request can contain: those reachable from an
/// operation's `requestBody` or `parameters`.
fn request_schemas(document: &Value) -> Result<BTreeSet<String>, String> {
    let mut pending = Vec::new();
    let operations = document
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values());
    for operation in operations {
        for part in ["requestBody", "parameters"] {
            collect_refs(operation.get(part).unwrap_or(&Value::Null), &mut pending);
        }
    }
    let mut names = BTreeSet::new();
    while let Some(reference) = pending.pop() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("unsupported $ref `{reference}`"))?;
        if !names.insert(name.to_string()) {
            continue;
        }
        let schema = document
            .pointer(&format!("/components/schemas/{name}"))
            .ok_or_else(|| format!("unresolvable $ref `{reference}`"))?;
        collect_refs(schema, &mut pending);
    }
    Ok(names)
}

#[cfg(test)]
mod tests;
