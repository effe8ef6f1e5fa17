//! What both demo servers share: command-line arguments, configuration, the public routes
//! (health, metrics, OpenAPI and Swagger UI), the assembly of protected and public routes, and
//! serving with a `listening on` line and graceful shutdown.

use std::future::Future;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{Json, Router};
use http::{StatusCode, header};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use tasker_auth::openapi::{ProtectedRoutes, UnguardedRoute, add_security_schemes};
use tasker_auth::{ConfigError, SecurityService, TaskerConfig};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::store::Store;

/// A request that takes longer than this gets a 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request body a handler will read (1 MiB). The permission check runs before any
/// body is read, so a denied caller gets its 403 whatever the body's size.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Command-line arguments of both servers.
#[derive(Debug, Clone, Default, clap::Parser)]
pub struct ServerArgs {
    /// TOML configuration file (else `TASKER_CONFIG_PATH`, else built-in defaults: auth off).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on, overriding `web.bind_address` (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Address of the gRPC listener, overriding `grpc.bind_address` (port 0 picks a free port).
    /// Without it, a `--bind` with port 0 puts gRPC on a free port of the same host too.
    #[arg(long, value_name = "ADDR")]
    pub grpc_bind: Option<String>,
}

/// Which of the two Tasker APIs a server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// The orchestration API (default `127.0.0.1:8080`).
    Orchestration,
    /// The worker API (default `127.0.0.1:8081`).
    Worker,
}

impl ApiKind {
    /// The default bind address.
    pub const fn default_bind(self) -> &'static str {
        match self {
            ApiKind::Orchestration => "127.0.0.1:8080",
            ApiKind::Worker => "127.0.0.1:8081",
        }
    }

    /// The default gRPC bind address (`[grpc] bind_address`).
    pub const fn default_grpc_bind(self) -> &'static str {
        match self {
            ApiKind::Orchestration => tasker_auth::DEFAULT_GRPC_BIND_ADDRESS,
            ApiKind::Worker => "127.0.0.1:9191",
        }
    }

    /// The API's title in its OpenAPI document.
    pub const fn title(self) -> &'static str {
        match self {
            ApiKind::Orchestration => "Tasker orchestration API",
            ApiKind::Worker => "Tasker worker API",
        }
    }
}

/// The state every handler of the demo servers can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The in-memory data.
    pub store: Store,
    /// The running configuration with every secret redacted (`GET /config`).
    pub redacted_config: Arc<Value>,
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A protected route has no permission.
    #[error(transparent)]
    Unguarded(#[from] UnguardedRoute),
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Loads the configuration for `kind`: `--config`, else `TASKER_CONFIG_PATH`, else defaults;
/// environment overrides apply; `--bind` wins over both; without any configured address the
/// server's own default port is used.
pub fn load_config(args: &ServerArgs, kind: ApiKind) -> Result<TaskerConfig, ConfigError> {
    let mut config = TaskerConfig::load(args.config.as_deref())?;
    if let Some(bind) = &args.bind {
        config.web.bind_address = bind.clone();
    } else if kind == ApiKind::Worker
        && config.web.bind_address == ApiKind::Orchestration.default_bind()
        && args.config.is_none()
        && std::env::var_os("TASKER_CONFIG_PATH").is_none()
        && std::env::var_os("TASKER_WEB_BIND_ADDRESS").is_none()
    {
        config.web.bind_address = ApiKind::Worker.default_bind().to_owned();
    }
    configure_grpc_bind(&mut config, args, kind);
    Ok(config)
}

/// `--grpc-bind` wins; else a `--bind` on port 0 (any free port) moves gRPC to a free port of
/// that host, so that a server started for a test never collides on the fixed gRPC port; else
/// the worker, left on the orchestration's default gRPC port (no `[grpc] bind_address` in its
/// file, no `TASKER_GRPC_BIND_ADDRESS`), moves to its own, so that the two servers started with
/// their files never collide.
fn configure_grpc_bind(config: &mut TaskerConfig, args: &ServerArgs, kind: ApiKind) {
    if let Some(bind) = &args.grpc_bind {
        config.grpc.bind_address = bind.clone();
    } else if let Some(host) = args
        .bind
        .as_deref()
        .and_then(|b| b.parse::<SocketAddr>().ok())
        .filter(|a| a.port() == 0)
    {
        config.grpc.bind_address = host.to_string();
    } else if kind == ApiKind::Worker
        && config.grpc.bind_address == ApiKind::Orchestration.default_grpc_bind()
        && std::env::var_os("TASKER_GRPC_BIND_ADDRESS").is_none()
    {
        config.grpc.bind_address = ApiKind::Worker.default_grpc_bind().to_owned();
    }
}

/// Builds a server's whole router: the protected routes (checked for permissions, behind the
/// authentication layer), the public routes, the OpenAPI document and Swagger UI, a request
/// timeout and the body-size limit.
pub fn build_app(
    kind: ApiKind,
    config: &TaskerConfig,
    routes: fn(&TaskerConfig, &SecurityService) -> ProtectedRoutes<AppState>,
    store: Store,
) -> Result<(Router, OpenApi), StartupError> {
    // Install the recorder before the first request so that no metric is lost.
    prometheus();
    let security = SecurityService::from_config(&config.web.auth)?;
    let (protected, mut api) = routes(config, &security).build()?;
    let (public, public_api) = OpenApiRouter::<AppState>::new()
        .routes(routes!(health))
        .routes(routes!(health_ready))
        .routes(routes!(health_live))
        .routes(routes!(prometheus_metrics))
        .split_for_parts();
    api.merge(public_api);
    api.info = utoipa::openapi::InfoBuilder::new()
        .title(kind.title())
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Every protected operation names its permission in `x-required-permission`.",
        ))
        .build();
    add_security_schemes(&mut api, &config.web.auth.api_key_header);

    let state = AppState {
        store,
        redacted_config: Arc::new(config.redacted()),
    };
    let app = Router::new()
        .merge(protected)
        .merge(public)
        .merge(SwaggerUi::new("/api-docs/ui").url("/api-docs/openapi.json", api.clone()))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    Ok((app, api))
}

