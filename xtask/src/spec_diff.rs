//! `cargo xtask spec-diff <upstream.yaml|json> [--ours <spec>] [--strict]`: list what the
//! upstream OpenAPI document has that our spec lacks, for the operations in [`OPERATIONS`].
//!
//! Both documents (OpenAPI 3.0 or 3.1, YAML or JSON) are reduced per operation to sections
//! (`param query:limit`, `request application/json`, `response 200 application/json`), and each
//! section's schema to a flat `field path -> FieldInfo` map, so that differences in *how* a
//! schema is written (`$ref` vs inline, 3.0 `nullable` vs 3.1 `type: [x, "null"]`, `allOf`
//! splits) do not show up, only differences in *what* it accepts.
//!
//! Flattening rules:
//! - `$ref` (local `#/...`) is inlined; a ref already being expanded (a cycle) becomes untyped.
//! - `allOf` branches merge into one object (types, enums and properties united, required OR).
//! - `oneOf`/`anyOf`: object branches carrying a property with a single-value enum whose values
//!   differ across (at least two) branches are tagged variants: `messages[]<role=user>.content`.
//!   Other object branches merge into the same path, a property being required only if it is
//!   required in every such branch. Scalar and array branches add their types (and `[]` items);
//!   a `{type: null}` branch only makes the path nullable.
//! - `items` continue at `path[]`, an `additionalProperties` schema at `path{}`.
//! - A `required` name applies to the property of that name once `allOf` is merged; names no
//!   level defines are ignored (some upstream revisions list them at the wrong level).
//!
//! Comparison rules, per upstream path:
//! - MISSING (fails): no matching path in ours (reported once per missing subtree), a missing
//!   operation (among [`OPERATIONS`], or any other upstream `/v2/deployments` operation not in
//!   [`OUT_OF_SCOPE`]), parameter, content type or response with content, an upstream enum value
//!   absent from our enum, or a response field ours reads as `integer` where upstream says
//!   `number` (a fractional value would not decode).
//! - DIFF (fails only with `--strict`): ours is stricter than upstream: ours lacks a type upstream
//!   has, requires what upstream leaves optional, refuses a null upstream allows, restricts to a
//!   (closed) enum where upstream is open, or is free-form where upstream has fields.
//! - note: ours is more lenient (a wider type set, optional where upstream requires, nullable
//!   where upstream is not, an enum marked `x-orq-open` where upstream has none), ours `integer`
//!   for upstream `number` in a request (narrowed: we only send integers), an operation of a
//!   later revision the upstream document lacks, untyped or enum-less on our side, extra enum values,
//!   upstream `format`s ours lacks, paths/sections only ours has, upstream responses without
//!   content that ours lacks (e.g. 204, 401: nothing to model).
//!
//! An upstream `{}` matches any type, nullability and enum. Tagged and merged modelling of the
//! same `oneOf` are matched against each other when only one side tags at that position. An
//! upstream status code without a counterpart in ours may match ours `4XX`/`default`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

/// The operations compared, as `(method, path)`.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/v2/deployments"),
    ("post", "/v2/deployments/get_config"),
    ("get", "/v2/deployments/{keyOrID}/versions"),
    ("post", "/v2/deployments/invoke"),
    ("post", "/v2/deployments/stream"),
];

/// Upstream deployments operations outside the SDK's surface, as `(method, path)`: reported as
/// notes. Any other upstream `/v2/deployments` operation not in [`OPERATIONS`] is MISSING.
pub const OUT_OF_SCOPE: &[(&str, &str)] = &[
    // `deployments.metrics.create` (2025-04): reporting feedback metrics, not running deployments.
    ("post", "/v2/deployments/{id}/metrics"),
];

const USAGE: &str = "usage: cargo xtask spec-diff <upstream.yaml|json> [--ours <spec>] [--strict]";

