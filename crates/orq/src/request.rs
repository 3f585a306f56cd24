//! Builders for the parts of a deployment request that have a structure of
//! their own: who the request is for ([`Identity`]), the conversation it
//! belongs to ([`Thread`]) and which knowledge-base chunks it may retrieve
//! ([`KnowledgeFilter`]). Pass them to the matching methods of
//! [`DeploymentCall`](crate::deployments::DeploymentCall).
//!
//! Mistakes are not panics: they are kept and reported by `send` as one
//! [`Error::InvalidRequest`](crate::Error::InvalidRequest), before anything is sent.
//!
//! ```no_run
//! use orq::request::{Conditions, Identity, KnowledgeFilter, Thread};
//! # async fn run(client: orq::Client) -> Result<(), orq::Error> {
//! let answer = client
//!     .deployments()
//!     .invoke("support-bot")
//!     .identity(Identity::new("customer-42").display_name("Ada").email("ada@example.com"))
//!     .thread(Thread::new("ticket-1234").tag("billing"))
//!     .knowledge_filter(KnowledgeFilter::or([
//!         Conditions::new().eq("topic", "billing").gte("year", 2024),
//!         Conditions::new().one_of("lang", ["en", "nl"]),
//!     ]))
//!     .include_usage(true)
//!     .send()
//!     .await?;
//! # let _ = answer;
//! # Ok(()) }
//! ```

use orq_api::types;
use orq_api::types::FilterValue;
use serde_json::{Map, Value};

/// The body field a knowledge filter goes in; problems are reported under it.
const FILTER: &str = "knowledge_filter";

/// The operators of a field condition, as the wire names them.
const OPERATORS: [&str; 9] = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists"];

/// Who a request is made for. orq.ai creates the identity the first time it
/// sees its id, and attributes the request (and its cost) to it.
///
/// ```
/// use orq::request::Identity;
///
/// let identity = Identity::new("customer-42")
///     .display_name("Ada Lovelace")
///     .email("ada@example.com")
///     .logo_url("https://example.com/ada.png")
///     .metadata(serde_json::json!({ "plan": "pro" }))
///     .tags(["vip", "beta"]);
/// # let _ = identity;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Identity {
    identity: types::Identity,
    problems: Vec<String>,
}

impl Identity {
    /// An identity with your own id for it (required, not empty).
    pub fn new(id: impl Into<String>) -> Self {
        Identity { identity: types::Identity::new(id), problems: Vec::new() }
    }

    /// The name orq.ai shows for the identity.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.identity.display_name = Some(name.into());
        self
    }

    /// The identity's email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.identity.email = Some(email.into());
        self
    }

    /// URL of the identity's avatar or logo.
    pub fn logo_url(mut self, url: impl Into<String>) -> Self {
        self.identity.logo_url = Some(url.into());
        self
    }

    /// Appends one object of key/value facts (the API keeps a list of them).
    /// Anything but a JSON object is reported by `send`; `null` adds nothing.
    pub fn metadata(mut self, entry: Value) -> Self {
        match entry {
            Value::Object(map) => self.identity.metadata.push(map),
            Value::Null => {}
            other => self.problems.push(format!("identity.metadata must be a JSON object, not `{other}`")),
        }
        self
    }

    /// Adds a label.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.identity.tags.push(tag.into());
        self
    }

    /// Adds several labels.
    pub fn tags<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.identity.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// The identity and what was wrong with how it was built.
    pub(crate) fn into_parts(self) -> (types::Identity, Vec<String>) {
        (self.identity, self.problems)
    }
}

impl From<types::Identity> for Identity {
    fn from(identity: types::Identity) -> Self {
        Identity { identity, problems: Vec::new() }
    }
}

/// The conversation a request belongs to: requests with the same thread id
/// are grouped together in orq.ai.
///
/// ```
/// use orq::request::Thread;
///
/// let thread = Thread::new("ticket-1234").tags(["billing", "priority"]);
/// # let _ = thread;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Thread {
    thread: types::Thread,
}

impl Thread {
    /// A thread with your own id for it (required, not empty).
    pub fn new(id: impl Into<String>) -> Self {
        Thread { thread: types::Thread::new(id) }
    }

    /// Adds a label.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.thread.tags.push(tag.into());
        self
    }

    /// Adds several labels.
    pub fn tags<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.thread.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    pub(crate) fn into_inner(self) -> types::Thread {
        self.thread
    }
}

impl From<types::Thread> for Thread {
    fn from(thread: types::Thread) -> Self {
        Thread { thread }
    }
}

