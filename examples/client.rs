//! Lists the tasks of the demo orchestration API, with credentials resolved the way every Tasker
//! client resolves them (`tasker_auth::client`, described in `docs/client.md`).
//!
//! Run the demo servers in one shell; they print ready-to-use tokens:
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! then, in another shell, with one of those tokens:
//!
//! ```text
//! TASKER_AUTH_TOKEN=<token> cargo run --example client
//! ```
//!
//! Any other credential works the same way: `TASKER_ORCHESTRATION_AUTH_TOKEN`, `TASKER_API_KEY`
//! (with `TASKER_API_KEY_HEADER`), or `TASKER_JWT_PRIVATE_KEY_PATH` with `TASKER_JWT_PERMISSIONS`
//! (the client then mints and renews its own tokens). Another base URL can be given as the first
//! argument: `cargo run --example client -- http://127.0.0.1:8080`.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use tasker_auth::client::{ClientCredentials, CredentialKind, Endpoint, RequestBuilderExt};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let credentials = match ClientCredentials::from_env(Endpoint::Orchestration) {
        Ok(credentials) => credentials,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if credentials.kind() == CredentialKind::None {
        eprintln!(
            "note: no credentials in the environment (set TASKER_AUTH_TOKEN to a token printed by the demo)"
        );
    }

    let url = format!("{}/v1/tasks", base.trim_end_matches('/'));
    let request = match reqwest::Client::new()
        .get(&url)
        .with_tasker_auth(&credentials)
    {
        Ok(request) => request,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("error: GET {url} failed: {e} (is `cargo run --example demo` running?)");
            return ExitCode::FAILURE;
        }
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let pretty = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(body);
    // Not println!: it panics when stdout is closed (`... | head`).
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "GET {url} -> {status}\n{pretty}");
    if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