/// Entry point of `cargo xtask spec-diff`; `args` are the arguments after `spec-diff`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let (mut upstream, mut ours, mut strict) = (None, None, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--ours" => match it.next() {
                Some(p) => ours = Some(PathBuf::from(p)),
                None => return Ok(usage()),
            },
            "--strict" => strict = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            a if a.starts_with('-') || upstream.is_some() => return Ok(usage()),
            a => upstream = Some(PathBuf::from(a)),
        }
    }
    let Some(upstream) = upstream else {
        return Ok(usage());
    };
    let ours = ours.unwrap_or_else(|| crate::workspace_root().join(crate::SPEC_PATH));
    let report = diff(&load(&ours)?, &load(&upstream)?);
    print!("{}", render(&report));
    let fails = report.fails(strict);
    println!(
        "result: {}",
        match (fails, report.missing.is_empty()) {
            (false, _) => "OK",
            (true, true) => "FAIL (differences, --strict)",
            (true, false) => "FAIL (upstream has items ours lacks)",
        }
    );
    Ok(if fails { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// Reads an OpenAPI document; JSON when the extension is `.json` or it starts with `{`, else YAML.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse(&text, json).map_err(|e| format!("parsing {}: {e}", path.display()))
}

/// Parses a document from text (see [`load`]).
pub fn parse(text: &str, json: bool) -> Result<Value, String> {
    if json || text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        // Via serde_norway's own Value: YAML keys such as an unquoted `200:` are integers, which
        // serde_json::Value refuses as map keys.
        let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        Ok(yaml_to_json(yaml))
    }
}

fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => (n.as_i64().map(Value::from))
            .or_else(|| n.as_u64().map(Value::from))
            .unwrap_or_else(|| Value::from(n.as_f64().unwrap_or(f64::NAN))),
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match yaml_to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// One finding, attributed to an operation (`"GET /v2/deployments"`, or `""` for the document).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The operation the finding belongs to.
    pub op: String,
    /// Where (section and field path) and what.
    pub text: String,
}

/// The outcome of [`diff`].
#[derive(Debug, Default)]
pub struct Report {
    /// Upstream has it, ours lacks it: always a failure.
    pub missing: Vec<Finding>,
    /// Both have it but it differs: a failure only with `--strict`.
    pub diffs: Vec<Finding>,
    /// Informational.
    pub notes: Vec<Finding>,
}

impl Report {
    /// Whether the run should exit non-zero.
    pub fn fails(&self, strict: bool) -> bool {
        !self.missing.is_empty() || (strict && !self.diffs.is_empty())
    }
}

/// The facts compared for one field path.
#[derive(Debug, Clone, Default)]
struct FieldInfo {
    types: BTreeSet<String>,
    required: bool,
    nullable: bool,
    enums: BTreeSet<String>,
    formats: BTreeSet<String>,
    /// The enum is open (`x-orq-open`): other values are accepted too.
    open: bool,
    /// No properties, items, additional properties or variants below.
    leaf: bool,
}

type Flat = BTreeMap<String, FieldInfo>;

/// A schema with `$ref`, `allOf`, `oneOf` and `anyOf` folded away.
#[derive(Debug, Clone, Default)]
struct Node {
    types: BTreeSet<String>,
    nullable: bool,
    enums: BTreeSet<String>,
    formats: BTreeSet<String>,
    open: bool,
    props: BTreeMap<String, (Node, bool)>,
    items: Option<Box<Node>>,
    additional: Option<Box<Node>>,
    variants: BTreeMap<String, Node>,
    /// Names listed in `required` without a property here; an enclosing `allOf` may define them
    /// (names no level defines are ignored rather than invented).
    pending: BTreeSet<String>,
}

impl Node {
    fn is_object(&self) -> bool {
        self.types.contains("object") || !self.props.is_empty() || !self.variants.is_empty()
    }

    /// Merges `other` in; `all_of` ORs property required-ness, otherwise (alternatives) a
    /// property is required only when required on both sides.
    fn merge(&mut self, mut other: Node, all_of: bool) {
        self.types.append(&mut other.types);
        self.nullable |= other.nullable;
        self.open |= other.open;
        self.enums.append(&mut other.enums);
        self.formats.append(&mut other.formats);
        if all_of {
            self.pending.append(&mut other.pending);
        } else {
            self.pending.retain(|p| other.pending.contains(p));
        }
        let keys: BTreeSet<String> = self.props.keys().chain(other.props.keys()).cloned().collect();
        for key in keys {
            let merged = match (self.props.remove(&key), other.props.remove(&key)) {
                (Some((mut a, ra)), Some((b, rb))) => {
                    a.merge(b, all_of);
                    (a, if all_of { ra || rb } else { ra && rb })
                }
                (Some((a, r)), None) | (None, Some((a, r))) => (a, r && all_of),
                (None, None) => continue,
            };
            self.props.insert(key, merged);
        }
        for (mine, theirs) in [(&mut self.items, other.items), (&mut self.additional, other.additional)] {
            match (mine.as_mut(), theirs) {
                (Some(a), Some(b)) => a.merge(*b, all_of),
                (None, b) => *mine = b,
                _ => {}
            }
        }
        for (label, v) in other.variants {
            match self.variants.get_mut(&label) {
                Some(a) => a.merge(v, all_of),
                None => {
                    self.variants.insert(label, v);
                }
            }
        }
    }