/// One test of a knowledge-base chunk's metadata field. On the wire it is an
/// object with exactly one operator: `{"gte": 2024}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `eq`: equal to the value.
    Eq(FilterValue),
    /// `ne`: not equal to the value.
    Ne(FilterValue),
    /// `gt`: greater than.
    Gt(f64),
    /// `gte`: greater than or equal to.
    Gte(f64),
    /// `lt`: less than.
    Lt(f64),
    /// `lte`: less than or equal to.
    Lte(f64),
    /// `in`: equal to one of the values (at least one).
    In(Vec<FilterValue>),
    /// `nin`: equal to none of the values (at least one).
    Nin(Vec<FilterValue>),
    /// `exists`: whether the field is present at all.
    Exists(bool),
}

impl Condition {
    /// `eq`: a string, number or bool.
    pub fn eq(value: impl Into<FilterValue>) -> Self {
        Condition::Eq(value.into())
    }

    /// `ne`: a string, number or bool.
    pub fn ne(value: impl Into<FilterValue>) -> Self {
        Condition::Ne(value.into())
    }

    /// `gt`.
    pub fn gt(value: impl Into<f64>) -> Self {
        Condition::Gt(value.into())
    }

    /// `gte`.
    pub fn gte(value: impl Into<f64>) -> Self {
        Condition::Gte(value.into())
    }

    /// `lt`.
    pub fn lt(value: impl Into<f64>) -> Self {
        Condition::Lt(value.into())
    }

    /// `lte`.
    pub fn lte(value: impl Into<f64>) -> Self {
        Condition::Lte(value.into())
    }

    /// `in`: equal to one of `values`.
    #[doc(alias = "in")]
    pub fn one_of<V: Into<FilterValue>>(values: impl IntoIterator<Item = V>) -> Self {
        Condition::In(values.into_iter().map(Into::into).collect())
    }

    /// `nin`: equal to none of `values`.
    #[doc(alias = "nin")]
    pub fn none_of<V: Into<FilterValue>>(values: impl IntoIterator<Item = V>) -> Self {
        Condition::Nin(values.into_iter().map(Into::into).collect())
    }

    /// `exists`: `true` when the field must be present, `false` when absent.
    pub fn exists(present: bool) -> Self {
        Condition::Exists(present)
    }

    /// The wire form, `{"<operator>": operand}`; problems are added under `path`.
    fn to_json(&self, path: &str, problems: &mut Vec<String>) -> Value {
        let mut number = |operator: &str, x: f64| {
            if !x.is_finite() {
                problems.push(format!("{path}.{operator} is {x}, which JSON cannot carry"));
            }
            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
        };
        let (operator, operand) = match self {
            Condition::Eq(v) => ("eq", filter_value(v)),
            Condition::Ne(v) => ("ne", filter_value(v)),
            Condition::Gt(x) => ("gt", number("gt", *x)),
            Condition::Gte(x) => ("gte", number("gte", *x)),
            Condition::Lt(x) => ("lt", number("lt", *x)),
            Condition::Lte(x) => ("lte", number("lte", *x)),
            Condition::In(values) => ("in", Value::Array(values.iter().map(filter_value).collect())),
            Condition::Nin(values) => ("nin", Value::Array(values.iter().map(filter_value).collect())),
            Condition::Exists(present) => ("exists", Value::Bool(*present)),
        };
        Value::Object(Map::from_iter([(operator.to_string(), operand)]))
    }
}

/// A filter value as JSON (a number JSON cannot carry becomes `null`, which the
/// structural check reports).
fn filter_value(value: &FilterValue) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Conditions on metadata fields that must all hold, one condition per field:
/// the map `{"topic": {"eq": "billing"}, "year": {"gte": 2024}}`.
///
/// Two conditions on the same field (a range, say) do not fit in one map:
/// put each in its own map of a [`KnowledgeFilter::and`].
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct Conditions {
    fields: Vec<(String, Condition)>,
}

impl Conditions {
    /// No conditions yet (a filter needs at least one).
    pub fn new() -> Self {
        Conditions::default()
    }

    /// Tests metadata field `name` with `condition`.
    pub fn field(mut self, name: impl Into<String>, condition: Condition) -> Self {
        self.fields.push((name.into(), condition));
        self
    }

    /// `name` equals `value` (a string, number or bool).
    pub fn eq(self, name: impl Into<String>, value: impl Into<FilterValue>) -> Self {
        self.field(name, Condition::eq(value))
    }

    /// `name` does not equal `value`.
    pub fn ne(self, name: impl Into<String>, value: impl Into<FilterValue>) -> Self {
        self.field(name, Condition::ne(value))
    }

    /// `name` is greater than `value`.
    pub fn gt(self, name: impl Into<String>, value: impl Into<f64>) -> Self {
        self.field(name, Condition::gt(value))
    }

