//! Both Tasker APIs in one process with authentication ON:
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! It generates an ES256 key pair for this run (nothing is written to disk), mints tokens for
//! four roles, registers two API keys, starts the orchestration API on 127.0.0.1:8080 and the
//! worker API on 127.0.0.1:8081 (gRPC on 127.0.0.1:9190 and 127.0.0.1:9191), and prints `curl`
//! lines and one `grpc_client` command that work exactly as printed, one of them showing a 403.
//! Ctrl-C stops it. `--orchestration-bind`, `--worker-bind`, `--orchestration-grpc-bind` and
//! `--worker-grpc-bind` choose other addresses (port 0 picks free ports).

use clap::Parser;
use tasker_demo::demo::{self, DemoArgs};
use tasker_demo::server;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::init_tracing();
    demo::run(&DemoArgs::parse()).await
}
