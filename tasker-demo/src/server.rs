//! What both demo servers share: command-line arguments, configuration, the public routes
//! (health, metrics, OpenAPI and Swagger UI), the assembly of protected and public routes, and
//! serving with a `listening on` line and graceful shutdown.

use std::future::Future;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{Json, Router};
use http::{StatusCode, header};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as AutoBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use tasker_auth::ErrorBody;
use tasker_auth::openapi::{ProtectedRoutes, UnguardedRoute, add_security_schemes};
use tasker_auth::{ConfigError, SecurityService, TaskerConfig};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa::{PartialSchema as _, ToSchema as _};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::api_error::json_error_bodies;
use crate::store::Store;

/// How long a client has to send the headers of a request before its connection is closed, so
/// that a client sending half a request and stopping (slowloris) cannot hold a connection.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the Prometheus recorder's upkeep drains recorded histogram samples into their
/// summaries, so that memory stays flat when nobody scrapes `/metrics`.
pub const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(1);
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
    security: &SecurityService,
    routes: fn(&TaskerConfig, &SecurityService) -> ProtectedRoutes<AppState>,
    store: Store,
) -> Result<(Router, OpenApi), StartupError> {
    // Install the recorder before the first request so that no metric is lost.
    prometheus();
    let (protected, mut api) = routes(config, security).build()?;
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
    document_common_errors(&mut api);

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
        ))
        .layer(axum::middleware::map_response(json_error_bodies));
    Ok((app, api))
}

/// Documents, on every operation, the errors that come from the extractors and layers rather
/// than from the handler: 400 for a path or query parameter that does not parse or a body that
/// is not JSON, 413, 415 and 422 for a body, 408 for any request; and gives every error response
/// the JSON body [`ErrorBody`].
///
/// They are derived from the operation's own parameters and request body, so they cannot drift
/// from what the extractors of [`crate::extract`] answer.
fn document_common_errors(api: &mut OpenApi) {
    let error_body = ErrorBody::name();
    let components = api.components.get_or_insert_with(Default::default);
    if !components.schemas.contains_key(error_body.as_ref()) {
        let mut schemas = vec![(error_body.to_string(), ErrorBody::schema())];
        ErrorBody::schemas(&mut schemas);
        components.schemas.extend(schemas);
    }
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            let parameters_in = |place: ParameterIn| {
                op.parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
            };
            let (in_path, in_query) = (
                parameters_in(ParameterIn::Path),
                parameters_in(ParameterIn::Query),
            );
            let has_body = op.request_body.is_some();
            let mut bad = Vec::new();
            if in_path {
                bad.push("a path parameter that does not parse, such as a UUID that is not one (reason `invalid_path`)");
            }
            if in_query {
                bad.push("a query parameter that does not parse, such as a status that is not listed (reason `invalid_query`)");
            }
            if has_body {
                bad.push("a body that is not JSON (reason `malformed_body`)");
            }
            let responses = &mut op.responses.responses;
            let mut add = |status: &str, description: String| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(Response::new(description)));
            };
            if !bad.is_empty() {
                add("400", format!("Bad request: {}", bad.join("; ")));
            }
            if has_body {
                add(
                    "413",
                    format!(
                        "The body is over {} MiB (reason `body_too_large`)",
                        BODY_LIMIT / (1024 * 1024)
                    ),
                );
                add(
                    "415",
                    "The body is not sent as `Content-Type: application/json` (reason `not_json`)"
                        .to_owned(),
                );
                add(
                    "422",
                    "The body is JSON of the wrong shape: a missing, unknown or mistyped field \
                     (reason `invalid_body`)"
                        .to_owned(),
                );
            }
            add(
                "408",
                format!(
                    "The request took longer than {} s (reason `timeout`)",
                    REQUEST_TIMEOUT.as_secs()
                ),
            );
            for (status, response) in responses.iter_mut() {
                let is_error = status.parse::<u16>().is_ok_and(|s| s >= 400);
                if let (true, RefOr::T(response)) = (is_error, response)
                    && response.content.is_empty()
                {
                    response.content.insert(
                        "application/json".to_owned(),
                        RefOr::T(Content::new(Some(Ref::from_schema_name(
                            error_body.clone(),
                        )))),
                    );
                }
            }
        }
    }
}

/// A bound listener, ready to serve.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    header_read_timeout: Duration,
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
        Ok(Bound {
            listener,
            addr,
            header_read_timeout: HEADER_READ_TIMEOUT,
        })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces [`HEADER_READ_TIMEOUT`], the time a client has to send a request's headers.
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Serves `app` (HTTP/1.1, and HTTP/2 over cleartext with prior knowledge) until `shutdown`
    /// completes, then stops accepting and finishes in-flight requests.
    ///
    /// A connection that has not delivered the headers of a request within the header-read
    /// timeout is closed: on a new connection the clock starts at accept, whatever the protocol
    /// (a client that sends nothing, or half a request line, is dropped), and between the
    /// requests of a kept-alive HTTP/1.1 connection hyper restarts it for each request.
    pub async fn serve(
        self,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut builder = AutoBuilder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        builder.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        accept_failed(e).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let started = Arc::new(AtomicBool::new(false));
            let service = {
                let started = Arc::clone(&started);
                let app = TowerToHyperService::new(app.clone());
                hyper::service::service_fn(move |request| {
                    started.store(true, Ordering::Relaxed);
                    hyper::service::Service::call(&app, request)
                })
            };
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            let first_request_deadline = self.header_read_timeout;
            tokio::spawn(async move {
                let mut connection = std::pin::pin!(connection);
                tokio::select! {
                    result = &mut connection => return connection_ended(result),
                    () = tokio::time::sleep(first_request_deadline) => {}
                }
                if !started.load(Ordering::Relaxed) {
                    tracing::debug!("closing a connection that sent no request headers in time");
                    return;
                }
                connection_ended(connection.await);
            });
        }
        drop(self.listener);
        graceful.shutdown().await;
        Ok(())
    }
}