    fn flatten(&self, path: String, required: bool, out: &mut Flat) {
        let leaf = self.props.is_empty()
            && self.items.is_none()
            && self.additional.is_none()
            && self.variants.is_empty();
        let info = FieldInfo {
            types: self.types.clone(),
            required,
            nullable: self.nullable,
            enums: self.enums.clone(),
            formats: self.formats.clone(),
            open: self.open,
            leaf,
        };
        for (name, (child, req)) in &self.props {
            child.flatten(if path.is_empty() { name.clone() } else { format!("{path}.{name}") }, *req, out);
        }
        // Elements and variants are present whenever their container is.
        if let Some(items) = &self.items {
            items.flatten(format!("{path}[]"), true, out);
        }
        if let Some(additional) = &self.additional {
            additional.flatten(format!("{path}{{}}"), true, out);
        }
        for (label, variant) in &self.variants {
            variant.flatten(format!("{path}<{label}>"), true, out);
        }
        out.insert(path, info);
    }
}

/// Expands schemas of one document.
struct Ctx<'a> {
    doc: &'a Value,
    /// `$ref`s being expanded, to cut cycles.
    stack: Vec<String>,
    warnings: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    /// Follows `$ref` chains of non-schema objects (parameters, request bodies, responses).
    fn deref(&mut self, mut v: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => match self.target(r) {
                    Some(t) => v = t,
                    None => return v,
                },
                None => return v,
            }
        }
        v
    }

    fn target(&mut self, r: &str) -> Option<&'a Value> {
        let found = r.strip_prefix('#').and_then(|p| self.doc.pointer(p));
        if found.is_none() {
            self.warnings.insert(format!("unresolvable $ref `{r}` treated as untyped"));
        }
        found
    }

    fn node(&mut self, schema: &'a Value) -> Node {
        let mut n = Node::default();
        // `true`/`{}` schemas (and anything else non-object) accept anything.
        let Some(obj) = schema.as_object() else {
            return n;
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str)
            && !self.stack.iter().any(|s| s == r)
            && let Some(target) = self.target(r)
        {
            self.stack.push(r.to_owned());
            let resolved = self.node(target);
            self.stack.pop();
            n.merge(resolved, true);
        }
        let mut types: Vec<&Value> = Vec::new();
        match obj.get("type") {
            Some(Value::Array(ts)) => types.extend(ts),
            Some(t) => types.push(t),
            None => {}
        }
        for t in types.iter().filter_map(|t| t.as_str()) {
            if t == "null" {
                n.nullable = true;
            } else {
                n.types.insert(t.to_owned());
            }
        }
        n.nullable |= obj.get("nullable") == Some(&Value::Bool(true));
        n.open |= obj.get("x-orq-open") == Some(&Value::Bool(true));
        let enums = obj.get("enum").and_then(Value::as_array).into_iter().flatten();
        for v in enums.chain(obj.get("const")) {
            match v {
                Value::Null => n.nullable = true,
                Value::String(s) => _ = n.enums.insert(s.clone()),
                other => _ = n.enums.insert(other.to_string()),
            }
        }
        if let Some(f) = obj.get("format").and_then(Value::as_str) {
            n.formats.insert(f.to_owned());
        }
        let required: BTreeSet<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut own = Node::default();
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                own.props.insert(name.clone(), (self.node(p), required.contains(name.as_str())));
            }
        }
        own.pending =
            required.into_iter().filter(|r| !own.props.contains_key(*r)).map(str::to_owned).collect();
        own.items = obj.get("items").map(|i| Box::new(self.node(i)));
        own.additional = match obj.get("additionalProperties") {
            None | Some(Value::Bool(false)) => None,
            Some(a) => Some(Box::new(self.node(a))),
        };
        n.merge(own, true);
        for b in obj.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            let branch = self.node(b);
            n.merge(branch, true);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = obj.get(key).and_then(Value::as_array) {
                let alt = self.alternatives(branches);
                n.merge(alt, true);
            }
        }
        let pending = std::mem::take(&mut n.pending);
        for name in pending {
            match n.props.get_mut(&name) {
                Some((_, required)) => *required = true,
                None => _ = n.pending.insert(name),
            }
        }
        if n.types.is_empty() && (!n.props.is_empty() || n.additional.is_some()) {
            n.types.insert("object".into());
        } else if n.types.is_empty() && n.items.is_some() {
            n.types.insert("array".into());
        }
        n
    }

    fn alternatives(&mut self, branches: &'a [Value]) -> Node {
        let nodes: Vec<Node> = branches.iter().map(|b| self.node(b)).collect();
        let (objects, others): (Vec<Node>, Vec<Node>) = nodes.into_iter().partition(Node::is_object);
        let mut out = Node::default();
        for other in others {
            out.merge(other, true);
        }
        // The tag: the property with single-value enums distinct across the most branches.
        let mut best: Option<(usize, String)> = None;
        let candidates: BTreeSet<&String> = (objects.iter())
            .flat_map(|o| o.props.iter().filter(|(_, (p, _))| p.enums.len() == 1).map(|(k, _)| k))
            .collect();
        for key in candidates {
            let values: Vec<&String> = objects.iter().filter_map(|o| tag_value(o, key)).collect();
            let distinct: BTreeSet<&&String> = values.iter().collect();
            if values.len() >= 2
                && distinct.len() == values.len()
                && best.as_ref().is_none_or(|b| values.len() > b.0)
            {
                best = Some((values.len(), key.clone()));
            }
        }
        let mut untagged: Option<Node> = None;
        for object in objects {
            match best.as_ref().and_then(|(_, key)| Some((key, tag_value(&object, key)?.clone()))) {
                Some((key, value)) => {
                    out.types.extend(object.types.iter().cloned());
                    out.variants.insert(format!("{key}={value}"), object);
                }
                None => match untagged.as_mut() {
                    Some(u) => u.merge(object, false),
                    None => untagged = Some(object),
                },
            }
        }
        if let Some(u) = untagged {
            out.merge(u, true);
        }
        out
    }

    /// Flattens a schema whose root has the given required-ness.
    fn flat(&mut self, schema: Option<&'a Value>, required: bool) -> Flat {
        let mut out = Flat::new();
        schema.map(|s| self.node(s)).unwrap_or_default().flatten(String::new(), required, &mut out);
        out
    }

    /// The sections of an operation, or `None` when the document lacks it.
    fn sections(&mut self, method: &str, path: &str) -> Option<BTreeMap<String, Flat>> {
        let item = self.doc.get("paths")?.get(path)?;
        let op = item.get(method)?;
        let mut out = BTreeMap::new();
        let params = [item, op].into_iter().filter_map(|v| v.get("parameters")?.as_array()).flatten();
        for p in params {
            let p = self.deref(p);
            let (Some(name), Some(place)) = (p["name"].as_str(), p["in"].as_str()) else {
                continue;
            };
            // Header names are case-insensitive.
            let name = if place == "header" { name.to_ascii_lowercase() } else { name.to_owned() };
            let schema =
                p.get("schema").or_else(|| p.get("content")?.as_object()?.values().next()?.get("schema"));
            let required = p["required"].as_bool().unwrap_or(place == "path");
            out.insert(format!("param {place}:{name}"), self.flat(schema, required));
        }
        if let Some(body) = op.get("requestBody") {
            let body = self.deref(body);
            let required = body["required"].as_bool().unwrap_or(false);
            for (ct, media) in body.get("content").and_then(Value::as_object).into_iter().flatten() {
                out.insert(format!("request {}", media_type(ct)), self.flat(media.get("schema"), required));
            }
        }
        for (code, resp) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
            let resp = self.deref(resp);
            match resp.get("content").and_then(Value::as_object).filter(|c| !c.is_empty()) {
                None => _ = out.insert(format!("response {code}"), Flat::new()),
                Some(content) => {
                    for (ct, media) in content {
                        out.insert(
                            format!("response {code} {}", media_type(ct)),
                            self.flat(media.get("schema"), true),
                        );
                    }
                }
            }
        }
        Some(out)
    }
}

