//! Passes over progenitor's client: each finds its code by syntax and fails,
//! naming itself, when it finds none.

use std::collections::BTreeSet;

/// `Ok` when the pass named `pass` changed something, else an error naming
/// the pass and what it looked for: progenitor no longer writes it, and the
/// pass must not be lost silently.
pub(super) fn matched(pass: &str, what: &str, count: usize) -> Result<(), String> {
    if count == 0 {
        return Err(format!("codegen pass `{pass}` matched nothing: progenitor's output has no {what}"));
    }
    Ok(())
}

/// Drops the `api-version` header progenitor adds to every request from the
/// spec's `info.version`: the service declares no such header, and our
/// `info.version` is the spec's own revision.
pub(super) fn without_api_version_header(file: &mut syn::File) -> Result<(), String> {
    let mut removed = 0;
    for function in methods(file) {
        let before = function.block.stmts.len();
        function.block.stmts.retain(|statement| !is_api_version_append(statement));
        removed += before - function.block.stmts.len();
    }
    matched(
        "without_api_version_header",
        "`header_map.append(HeaderName::from_static(\"api-version\"), ..)`",
        removed,
    )
}

/// Whether `statement` is `<map>.append(<..>::from_static("api-version"), <value>);`.
fn is_api_version_append(statement: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), Some(_)) = statement else { return false };
    let mut args = call.args.iter();
    let (Some(syn::Expr::Call(name)), Some(_), None) = (args.next(), args.next(), args.next()) else {
        return false;
    };
    call.method == "append"
        && path_ends_with(&name.func, &["HeaderName", "from_static"])
        && matches!(
            name.args.first(),
            Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. })) if lit.value() == "api-version"
        )
}

/// Whether `expr` is a path whose last segments are `segments`.
fn path_ends_with(expr: &syn::Expr, segments: &[&str]) -> bool {
    let syn::Expr::Path(path) = expr else { return false };
    let path = &path.path.segments;
    path.len() >= segments.len()
        && path.iter().rev().zip(segments.iter().rev()).all(|(segment, name)| segment.ident == name)
}