/// A bound listener, ready to serve.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Bound {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: &str) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
        Ok(Bound { listener, addr })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `app` until `shutdown` completes, then finishes in-flight requests.
    pub async fn serve(
        self,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Builds an application, with its OpenAPI document, from a configuration and a store.
pub type AppBuilder = fn(&TaskerConfig, Store) -> Result<(Router, OpenApi), StartupError>;

/// Runs a server: loads the configuration, builds the application over a seeded store, binds,
/// prints `listening on http://IP:PORT` and serves until Ctrl-C or SIGTERM. With `[grpc]
/// enabled` it also serves the gRPC API from the same store, prints `grpc listening on
/// http://IP:PORT` after the first line, and stops both listeners on the same signal.
pub async fn run(kind: ApiKind, args: &ServerArgs, app: AppBuilder) -> Result<(), StartupError> {
    let config = load_config(args, kind)?;
    let store = Store::seeded();
    let (app, _) = app(&config, store.clone())?;
    let grpc = if config.grpc.enabled {
        let security = SecurityService::from_config(&config.web.auth)?;
        let grpc_app = crate::grpc::app(kind, &config, store).await?;
        Some((security, grpc_app))
    } else {
        None
    };
    let bound = Bound::bind(&config.web.bind_address).await?;
    let grpc_bound = match &grpc {
        Some(_) => Some(crate::grpc::GrpcBound::bind(&config.grpc.bind_address).await?),
        None => None,
    };
    tracing::info!(
        api = kind.title(),
        auth_enabled = config.web.auth.enabled,
        grpc_enabled = config.grpc.enabled,
        "starting"
    );
    announce(bound.addr());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let grpc_server = match (grpc, grpc_bound) {
        (Some((security, grpc_app)), Some(grpc_bound)) => {
            crate::grpc::announce(grpc_bound.addr());
            Some(tokio::spawn(grpc_bound.serve(
                grpc_app,
                security,
                until_stopped(stopped.clone()),
            )))
        }
        _ => None,
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let rest = bound.serve(app, until_stopped(stopped)).await;
    let grpc = match grpc_server {
        Some(server) => server
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e))),
        None => Ok(()),
    };
    rest.and(grpc).map_err(StartupError::Serve)
}

/// Prints the one `listening on http://IP:PORT` line to stdout, flushed so that a process
/// reading a pipe sees it at once.
pub fn announce(addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = out.flush();
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Logs to stderr (`RUST_LOG` to filter; default `info`), coloured only when stderr is a
/// terminal, so logs redirected to a file or a pipe carry no escape codes.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The whole life of one server process: logging, arguments from the command line, [`run`],
/// and an `error: ...` line with a failing exit status if it cannot start.
pub async fn main(kind: ApiKind, app: AppBuilder) -> std::process::ExitCode {
    init_tracing();
    let args = <ServerArgs as clap::Parser>::parse();
    match run(kind, &args, app).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (for example by a test harness); the
        // handle then renders this one's (empty) registry, which is still valid output.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Liveness and readiness.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "The server is up")))]
async fn health() -> Json<Value> {
    Json(json!({"status": "healthy"}))
}

/// Ready to serve.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses((status = 200, description = "Ready")))]
async fn health_ready() -> Json<Value> {
    Json(json!({"status": "ready"}))
}

/// Alive.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "Alive")))]
async fn health_live() -> Json<Value> {
    Json(json!({"status": "alive"}))
}

/// Prometheus metrics, text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn prometheus_metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grpc_bind(kind: ApiKind, args: &ServerArgs, file: Option<&str>) -> String {
        let mut config = TaskerConfig::default();
        if let Some(addr) = file {
            config.grpc.bind_address = addr.to_owned();
        }
        configure_grpc_bind(&mut config, args, kind);
        config.grpc.bind_address
    }

    #[test]
    fn grpc_bind_follows_flag_then_free_port_then_file_then_default() {
        let args = |bind: Option<&str>, grpc: Option<&str>| ServerArgs {
            bind: bind.map(str::to_owned),
            grpc_bind: grpc.map(str::to_owned),
            ..ServerArgs::default()
        };
        let none = args(None, None);
        assert_eq!(
            grpc_bind(ApiKind::Orchestration, &none, None),
            "127.0.0.1:9190"
        );
        assert_eq!(grpc_bind(ApiKind::Worker, &none, None), "127.0.0.1:9191");
        assert_eq!(
            grpc_bind(ApiKind::Worker, &none, Some("0.0.0.0:7000")),
            "0.0.0.0:7000"
        );
        let free = args(Some("127.0.0.1:0"), None);
        assert_eq!(
            grpc_bind(ApiKind::Worker, &free, Some("0.0.0.0:7000")),
            "127.0.0.1:0"
        );
        let fixed = args(Some("127.0.0.1:8088"), None);
        assert_eq!(
            grpc_bind(ApiKind::Orchestration, &fixed, None),
            "127.0.0.1:9190"
        );
        let flag = args(Some("127.0.0.1:0"), Some("127.0.0.1:5000"));
        assert_eq!(grpc_bind(ApiKind::Worker, &flag, None), "127.0.0.1:5000");
    }
}
