//! The `orq` binary end to end: each test starts orq-mock in-process on
//! loopback, runs the real binary against it (`--base-url`), and checks its
//! stdout, stderr and exit code.
//!
//! Nothing waits on the clock: a child is awaited until it exits, bounded by a
//! wide safety timeout, and the one test that interrupts a stream sends Ctrl-C
//! only after reading the text the mock sent before stalling.

use std::process::Stdio;
use std::time::Duration;

use orq_mock::MockOrq;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// Generous: a loaded CI machine may be slow, but nothing here should hang.
const SAFETY: Duration = Duration::from_secs(60);

/// What the invoke (and the whole stream) of `support-bot` answers with
/// `-v name=Ada -m 'Where is my order?'`.
const SUPPORT_ANSWER: &str = "Mock reply from support-bot (openai/gpt-4o). Instructions: \"You are a friendly \
                              support agent. Address the customer as Ada.\" You said: \"Where is my order?\"";

/// How one run of the binary ended.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn success(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success; stderr: {}\nstdout: {}", self.stderr, self.stdout);
        self
    }

    #[track_caller]
    fn failure(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "wrong exit code; stderr: {}\nstdout: {}", self.stderr, self.stdout);
        self
    }
}

/// The binary with a clean environment: no `ORQ_*` settings, no proxy for
/// loopback, no colour.
fn orq() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orq"));
    for name in ["ORQ_API_KEY", "ORQ_BASE_URL", "ORQ_ENVIRONMENT", "ORQ_CONTACT_ID"] {
        command.env_remove(name);
    }
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        command.env_remove(name);
    }
    command
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The binary pointed at `mock`, with a key and the given arguments.
fn orq_at(mock: &MockOrq, args: &[&str]) -> Command {
    let mut command = orq();
    command.args(["--base-url", &mock.url(), "--api-key", "test-key"]).args(args);
    command
}

/// Runs `command` to its end, feeding it `stdin` when given.
async fn run_with(mut command: Command, stdin: Option<&str>) -> Run {
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("the orq binary starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes()).await.expect("stdin takes the body");
        drop(pipe);
    }
    let output = tokio::time::timeout(SAFETY, child.wait_with_output())
        .await
        .expect("orq finished within the safety timeout")
        .expect("orq's output is read");
    Run {
        code: output.status.code().expect("orq exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

async fn run(command: Command) -> Run {
    run_with(command, None).await
}

async fn mock() -> MockOrq {
    MockOrq::builder().start().await.expect("orq-mock starts")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The body of the last request the mock received.
fn last_body(mock: &MockOrq) -> Value {
    mock.requests().last().and_then(|request| request.body.clone()).expect("a request with a JSON body")
}

// ---------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------

#[tokio::test]
async fn list_prints_a_table_newest_first() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "list"])).await;
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(lines[0].starts_with("KEY") && lines[0].contains("MODEL"), "{}", lines[0]);
    let keys: Vec<&str> = lines[1..].iter().map(|line| line.split_whitespace().next().unwrap()).collect();
    assert_eq!(keys, ["support-bot", "summarizer", "translator"]);
    assert!(lines[1].contains("openai/gpt-4o") && lines[1].contains("Customer support assistant"));
    // Columns line up: the MODEL column starts at one offset on every line.
    let column = lines[0].find("MODEL").unwrap();
    assert_eq!(lines[3].find("anthropic/").unwrap(), column, "{}", out.stdout);
}

#[tokio::test]
async fn list_json_is_the_page_as_the_api_returns_it() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "list", "--limit", "2", "--json"])).await;
    out.success();
    let page = json_of(&out.stdout);
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], true);
    let keys: Vec<&str> =
        page["data"].as_array().unwrap().iter().map(|d| d["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["support-bot", "summarizer"]);
    assert_eq!(mock.requests()[0].query_param("limit").as_deref(), Some("2"));
}

#[tokio::test]
async fn a_partial_page_says_more_follow_on_stderr() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "list", "--limit", "1"])).await;
    out.success();
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    assert!(out.stderr.contains("--all"), "{}", out.stderr);
}

