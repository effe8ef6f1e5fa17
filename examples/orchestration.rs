//! The Tasker orchestration API on its own, configured from a file (auth is off without one):
//!
//! ```text
//! cargo run --bin tasker-ctl -- auth generate-keys --output-dir ./keys
//! cargo run --example orchestration -- --config examples/orchestration.toml [--bind 127.0.0.1:0]
//! ```
//!
//! It prints `listening on http://IP:PORT` once ready, then `grpc listening on http://IP:PORT`
//! for its gRPC API (`[grpc]`, `--grpc-bind`; default 127.0.0.1:9190), and stops both cleanly on
//! Ctrl-C or SIGTERM.
//! The routes live in `tasker_demo::orchestration`.

use tasker_demo::orchestration;
use tasker_demo::server::{self, ApiKind};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::main(ApiKind::Orchestration, orchestration::app_with).await
}
