//! `orq-mock`: run the fake orq.ai Deployments API from the command line.
//!
//! ```text
//! cargo run -p orq-mock -- --port 8080 [--deployments file.json] [--api-key K] [--event-delay-ms N]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use orq_mock::MockOrq;

const USAGE: &str = "\
Usage: orq-mock [--port PORT] [--deployments FILE.json] [--api-key KEY] [--event-delay-ms N]

A local fake of the orq.ai Deployments API on 127.0.0.1.

Options:
  --port PORT           port to listen on (default 0: pick a free port)
  --deployments FILE    JSON array of deployments in the GET /v2/deployments item shape
                        (default: the built-in samples support-bot, summarizer, translator;
                        crates/orq-mock/deployments.example.json holds them as a template)
  --api-key KEY         require `Authorization: Bearer KEY`
  --event-delay-ms N    pause between stream events in milliseconds (default 0)
  -h, --help            show this help";

#[derive(Debug, Default)]
struct Args {
    port: u16,
    deployments: Option<String>,
    api_key: Option<String>,
    event_delay_ms: u64,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value =
            || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => {
                let raw = value()?;
                parsed.port = raw.parse().map_err(|_| format!("invalid port {raw:?}"))?;
            }
            "--deployments" => parsed.deployments = Some(value()?),
            "--api-key" => parsed.api_key = Some(value()?),
            "--event-delay-ms" => {
                let raw = value()?;
                parsed.event_delay_ms =
                    raw.parse().map_err(|_| format!("invalid --event-delay-ms {raw:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut builder =
        MockOrq::builder().port(args.port).event_delay(Duration::from_millis(args.event_delay_ms));
    if let Some(key) = &args.api_key {
        builder = builder.api_key(key);
    }
    if let Some(path) = &args.deployments {
        builder = match builder.deployments_from_file(path) {
            Ok(builder) => builder,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
    }
    let mock = match builder.start().await {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("orq-mock listening on {}", mock.url());
    let keys: Vec<String> = mock.deployments().iter().map(|d| d.key().to_owned()).collect();
    println!("deployments: {}", keys.join(", "));
    println!();
    println!("Point a client at it:");
    println!("  export ORQ_BASE_URL={}", mock.url());
    println!("  export ORQ_API_KEY={}", args.api_key.as_deref().unwrap_or("anything"));
    println!();
    println!("Press Ctrl-C to stop.");
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot listen for Ctrl-C: {error}");
    }
    println!("shutting down");
    mock.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_arguments() {
        let args =
            parse(&["--port", "8080", "--deployments=d.json", "--api-key", "k", "--event-delay-ms", "5"])
                .unwrap()
                .unwrap();
        assert_eq!(args.port, 8080);
        assert_eq!(args.deployments.as_deref(), Some("d.json"));
        assert_eq!(args.api_key.as_deref(), Some("k"));
        assert_eq!(args.event_delay_ms, 5);
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--nope"]).is_err());
    }
}
