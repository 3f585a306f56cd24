//! Conversions into the values a knowledge filter compares metadata with.
//! Kept beside the generated code, never inside it.

use crate::types::FilterValue;

impl From<&str> for FilterValue {
    fn from(value: &str) -> Self {
        FilterValue::String(value.to_string())
    }
}

impl From<String> for FilterValue {
    fn from(value: String) -> Self {
        FilterValue::String(value)
    }
}

impl From<&String> for FilterValue {
    fn from(value: &String) -> Self {
        FilterValue::String(value.clone())
    }
}

/// Integers that a JSON number (a double) carries exactly. Wider integers
/// convert with `as f64` where the caller decides that rounding is fine.
macro_rules! filter_value_from_number {
    ($($number:ty),*) => {$(
        impl From<$number> for FilterValue {
            fn from(value: $number) -> Self {
                FilterValue::Double(f64::from(value))
            }
        }
    )*};
}
filter_value_from_number!(i8, i16, i32, u8, u16, u32);

impl From<f32> for FilterValue {
    /// The shortest decimal that reads back as the same `f32`: `0.1f32` is sent
    /// as `0.1`, not `0.10000000149011612`.
    fn from(value: f32) -> Self {
        FilterValue::Double(value.to_string().parse().unwrap_or(f64::from(value)))
    }
}
