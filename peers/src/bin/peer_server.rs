//! One peer variant behind a real listener, for `scripts/load.sh`:
//!
//! ```text
//! peer-server --impl jwt-authorizer|from-fn|tasker-auth|bare [--bind 127.0.0.1:0] [--public-key FILE]
//! ```
//!
//! Prints `listening on http://IP:PORT` once ready, as the example servers do, and stops on
//! Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Impl {
    /// jwt-authorizer's layer (axum 0.7).
    JwtAuthorizer,
    /// `axum::middleware::from_fn` + `jsonwebtoken::decode`.
    FromFn,
    /// No authentication.
    Bare,
    /// tasker-auth's `AuthLayer` and `#[requires]`, in this same minimal server.
    TaskerAuth,
}

#[derive(Debug, Parser)]
#[command(about = "Serve one peer variant of GET /v1/analytics/performance")]
struct Args {
    /// Which variant to serve.
    #[arg(long = "impl", value_enum)]
    implementation: Impl,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// The RSA public key (PEM) that verifies tokens; required but for `bare`.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peer-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let pem = match (&args.public_key, args.implementation) {
        (_, Impl::Bare) => String::new(),
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        (None, _) => return Err("--public-key is required for this variant".into()),
    };
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let addr = listener.local_addr()?;
    match args.implementation {
        Impl::Bare => {
            announce(addr);
            axum::serve(listener, tasker_auth_peers::bare())
                .with_graceful_shutdown(shutdown())
                .await?;
        }
        Impl::FromFn => {
            let app = tasker_auth_peers::from_fn(pem.as_bytes())?;
            announce(addr);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await?;
        }
        Impl::TaskerAuth => {
            let app = tasker_auth_peers::tasker_auth(&pem)?;
            announce(addr);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await?;
        }
        Impl::JwtAuthorizer => {
            let app = tasker_auth_peers::jwt_authorizer(&pem).await?;
            announce(addr);
            axum07::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await?;
        }
    }
    Ok(())
}

fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = out.flush();
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