fn tag_value<'n>(object: &'n Node, key: &str) -> Option<&'n String> {
    object.props.get(key).filter(|(p, _)| p.enums.len() == 1)?.0.enums.first()
}

fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or(ct).trim().to_ascii_lowercase()
}

/// Compares our document with the upstream one over [`OPERATIONS`].
pub fn diff(ours: &Value, upstream: &Value) -> Report {
    let mut rep = Report::default();
    let mut octx = Ctx { doc: ours, stack: Vec::new(), warnings: BTreeSet::new() };
    let mut uctx = Ctx { doc: upstream, stack: Vec::new(), warnings: BTreeSet::new() };
    for (method, path) in OPERATIONS {
        let op = format!("{} {path}", method.to_ascii_uppercase());
        let push = |v: &mut Vec<Finding>, text: String| v.push(Finding { op: op.clone(), text });
        match (octx.sections(method, path), uctx.sections(method, path)) {
            // An operation of a later revision: nothing to compare in this one.
            (_, None) => push(&mut rep.notes, "upstream document has no such operation".into()),
            (None, Some(_)) => push(&mut rep.missing, "operation missing from our spec".into()),
            (Some(o), Some(u)) => {
                let mut used = BTreeSet::new();
                for (loc, uflat) in &u {
                    match counterpart(&o, loc) {
                        Some((oloc, oflat)) => {
                            used.insert(oloc);
                            diff_flat(&op, loc, oflat, uflat, &mut rep);
                        }
                        // Nothing to model in a response without content.
                        None if uflat.is_empty() => {
                            push(&mut rep.notes, format!("{loc} (no content) not in ours"))
                        }
                        None => push(&mut rep.missing, loc.clone()),
                    }
                }
                for loc in o.keys().filter(|l| !used.contains(l)) {
                    push(&mut rep.notes, format!("extra (ours only): {loc}"));
                }
            }
        }
    }
    // A deployments operation upstream has and we do not compare would go unnoticed.
    let upstream_paths = upstream.get("paths").and_then(Value::as_object).into_iter().flatten();
    for (path, item) in upstream_paths.filter(|(path, _)| path.starts_with("/v2/deployments")) {
        for method in ["get", "put", "post", "delete", "patch"].into_iter().filter(|m| item.get(*m).is_some())
        {
            let op = format!("{} {path}", method.to_ascii_uppercase());
            if OUT_OF_SCOPE.contains(&(method, path.as_str())) {
                rep.notes.push(Finding { op, text: "operation outside the SDK's surface".into() });
            } else if !OPERATIONS.contains(&(method, path.as_str())) {
                rep.missing.push(Finding { op, text: "operation missing from our spec".into() });
            }
        }
    }
    for (side, ctx) in [("ours", &octx), ("upstream", &uctx)] {
        for w in &ctx.warnings {
            rep.notes.push(Finding { op: String::new(), text: format!("{side}: {w}") });
        }
    }
    rep
}

