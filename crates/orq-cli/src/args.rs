//! The command line: every command, flag and help text, parsed by clap.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};
use orq::ApiKey;
use orq::types::InputValue;

use crate::exit;

/// Examples shown by `orq --help`. Each one runs offline (`--mock`); the
/// crate's tests run them all.
const EXAMPLES: &str = "\
Examples (offline, against a built-in fake of orq.ai):
  orq --mock deployments list
  orq --mock deployments list --all --json
  orq --mock deployments versions support-bot
  orq --mock deployments config support-bot -v name=Ada
  orq --mock deployments invoke support-bot -v name=Ada -m 'Where is my order?'
  orq --mock deployments stream translator -v source_language=English -v target_language=Dutch -m 'Good morning'
  orq --mock deployments stream summarizer -v 'text=Rust is fast.' --json";

const LIST_EXAMPLES: &str = "\
Examples:
  orq --mock deployments list
  orq --mock deployments list --limit 2 --json
  orq --mock deployments list --all --json";

const VERSIONS_EXAMPLES: &str = "\
Examples:
  orq --mock deployments versions support-bot
  orq --mock deployments versions support-bot --limit 2 --json
  orq --mock deployments versions support-bot --all --json";

const CONFIG_EXAMPLES: &str = "\
Examples:
  orq --mock deployments config support-bot -v name=Ada
  orq --mock deployments config translator -v source_language=English -v target_language=Dutch --json";

const INVOKE_EXAMPLES: &str = "\
Examples:
  orq --mock deployments invoke support-bot -v name=Ada -m 'Where is my order?'
  orq --mock deployments invoke summarizer -v 'text=Rust is fast and safe.' --json
  echo '{\"inputs\": {\"name\": \"Ada\"}}' | orq --mock deployments invoke support-bot --body - -m Hello";

const STREAM_EXAMPLES: &str = "\
Examples:
  orq --mock deployments stream support-bot -v name=Ada -m 'Where is my order?'
  orq --mock deployments stream translator -v source_language=English -v target_language=Dutch -m 'Good morning' --json";

/// The text after the options of `orq --help`: examples, then exit codes.
fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", exit::HELP)
}

/// `orq`: a command-line client for the orq.ai Deployments API.
#[derive(Parser)]
#[command(
    name = "orq",
    version,
    about = "A command-line client for the orq.ai Deployments API",
    long_about = "A command-line client for the orq.ai Deployments API: list deployments, read their \
                  configuration, invoke them and stream their generations.\n\n\
                  Data goes to stdout, diagnostics to stderr. Give an API key with --api-key or \
                  ORQ_API_KEY, or try everything offline with --mock.",
    after_help = after_help(),
)]
pub struct Cli {
    /// Connection settings, accepted before or after the subcommand.
    #[command(flatten, next_help_heading = "Connection (before or after the subcommand)")]
    pub connection: ConnectionArgs,

    /// More logs on stderr: -v info, -vv debug, -vvv trace (before the subcommand).
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// No logs and no spinner on stderr; errors are still reported (before the subcommand).
    #[arg(short, long)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where requests go and how they are sent.
#[derive(Args)]
pub struct ConnectionArgs {
    /// The orq.ai API key.
    #[arg(
        long,
        env = "ORQ_API_KEY",
        hide_env_values = true,
        global = true,
        value_name = "KEY",
        value_parser = parse_api_key
    )]
    pub api_key: Option<ApiKey>,

    /// The service's URL (default: `orq::DEFAULT_BASE_URL`).
    #[arg(
        long,
        env = "ORQ_BASE_URL",
        hide_env_values = true,
        global = true,
        value_name = "URL",
        help = "The service's URL [default: https://my.orq.ai]"
    )]
    pub base_url: Option<String>,

    /// Time allowed for each request, such as 30s, 500ms or 2m (plain numbers are seconds) [default: 600s].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// How many times a failed request is retried, where resending is safe [default: 2].
    #[arg(long, global = true, value_name = "N")]
    pub retries: Option<usize>,

    /// The environment written into each request's context (routing rules match it).
    #[arg(long, env = "ORQ_ENVIRONMENT", hide_env_values = true, global = true, value_name = "NAME")]
    pub environment: Option<String>,

    /// The contact id sent with each request.
    #[arg(long, env = "ORQ_CONTACT_ID", hide_env_values = true, global = true, value_name = "ID")]
    pub contact_id: Option<String>,

    /// Run against a built-in fake of orq.ai (sample deployments support-bot, summarizer,
    /// translator): no key, no network. --api-key and --base-url are ignored.
    #[arg(long, global = true)]
    pub mock: bool,
}

/// The top-level commands.
#[derive(Subcommand)]
pub enum Command {
    /// List deployments and their versions, read their configuration, invoke them, stream them.
    #[command(subcommand)]
    Deployments(DeploymentsCommand),

    /// Print a completion script for a shell, e.g. `orq completions bash > ~/.local/share/bash-completion/completions/orq`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `orq deployments …`
#[derive(Subcommand)]
pub enum DeploymentsCommand {
    /// List deployments, newest first: a table, or JSON with --json.
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),

