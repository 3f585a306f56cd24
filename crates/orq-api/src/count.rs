//! [`Count`]: a token count or an index as the service sent it.

use std::fmt;

/// A count or position the service sends: a token count, a choice's or a tool
/// call's index.
///
/// The API declares these as JSON numbers, not integers, so a fractional value
/// (`2.5`) is valid and must decode. `Count` keeps the number exactly as it
/// arrived: it prints and re-serialises unchanged (`12` stays `12`, `2.5`
/// stays `2.5`), [`as_u64`](Self::as_u64) gives the usual whole count, and
/// [`as_f64`](Self::as_f64) any value.
///
/// ```
/// use orq_api::types::{Count, Usage};
///
/// let usage: Usage = serde_json::from_str(r#"{"prompt_tokens": 12, "completion_tokens": 2.5}"#).unwrap();
/// let prompt = usage.prompt_tokens.unwrap();
/// assert_eq!(prompt, 12);
/// assert_eq!(prompt.as_u64(), Some(12));
/// let completion = usage.completion_tokens.unwrap();
/// assert_eq!(completion.as_u64(), None);
/// assert_eq!(completion.as_f64(), 2.5);
/// assert_eq!(completion.to_string(), "2.5");
/// assert_eq!(serde_json::to_string(&usage).unwrap(), r#"{"completion_tokens":2.5,"prompt_tokens":12}"#);
/// assert_eq!(Count::from(3u64), 3);
/// ```
#[derive(Clone, Copy)]
pub struct Count(Repr);

/// The three shapes of a JSON number, as `serde_json::Number` keeps them
/// (which is not `Copy`).
#[derive(Clone, Copy, PartialEq)]
enum Repr {
    Whole(u64),
    Negative(i64),
    Float(f64),
}

impl Count {
    /// The count as a whole number, when it is one (not negative, no fraction).
    pub fn as_u64(&self) -> Option<u64> {
        match self.0 {
            Repr::Whole(value) => Some(value),
            Repr::Negative(_) => None,
            // `u64::MAX as f64` rounds up to 2^64, itself out of range.
            Repr::Float(value) => (value.fract() == 0.0
                && (0.0..18_446_744_073_709_551_616.0).contains(&value))
            .then_some(value as u64),
        }
    }

    /// The count as a float (whole counts up to 2^53 exactly).
    pub fn as_f64(&self) -> f64 {
        match self.0 {
            Repr::Whole(value) => value as f64,
            Repr::Negative(value) => value as f64,
            Repr::Float(value) => value,
        }
    }

    /// The number as it arrived.
    pub fn to_number(&self) -> serde_json::Number {
        match self.0 {
            Repr::Whole(value) => value.into(),
            Repr::Negative(value) => value.into(),
            // A `Float` came from a JSON number, so it is finite.
            Repr::Float(value) => serde_json::Number::from_f64(value).unwrap_or_else(|| 0u64.into()),
        }
    }
}

impl serde::Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Repr::Whole(value) => serializer.serialize_u64(value),
            Repr::Negative(value) => serializer.serialize_i64(value),
            Repr::Float(value) => serializer.serialize_f64(value),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `serde_json::Number`, which reads every representation
        // serde_json may be built with (`arbitrary_precision` too).
        let number = serde_json::Number::deserialize(deserializer)?;
        Ok(Count::from(&number))
    }
}

impl From<&serde_json::Number> for Count {
    fn from(number: &serde_json::Number) -> Self {
        Count(match (number.as_u64(), number.as_i64()) {
            (Some(value), _) => Repr::Whole(value),
            (None, Some(value)) => Repr::Negative(value),
            (None, None) => Repr::Float(number.as_f64().unwrap_or(f64::NAN)),
        })
    }
}

/// Zero.
impl Default for Count {
    fn default() -> Self {
        Count(Repr::Whole(0))
    }
}

impl From<u64> for Count {
    fn from(value: u64) -> Self {
        Count(Repr::Whole(value))
    }
}

impl From<u32> for Count {
    fn from(value: u32) -> Self {
        Count(Repr::Whole(value.into()))
    }
}

impl TryFrom<f64> for Count {
    type Error = f64;

    /// A finite float; NaN and infinities are no JSON number and come back as the error.
    fn try_from(value: f64) -> Result<Self, f64> {
        if value.is_finite() { Ok(Count(Repr::Float(value))) } else { Err(value) }
    }
}

impl From<Count> for serde_json::Number {
    fn from(count: Count) -> Self {
        count.to_number()
    }
}

/// Compares values, not spellings: `12` and `12.0` are equal.
impl PartialEq for Count {
    fn eq(&self, other: &Count) -> bool {
        match (self.as_u64(), other.as_u64()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.as_f64() == other.as_f64(),
            _ => false,
        }
    }
}

/// Compares the value: `Count` of `12` and of `12.0` both equal `12`.
impl PartialEq<u64> for Count {
    fn eq(&self, other: &u64) -> bool {
        self.as_u64() == Some(*other)
    }
}

/// Compares the value: `Count` of `2.5` equals `2.5`.
impl PartialEq<f64> for Count {
    fn eq(&self, other: &f64) -> bool {
        self.as_f64() == *other
    }
}

/// As JSON writes it: `12`, `-1`, `2.5`, `12.0`.
impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_number(), f)
    }
}

impl fmt::Debug for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl schemars::JsonSchema for Count {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "number" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(json: &str) -> Count {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn keeps_the_number_as_sent() {
        for json in ["0", "12", "12.0", "2.5", "-1", "1e3", "18446744073709551615"] {
            let number: serde_json::Number = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&count(json)).unwrap(), number.to_string(), "{json}");
            assert_eq!(count(json).to_number(), number);
        }
        assert_eq!(serde_json::to_string(&count("12")).unwrap(), "12");
        assert_eq!(serde_json::to_string(&count("2.5")).unwrap(), "2.5");
    }

    #[test]
    fn whole_counts_read_as_u64_fractions_and_negatives_do_not() {
        assert_eq!(count("12").as_u64(), Some(12));
        assert_eq!(count("12.0").as_u64(), Some(12));
        assert_eq!(count("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(count("2.5").as_u64(), None);
        assert_eq!(count("-1").as_u64(), None);
        assert_eq!(count("1e300").as_u64(), None);
        assert_eq!(count("2.5").as_f64(), 2.5);
        assert_eq!(count("7").as_f64(), 7.0);
    }

    #[test]
    fn non_numbers_do_not_decode() {
        for json in ["\"12\"", "null", "true", "[1]"] {
            assert!(serde_json::from_str::<Count>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn compares_by_value_and_prints_as_sent() {
        assert_eq!(count("12.0"), 12);
        assert_eq!(count("12.0"), count("12"));
        assert_ne!(count("12.5"), count("12"));
        assert_eq!(count("-1"), count("-1.0"));
        assert_eq!(count("2.5"), 2.5);
        assert_ne!(count("2.5"), 2);
        assert_eq!(format!("{} {:?}", count("2.5"), count("3")), "2.5 3");
        assert!(Count::try_from(f64::NAN).is_err());
        assert_eq!(Count::try_from(2.5).unwrap(), 2.5);
    }
}