#[tokio::test]
async fn list_all_json_is_one_deployment_per_line_across_pages() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "list", "--all", "--limit", "1", "--json"])).await;
    out.success();
    let keys: Vec<String> =
        out.stdout.lines().map(|line| json_of(line)["key"].as_str().unwrap().to_string()).collect();
    assert_eq!(keys, ["support-bot", "summarizer", "translator"]);
    // One page per deployment, the last one saying there are no more.
    let pages = mock.requests().iter().filter(|r| r.path == "/v2/deployments").count();
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn list_all_prints_every_deployment_in_one_table() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "list", "--all", "--limit", "2"])).await;
    out.success();
    assert_eq!(out.stdout.lines().count(), 4, "{}", out.stdout);
    assert!(out.stdout.contains("translator"));
    assert!(!out.stderr.contains("--all"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// versions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn versions_prints_a_table_newest_first() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "versions", "support-bot"])).await;
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("VERSION") && lines[0].contains("STATUS"), "{}", out.stdout);
    let names: Vec<&str> = lines[1..].iter().map(|line| line.split_whitespace().next().unwrap()).collect();
    assert_eq!(names, ["v3", "v2", "v1"]);
    assert!(lines[1].contains("live") && lines[1].contains("openai/gpt-4o"), "{}", lines[1]);
    assert_eq!(mock.requests()[0].path, "/v2/deployments/support-bot/versions");
}

#[tokio::test]
async fn versions_json_is_the_page_and_all_is_one_version_per_line() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "versions", "support-bot", "--limit", "2", "--json"])).await;
    out.success();
    let page = json_of(&out.stdout);
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert!(page["data"][0]["_id"].is_string(), "ids are sent as `_id`: {}", out.stdout);

    let out =
        run(orq_at(&mock, &["deployments", "versions", "support-bot", "--all", "--limit", "1", "--json"]))
            .await;
    out.success();
    let versions: Vec<Value> = out.stdout.lines().map(json_of).collect();
    let names: Vec<&str> = versions.iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(names, ["v3", "v2", "v1"]);

    // --variant keeps one variant's versions.
    let variant = versions[2]["variant_id"].as_str().unwrap();
    let out =
        run(orq_at(&mock, &["deployments", "versions", "support-bot", "--variant", variant, "--json"])).await;
    out.success();
    let page = json_of(&out.stdout);
    assert!(page["data"].as_array().unwrap().iter().all(|v| v["variant_id"] == variant), "{}", out.stdout);
    assert_eq!(mock.requests().last().unwrap().query_param("variant_id").as_deref(), Some(variant));
}