/// Our section for an upstream one; a response status falls back to ours `4XX` or `default`.
fn counterpart<'o>(ours: &'o BTreeMap<String, Flat>, loc: &str) -> Option<(&'o String, &'o Flat)> {
    let mut candidates = vec![loc.to_owned()];
    if let Some(rest) = loc.strip_prefix("response ") {
        let (code, media) = rest.split_once(' ').unwrap_or((rest, ""));
        let suffix = if media.is_empty() { String::new() } else { format!(" {media}") };
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) {
            candidates.push(format!("response {}XX{suffix}", &code[..1]));
        }
        candidates.push(format!("response default{suffix}"));
    }
    candidates.iter().find_map(|c| ours.get_key_value(c))
}

/// Splits a path into its tag-free form and its tags, each with the tag-free prefix it sits on.
fn tags(path: &str) -> (String, Vec<(String, String)>) {
    let (mut stripped, mut tags, mut chars) = (String::new(), Vec::new(), path.chars());
    while let Some(c) = chars.next() {
        if c == '<' {
            tags.push((stripped.clone(), chars.by_ref().take_while(|&c| c != '>').collect()));
        } else {
            stripped.push(c);
        }
    }
    (stripped, tags)
}

/// Proper ancestors of a path, shortest first.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices().filter(|&(i, c)| i > 0 && matches!(c, '.' | '[' | '{' | '<')).map(|(i, _)| &path[..i])
}

/// Finds the paths of ours that correspond to an upstream path.
struct Matcher<'a> {
    ours: &'a Flat,
    by_stripped: BTreeMap<String, Vec<&'a str>>,
    ours_sites: BTreeSet<String>,
    up_sites: BTreeSet<String>,
}