    /// `name` is greater than or equal to `value`.
    pub fn gte(self, name: impl Into<String>, value: impl Into<f64>) -> Self {
        self.field(name, Condition::gte(value))
    }

    /// `name` is less than `value`.
    pub fn lt(self, name: impl Into<String>, value: impl Into<f64>) -> Self {
        self.field(name, Condition::lt(value))
    }

    /// `name` is less than or equal to `value`.
    pub fn lte(self, name: impl Into<String>, value: impl Into<f64>) -> Self {
        self.field(name, Condition::lte(value))
    }

    /// `name` equals one of `values` (`in`).
    #[doc(alias = "in")]
    pub fn one_of<V: Into<FilterValue>>(
        self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.field(name, Condition::one_of(values))
    }

    /// `name` equals none of `values` (`nin`).
    #[doc(alias = "nin")]
    pub fn none_of<V: Into<FilterValue>>(
        self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.field(name, Condition::none_of(values))
    }

    /// `name` is present (`true`) or absent (`false`).
    pub fn exists(self, name: impl Into<String>, present: bool) -> Self {
        self.field(name, Condition::exists(present))
    }

    /// The wire form; problems are added under `path`.
    fn to_json(&self, path: &str, problems: &mut Vec<String>) -> Value {
        let mut map = Map::new();
        for (name, condition) in &self.fields {
            let field_path = format!("{path}.{name}");
            if map.contains_key(name) {
                problems.push(format!(
                    "{field_path} has more than one condition, but one map holds one condition per field: \
                     put each in its own map of a KnowledgeFilter::and"
                ));
                continue;
            }
            map.insert(name.clone(), condition.to_json(&field_path, problems));
        }
        Value::Object(map)
    }
}

/// Which knowledge-base chunks a deployment may retrieve, by their metadata:
/// either one map of [`Conditions`] (all must hold), or `and` / `or` over
/// several maps. This is the whole shape the API accepts: `and` and `or` do
/// not nest, and one filter is exactly one of the three.
///
/// ```
/// use orq::request::{Condition, Conditions, KnowledgeFilter};
///
/// // {"topic": {"eq": "billing"}}
/// let simple = KnowledgeFilter::from(Conditions::new().eq("topic", "billing"));
/// // {"and": [{"year": {"gte": 2020}}, {"year": {"lt": 2025}}]}: a range needs `and`.
/// let range = KnowledgeFilter::and([
///     Conditions::new().gte("year", 2020),
///     Conditions::new().field("year", Condition::lt(2025)),
/// ]);
/// // {"or": [{"lang": {"in": ["en", "nl"]}}, {"reviewed": {"exists": true}}]}
/// let either = KnowledgeFilter::or([
///     Conditions::new().one_of("lang", ["en", "nl"]),
///     Conditions::new().exists("reviewed", true),
/// ]);
/// # let _ = (simple, range, either);
/// ```
///
/// Structural mistakes (no conditions, an empty `and` or `or`, an `in` without
/// values, several conditions on one field of a map, a number JSON cannot carry)
/// are reported by `send` as [`Error::InvalidRequest`](crate::Error::InvalidRequest).
/// A filter from JSON ([`Self::from_json`]) is checked the same way, and also for
/// unknown operators, operands of the wrong type and mixed shapes.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct KnowledgeFilter {
    json: Value,
    problems: Vec<String>,
}

impl KnowledgeFilter {
    /// Every map of conditions must hold (`{"and": [...]}`).
    pub fn and(maps: impl IntoIterator<Item = Conditions>) -> Self {
        Self::list("and", maps)
    }

    /// At least one map of conditions must hold (`{"or": [...]}`).
    pub fn or(maps: impl IntoIterator<Item = Conditions>) -> Self {
        Self::list("or", maps)
    }

    /// A filter in the API's JSON form, as the Python SDK takes it, such as
    /// `{"or": [{"topic": {"eq": "billing"}}, {"year": {"gte": 2024}}]}`.
    pub fn from_json(json: Value) -> Self {
        KnowledgeFilter { json, problems: Vec::new() }
    }

    /// The filter as it will be sent.
    pub fn to_json(&self) -> &Value {
        &self.json
    }

    fn list(operator: &str, maps: impl IntoIterator<Item = Conditions>) -> Self {
        let mut problems = Vec::new();
        let items = maps
            .into_iter()
            .enumerate()
            .map(|(i, conditions)| conditions.to_json(&format!("{FILTER}.{operator}[{i}]"), &mut problems))
            .collect();
        let json = Value::Object(Map::from_iter([(operator.to_string(), Value::Array(items))]));
        KnowledgeFilter { json, problems }
    }