#[tokio::test]
async fn versions_of_an_unknown_deployment_is_a_404_and_bad_limits_a_usage_error() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "versions", "no-such-bot"])).await;
    out.failure(3);
    assert!(out.stderr.contains("404"), "{}", out.stderr);
    let out = run(orq_at(&mock, &["deployments", "versions", "support-bot", "--limit", "51"])).await;
    out.failure(2);
    assert!(out.stderr.contains("51 is not in 1..=50"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------

#[tokio::test]
async fn config_prints_the_resolved_prompt() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "config", "support-bot", "-v", "name=Ada"])).await;
    out.success();
    assert!(out.stdout.contains("model       openai/gpt-4o (chat)"), "{}", out.stdout);
    assert!(out.stdout.contains("tools       get_order_status"), "{}", out.stdout);
    assert!(
        out.stdout.contains("system: You are a friendly support agent. Address the customer as Ada."),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn config_json_is_the_whole_configuration() {
    let mock = mock().await;
    let out = run(orq_at(
        &mock,
        &["deployments", "config", "translator", "--json", "-v", "source_language=English"],
    ))
    .await;
    out.success();
    let config = json_of(&out.stdout);
    assert_eq!(config["provider"], "anthropic");
    let system = config["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("from English to {{target_language}}"), "{system}");
}

// ---------------------------------------------------------------------------
// invoke
// ---------------------------------------------------------------------------

#[tokio::test]
async fn invoke_prints_the_text() {
    let mock = mock().await;
    let args = ["deployments", "invoke", "support-bot", "-v", "name=Ada", "-m", "Where is my order?"];
    let out = run(orq_at(&mock, &args)).await;
    out.success();
    assert_eq!(out.stdout, format!("{SUPPORT_ANSWER}\n"));
}

#[tokio::test]
async fn invoke_json_is_the_whole_response() {
    let mock = mock().await;
    let args =
        ["deployments", "invoke", "support-bot", "--json", "-v", "name=Ada", "-m", "Where is my order?"];
    let out = run(orq_at(&mock, &args)).await;
    out.success();
    let answer = json_of(&out.stdout);
    assert_eq!(answer["choices"][0]["message"]["content"], SUPPORT_ANSWER);
    assert_eq!(answer["provider"], "openai");
}

#[tokio::test]
async fn inputs_are_json_where_they_parse_and_text_otherwise() {
    let mock = mock().await;
    let args = [
        "deployments",
        "invoke",
        "support-bot",
        "-v",
        "n=3",
        "-v",
        "ok=true",
        "-v",
        "id=\"007\"",
        "-v",
        "name=Ada Lovelace",
        "--var",
        "ratio=0.5",
    ];
    run(orq_at(&mock, &args)).await.success();
    let body = last_body(&mock);
    assert_eq!(
        body["inputs"],
        json!({"n": 3, "ok": true, "id": "007", "name": "Ada Lovelace", "ratio": 0.5})
    );
    assert_eq!(body["key"], "support-bot");
}

#[tokio::test]
async fn environment_and_contact_id_reach_the_service() {
    let mock = mock().await;
    let args = ["deployments", "invoke", "support-bot", "--environment", "production", "--contact-id", "c-7"];
    run(orq_at(&mock, &args)).await.success();
    let request = mock.requests().pop().unwrap();
    assert_eq!(request.header("x-orq-contact-id"), Some("c-7"));
    assert_eq!(request.body.unwrap()["context"]["environments"], "production");
}

#[tokio::test]
async fn a_body_from_stdin_is_sent_with_the_flags_on_top() {
    let mock = mock().await;
    let body = json!({
        "key": "summarizer",
        "inputs": {"name": "Grace", "ticket": 12},
        "messages": [{"role": "user", "content": "Earlier question"}],
        "metadata": {"source": "cli-test"},
    });
    let args =
        ["deployments", "invoke", "support-bot", "--body", "-", "-v", "name=Ada", "-m", "Where is my order?"];
    let out = run_with(orq_at(&mock, &args), Some(&body.to_string())).await;
    out.success();
    // The flags win over the body: Ada, not Grace; the key argument, not the body's.
    assert_eq!(out.stdout, format!("{SUPPORT_ANSWER}\n"));
    let sent = last_body(&mock);
    assert_eq!(sent["key"], "support-bot");
    assert_eq!(sent["inputs"], json!({"name": "Ada", "ticket": 12}));
    assert_eq!(sent["metadata"], json!({"source": "cli-test"}));
    let contents: Vec<&str> =
        sent["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["Earlier question", "Where is my order?"]);
}

#[tokio::test]
async fn a_body_from_a_file_needs_no_key() {
    let mock = mock().await;
    let path = std::env::temp_dir().join(format!("orq-cli-body-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"inputs": {"name": "Ada"}, "messages": [{"role": "user", "content": "Where is my order?"}]}"#,
    )
    .unwrap();
    let out =
        run(orq_at(&mock, &["deployments", "invoke", "support-bot", "--body", path.to_str().unwrap()])).await;
    std::fs::remove_file(&path).ok();
    out.success();
    assert_eq!(out.stdout, format!("{SUPPORT_ANSWER}\n"));
}

#[tokio::test]
async fn a_bad_body_is_a_usage_error_and_nothing_is_sent() {
    let mock = mock().await;
    let out = run_with(
        orq_at(&mock, &["deployments", "invoke", "support-bot", "--body", "-"]),
        Some("{\"messages\": 3}"),
    )
    .await;
    out.failure(2);
    assert!(
        out.stderr.contains("the body from stdin") && out.stderr.contains("`messages`"),
        "{}",
        out.stderr
    );
    let out =
        run_with(orq_at(&mock, &["deployments", "stream", "support-bot", "--body", "-"]), Some("not json"))
            .await;
    out.failure(2);
    assert!(out.stderr.contains("is not JSON"), "{}", out.stderr);
    let out =
        run(orq_at(&mock, &["deployments", "invoke", "support-bot", "--body", "/nonexistent/body.json"]))
            .await;
    out.failure(1);
    assert!(out.stderr.contains("/nonexistent/body.json"), "{}", out.stderr);
    assert!(mock.requests().is_empty());
}

// ---------------------------------------------------------------------------
// stream
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stream_prints_the_text_as_it_arrives() {
    let mock = mock().await;
    let args = ["deployments", "stream", "support-bot", "-v", "name=Ada", "-m", "Where is my order?"];
    let out = run(orq_at(&mock, &args)).await;
    out.success();
    assert_eq!(out.stdout.trim_end(), SUPPORT_ANSWER);
    assert!(out.stdout.ends_with('\n'));
}

#[tokio::test]
async fn stream_json_is_one_chunk_per_line() {
    let mock = mock().await;
    let args =
        ["deployments", "stream", "support-bot", "--json", "-v", "name=Ada", "-m", "Where is my order?"];
    let out = run(orq_at(&mock, &args)).await;
    out.success();
    let chunks: Vec<Value> = out.stdout.lines().map(json_of).collect();
    assert!(chunks.len() > 10, "{}", out.stdout);
    let text: String =
        chunks.iter().map(|chunk| chunk["choices"][0]["message"]["content"].as_str().unwrap_or("")).collect();
    assert_eq!(text.trim_end(), SUPPORT_ANSWER);
    assert_eq!(chunks.last().unwrap()["is_final"], true);
}

#[tokio::test]
async fn a_cut_stream_fails_after_the_text_it_printed() {
    let mock = mock().await;
    mock.cut_stream_after(3);
    let out = run(orq_at(&mock, &["deployments", "stream", "support-bot", "--retries", "0"])).await;
    out.failure(6);
    assert_eq!(out.stdout, "Mock reply from \n");
    assert!(out.stderr.contains("orq: error: stream failed"), "{}", out.stderr);
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_ends_a_stream_cleanly() {
    let mock = mock().await;
    mock.stall_stream_after(2);
    let mut child = orq_at(&mock, &["deployments", "stream", "support-bot"]).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let read_until_stall = async {
        let mut buffer = [0u8; 256];
        while !seen.ends_with(b"Mock reply ") {
            let read = stdout.read(&mut buffer).await.unwrap();
            assert!(read > 0, "stdout closed early: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buffer[..read]);
        }
    };
    tokio::time::timeout(SAFETY, read_until_stall).await.expect("the first two chunks arrive");
    let pid = child.id().unwrap() as libc::pid_t;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = tokio::time::timeout(SAFETY, child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(130));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "\n", "the line is ended, nothing more");
}

// ---------------------------------------------------------------------------
// failures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_flags_exit_2_with_clap_s_message() {
    let mock = mock().await;
    let cases: [(&[&str], &str); 5] = [
        (&["deployments", "list", "--limit", "0"], "invalid value '0' for '--limit <N>'"),
        (&["deployments", "frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&["deployments", "invoke", "support-bot", "-v", "novalue"], "expected NAME=VALUE"),
        (&["deployments", "invoke", "support-bot", "-v", "tags=[\"a\"]"], "not an array"),
        (&["deployments", "invoke"], "required arguments were not provided"),
    ];
    for (args, message) in cases {
        let out = run(orq_at(&mock, args)).await;
        out.failure(2);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let out = run(orq_at(&mock, &["--timeout", "soon", "deployments", "list"])).await;
    out.failure(2);
    assert!(out.stderr.contains("not a duration"), "{}", out.stderr);
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_wrong_key_is_a_401_naming_the_host_not_the_key() {
    let mock = MockOrq::builder().api_key("right-key").start().await.unwrap();
    let mut command = orq();
    command.args(["--base-url", &mock.url(), "deployments", "list"]).env("ORQ_API_KEY", "wrong-secret-key");
    let out = run(command).await;
    out.failure(3);
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("from {}", mock.url())), "{}", out.stderr);
    assert!(out.stderr.contains("API key"), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong-secret-key") && !out.stdout.contains("wrong-secret-key"));

    let mut command = orq();
    command.args(["--base-url", &mock.url(), "--api-key", "right-key", "deployments", "list"]);
    run(command).await.success();
}

#[tokio::test]
async fn an_unknown_deployment_is_a_404() {
    let mock = mock().await;
    let out = run(orq_at(&mock, &["deployments", "invoke", "no-such-bot"])).await;
    out.failure(3);
    assert!(out.stderr.contains("404") && out.stderr.contains("deployment_not_found"), "{}", out.stderr);
    assert!(out.stderr.contains("orq deployments list"), "a hint: {}", out.stderr);
}

#[tokio::test]
async fn a_server_error_exits_4() {
    let mock = mock().await;
    mock.fail_next(1, 500);
    let out = run(orq_at(&mock, &["--retries", "0", "deployments", "list"])).await;
    out.failure(4);
    assert!(out.stderr.contains("500"), "{}", out.stderr);
}

#[tokio::test]
async fn a_refused_connection_exits_5_naming_the_host() {
    // A port nothing listens on: bound, then released.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let mut command = orq();
    command.args(["--base-url", &url, "--api-key", "k", "--retries", "0", "deployments", "list"]);
    let out = run(command).await;
    out.failure(5);
    assert!(out.stderr.contains(&format!("127.0.0.1:{port}")), "{}", out.stderr);
    assert!(out.stderr.contains("connection refused"), "{}", out.stderr);
}

#[tokio::test]
async fn a_timeout_exits_5() {
    let mock = mock().await;
    // Far longer than the timeout: the answer cannot win.
    mock.delay_next(Duration::from_secs(300));
    let out = run(orq_at(&mock, &["--timeout", "200ms", "--retries", "0", "deployments", "list"])).await;
    out.failure(5);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
}

#[tokio::test]
async fn without_a_key_it_says_how_to_give_one() {
    let out = run({
        let mut command = orq();
        command.args(["deployments", "list"]);
        command
    })
    .await;
    out.failure(2);
    assert!(out.stderr.contains("ORQ_API_KEY") && out.stderr.contains("--mock"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// offline, help, completions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn mock_needs_no_key_and_no_network() {
    let mut command = orq();
    command.args(["--mock", "deployments", "list", "--json"]);
    let out = run(command).await;
    out.success();
    assert_eq!(json_of(&out.stdout)["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn every_example_in_the_help_runs_offline() {
    let helps: [&[&str]; 6] = [
        &[],
        &["deployments", "list"],
        &["deployments", "versions"],
        &["deployments", "config"],
        &["deployments", "invoke"],
        &["deployments", "stream"],
    ];
    let mut examples = Vec::new();
    for command in helps {
        let mut help = orq();
        help.args(command).arg("--help");
        let help = run(help).await;
        help.success();
        let before = examples.len();
        for line in help.stdout.lines().map(str::trim) {
            // `echo BODY | orq …`: the body goes to stdin.
            let (stdin, line) = match line.split_once(" | ") {
                Some((echo, line)) if echo.starts_with("echo ") => {
                    (Some(shell_words(echo).pop().unwrap()), line)
                }
                _ => (None, line),
            };
            if line.starts_with("orq --mock ") {
                examples.push((line.to_string(), stdin));
            }
        }
        assert!(examples.len() > before, "no examples in the help of {command:?}: {}", help.stdout);
    }
    for (example, stdin) in examples {
        let mut command = orq();
        command.args(&shell_words(&example)[1..]);
        let out = run_with(command, stdin.as_deref()).await;
        assert_eq!(out.code, 0, "`{example}` failed: {}", out.stderr);
        assert!(!out.stdout.trim().is_empty(), "`{example}` printed nothing");
    }
}

#[tokio::test]
async fn the_key_never_appears_in_the_help() {
    for args in [&["--help"][..], &["deployments", "invoke", "--help"]] {
        let mut command = orq();
        command.args(args).env("ORQ_API_KEY", "secret-in-env");
        let out = run(command).await;
        out.success();
        assert!(out.stdout.contains("ORQ_API_KEY"), "{}", out.stdout);
        assert!(!out.stdout.contains("secret-in-env"), "{}", out.stdout);
    }
}

#[tokio::test]
async fn completions_are_printed_for_a_shell() {
    let out = run({
        let mut command = orq();
        command.args(["completions", "bash"]);
        command
    })
    .await;
    out.success();
    assert!(out.stdout.contains("_orq()") && out.stdout.contains("deployments"), "{}", out.stdout);
}

#[tokio::test]
async fn logs_go_to_stderr_and_quiet_silences_notes() {
    let mock = mock().await;
    // Before the subcommand, where -v means verbose (after it, -v is an input).
    let mut command = orq();
    command.args(["-vv", "--base-url", &mock.url(), "--api-key", "k", "deployments", "list", "--limit", "1"]);
    let out = run(command).await;
    out.success();
    assert!(out.stderr.contains("orq request succeeded"), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 2, "logs stay off stdout: {}", out.stdout);

    let mut command = orq();
    command.args(["-q", "--base-url", &mock.url(), "--api-key", "k", "deployments", "list", "--limit", "1"]);
    let out = run(command).await;
    out.success();
    assert_eq!(out.stderr, "");
}

#[tokio::test]
async fn no_colour_or_spinner_when_stderr_is_not_a_terminal() {
    let mock = mock().await;
    let mut command = orq_at(&mock, &["deployments", "invoke", "no-such-bot"]);
    command.env_remove("NO_COLOR");
    let out = run(command).await;
    out.failure(3);
    assert!(out.stderr.starts_with("orq: error: "), "{:?}", out.stderr);
    assert!(!out.stderr.contains('\x1b') && !out.stderr.contains('\r'), "{:?}", out.stderr);
}

#[tokio::test]
async fn a_reader_that_goes_away_is_not_an_error() {
    // stdout closed before or while orq writes: either way a quiet success.
    let mut command = orq();
    command.args(["--mock", "deployments", "stream", "support-bot", "--json"]);
    let mut child = command.spawn().unwrap();
    drop(child.stdout.take());
    let output = tokio::time::timeout(SAFETY, child.wait_with_output()).await.unwrap().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Splits a command line of the help into words: spaces separate, single
/// quotes group.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quoted, mut started) = (String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => (quoted, started) = (!quoted, true),
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}