    /// List a deployment's saved versions, newest first: a table, or JSON with --json.
    #[command(after_help = VERSIONS_EXAMPLES)]
    Versions(VersionsArgs),

    /// Show the configuration a deployment resolves to (prompt, model, parameters), without running it.
    #[command(after_help = CONFIG_EXAMPLES)]
    Config(CallArgs),

    /// Run a deployment and print the generation's text (--json: the whole response).
    #[command(after_help = INVOKE_EXAMPLES)]
    Invoke(CallArgs),

    /// Run a deployment and print the text as it is generated (--json: one chunk per line).
    /// Ctrl-C ends it (exit 130), keeping the text so far.
    #[command(after_help = STREAM_EXAMPLES)]
    Stream(CallArgs),
}

/// Flags of `orq deployments list`.
#[derive(Args)]
pub struct ListArgs {
    /// Deployments per page, 1 to 200 [default: the service's, 10].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub limit: Option<u32>,

    /// Every deployment, following the pages (--limit is then the page size).
    #[arg(long)]
    pub all: bool,

    /// JSON: the page as the API returns it; with --all, one deployment per line.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `orq deployments versions`.
#[derive(Args)]
pub struct VersionsArgs {
    /// The deployment's key or id.
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Only the versions of this variant.
    #[arg(long, value_name = "ID")]
    pub variant: Option<String>,

    /// Versions per page, 1 to 50 [default: the service's, 10].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub limit: Option<u32>,

    /// Every version, following the pages (--limit is then the page size).
    #[arg(long)]
    pub all: bool,

    /// JSON: the page as the API returns it; with --all, one version per line.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `orq deployments config|invoke|stream`: what to run it with.
#[derive(Args)]
pub struct CallArgs {
    /// The deployment's key.
    #[arg(value_name = "KEY")]
    pub key: String,

    /// A prompt input, filling {{NAME}}. VALUE is JSON where it parses as a string, number or
    /// boolean (n=3, ok=true, 'id="007"'), else text. Repeatable; overrides the --body's inputs.
    #[arg(short = 'v', long = "var", value_name = "NAME=VALUE", value_parser = parse_input)]
    pub inputs: Vec<(String, InputValue)>,

    /// A user message, appended after the --body's messages. Repeatable.
    #[arg(short = 'm', long = "message", value_name = "TEXT")]
    pub messages: Vec<String>,

    /// A whole request body as JSON, from a file or `-` for stdin. Flags apply on top of it, and
    /// KEY replaces its key.
    #[arg(long, value_name = "FILE|-")]
    pub body: Option<String>,

    /// JSON output instead of text.
    #[arg(long)]
    pub json: bool,
}

/// An API key from the command line or `ORQ_API_KEY`; wrapped at once so that
/// nothing can print it.
fn parse_api_key(key: &str) -> Result<ApiKey, std::convert::Infallible> {
    Ok(ApiKey::new(key))
}

/// `NAME=VALUE`: the value as JSON where that gives a string, number or
/// boolean, else as text.
pub fn parse_input(argument: &str) -> Result<(String, InputValue), String> {
    let Some((name, raw)) = argument.split_once('=') else {
        return Err(format!("expected NAME=VALUE, got `{argument}`"));
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("the input name is empty in `{argument}`"));
    }
    let value = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(json) => InputValue::try_from(&json).map_err(|unsupported| {
            format!("input `{name}`: {unsupported}; to send it as text, write it as a JSON string")
        })?,
        Err(_) => InputValue::String(raw.to_string()),
    };
    Ok((name.to_string(), value))
}

/// A duration: a number with an optional unit `ms`, `s` or `m` (seconds by default).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration such as 30s or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        other => return Err(format!("unknown unit `{other}` in `{text}`; use ms, s or m")),
    };
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!("`{text}` must be a positive duration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_json_scalars_or_text() {
        assert_eq!(parse_input("n=3").unwrap(), ("n".into(), InputValue::Int64(3)));
        assert_eq!(parse_input("ok=true").unwrap(), ("ok".into(), InputValue::Boolean(true)));
        assert_eq!(parse_input("id=\"007\"").unwrap(), ("id".into(), InputValue::String("007".into())));
        assert_eq!(parse_input("name=Ada").unwrap(), ("name".into(), InputValue::String("Ada".into())));
        assert_eq!(parse_input("q=a=b").unwrap(), ("q".into(), InputValue::String("a=b".into())));
        assert_eq!(parse_input("empty=").unwrap(), ("empty".into(), InputValue::String(String::new())));
        assert!(parse_input("tags=[\"a\"]").unwrap_err().contains("not an array"));
        assert!(parse_input("novalue").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_input("=3").unwrap_err().contains("empty"));
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3h").is_err());
    }

    #[test]
    fn the_help_names_the_default_url() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        assert!(help.contains(&format!("[default: {}]", orq::DEFAULT_BASE_URL)), "{help}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
