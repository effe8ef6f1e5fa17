//! The Tasker worker API on its own, configured from a file (auth is off without one):
//!
//! ```text
//! cargo run --bin tasker-ctl -- auth generate-keys --output-dir ./keys
//! cargo run --example worker -- --config examples/worker.toml [--bind 127.0.0.1:0]
//! ```
//!
//! It prints `listening on http://IP:PORT` once ready, then `grpc listening on http://IP:PORT`
//! for its gRPC API (`[grpc]`, `--grpc-bind`; default 127.0.0.1:9191), and stops both cleanly on
//! Ctrl-C or SIGTERM.
//! The routes live in `tasker_demo::worker`.

use tasker_demo::server::{self, ApiKind};
use tasker_demo::worker;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::main(ApiKind::Worker, worker::app_with).await
}
