//! Lenient integers: integer fields that also accept integral floats such as `3.0`.

use proc_macro2::TokenStream;
use quote::quote;

use super::passes::{matched, types_module};

/// Points every integer field of a generated struct at the `lenient` module.
/// Matches fields whose type is a primitive integer or an `Option` of one and
/// whose `#[serde(..)]` attributes name no `with` or `deserialize_with`.
pub(super) fn lenient_integers(file: &mut syn::File) -> Result<(), String> {
    let mut changed = 0;
    for item in types_module(file)? {
        let syn::Item::Struct(item) = item else { continue };
        for field in item.fields.iter_mut() {
            let Some(optional) = integer_type(&field.ty) else { continue };
            let keys = serde_keys(&field.attrs)?;
            let has = |key: &str| keys.iter().any(|k| k.is_ident(key));
            if has("deserialize_with") || has("with") {
                continue;
            }
            let attr: syn::Attribute = match (optional, has("default")) {
                (false, _) => syn::parse_quote!(#[serde(deserialize_with = "super::lenient::int")]),
                (true, true) => syn::parse_quote!(#[serde(deserialize_with = "super::lenient::option_int")]),
                // With `deserialize_with`, serde no longer treats a missing Option as None by itself.
                (true, false) => {
                    syn::parse_quote!(#[serde(default, deserialize_with = "super::lenient::option_int")])
                }
            };
            field.attrs.push(attr);
            changed += 1;
        }
    }
    matched("lenient_integers", "an integer field in `types`", changed)
}

/// The keys of every `#[serde(..)]` attribute in `attrs`: `default` for both
/// `default` and `default = "path"`.
fn serde_keys(attrs: &[syn::Attribute]) -> Result<Vec<syn::Path>, String> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let metas = attr
            .parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
            .map_err(|e| format!("lenient_integers: unreadable #[serde] attribute: {e}"))?;
        keys.extend(metas.into_iter().map(|meta| meta.path().clone()));
    }
    Ok(keys)
}

/// When `ty` is a primitive integer or an Option of one: whether it is the Option.
fn integer_type(ty: &syn::Type) -> Option<bool> {
    const INTEGERS: &[&str] = &["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if INTEGERS.iter().any(|integer| last.ident == integer) {
        return Some(false);
    }
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => (!integer_type(inner)?).then_some(true),
        _ => None,
    }
}

/// The `lenient` module the integer fields' `deserialize_with` points at.
pub(super) fn module() -> TokenStream {
    quote! {
        /// Decoding of integer fields that also accepts integral floats such as `3.0`.
        pub mod lenient {
            use ::serde::de::{Deserialize, Deserializer, Error, Unexpected, Visitor};

            /// An integer field's value. (Unused while every integer field of
            /// the spec is optional.)
            #[allow(dead_code)]
            pub fn int<'de, D, T>(deserializer: D) -> ::std::result::Result<T, D::Error>
            where
                D: Deserializer<'de>,
                T: TryFrom<u64> + TryFrom<i64>,
            {
                Int::<T>::deserialize(deserializer).map(|int| int.0)
            }

            /// An optional integer field's value.
            pub fn option_int<'de, D, T>(deserializer: D) -> ::std::result::Result<::std::option::Option<T>, D::Error>
            where
                D: Deserializer<'de>,
                T: TryFrom<u64> + TryFrom<i64>,
            {
                ::std::option::Option::<Int<T>>::deserialize(deserializer).map(|int| int.map(|int| int.0))
            }

            struct Int<T>(T);

            impl<'de, T: TryFrom<u64> + TryFrom<i64>> Deserialize<'de> for Int<T> {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    deserializer.deserialize_any(IntVisitor(::std::marker::PhantomData)).map(Int)
                }
            }

            struct IntVisitor<T>(::std::marker::PhantomData<T>);

            impl<'de, T: TryFrom<u64> + TryFrom<i64>> Visitor<'de> for IntVisitor<T> {
                type Value = T;

                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("an integer in range (a number without a fractional part)")
                }

                fn visit_u64<E: Error>(self, v: u64) -> ::std::result::Result<T, E> {
                    T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
                }

                fn visit_i64<E: Error>(self, v: i64) -> ::std::result::Result<T, E> {
                    T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
                }

                fn visit_f64<E: Error>(self, v: f64) -> ::std::result::Result<T, E> {
                    // Exact conversions only: integral and within u64/i64 (2^64 and -2^63 as f64).
                    if v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                        self.visit_u64(v as u64)
                    } else if v.fract() == 0.0 && (-9_223_372_036_854_775_808.0..0.0).contains(&v) {
                        self.visit_i64(v as i64)
                    } else {
                        Err(E::invalid_value(Unexpected::Float(v), &self))
                    }
                }
            }
        }
    }
}
