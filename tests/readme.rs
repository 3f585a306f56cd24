//! README's "Use" section builds as a user would build it: its Rust snippet as
//! `src/main.rs` of a fresh crate whose `[dependencies]` are exactly the ones
//! README lists, the `orq-ai` registry dependency taken from this checkout
//! instead (its version requirement kept, so it must match this version).
//!
//! Offline, with the workspace's lock file (the same versions, so nothing new
//! is fetched) and the workspace's target directory (so what is already built
//! is reused).

use std::path::{Path, PathBuf};
use std::process::Command;

const README: &str = include_str!("../README.md");

/// The body of the first fenced block tagged `tag` (before any `,`) in `text`.
fn fenced_block<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let line_end = after.find('\n')?;
        let info = after[..line_end].trim();
        let body = &after[line_end + 1..];
        let end = body.find("```")?;
        if info.split(',').next() == Some(tag) {
            return Some(&body[..end]);
        }
        rest = &body[end + 3..];
    }
    None
}

/// The "## Use" section of README.
fn use_section() -> &'static str {
    let start = README.find("\n## Use\n").expect("README has a `## Use` section");
    let section = &README[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 4);
    &section[..end]
}

/// The snippet as a user copies it: rustdoc's hidden `# ` lines left out.
fn visible_lines(code: &str) -> String {
    code.lines()
        .filter(|line| *line != "#" && !line.starts_with("# "))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// README's dependency list, with `orq-ai` taken from this checkout: its
/// version requirement stays, and `path` is added beside it.
fn manifest(workspace: &Path, toml: &str) -> String {
    assert!(
        toml.trim_start().starts_with("[dependencies]"),
        "the toml block is a [dependencies] list:\n{toml}"
    );
    let path = format!("{:?}", workspace.join("crates/orq").display().to_string());
    let mut replaced = false;
    let dependencies: String = toml
        .lines()
        .map(|line| {
            let Some(value) =
                line.strip_prefix("orq-ai").and_then(|rest| rest.trim_start().strip_prefix('='))
            else {
                return format!("{line}\n");
            };
            let value = value.trim();
            assert!(!value.contains("git") && !value.contains("path"), "orq-ai comes from crates.io: {line}");
            replaced = true;
            if let Some(table) = value.strip_prefix('{') {
                format!("orq-ai = {{ path = {path},{table}\n")
            } else {
                assert!(value.starts_with('"'), "orq-ai's version is a string: {line}");
                format!("orq-ai = {{ version = {value}, path = {path} }}\n")
            }
        })
        .collect();
    assert!(replaced, "README lists orq-ai as a dependency:\n{toml}");
    format!(
        "[package]\nname = \"readme-use\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         # Not a member of the orq-rs workspace around it.\n[workspace]\n\n{dependencies}"
    )
}

#[test]
fn readme_use_snippet_builds_with_exactly_the_listed_dependencies() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf();
    let section = use_section();
    let toml = fenced_block(section, "toml").expect("a ```toml block in `## Use`");
    let code = fenced_block(section, "rust").expect("a ```rust block in `## Use`");

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-use");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest(&workspace, toml)).unwrap();
    std::fs::write(dir.join("src/main.rs"), visible_lines(code)).unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "README's `Use` snippet does not build with README's dependencies:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
