//! Calls the Tasker gRPC APIs with a tonic client, credentials resolved the way every Tasker
//! client resolves them (`tasker_auth::client`, `docs/client.md`) and put on the channel by
//! `GrpcCredentialsLayer`.
//!
//! Run the demo servers in one shell; they print a ready-to-paste command:
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! then, in another shell, with one of the tokens it prints:
//!
//! ```text
//! TASKER_AUTH_TOKEN=<token> cargo run --example grpc_client -- --endpoint http://127.0.0.1:9190 list-tasks
//! cargo run --example grpc_client -- get-task <task_uuid>
//! cargo run --example grpc_client -- create-task --namespace ecommerce --name order_fulfillment \
//!     --version 1.0.0 --context '{"order_id":"ORD-9","customer_email":"a@example.com"}'
//! cargo run --example grpc_client -- health                # public: no credentials needed
//! cargo run --example grpc_client -- --worker --endpoint http://127.0.0.1:9191 list-templates
//! ```
//!
//! `TASKER_ORCHESTRATION_AUTH_TOKEN` (or `TASKER_WORKER_AUTH_TOKEN` with `--worker`),
//! `TASKER_AUTH_TOKEN`, `TASKER_API_KEY` or `TASKER_JWT_PRIVATE_KEY_PATH` (minted, renewed
//! tokens) all work. A refused call prints its gRPC status and `x-auth-failure-reason`, and the
//! process exits 1.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tasker_auth::client::{ClientCredentials, Endpoint, GrpcCredentialsLayer};
use tasker_proto::v1::task_service_client::TaskServiceClient;
use tasker_proto::v1::worker_template_service_client::WorkerTemplateServiceClient;
use tasker_proto::v1::{CreateTaskRequest, GetTaskRequest, ListTasksRequest, ListTemplatesRequest};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A tonic client for the Tasker gRPC APIs.
#[derive(Debug, Parser)]
struct Args {
    /// The server's gRPC address.
    #[arg(long, default_value = "http://127.0.0.1:9190")]
    endpoint: http::Uri,
    /// The server is the worker API (its credentials come first from
    /// `TASKER_WORKER_AUTH_TOKEN`).
    #[arg(long)]
    worker: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// TaskService.ListTasks (tasks:list).
    ListTasks,
    /// TaskService.GetTask (tasks:read).
    GetTask {
        /// The task's UUID.
        task_uuid: String,
    },
    /// TaskService.CreateTask (tasks:create).
    CreateTask {
        /// Template namespace.
        #[arg(long)]
        namespace: String,
        /// Template name.
        #[arg(long)]
        name: String,
        /// Template version.
        #[arg(long, default_value = "1.0.0")]
        version: String,
        /// The task's context, a JSON object.
        #[arg(long, default_value = "{}")]
        context: String,
    },
    /// WorkerTemplateService.ListTemplates on the worker API (worker:templates_read).
    ListTemplates,
    /// grpc.health.v1.Health/Check: public, no credentials needed.
    Health,
}

#[tokio::main]
async fn main() -> ExitCode {
    tasker_demo::server::init_tracing_with_default("warn");
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = if args.worker {
        Endpoint::Worker
    } else {
        Endpoint::Orchestration
    };
    let credentials = ClientCredentials::from_env(endpoint)?;
    let channel = Channel::builder(args.endpoint.clone())
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", args.endpoint))?;
    let channel = tower::ServiceBuilder::new()
        .layer(GrpcCredentialsLayer::new(credentials, args.endpoint))
        .service(channel);
    match args.command {
        Command::ListTasks => {
            let reply = TaskServiceClient::new(channel)
                .list_tasks(ListTasksRequest::default())
                .await
                .map_err(refused)?;
            show(&reply.into_inner().tasks);
        }
        Command::GetTask { task_uuid } => {
            let reply = TaskServiceClient::new(channel)
                .get_task(GetTaskRequest { task_uuid })
                .await
                .map_err(refused)?;
            show(&reply.into_inner());
        }
        Command::CreateTask {
            namespace,
            name,
            version,
            context,
        } => {
            let context: serde_json::Value = serde_json::from_str(&context)
                .map_err(|e| format!("--context is not JSON: {e}"))?;
            let reply = TaskServiceClient::new(channel)
                .create_task(CreateTaskRequest {
                    namespace,
                    name,
                    version,
                    context: tasker_demo::grpc::json_to_struct(context),
                    ..CreateTaskRequest::default()
                })
                .await
                .map_err(refused)?;
            show(&reply.into_inner());
        }
        Command::ListTemplates => {
            let reply = WorkerTemplateServiceClient::new(channel)
                .list_templates(ListTemplatesRequest::default())
                .await
                .map_err(refused)?;
            show(&reply.into_inner().templates);
        }
        Command::Health => {
            let reply = HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await
                .map_err(refused)?;
            show(&reply.into_inner().status());
        }
    }
    Ok(())
}

/// Prints a reply; a closed stdout (`| head`) is not an error.
fn show(reply: &impl std::fmt::Debug) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{reply:#?}");
}

/// A refused call, with the metadata that says why.
fn refused(status: tonic::Status) -> String {
    let meta = |key: &str| {
        status
            .metadata()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!(", {key}: {v}"))
            .unwrap_or_default()
    };
    format!(
        "{:?}: {}{}{}",
        status.code(),
        status.message(),
        meta("x-auth-failure-reason"),
        meta("x-required-permission")
    )
}