/// Builds each operation's URL from the base URL parsed once per client
/// (`Client::operation_url`, hand-written in lib.rs) instead of formatting a
/// string that reqwest parses again on every call. Progenitor writes
/// `let url = format!("{}/path", self.baseurl,);`; paths with parameters
/// would keep it (ours have none).
pub(super) fn parsed_operation_urls(file: &mut syn::File) -> Result<(), String> {
    replace_let_values(file, "parsed_operation_urls", "`format!(\"{}/...\", self.baseurl)` URL", |value| {
        let path = fixed_operation_path(value)?;
        Some(syn::parse_quote!(self.operation_url(#path)?))
    })
}

/// Starts each operation's map of header parameters empty
/// (`HeaderMap::new()`, which allocates on the first insert) instead of
/// `HeaderMap::with_capacity(n)`, an allocation on every call for parameters
/// that are almost never given.
pub(super) fn header_maps_allocated_on_use(file: &mut syn::File) -> Result<(), String> {
    replace_let_values(file, "header_maps_allocated_on_use", "`HeaderMap::with_capacity(n)`", |value| {
        let syn::Expr::Call(call) = value else { return None };
        path_ends_with(&call.func, &["HeaderMap", "with_capacity"])
            .then(|| syn::parse_quote!(::reqwest::header::HeaderMap::new()))
    })
}

/// Replaces the value of each `let` at the top level of the generated
/// client's methods for which `replacement` gives one. Finding none is an
/// error naming `pass`, which looked for `what`.
fn replace_let_values(
    file: &mut syn::File,
    pass: &str,
    what: &str,
    mut replacement: impl FnMut(&syn::Expr) -> Option<syn::Expr>,
) -> Result<(), String> {
    let mut replaced = 0;
    let statements = methods(file).flat_map(|function| function.block.stmts.iter_mut());
    for statement in statements {
        let syn::Stmt::Local(syn::Local { init: Some(init), .. }) = statement else { continue };
        if let Some(value) = replacement(&init.expr) {
            *init.expr = value;
            replaced += 1;
        }
    }
    matched(pass, what, replaced)
}

/// Every method of every top-level `impl` block of `file` (the generated client's).
fn methods(file: &mut syn::File) -> impl Iterator<Item = &mut syn::ImplItemFn> {
    let blocks = file.items.iter_mut().filter_map(|item| match item {
        syn::Item::Impl(block) => Some(block),
        _ => None,
    });
    blocks.flat_map(|block| block.items.iter_mut()).filter_map(|member| match member {
        syn::ImplItem::Fn(function) => Some(function),
        _ => None,
    })
}

/// The path of `format!("{}/fixed/path", self.baseurl,)`: a path without parameters.
fn fixed_operation_path(expr: &syn::Expr) -> Option<String> {
    let syn::Expr::Macro(call) = expr else { return None };
    if !call.mac.path.is_ident("format") {
        return None;
    }
    let args = call
        .mac
        .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.iter();
    let (Some(syn::Expr::Lit(format)), Some(base), None) = (args.next(), args.next(), args.next()) else {
        return None;
    };
    let syn::Lit::Str(format) = &format.lit else { return None };
    let path = format.value().strip_prefix("{}")?.to_string();
    let is_base = matches!(
        base,
        syn::Expr::Field(syn::ExprField { base, member: syn::Member::Named(field), .. })
            if field == "baseurl" && matches!(&**base, syn::Expr::Path(p) if p.path.is_ident("self"))
    );
    (is_base && path.starts_with('/') && !path.contains(['{', '}'])).then_some(path)
}

/// Marks the generated request types named in `requests` `#[non_exhaustive]`: structs
/// with named fields, enums, and the enums' struct-like variants.
pub(super) fn non_exhaustive_requests(
    file: &mut syn::File,
    requests: &BTreeSet<String>,
) -> Result<(), String> {
    let types = types_module(file)?;
    let non_exhaustive: syn::Attribute = syn::parse_quote!(#[non_exhaustive]);
    let mut marked = 0;
    for item in types {
        match item {
            syn::Item::Struct(item)
                if requests.contains(&item.ident.to_string())
                    && matches!(item.fields, syn::Fields::Named(_)) =>
            {
                item.attrs.push(non_exhaustive.clone());
                marked += 1;
            }
            syn::Item::Enum(item) if requests.contains(&item.ident.to_string()) => {
                item.attrs.push(non_exhaustive.clone());
                marked += 1;
                for variant in &mut item.variants {
                    if matches!(variant.fields, syn::Fields::Named(_)) {
                        variant.attrs.push(non_exhaustive.clone());
                    }
                }
            }
            _ => {}
        }
    }
    matched("non_exhaustive_requests", "struct or enum in `types` named by a request schema", marked)
}

/// The items of progenitor's `types` module, which the passes below rewrite.
pub(super) fn types_module(file: &mut syn::File) -> Result<&mut Vec<syn::Item>, String> {
    file.items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
            _ => None,
        })
        .ok_or_else(|| "progenitor output has no `types` module".to_string())
}

/// In the httpmock helpers: a path parameter's matcher compares the request
/// path with the value as given, inside a regex. A request carries the value
/// percent-encoded as one path segment, and regex characters in it (`.`, `(`)
/// would be read as a pattern, so the helper would miss `a/b` and panic on
/// `(`. Each `format!("^/.../{}...$", value.to_string())` gets the value
/// encoded as the client encodes it, then regex-escaped.
pub(super) fn escaped_mock_path_parameters(file: &mut syn::File) -> Result<(), String> {
    struct Escape(usize);

    impl syn::visit_mut::VisitMut for Escape {
        fn visit_expr_macro_mut(&mut self, call: &mut syn::ExprMacro) {
            if let Some(tokens) = escaped_path_regex(&call.mac) {
                call.mac.tokens = tokens;
                self.0 += 1;
            }
            syn::visit_mut::visit_expr_macro_mut(self, call);
        }
    }

    let mut escape = Escape(0);
    syn::visit_mut::VisitMut::visit_file_mut(&mut escape, file);
    matched(
        "escaped_mock_path_parameters",
        "`format!(\"^/...{}...$\", value.to_string())` path matcher",
        escape.0,
    )
}

/// The arguments of `format!("^/...$", value.to_string(), ...)` with each
/// `value.to_string()` encoded and escaped, or `None` for any other macro.
fn escaped_path_regex(mac: &syn::Macro) -> Option<proc_macro2::TokenStream> {
    if !mac.path.is_ident("format") {
        return None;
    }
    let args = mac
        .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.into_iter();
    let Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(pattern), .. })) = args.next() else {
        return None;
    };
    let text = pattern.value();
    if !(text.starts_with("^/") && text.ends_with('$')) {
        return None;
    }
    let values: Vec<syn::Expr> = args.collect();
    let is_to_string = |arg: &syn::Expr| matches!(arg, syn::Expr::MethodCall(call) if call.method == "to_string" && call.args.is_empty());
    if values.is_empty() || !values.iter().all(is_to_string) {
        return None;
    }
    let escaped = values.iter().map(|value| {
        quote::quote! { regex::escape(&progenitor_client::encode_path(&#value)) }
    });
    Some(quote::quote! { #pattern, #(#escaped),* })
}
