//! `orq-mock`: run the fake orq.ai Deployments API from the command line.
//!
//! ```text
//! cargo run -p orq-ai-mock -- --port 8080 [--deployments file.json] [--api-key K] [--event-delay-ms N]
//!     [--record-limit N] [--header-read-timeout-ms N] [--body-read-timeout-ms N]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use orq_mock::MockOrq;

const USAGE: &str = "\
Usage: orq-mock [--port PORT] [--deployments FILE.json] [--api-key KEY] [--event-delay-ms N]
                [--record-limit N] [--header-read-timeout-ms N] [--body-read-timeout-ms N]

A local fake of the orq.ai Deployments API on 127.0.0.1.

Options:
  --port PORT           port to listen on (default 0: pick a free port)
  --deployments FILE    JSON array of deployments in the GET /v2/deployments item shape
                        (default: the built-in samples support-bot, summarizer, translator;
                        crates/orq-mock/deployments.example.json holds them as a template;
                        an item may add `mock_versions` (a count) and `mock_variants` (ids) to
                        shape its saved versions, by default 3 over two variants)
  --api-key KEY         require `Authorization: Bearer KEY`
  --event-delay-ms N    pause between stream events in milliseconds (default 0)
  --record-limit N      keep only the last N requests for GET /_mock/requests (default 100);
                        DELETE /_mock/requests forgets them
  --header-read-timeout-ms N
                        close a connection that sends no whole request head within N ms,
                        idle ones included (default 30000)
  --body-read-timeout-ms N
                        answer 408 to a request body not received within N ms (default 30000)
  -h, --help            show this help";

#[derive(Debug, Default)]
struct Args {
    port: u16,
    deployments: Option<String>,
    api_key: Option<String>,
    event_delay_ms: u64,
    record_limit: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
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
            "--record-limit" => {
                let raw = value()?;
                parsed.record_limit =
                    Some(raw.parse().map_err(|_| format!("invalid --record-limit {raw:?}"))?);
            }
            "--header-read-timeout-ms" => {
                let raw = value()?;
                let ms = raw.parse().map_err(|_| format!("invalid --header-read-timeout-ms {raw:?}"))?;
                parsed.header_read_timeout_ms = Some(ms);
            }
            "--body-read-timeout-ms" => {
                let raw = value()?;
                let ms = raw.parse().map_err(|_| format!("invalid --body-read-timeout-ms {raw:?}"))?;
                parsed.body_read_timeout_ms = Some(ms);
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
    if let Some(limit) = args.record_limit {
        builder = builder.record_limit(limit);
    }
    if let Some(ms) = args.header_read_timeout_ms {
        builder = builder.header_read_timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = args.body_read_timeout_ms {
        builder = builder.body_read_timeout(Duration::from_millis(ms));
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
    println!("Recorded requests: GET {0}/_mock/requests (DELETE to clear).", mock.url());
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
        let args =
            parse(&["--record-limit", "7", "--header-read-timeout-ms=50", "--body-read-timeout-ms", "60"])
                .unwrap()
                .unwrap();
        assert_eq!(args.record_limit, Some(7));
        assert_eq!(args.header_read_timeout_ms, Some(50));
        assert_eq!(args.body_read_timeout_ms, Some(60));
        assert!(parse(&["--record-limit", "-1"]).is_err());
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--nope"]).is_err());
    }
}
