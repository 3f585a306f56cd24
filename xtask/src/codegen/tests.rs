use super::lenient::lenient_integers;
use super::open_enums::variant_name;
use super::open_unions::check_response_unions_are_open;
use super::passes::{
    escaped_mock_path_parameters, header_maps_allocated_on_use, non_exhaustive_requests,
    parsed_operation_urls, without_api_version_header,
};
use super::*;

#[test]
fn committed_code_matches_a_fresh_generation() {
    let root = crate::workspace_root();
    for (relative, content) in generate(&root.join(crate::SPEC_PATH)).unwrap() {
        let committed = std::fs::read_to_string(root.join(&relative)).unwrap();
        assert!(committed == content, "{relative} is stale: run `cargo xtask codegen`");
    }
}

#[test]
fn generation_is_reproducible() {
    let spec = crate::workspace_root().join(crate::SPEC_PATH);
    assert_eq!(generate(&spec).unwrap(), generate(&spec).unwrap());
}

#[test]
fn a_closed_union_in_responses_is_refused() {
    let spec = crate::workspace_root().join(crate::SPEC_PATH);
    let mut document: Value = serde_norway::from_str(&std::fs::read_to_string(spec).unwrap()).unwrap();
    assert_eq!(check_response_unions_are_open(&document), Ok(()));
    // Request-only unions may stay closed.
    assert!(document["components"]["schemas"]["UserContentPart"].get(OPEN_ENUM_EXTENSION).is_none());
    let part = &mut document["components"]["schemas"]["PromptContentPart"];
    part.as_object_mut().unwrap().remove(OPEN_ENUM_EXTENSION);
    let err = check_response_unions_are_open(&document).unwrap_err();
    assert!(err.starts_with("PromptContentPart:"), "{err}");
}

#[test]
fn request_types_are_non_exhaustive_and_response_types_are_not() {
    let spec = crate::workspace_root().join(crate::SPEC_PATH);
    let document: Value = serde_norway::from_str(&std::fs::read_to_string(&spec).unwrap()).unwrap();
    let requests = request_schemas(&document).unwrap();
    for name in ["DeploymentRequest", "Message", "UserContentPart", "CacheControl", "Document", "Identity"] {
        assert!(requests.contains(name), "{name} is reachable from a request body");
    }
    for name in ["InvokeResponse", "DeploymentList", "StreamChunk", "ChoiceMessage"] {
        assert!(!requests.contains(name), "{name} is response-only");
    }

    let (_, generated) = generate(&spec).unwrap().into_iter().next().unwrap();
    let file = syn::parse_file(&generated).unwrap();
    let types = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
            _ => None,
        })
        .unwrap();
    let marked = |attrs: &[syn::Attribute]| attrs.iter().any(|a| a.path().is_ident("non_exhaustive"));
    let mut seen = 0;
    for item in &types.1 {
        match item {
            syn::Item::Struct(s) if matches!(s.fields, syn::Fields::Named(_)) => {
                assert_eq!(marked(&s.attrs), requests.contains(&s.ident.to_string()), "struct {}", s.ident);
                seen += 1;
            }
            syn::Item::Enum(e) => {
                let request = requests.contains(&e.ident.to_string());
                assert_eq!(marked(&e.attrs), request, "enum {}", e.ident);
                for v in e.variants.iter().filter(|v| matches!(v.fields, syn::Fields::Named(_))) {
                    assert_eq!(marked(&v.attrs), request, "{}::{}", e.ident, v.ident);
                }
                seen += 1;
            }
            _ => {}
        }
    }
    assert!(seen > 40, "only {seen} types checked");
}

#[test]
fn a_pass_that_matches_nothing_fails_naming_itself() {
    let requests = BTreeSet::from(["Request".to_string()]);
    let mut file: syn::File = syn::parse_quote! {
        impl Client {
            pub async fn call(&self) -> Result<(), Error> {
                let url = format!("{}/v1/{}", self.baseurl, id);
                let mut header_map = HeaderMap::new();
                header_map.append(HeaderName::from_static("x-other"), value);
                Ok(())
            }
        }
        pub mod types {
            pub struct Response {
                #[serde(with = "custom")]
                pub count: u32,
                pub name: String,
            }
        }
    };
    type Pass = fn(&mut syn::File) -> Result<(), String>;
    let passes: [(&str, Pass); 5] = [
        ("lenient_integers", lenient_integers),
        ("without_api_version_header", without_api_version_header),
        ("parsed_operation_urls", parsed_operation_urls),
        ("header_maps_allocated_on_use", header_maps_allocated_on_use),
        ("escaped_mock_path_parameters", escaped_mock_path_parameters),
    ];
    for (name, pass) in passes {
        let err = pass(&mut file).unwrap_err();
        assert!(err.contains(&format!("`{name}` matched nothing")), "{err}");
    }
    let err = non_exhaustive_requests(&mut file, &requests).unwrap_err();
    assert!(err.contains("`non_exhaustive_requests` matched nothing"), "{err}");
}

#[test]
fn mock_path_parameters_are_encoded_then_escaped() {
    let mut file: syn::File = syn::parse_quote! {
        impl When {
            pub fn key_or_id(self, value: &str) -> Self {
                let re = regex::Regex::new(&format!("^/v2/deployments/{}/versions$", value.to_string())).unwrap();
                let other = format!("{}/v2/deployments", value.to_string());
                Self(self.0.path_matches(re))
            }
        }
    };
    escaped_mock_path_parameters(&mut file).unwrap();
    let text = quote::ToTokens::to_token_stream(&file).to_string().replace(' ', "");
    assert!(
        text.contains(r#"format!("^/v2/deployments/{}/versions$",regex::escape(&progenitor_client::encode_path(&value.to_string())))"#),
        "{text}"
    );
    // A format that is no anchored path pattern is left alone.
    assert!(text.contains(r#"format!("{}/v2/deployments",value.to_string())"#), "{text}");
}

#[test]
fn variant_names_are_rust_identifiers() {
    assert_eq!(variant_name("expected_output"), "ExpectedOutput");
    assert_eq!(variant_name("google-ai"), "GoogleAi");
    assert_eq!(variant_name("b64_json"), "B64Json");
    assert_eq!(variant_name("v1"), "V1");
    assert_eq!(variant_name("1x"), "V1x");
}
