//! Both Tasker APIs in one process with authentication on: what `cargo run --example demo` runs.
//!
//! [`start`] generates an ES256 key pair for this run (nothing is written to disk), mints tokens
//! for four roles, registers two API keys, starts the orchestration API (default
//! 127.0.0.1:8080) and the worker API (default 127.0.0.1:8081), each also over gRPC (default
//! 127.0.0.1:9190 and 127.0.0.1:9191), and prepares `curl` lines and one `grpc_client` command
//! that work exactly as printed by [`banner`], one of them showing a 403.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use crate::grpc::GrpcBound;
use crate::server::{self, ApiKind, Bound, StartupError};
use crate::store::Store;
use crate::{orchestration, worker};
use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
use tasker_auth::{Role, SecurityService, TaskerConfig, hash_api_key};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The API-key header the demo configures.
const API_KEY_HEADER: &str = "X-API-Key";

/// Command-line arguments of the demo.
#[derive(Debug, Clone, clap::Parser)]
pub struct DemoArgs {
    /// Where the orchestration API listens (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub orchestration_bind: String,
    /// Where the worker API listens (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub worker_bind: String,
    /// Where the orchestration gRPC API listens (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9190")]
    pub orchestration_grpc_bind: String,
    /// Where the worker gRPC API listens (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9191")]
    pub worker_grpc_bind: String,
}

/// One request the demo suggests, with the status it gets.
#[derive(Debug, Clone)]
pub struct DemoRequest {
    /// What it shows.
    pub title: String,
    /// HTTP method.
    pub method: &'static str,
    /// Full URL.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// JSON body, if any.
    pub body: Option<String>,
    /// The status the demo servers answer with.
    pub expected_status: u16,
}

impl DemoRequest {
    /// The request as a `curl` command line that can be pasted into a POSIX shell as is.
    pub fn curl(&self) -> String {
        let mut line = String::from("curl -s -w '\\n%{http_code}\\n'");
        if self.method != "GET" {
            let _ = write!(line, " -X {}", self.method);
        }
        let _ = write!(line, " {}", shell_quote(&self.url));
        for (name, value) in &self.headers {
            let _ = write!(line, " -H {}", shell_quote(&format!("{name}: {value}")));
        }
        if let Some(body) = &self.body {
            let _ = write!(line, " -d {}", shell_quote(body));
        }
        line
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The running demo.
#[derive(Debug)]
pub struct Demo {
    /// Where the orchestration API listens.
    pub orchestration: SocketAddr,
    /// Where the worker API listens.
    pub worker: SocketAddr,
    /// Where the orchestration gRPC API listens.
    pub orchestration_grpc: SocketAddr,
    /// Where the worker gRPC API listens.
    pub worker_grpc: SocketAddr,
    /// The gRPC client command the banner prints: the read-only token lists the tasks of the
    /// orchestration gRPC API with `examples/grpc_client.rs`.
    pub grpc_command: String,
    /// The suggested requests.
    pub requests: Vec<DemoRequest>,
    /// Minted tokens by role name.
    pub tokens: Vec<(Role, String)>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
}

/// The environment variable and the arguments of the gRPC command the demo prints; the
/// command line is `{var}={token} cargo run --example grpc_client -- {args}`.
#[derive(Debug, Clone)]
pub struct GrpcCommand {
    /// The credential variable and its value.
    pub env: (String, String),
    /// The arguments after `--`.
    pub args: Vec<String>,
}

impl GrpcCommand {
    /// The command line, to paste into a POSIX shell as is.
    pub fn shell(&self) -> String {
        let mut line = format!(
            "{}={} cargo run --example grpc_client --",
            self.env.0,
            shell_quote(&self.env.1)
        );
        for arg in &self.args {
            let _ = write!(line, " {arg}");
        }
        line
    }
}

impl Demo {
    /// Stops both servers and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for s in self.servers {
            let _ = s.await;
        }
    }
}

fn demo_config(public_pem: &str, api_keys: &[(&str, &str, &[&str])]) -> TaskerConfig {
    let mut toml = format!(
        r#"
[web]
config_endpoint_enabled = true

[web.auth]
enabled = true
jwt_issuer = "tasker-core"
jwt_audience = "tasker-api"
jwt_verification_method = "public_key"
jwt_public_key = """
{public_pem}"""
jwt_allowed_algorithms = ["ES256"]
api_keys_enabled = true
api_key_header = "{API_KEY_HEADER}"
"#
    );
    for (key, description, permissions) in api_keys {
        let _ = write!(
            toml,
            "\n[[web.auth.api_keys]]\nkey_sha256 = \"{}\"\ndescription = \"{description}\"\npermissions = {:?}\n",
            hash_api_key(key),
            permissions
        );
    }
    match TaskerConfig::from_toml_str(&toml, &|_| None) {
        Ok(config) => config,
        Err(e) => unreachable!("the demo's own configuration is valid: {e}"),
    }
}

/// The minted token of `role`.
fn token_of(tokens: &[(Role, String)], role: Role) -> String {
    tokens
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, t)| t.clone())
        .unwrap_or_default()
}