    /// The filter in the generated type, or every problem it has.
    pub(crate) fn into_wire(self) -> Result<types::KnowledgeFilter, Vec<String>> {
        let mut problems = self.problems;
        problems.extend(filter_problems(&self.json));
        if !problems.is_empty() {
            return Err(problems);
        }
        serde_json::from_value(self.json).map_err(|e| vec![format!("{FILTER} does not fit the API: {e}")])
    }
}

impl From<Conditions> for KnowledgeFilter {
    /// One map of conditions, all of which must hold.
    fn from(conditions: Conditions) -> Self {
        let mut problems = Vec::new();
        let json = conditions.to_json(FILTER, &mut problems);
        KnowledgeFilter { json, problems }
    }
}

impl From<types::KnowledgeFilter> for KnowledgeFilter {
    fn from(filter: types::KnowledgeFilter) -> Self {
        KnowledgeFilter::from_json(serde_json::to_value(filter).unwrap_or(Value::Null))
    }
}

/// Everything structurally wrong with a knowledge filter in its wire form.
pub(crate) fn filter_problems(filter: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Value::Object(map) = filter else {
        problems.push(format!("{FILTER} must be a JSON object, not {}", kind(filter)));
        return problems;
    };
    let logical: Vec<&str> = ["and", "or"].into_iter().filter(|op| map.contains_key(*op)).collect();
    match logical.as_slice() {
        [] => field_conditions(map, FILTER, &mut problems),
        [operator] if map.len() == 1 => match &map[*operator] {
            Value::Array(items) if items.is_empty() => problems
                .push(format!("{FILTER}.{operator} is empty: it needs at least one map of conditions")),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{FILTER}.{operator}[{i}]");
                    match item {
                        Value::Object(conditions) => field_conditions(conditions, &path, &mut problems),
                        other => problems.push(format!(
                            "{path} must be an object of field conditions, not {}",
                            kind(other)
                        )),
                    }
                }
            }
            other => problems.push(format!(
                "{FILTER}.{operator} must be an array of maps of conditions, not {}",
                kind(other)
            )),
        },
        _ => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            problems.push(format!(
                "{FILTER} has the keys {keys:?}, but a filter is exactly one of: field conditions, \
                 one `and`, or one `or` (they do not nest or combine)"
            ));
        }
    }
    problems
}

/// Checks one map of field conditions.
fn field_conditions(map: &Map<String, Value>, path: &str, problems: &mut Vec<String>) {
    if map.is_empty() {
        problems.push(format!("{path} has no conditions"));
    }
    for (name, condition) in map {
        let path = format!("{path}.{name}");
        if name.is_empty() {
            problems.push(format!("{path} tests a field with an empty name"));
        }
        let Value::Object(operators) = condition else {
            problems.push(format!("{path} must be an object with one operator, not {}", kind(condition)));
            continue;
        };
        for operator in operators.keys().filter(|key| !OPERATORS.contains(&key.as_str())) {
            problems.push(format!(
                "{path} has the unknown operator `{operator}` (known: {})",
                OPERATORS.join(", ")
            ));
        }
        let known: Vec<(&String, &Value)> =
            operators.iter().filter(|(key, _)| OPERATORS.contains(&key.as_str())).collect();
        match known.as_slice() {
            [] if operators.is_empty() => problems.push(format!("{path} has no operator")),
            [] => {}
            [(operator, operand)] => {
                operand_problems(&format!("{path}.{operator}"), operator, operand, problems)
            }
            _ => problems.push(format!(
                "{path} has {} operators, but a condition has exactly one (use `and` for several)",
                known.len()
            )),
        }
    }
}

/// Checks the operand of one operator.
fn operand_problems(path: &str, operator: &str, operand: &Value, problems: &mut Vec<String>) {
    let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
    match operator {
        "eq" | "ne" if !scalar(operand) => {
            problems.push(format!("{path} must be a string, number or boolean, not {}", kind(operand)))
        }
        "gt" | "gte" | "lt" | "lte" if !operand.is_number() => {
            problems.push(format!("{path} must be a finite number, not {}", kind(operand)))
        }
        "in" | "nin" => match operand {
            Value::Array(values) if values.is_empty() => {
                problems.push(format!("{path} has no values: it needs at least one"))
            }
            Value::Array(values) => {
                for (i, value) in values.iter().enumerate().filter(|(_, v)| !scalar(v)) {
                    problems.push(format!(
                        "{path}[{i}] must be a string, number or boolean, not {}",
                        kind(value)
                    ));
                }
            }
            other => problems.push(format!("{path} must be an array of values, not {}", kind(other))),
        },
        "exists" if !operand.is_boolean() => {
            problems.push(format!("{path} must be a boolean, not {}", kind(operand)))
        }
        _ => {}
    }
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
