//! Open unions: `x-orq-open` `oneOf` schemas with an `Other(serde_json::Value)` catch-all.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use super::open_enums::{OpenEnum, variant_name};
use super::{OPEN_ENUM_EXTENSION, collect_refs};

/// An `x-orq-open` union (`oneOf`) of the spec.
pub(super) struct OpenUnion {
    pub(super) name: String,
    description: String,
    /// The property holding the tag (`discriminator.propertyName`), if branches are tagged.
    tag: Option<String>,
    variants: Vec<UnionVariant>,
}

struct UnionVariant {
    name: String,
    description: String,
    kind: VariantKind,
}

enum VariantKind {
    /// The object whose tag property is `value`; its other fields decode into `body`.
    Tagged { value: String, body: Option<TokenStream> },
    /// Told apart from the other branches by its JSON type.
    Untagged { ty: TokenStream },
}

pub(super) fn open_unions(document: &Value, open_enums: &[OpenEnum]) -> Result<Vec<OpenUnion>, String> {
    let schemas = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or("the spec has no components/schemas")?;
    let open_unions: Vec<&String> = schemas
        .iter()
        .filter(|(_, s)| s.get(OPEN_ENUM_EXTENSION) == Some(&Value::Bool(true)) && s.get("oneOf").is_some())
        .map(|(name, _)| name)
        .collect();
    // Where the generated Rust type of a component schema lives, seen from `open_unions`.
    let type_path = |reference: &str| -> Result<TokenStream, String> {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("unsupported $ref `{reference}`"))?;
        let ident = format_ident!("{name}");
        Ok(if open_enums.iter().any(|e| e.name == name) {
            quote!(super::open_enums::#ident)
        } else if open_unions.iter().any(|u| *u == name) {
            quote!(#ident)
        } else {
            quote!(super::types::#ident)
        })
    };
    let all_of_ref = |branch: &Value| -> Option<String> {
        let refs = branch.get("allOf")?.as_array()?;
        match refs.as_slice() {
            [only] => only.get("$ref")?.as_str().map(str::to_string),
            _ => None,
        }
    };

    let mut found = Vec::new();
    for &name in &open_unions {
        let schema = &schemas[name];
        let tag = schema.pointer("/discriminator/propertyName").and_then(Value::as_str).map(str::to_string);
        let branches = schema["oneOf"].as_array().ok_or_else(|| format!("{name}: oneOf must be a list"))?;
        let mut variants = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            let at = format!("{name}.oneOf[{i}]");
            let description =
                branch.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
            let explicit = branch.get("x-orq-variant").and_then(Value::as_str);
            let tag_value = tag.as_ref().and_then(|t| {
                let values = branch.pointer(&format!("/properties/{t}/enum"))?.as_array()?;
                match values.as_slice() {
                    [Value::String(v)] => Some(v.clone()),
                    _ => None,
                }
            });
            let (variant, kind) = if let Some(value) = tag_value {
                let body = all_of_ref(branch).map(|r| type_path(&r)).transpose()?;
                let variant = explicit.map(str::to_string).unwrap_or_else(|| variant_name(&value));
                (variant, VariantKind::Tagged { value, body })
            } else {
                let variant = explicit
                    .ok_or_else(|| format!("{at}: an untagged branch needs `x-orq-variant`"))?
                    .to_string();
                let ty = match (branch.get("type").and_then(Value::as_str), all_of_ref(branch)) {
                    (None, Some(reference)) => type_path(&reference)?,
                    (Some("string"), None) => quote!(::std::string::String),
                    (Some("boolean"), None) => quote!(bool),
                    (Some("array"), None) => {
                        let items = branch
                            .pointer("/items/$ref")
                            .and_then(Value::as_str)
                            .ok_or_else(|| format!("{at}: array items must be a $ref"))?;
                        let item = type_path(items)?;
                        quote!(::std::vec::Vec<#item>)
                    }
                    _ => {
                        return Err(format!(
                            "{at}: unsupported branch (use a tag, a string, an array of a $ref, or allOf of one $ref)"
                        ));
                    }
                };
                (variant, VariantKind::Untagged { ty })
            };
            variants.push(UnionVariant { name: variant, description, kind });
        }
        // serde tries untagged variants last, in order.
        variants.sort_by_key(|v| matches!(v.kind, VariantKind::Untagged { .. }));
        let description = schema.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
        found.push(OpenUnion { name: name.clone(), description, tag, variants });
    }
    Ok(found)
}

impl OpenUnion {
    fn tokens(&self) -> TokenStream {
        let name = format_ident!("{}", self.name);
        let doc = format!(
            "{}\n\nVariants this version does not know arrive as [`{}::Other`], kept as sent.",
            self.description, self.name
        );
        let mut variants = Vec::new();
        let mut tagged_arms = Vec::new();
        let mut untagged_attempts = Vec::new();
        for variant in &self.variants {
            let ident = format_ident!("{}", variant.name);
            let vdoc = (!variant.description.is_empty()).then(|| {
                let text = &variant.description;
                quote!(#[doc = #text])
            });
            match &variant.kind {
                VariantKind::Tagged { value, body: Some(body) } => {
                    variants.push(quote! { #vdoc #[serde(rename = #value)] #ident(#body), });
                    tagged_arms.push(quote! {
                        ::std::option::Option::Some(#value) => <#body as ::serde::Deserialize>::deserialize(&value).ok().map(Self::#ident),
                    });
                }
                VariantKind::Tagged { value, body: None } => {
                    variants.push(quote! { #vdoc #[serde(rename = #value)] #ident, });
                    tagged_arms.push(quote! {
                        ::std::option::Option::Some(#value) => ::std::option::Option::Some(Self::#ident),
                    });
                }
                VariantKind::Untagged { ty } => {
                    let untagged = self.tag.is_some().then(|| quote!(#[serde(untagged)]));
                    variants.push(quote! { #vdoc #untagged #ident(#ty), });
                    untagged_attempts.push(quote! {
                        if let ::std::result::Result::Ok(known) = <#ty as ::serde::Deserialize>::deserialize(&value) {
                            return ::std::result::Result::Ok(Self::#ident(known));
                        }
                    });
                }
            }
        }
        let (container, other_attr) = match &self.tag {
            Some(tag) => (quote!(#[serde(tag = #tag)]), quote!(#[serde(untagged)])),
            None => (quote!(#[serde(untagged)]), quote!()),
        };
        let tagged = self.tag.as_ref().map(|tag| {
            quote! {
                let known = match value.get(#tag).and_then(::serde_json::Value::as_str) {
                    #(#tagged_arms)*
                    _ => ::std::option::Option::None,
                };
                if let ::std::option::Option::Some(known) = known {
                    return ::std::result::Result::Ok(known);
                }
            }
        });
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::schemars::JsonSchema)]
            #container
            pub enum #name {
                #(#variants)*
                /// A variant this version does not know, kept as sent.
                #other_attr
                Other(::serde_json::Value),
            }

            impl #name {
                /// Whether this is a variant the spec lists.
                pub fn is_known(&self) -> bool {
                    !matches!(self, Self::Other(_))
                }
            }

            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(deserializer)?;
                    #tagged
                    #(#untagged_attempts)*
                    ::std::result::Result::Ok(Self::Other(value))
                }
            }
        }
    }
}

/// Fails unless every union a response can contain is an `x-orq-open` component schema.
pub(super) fn check_response_unions_are_open(document: &Value) -> Result<(), String> {
    let mut pending: Vec<String> = Vec::new();
    let responses =
        document.get("paths").and_then(Value::as_object).into_iter().flat_map(|paths| paths.values());
    for operation in responses.filter_map(Value::as_object).flat_map(|item| item.values()) {
        collect_refs(operation.get("responses").unwrap_or(&Value::Null), &mut pending);
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(reference) = pending.pop() {
        if !seen.insert(reference.clone()) {
            continue;
        }
        let name = reference.rsplit('/').next().unwrap_or_default();
        let schema = document
            .pointer(reference.trim_start_matches('#'))
            .ok_or_else(|| format!("unresolvable $ref `{reference}`"))?;
        let open = schema.get(OPEN_ENUM_EXTENSION) == Some(&Value::Bool(true));
        if (schema.get("oneOf").is_some() || schema.get("anyOf").is_some()) && !open {
            return Err(format!("{name}: a union in responses must be marked `{OPEN_ENUM_EXTENSION}: true`"));
        }
        // Unions below the top of a schema would be generated closed.
        let properties =
            schema.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.values());
        if properties.chain(schema.get("items")).any(|v| v.get("oneOf").is_some() || v.get("anyOf").is_some())
        {
            return Err(format!(
                "{name}: make the inline union a component marked `{OPEN_ENUM_EXTENSION}: true`"
            ));
        }
        collect_refs(schema, &mut pending);
    }
    Ok(())
}

/// The `open_unions` module of the generated code.
pub(super) fn module(unions: &[OpenUnion]) -> TokenStream {
    let unions = unions.iter().map(OpenUnion::tokens);
    quote! {
    /// Response-side unions that keep variants this version does not know.
    pub mod open_unions {
        #(#unions)*
    }
    }
}