/// A fresh random API key (two v4 UUIDs: 244 random bits).
fn fresh_api_key() -> String {
    format!(
        "tsk_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Starts both servers with authentication on and prepares the suggested requests; gRPC
/// listens on free ports of 127.0.0.1 (see [`start_with`] to choose).
pub async fn start(orchestration_bind: &str, worker_bind: &str) -> Result<Demo, StartupError> {
    start_with(&DemoArgs {
        orchestration_bind: orchestration_bind.to_owned(),
        worker_bind: worker_bind.to_owned(),
        orchestration_grpc_bind: "127.0.0.1:0".to_owned(),
        worker_grpc_bind: "127.0.0.1:0".to_owned(),
    })
    .await
}

/// Starts both servers, REST and gRPC, on the addresses of `args`, with authentication on,
/// and prepares the suggested requests.
pub async fn start_with(args: &DemoArgs) -> Result<Demo, StartupError> {
    let (orchestration_bind, worker_bind) = (&args.orchestration_bind, &args.worker_bind);
    let keys = match KeyPair::generate(KeyAlgorithm::Es256) {
        Ok(keys) => keys,
        Err(e) => unreachable!("ES256 key generation cannot fail: {e}"),
    };
    let ci_key = fresh_api_key();
    let monitor_key = fresh_api_key();
    let config = demo_config(
        &keys.public_key_pem(),
        &[
            (&ci_key, "ci-reader", &["tasks:read", "tasks:list"]),
            (&monitor_key, "dlq-monitor", &["dlq:read", "dlq:stats"]),
        ],
    );

    let store = Store::seeded();
    // One service for both servers and both protocols: one token cache, one set of keys.
    let security = SecurityService::from_config(&config.web.auth)?;
    let (orchestration_app, _) = orchestration::app_with(&config, &security, store.clone())?;
    let (worker_app, _) = worker::app_with(&config, &security, store.clone())?;
    let orchestration_grpc_app =
        crate::grpc::app(ApiKind::Orchestration, &config, store.clone()).await?;
    let worker_grpc_app = crate::grpc::app(ApiKind::Worker, &config, store.clone()).await?;
    let orchestration = Bound::bind(orchestration_bind).await?;
    let worker = Bound::bind(worker_bind).await?;
    let orchestration_grpc = GrpcBound::bind(&args.orchestration_grpc_bind).await?;
    let worker_grpc = GrpcBound::bind(&args.worker_grpc_bind).await?;
    let (o_addr, w_addr) = (orchestration.addr(), worker.addr());
    let (og_addr, wg_addr) = (orchestration_grpc.addr(), worker_grpc.addr());
    let (shutdown, rx) = watch::channel(false);
    let until_shutdown = |mut rx: watch::Receiver<bool>| async move {
        tokio::select! {
            _ = rx.wait_for(|stop| *stop) => {},
            () = server::shutdown_signal() => {},
        }
    };
    let servers = vec![
        tokio::spawn(orchestration.serve(orchestration_app, until_shutdown(rx.clone()))),
        tokio::spawn(worker.serve(worker_app, until_shutdown(rx.clone()))),
        tokio::spawn(orchestration_grpc.serve(
            orchestration_grpc_app,
            security.clone(),
            until_shutdown(rx.clone()),
        )),
        tokio::spawn(worker_grpc.serve(worker_grpc_app, security, until_shutdown(rx))),
    ];

    let mint = |role: Role| {
        let request = TokenRequest {
            subject: format!("demo-{role}"),
            permissions: role.grants().iter().map(|g| (*g).to_owned()).collect(),
            issuer: "tasker-core".into(),
            audience: "tasker-api".into(),
            ttl: Duration::from_secs(3600),
            kid: None,
        };
        match keys.mint(&request) {
            Ok(token) => (role, token),
            Err(e) => unreachable!("minting with the demo's own key cannot fail: {e}"),
        }
    };
    let tokens: Vec<(Role, String)> = [
        Role::ReadOnly,
        Role::TaskSubmitter,
        Role::OpsAdmin,
        Role::WorkerService,
    ]
    .into_iter()
    .map(mint)
    .collect();
    let bearer = |role: Role| {
        let token = token_of(&tokens, role);
        ("Authorization".to_owned(), format!("Bearer {token}"))
    };
    let o = format!("http://{o_addr}");
    let w = format!("http://{w_addr}");
    let json = ("Content-Type".to_owned(), "application/json".to_owned());
    let new_task = r#"{"name":"order_fulfillment","namespace":"ecommerce","version":"1.0.0","context":{"order_id":"ORD-2001","customer_email":"pat@example.com"},"reason":"demo"}"#;
    let req = |title: &str,
               method,
               url: String,
               headers: Vec<(String, String)>,
               body: Option<&str>,
               expected_status| {
        DemoRequest {
            title: title.to_owned(),
            method,
            url,
            headers,
            body: body.map(str::to_owned),
            expected_status,
        }
    };
    let requests = vec![
        req(
            "public: health, no credentials needed",
            "GET",
            format!("{o}/health"),
            vec![],
            None,
            200,
        ),
        req(
            "no credentials on a protected route: 401 missing",
            "GET",
            format!("{o}/v1/tasks"),
            vec![],
            None,
            401,
        ),
        req(
            "read-only: list tasks",
            "GET",
            format!("{o}/v1/tasks"),
            vec![bearer(Role::ReadOnly)],
            None,
            200,
        ),
        req(
            "read-only: submit a task -> 403, tasks:create is missing (the body is never read)",
            "POST",
            format!("{o}/v1/tasks"),
            vec![bearer(Role::ReadOnly), json.clone()],
            Some(new_task),
            403,
        ),
        req(
            "task-submitter: submit a task",
            "POST",
            format!("{o}/v1/tasks"),
            vec![bearer(Role::TaskSubmitter), json],
            Some(new_task),
            201,
        ),
        req(
            "ops-admin: DLQ statistics",
            "GET",
            format!("{o}/v1/dlq/stats"),
            vec![bearer(Role::OpsAdmin)],
            None,
            200,
        ),
        req(
            "ops-admin: analytics",
            "GET",
            format!("{o}/v1/analytics/performance"),
            vec![bearer(Role::OpsAdmin)],
            None,
            200,
        ),
        req(
            "ops-admin: running configuration, secrets redacted",
            "GET",
            format!("{o}/config"),
            vec![bearer(Role::OpsAdmin)],
            None,
            200,
        ),
        req(
            "worker-service: worker templates",
            "GET",
            format!("{w}/v1/templates"),
            vec![bearer(Role::WorkerService)],
            None,
            200,
        ),
        req(
            "worker-service on the orchestration API -> 403",
            "GET",
            format!("{o}/v1/templates"),
            vec![bearer(Role::WorkerService)],
            None,
            403,
        ),
        req(
            "API key `ci-reader` (tasks:read, tasks:list): list tasks",
            "GET",
            format!("{o}/v1/tasks"),
            vec![(API_KEY_HEADER.to_owned(), ci_key)],
            None,
            200,
        ),
        req(
            "API key `dlq-monitor` (dlq:read, dlq:stats): DLQ entries",
            "GET",
            format!("{o}/v1/dlq"),
            vec![(API_KEY_HEADER.to_owned(), monitor_key)],
            None,
            200,
        ),
    ];
    let grpc_command = GrpcCommand {
        env: (
            "TASKER_AUTH_TOKEN".to_owned(),
            token_of(&tokens, Role::ReadOnly),
        ),
        args: vec![
            "--endpoint".to_owned(),
            format!("http://{og_addr}"),
            "list-tasks".to_owned(),
        ],
    };
    Ok(Demo {
        orchestration: o_addr,
        worker: w_addr,
        orchestration_grpc: og_addr,
        worker_grpc: wg_addr,
        grpc_command: grpc_command.shell(),
        requests,
        tokens,
        shutdown,
        servers,
    })
}

/// What the demo prints once both servers listen.
pub fn banner(demo: &Demo) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Tasker demo: authentication is ON (ES256 key pair generated for this run; nothing written to disk)"
    );
    let _ = writeln!(
        out,
        "  orchestration API  http://{}   OpenAPI: http://{}/api-docs/openapi.json   Swagger UI: http://{}/api-docs/ui",
        demo.orchestration, demo.orchestration, demo.orchestration
    );
    let _ = writeln!(out, "  worker API         http://{}", demo.worker);
    let _ = writeln!(
        out,
        "  gRPC               orchestration http://{}   worker http://{}   (health and reflection public)",
        demo.orchestration_grpc, demo.worker_grpc
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Tokens (1 hour), by role preset:");
    for (role, token) in &demo.tokens {
        let _ = writeln!(out, "  {:<15} {token}", role.as_str());
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Try these (each prints the body, then the status):");
    for r in &demo.requests {
        let _ = writeln!(out, "\n# {} (expect {})", r.title, r.expected_status);
        let _ = writeln!(out, "{}", r.curl());
    }
    let _ = writeln!(
        out,
        "\n# gRPC: read-only lists the tasks over gRPC (examples/grpc_client.rs; see docs/grpc.md)"
    );
    let _ = writeln!(out, "{}", demo.grpc_command);
    let _ = writeln!(out, "\nCtrl-C stops both servers.");
    out
}

/// Runs the demo until Ctrl-C or SIGTERM: starts both servers, prints the [`banner`], then
/// stops them cleanly.
pub async fn run(args: &DemoArgs) -> std::process::ExitCode {
    let demo = match start_with(args).await {
        Ok(demo) => demo,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "(another process on the port? try --orchestration-bind 127.0.0.1:0 --worker-bind 127.0.0.1:0 \
                 --orchestration-grpc-bind 127.0.0.1:0 --worker-grpc-bind 127.0.0.1:0)"
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    let signal = server::shutdown_signal();
    server::announce(demo.orchestration);
    server::announce(demo.worker);
    crate::grpc::announce(demo.orchestration_grpc);
    crate::grpc::announce(demo.worker_grpc);
    print!("{}", banner(&demo));
    signal.await;
    demo.stop().await;
    std::process::ExitCode::SUCCESS
}
