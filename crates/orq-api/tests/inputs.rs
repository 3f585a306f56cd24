//! Prompt inputs: every Rust number, string and bool converts into an
//! `InputValue` whose JSON is exact, and a `serde_json::Value` converts when it
//! can be an input and says why when it cannot.

use orq_api::types::{InputValue, Message, UserContent};
use serde_json::{Value, json};

fn wire(value: impl Into<InputValue>) -> String {
    serde_json::to_string(&value.into()).unwrap()
}

#[test]
fn every_integer_width_is_sent_as_an_exact_integer() {
    assert_eq!(wire(-8i8), "-8");
    assert_eq!(wire(i16::MIN), "-32768");
    assert_eq!(wire(i32::MAX), "2147483647");
    assert_eq!(wire(i64::MIN), "-9223372036854775808");
    assert_eq!(wire(200u8), "200");
    assert_eq!(wire(u16::MAX), "65535");
    assert_eq!(wire(u32::MAX), "4294967295");
    assert_eq!(wire(5u64), "5");
    assert_eq!(wire(i64::MAX as u64), "9223372036854775807");
    assert_eq!(wire(7usize), "7");
    assert_eq!(wire(-7isize), "-7");
    assert_eq!(wire(42i128), "42");
    assert_eq!(wire(42u128), "42");
}

#[test]
fn integers_beyond_int64_keep_every_digit() {
    // The API's int64 cannot carry them; a float would round them. The digits do not change.
    assert_eq!(wire(u64::MAX), "\"18446744073709551615\"");
    assert_eq!(wire(u128::MAX), format!("\"{}\"", u128::MAX));
    assert_eq!(wire(i128::MIN), format!("\"{}\"", i128::MIN));
    assert_eq!(InputValue::from(u64::MAX).to_string(), u64::MAX.to_string());
}

#[test]
fn floats_strings_and_bools() {
    assert_eq!(wire(0.1f32), "0.1", "the f32's own shortest decimal, not its f64 widening");
    assert_eq!(wire(2.5f64), "2.5");
    assert_eq!(wire(true), "true");
    assert_eq!(wire("Ada"), "\"Ada\"");
    let owned = String::from("Grace");
    assert_eq!(wire(&owned), "\"Grace\"");
    assert_eq!(wire(owned), "\"Grace\"");
}

#[test]
fn json_values_convert_when_they_can_be_inputs() {
    let converted = |value: Value| serde_json::to_string(&InputValue::try_from(value).unwrap()).unwrap();
    assert_eq!(converted(json!("text")), "\"text\"");
    assert_eq!(converted(json!(false)), "false");
    assert_eq!(converted(json!(-3)), "-3");
    assert_eq!(converted(json!(u64::MAX)), "\"18446744073709551615\"");
    assert_eq!(converted(json!(1.25)), "1.25");
    assert_eq!(InputValue::try_from(&json!(9)).unwrap(), InputValue::Int64(9));

    for (value, kind) in [(json!(null), "null"), (json!([1]), "an array"), (json!({"a": 1}), "an object")] {
        let error = InputValue::try_from(value).expect_err(kind);
        let message = error.to_string();
        assert!(message.contains(kind) && message.contains("string, number or boolean"), "{message}");
    }
}

#[test]
fn messages_and_documents_take_a_borrowed_string() {
    let question = String::from("Where is my order?");
    let message = Message::user(&question);
    assert!(
        matches!(message, Message::User { content: UserContent::String(ref text), .. } if *text == question)
    );
    let document = orq_api::types::Document::from(&question);
    assert_eq!(document.text, question);
}