/// A failed `accept`: a connection that died before it was accepted is skipped; anything else
/// (out of file descriptors, say) is logged and retried after a pause rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn connection_ended(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

/// Builds an application, with its OpenAPI document, from a configuration, the
/// [`SecurityService`] that authenticates its requests (shared with the gRPC server, so both
/// protocols use one token cache and one JWKS key set) and a store.
pub type AppBuilder =
    fn(&TaskerConfig, &SecurityService, Store) -> Result<(Router, OpenApi), StartupError>;

/// Runs a server: loads the configuration, builds the application over a seeded store, binds,
/// prints `listening on http://IP:PORT` and serves until Ctrl-C or SIGTERM. With `[grpc]
/// enabled` it also serves the gRPC API from the same store, prints `grpc listening on
/// http://IP:PORT` after the first line, and stops both listeners on the same signal.
pub async fn run(kind: ApiKind, args: &ServerArgs, app: AppBuilder) -> Result<(), StartupError> {
    let config = load_config(args, kind)?;
    let store = Store::seeded();
    let security = SecurityService::from_config(&config.web.auth)?;
    let (app, _) = app(&config, &security, store.clone())?;
    let grpc = if config.grpc.enabled {
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
    // Installed before the first line is printed: see `shutdown_signal`.
    let signal = shutdown_signal();
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
        signal.await;
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
///
/// The handlers are installed when this function is called, not when the future is first
/// polled: call it before announcing the server, so that a signal sent as soon as the
/// `listening on` line appears stops the server gracefully instead of killing the process.
/// Must be called within a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = received(interrupt.as_mut()) => {},
                () = received(terminate.as_mut()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}

/// Logs to stderr (`RUST_LOG` to filter; default `info`), coloured only when stderr is a
/// terminal, so logs redirected to a file or a pipe carry no escape codes.
pub fn init_tracing() {
    init_tracing_with_default("info");
}

/// [`init_tracing`] with another filter when `RUST_LOG` is unset (the example clients use
/// `warn`, so that their output is the answer).
pub fn init_tracing_with_default(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
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

/// The process-wide Prometheus recorder, installed on first use, with its upkeep running every
/// [`METRICS_UPKEEP_INTERVAL`].
///
/// `build_recorder` spawns no upkeep: without it every histogram sample stays in memory until a
/// scrape renders it. The upkeep runs on its own thread rather than a tokio task because the
/// recorder outlives any one runtime (each test has its own).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (for example by a test harness); the
        // handle then renders this one's (empty) registry, which is still valid output.
        let _ = metrics::set_global_recorder(recorder);
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(METRICS_UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no metrics upkeep thread: histograms are drained only by scrapes");
        }
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
    use axum::body::Bytes;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    async fn serve(header_read_timeout: Duration) -> SocketAddr {
        let bound = Bound::bind("127.0.0.1:0")
            .await
            .unwrap()
            .with_header_read_timeout(header_read_timeout);
        let addr = bound.addr();
        let app = Router::new().route("/", get(|| async { "ok" }));
        tokio::spawn(bound.serve(app, std::future::pending()));
        addr
    }

    /// Reads until the server closes the connection, and returns what it sent before.
    async fn read_until_closed(stream: &mut TcpStream) -> String {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[tokio::test]
    async fn a_client_that_stops_sending_its_headers_is_disconnected() {
        let addr = serve(Duration::from_millis(200)).await;
        let partial: [&[u8]; 4] = [
            b"",
            b"GET / HT",
            b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ",
            b"PRI * HTTP/2.0\r\n",
        ];
        for sent in partial {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(sent).await.unwrap();
            // Far above the bound: without it the server would wait for ever.
            let answer =
                tokio::time::timeout(Duration::from_secs(20), read_until_closed(&mut stream))
                    .await
                    .unwrap_or_else(|_| {
                        panic!("still open after {:?}", String::from_utf8_lossy(sent))
                    });
            assert!(answer.is_empty(), "closed without an answer: {answer}");
        }
    }

    /// Without upkeep, histogram samples pile up until a scrape (`scripts/metrics-soak.sh`
    /// measures the memory; this checks that the upkeep runs).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_prometheus_recorder_gets_its_upkeep_thread() {
        prometheus();
        let names = || -> Vec<String> {
            let threads = std::fs::read_dir("/proc/self/task").unwrap();
            threads
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|name| name.trim().to_owned())
                .collect()
        };
        // A new thread names itself once it runs: until then it carries its parent's name.
        for _ in 0..200 {
            if names().iter().any(|n| n == "metrics-upkeep") {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no metrics-upkeep thread: {:?}", names());
    }

    #[tokio::test]
    async fn complete_requests_are_served_over_http1_and_cleartext_http2() {
        let addr = serve(HEADER_READ_TIMEOUT).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok"), "{answer}");

        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let request = http::Request::get(format!("http://{addr}/"))
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), http::Version::HTTP_2);
    }

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
