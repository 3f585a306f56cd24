//! Open enums: `x-orq-open` string enums with an `Other(String)` catch-all.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
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

impl OpenEnum {
    fn tokens(&self) -> TokenStream {
        let name = format_ident!("{}", self.name);
        let doc = format!(
            "{}\n\nValues this version does not know arrive as [`{}::Other`].",
            self.description, self.name
        );
        let variants: Vec<_> = self.values.iter().map(|v| format_ident!("{}", variant_name(v))).collect();
        let values = &self.values;
        let variant_docs = values.iter().map(|v| format!("`{v}`"));
        let name_str = &self.name;
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum #name {
                #( #[doc = #variant_docs] #variants, )*
                /// A value not listed in the spec, kept as sent.
                Other(::std::string::String),
            }

            impl #name {
                /// The values listed in the spec, in order.
                pub const KNOWN: &'static [&'static str] = &[#(#values),*];

                /// The value as it appears on the wire.
                pub fn as_str(&self) -> &str {
                    match self {
                        #( Self::#variants => #values, )*
                        Self::Other(value) => value.as_str(),
                    }
                }

                /// Whether the value is one the spec lists.
                pub fn is_known(&self) -> bool {
                    !matches!(self, Self::Other(_))
                }
            }

            impl ::std::fmt::Display for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl ::std::convert::From<&str> for #name {
                fn from(value: &str) -> Self {
                    match value {
                        #( #values => Self::#variants, )*
                        other => Self::Other(other.to_string()),
                    }
                }
            }

            impl ::std::convert::From<::std::string::String> for #name {
                fn from(value: ::std::string::String) -> Self {
                    match Self::from(value.as_str()) {
                        Self::Other(_) => Self::Other(value),
                        known => known,
                    }
                }
            }

            impl ::std::str::FromStr for #name {
                type Err = ::std::convert::Infallible;
                fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                    Ok(Self::from(value))
                }
            }

            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }

            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    deserializer.deserialize_str(OpenEnumVisitor(::std::marker::PhantomData))
                }
            }

            impl ::schemars::JsonSchema for #name {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed(#name_str)
                }
                fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                    // Any string is accepted; the listed values are the known ones.
                    ::schemars::json_schema!({ "type": "string", "examples": [#(#values),*] })
                }
            }
        }
    }
}

/// The `open_enums` module of the generated code: `enums` and the visitor they decode with.
pub(super) fn module(enums: &[OpenEnum]) -> TokenStream {
    let enums = enums.iter().map(OpenEnum::tokens);
    quote! {
    /// Response-side enums that keep values this version does not know.
    pub mod open_enums {
        #(#enums)*

        /// Reads an open enum as a borrowed `str` when the format allows:
        /// a known value then costs no allocation, only `Other` keeps a `String`.
        struct OpenEnumVisitor<T>(::std::marker::PhantomData<T>);

        impl<'de, T> ::serde::de::Visitor<'de> for OpenEnumVisitor<T>
        where
            T: for<'a> ::std::convert::From<&'a str> + ::std::convert::From<::std::string::String>,
        {
            type Value = T;
            fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: ::serde::de::Error>(self, value: &str) -> ::std::result::Result<T, E> {
                Ok(T::from(value))
            }
            fn visit_string<E: ::serde::de::Error>(self, value: ::std::string::String) -> ::std::result::Result<T, E> {
                Ok(T::from(value))
            }
        }
    }
    }
}
