//! What the generated open enums are made of: [`open_enum!`](crate::open::open_enum)
//! and the visitor they decode with.

/// Defines an open enum: one unit variant per value the spec lists and an
/// `Other(String)` catch-all for any other, so a value the service adds later
/// decodes instead of failing.
///
/// ```text
/// open_enum! {
///     /// How a cached answer is matched.
///     CacheKind {
///         Exact = "exact",
///         Semantic = "semantic",
///     }
/// }
/// ```
///
/// The enum gets `KNOWN`, `as_str`, `is_known`, `From<&str>`, `From<String>`,
/// `FromStr`, `Display`, `Serialize`, `Deserialize` (from a borrowed `str`
/// when the format allows, so a known value allocates nothing) and
/// `JsonSchema` (any string; the listed values as examples).
macro_rules! open_enum {
    (
        $(#[doc = $doc:expr])*
        $name:ident {
            $($variant:ident = $value:literal,)*
        }
    ) => {
        $(#[doc = $doc])*
        #[doc = ""]
        #[doc = concat!("Values this version does not know arrive as [`", stringify!($name), "::Other`].")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = concat!("`", $value, "`")]
                $variant,
            )*
            /// A value not listed in the spec, kept as sent.
            Other(::std::string::String),
        }

        impl $name {
            /// The values listed in the spec, in order.
            pub const KNOWN: &'static [&'static str] = &[$($value),*];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Other(value) => value.as_str(),
                }
            }

            /// Whether the value is one the spec lists.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(value: ::std::string::String) -> Self {
                match Self::from(value.as_str()) {
                    Self::Other(_) => Self::Other(value),
                    known => known,
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                deserializer.deserialize_str($crate::open::OpenEnumVisitor(::std::marker::PhantomData))
            }
        }

        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                // Any string is accepted; the listed values are the known ones.
                ::schemars::json_schema!({ "type": "string", "examples": [$($value),*] })
            }
        }
    };
}

pub(crate) use open_enum;

/// Reads an open enum as a borrowed `str` when the format allows: a known
/// value then costs no allocation, only `Other` keeps a `String`.
pub(crate) struct OpenEnumVisitor<T>(pub(crate) std::marker::PhantomData<T>);

impl<'de, T> serde::de::Visitor<'de> for OpenEnumVisitor<T>
where
    T: for<'a> From<&'a str> + From<String>,
{
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
        Ok(T::from(value))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<T, E> {
        Ok(T::from(value))
    }
}

#[cfg(test)]
mod tests {
    open_enum! {
        /// A test enum.
        Weather {
            Sunny = "sunny",
            LightRain = "light-rain",
        }
    }

    #[test]
    fn an_open_enum_keeps_known_and_unknown_values() {
        assert_eq!(Weather::KNOWN, ["sunny", "light-rain"]);
        assert_eq!(Weather::from("light-rain"), Weather::LightRain);
        assert_eq!(Weather::from("hail".to_string()), Weather::Other("hail".into()));
        assert_eq!("sunny".parse::<Weather>(), Ok(Weather::Sunny));
        assert_eq!(Weather::LightRain.as_str(), "light-rain");
        assert_eq!(Weather::Other("hail".into()).to_string(), "hail");
        assert!(Weather::Sunny.is_known());
        assert!(!Weather::Other("hail".into()).is_known());

        let decoded: Vec<Weather> = serde_json::from_str(r#"["sunny","hail"]"#).unwrap();
        assert_eq!(decoded, [Weather::Sunny, Weather::Other("hail".into())]);
        let owned: Weather = serde_json::from_value(serde_json::json!("light-rain")).unwrap();
        assert_eq!(owned, Weather::LightRain);
        assert_eq!(serde_json::to_string(&decoded).unwrap(), r#"["sunny","hail"]"#);
        assert!(serde_json::from_str::<Weather>("3").is_err());
    }

    #[test]
    fn an_open_enum_schema_accepts_any_string() {
        let schema = serde_json::to_value(schemars::schema_for!(Weather)).unwrap();
        assert_eq!(schema["type"], "string");
        assert_eq!(schema["examples"], serde_json::json!(["sunny", "light-rain"]));
        assert_eq!(schema["title"], "Weather");
    }
}