impl<'a> Matcher<'a> {
    fn new(ours: &'a Flat, upstream: &Flat) -> Self {
        let mut by_stripped: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let mut ours_sites = BTreeSet::new();
        for p in ours.keys() {
            let (stripped, t) = tags(p);
            ours_sites.extend(t.into_iter().map(|(site, _)| site));
            by_stripped.entry(stripped).or_default().push(p);
        }
        let up_sites = upstream.keys().flat_map(|p| tags(p).1).map(|(site, _)| site).collect();
        Matcher { ours, by_stripped, ours_sites, up_sites }
    }

    /// Exact match, else paths equal up to tags where only one side tags (merged vs tagged
    /// modelling of the same alternatives).
    fn lookup(&self, path: &str) -> Vec<&'a str> {
        if let Some((p, _)) = self.ours.get_key_value(path) {
            return vec![p.as_str()];
        }
        let (stripped, utags) = tags(path);
        let Some(candidates) = self.by_stripped.get(&stripped) else {
            return Vec::new();
        };
        let fits = |q: &&str| {
            let qtags = tags(q).1;
            let find = |tags: &[(String, String)], site: &str| {
                tags.iter().find(|(s, _)| s == site).map(|(_, t)| t.clone())
            };
            utags.iter().all(|(site, t)| match find(&qtags, site) {
                Some(qt) => &qt == t,
                None => !self.ours_sites.contains(site),
            }) && qtags.iter().all(|(site, _)| find(&utags, site).is_some() || !self.up_sites.contains(site))
        };
        candidates.iter().copied().filter(fits).collect()
    }

    fn info(&self, hits: &[&str]) -> FieldInfo {
        let mut infos = hits.iter().map(|h| &self.ours[*h]);
        let mut acc = infos.next().cloned().unwrap_or_default();
        for i in infos {
            acc.types.extend(i.types.iter().cloned());
            acc.enums.extend(i.enums.iter().cloned());
            acc.formats.extend(i.formats.iter().cloned());
            acc.nullable |= i.nullable;
            acc.open |= i.open;
            acc.required &= i.required;
            acc.leaf &= i.leaf;
        }
        acc
    }
}

fn list(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join("|")
}

fn diff_flat(op: &str, loc: &str, ours: &Flat, upstream: &Flat, rep: &mut Report) {
    let matcher = Matcher::new(ours, upstream);
    let at = |p: &str| {
        if p.is_empty() { loc.to_owned() } else { format!("{loc}: {p}") }
    };
    let finding = |text: String| Finding { op: op.to_owned(), text };
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
    let mut opaque: BTreeMap<&str, usize> = BTreeMap::new();
    for (path, u) in upstream {
        let hits = matcher.lookup(path);
        if hits.is_empty() {
            if let Some(root) = ancestors(path).find(|a| missing.contains_key(a)) {
                *missing.get_mut(root).expect("just found") += 1;
            } else if let Some(a) = ancestors(path).find(|a| {
                let hits = matcher.lookup(a);
                let o = matcher.info(&hits);
                !hits.is_empty() && o.leaf && o.types.iter().all(|t| t == "object")
            }) {
                *opaque.entry(a).or_default() += 1;
            } else {
                missing.insert(path, 0);
            }
            continue;
        }
        matched.extend(&hits);
        let o = matcher.info(&hits);
        let here = at(path);
        // An upstream `{}` accepts anything: only its presence and required-ness count.
        let free = u.types.is_empty() && u.enums.is_empty() && u.leaf;
        let mut ours_types = o.types.clone();
        let number = |s: &BTreeSet<String>| s.contains("number") && !s.contains("integer");
        // Integers are numbers: ours `integer` (beside or instead of `number`) fits upstream `number`.
        // In a request, sending only integers is within what upstream accepts; in a response, a
        // fractional value upstream allows would not decode.
        if number(&u.types) && ours_types.remove("integer") && ours_types.insert("number".into()) {
            if loc.starts_with("response") {
                rep.missing
                    .push(finding(format!("{here}: ours integer, upstream number (fractions refused)")));
            } else {
                rep.notes.push(finding(format!("{here}: ours integer, upstream number (narrowed)")));
            }
        }
        if !u.types.is_empty() && ours_types.is_empty() {
            rep.notes.push(finding(format!("{here}: ours untyped, upstream {}", list(&u.types))));
        } else if !u.types.is_empty() && ours_types != u.types {
            let text = format!("{here}: type ours {}, upstream {}", list(&o.types), list(&u.types));
            if ours_types.is_superset(&u.types) {
                rep.notes.push(finding(format!("{text} (wider)")));
            } else {
                rep.diffs.push(finding(text));
            }
        }
        // Ours being optional where upstream requires, or nullable where upstream is not, only
        // accepts more; the other way round refuses what upstream allows.
        for (what, mine, theirs, lenient) in [
            ("required", o.required, u.required, !o.required),
            ("nullable", o.nullable, u.nullable, o.nullable),
        ] {
            if mine == theirs || (free && what == "nullable") {
                continue;
            }
            let text = format!("{here}: {what} ours {mine}, upstream {theirs}");
            if lenient {
                rep.notes.push(finding(format!("{text} (lenient)")));
            } else {
                rep.diffs.push(finding(text));
            }
        }
        match (o.enums.is_empty(), u.enums.is_empty()) {
            (false, false) => {
                let lacking: BTreeSet<String> = u.enums.difference(&o.enums).cloned().collect();
                let extra: BTreeSet<String> = o.enums.difference(&u.enums).cloned().collect();
                if !lacking.is_empty() {
                    rep.missing.push(finding(format!("{here}: enum lacks {}", list(&lacking))));
                }
                if !extra.is_empty() {
                    rep.notes.push(finding(format!("{here}: enum has extra {}", list(&extra))));
                }
            }
            (true, false) => {
                rep.notes.push(finding(format!("{here}: ours has no enum (upstream {})", list(&u.enums))))
            }
            (false, true) if !free && o.open => {
                rep.notes.push(finding(format!("{here}: ours lists open enum {}", list(&o.enums))))
            }
            (false, true) if !free => {
                rep.diffs.push(finding(format!("{here}: ours restricts to enum {}", list(&o.enums))))
            }
            _ => {}
        }
        // Formats ours adds (e.g. `uint32` for a narrowed integer) are our business.
        if !u.formats.is_subset(&o.formats) {
            let ours = if o.formats.is_empty() { "none".to_owned() } else { list(&o.formats) };
            rep.notes.push(finding(format!("{here}: format upstream {}, ours {ours}", list(&u.formats))));
        }
    }
    for (path, nested) in missing {
        let more = if nested > 0 { format!(" (+{nested} nested)") } else { String::new() };
        rep.missing.push(finding(format!("{}{more}", at(path))));
    }
    for (path, n) in opaque {
        rep.diffs.push(finding(format!("{}: ours is free-form, upstream has {n} nested paths", at(path))));
    }
    let mut extras: BTreeSet<&str> = BTreeSet::new();
    for path in ours.keys().map(String::as_str).filter(|p| !matched.contains(p)) {
        if !ancestors(path).any(|a| extras.contains(a)) {
            extras.insert(path);
        }
    }
    for path in extras {
        rep.notes.push(finding(format!("extra (ours only): {}", at(path))));
    }
}

/// Renders a report grouped per operation (in [`OPERATIONS`] order), ending with a summary line.
pub fn render(report: &Report) -> String {
    let mut groups: BTreeMap<(usize, &str), Vec<(&str, &str)>> = BTreeMap::new();
    for (label, findings) in [("MISSING", &report.missing), ("DIFF", &report.diffs), ("note", &report.notes)]
    {
        let mut sorted: Vec<&Finding> = findings.iter().collect();
        sorted.sort();
        for f in sorted {
            let rank = OPERATIONS.iter().position(|(m, p)| f.op == format!("{} {p}", m.to_ascii_uppercase()));
            groups.entry((rank.unwrap_or(usize::MAX), &f.op)).or_default().push((label, &f.text));
        }
    }
    let mut out = String::new();
    for ((_, op), lines) in groups {
        out.push_str(if op.is_empty() { "(document)" } else { op });
        out.push('\n');
        for (label, text) in lines {
            out.push_str(&format!("  {label:<7} {text}\n"));
        }
    }
    out.push_str(&format!(
        "summary: {} missing, {} differences, {} notes ({} operations)\n",
        report.missing.len(),
        report.diffs.len(),
        report.notes.len(),
        OPERATIONS.len()
    ));
    out
}

#[cfg(test)]
mod tests;
