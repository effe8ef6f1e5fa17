//! The demo servers' gRPC APIs end to end: the real services of `tasker_demo::grpc`, served by
//! `GrpcBound::serve` on loopback (port 0) over one store, called by real tonic clients.
//!
//! [`METHODS`] has one row per rpc of `proto/tasker/v1/*.proto` (a test reads the compiled
//! descriptors and fails on a missing or extra row), and [`call`] has one arm per row. Every row
//! is called with no credentials, with every permission but its own, with its permission, with
//! its resource wildcard, with an API key holding it, and with expired, forged and `alg: none`
//! tokens. Other tests: the parity of the REST and gRPC permission tables, the method tables
//! against the `.proto` files, health and reflection without credentials, audit fields,
//! `Task.context` visibility, status codes of bad input, and the config services' switch.

#[path = "common/auth_fixtures.rs"]
mod fixtures;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::str::FromStr as _;

use fixtures::*;
use prost::Message as _;
use serde_json::{Value, json};
use tasker_auth::grpc::GrpcAccess;
use tasker_auth::{ApiKeyConfig, Permission, SecurityService, TaskerConfig, WebConfig};
use tasker_demo::grpc::{self, GrpcBound};
use tasker_demo::server::ApiKind;
use tasker_demo::store::{NewTask, Store};
use tasker_demo::{orchestration, worker};
use tasker_proto::v1 as pb;
use tasker_proto::v1::analytics_service_client::AnalyticsServiceClient;
use tasker_proto::v1::config_service_client::ConfigServiceClient;
use tasker_proto::v1::dlq_service_client::DlqServiceClient;
use tasker_proto::v1::handler_service_client::HandlerServiceClient;
use tasker_proto::v1::step_service_client::StepServiceClient;
use tasker_proto::v1::task_service_client::TaskServiceClient;
use tasker_proto::v1::template_service_client::TemplateServiceClient;
use tasker_proto::v1::worker_config_service_client::WorkerConfigServiceClient;
use tasker_proto::v1::worker_template_service_client::WorkerTemplateServiceClient;
use tokio::sync::watch;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// Which server serves a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Server {
    Orchestration,
    Worker,
}

/// One rpc: its path, the permission it requires, and its server.
struct Row {
    path: &'static str,
    permission: &'static str,
    server: Server,
}

const fn row(path: &'static str, permission: &'static str, server: Server) -> Row {
    Row {
        path,
        permission,
        server,
    }
}

use Server::{Orchestration as O, Worker as W};

/// Every rpc of both `.proto` files.
const METHODS: &[Row] = &[
    row("/tasker.v1.TaskService/CreateTask", "tasks:create", O),
    row("/tasker.v1.TaskService/ListTasks", "tasks:list", O),
    row("/tasker.v1.TaskService/GetTask", "tasks:read", O),
    row(
        "/tasker.v1.TaskService/GetTaskContext",
        "tasks:context_read",
        O,
    ),
    row("/tasker.v1.TaskService/CancelTask", "tasks:cancel", O),
    row("/tasker.v1.TaskService/StreamTaskStatus", "tasks:read", O),
    row("/tasker.v1.StepService/ListSteps", "steps:read", O),
    row("/tasker.v1.StepService/GetStep", "steps:read", O),
    row("/tasker.v1.StepService/ResolveStep", "steps:resolve", O),
    row(
        "/tasker.v1.TemplateService/ListTemplates",
        "templates:read",
        O,
    ),
    row(
        "/tasker.v1.TemplateService/GetTemplate",
        "templates:read",
        O,
    ),
    row(
        "/tasker.v1.HandlerService/ListHandlers",
        "system:handlers_read",
        O,
    ),
    row(
        "/tasker.v1.AnalyticsService/GetPerformanceMetrics",
        "system:analytics_read",
        O,
    ),
    row(
        "/tasker.v1.AnalyticsService/GetBottlenecks",
        "system:analytics_read",
        O,
    ),
    row("/tasker.v1.DlqService/ListDlqEntries", "dlq:read", O),
    row("/tasker.v1.DlqService/GetDlqEntriesForTask", "dlq:read", O),
    row("/tasker.v1.DlqService/UpdateDlqEntry", "dlq:update", O),
    row("/tasker.v1.DlqService/GetDlqStats", "dlq:stats", O),
    row(
        "/tasker.v1.ConfigService/GetConfig",
        "system:config_read",
        O,
    ),
    row(
        "/tasker.v1.WorkerTemplateService/ListTemplates",
        "worker:templates_read",
        W,
    ),
    row(
        "/tasker.v1.WorkerTemplateService/GetTemplate",
        "worker:templates_read",
        W,
    ),
    row(
        "/tasker.v1.WorkerTemplateService/ValidateTemplate",
        "templates:validate",
        W,
    ),
    row(
        "/tasker.v1.WorkerConfigService/GetConfig",
        "worker:config_read",
        W,
    ),
];

/// The REST twin of each rpc that has one: (server, HTTP method, OpenAPI path), as the table of
/// `docs/grpc.md` gives it.
const REST_TWINS: &[(&str, Server, &str, &str)] = &[
    ("/tasker.v1.TaskService/CreateTask", O, "post", "/v1/tasks"),
    ("/tasker.v1.TaskService/ListTasks", O, "get", "/v1/tasks"),
    (
        "/tasker.v1.TaskService/GetTask",
        O,
        "get",
        "/v1/tasks/{uuid}",
    ),
    (
        "/tasker.v1.TaskService/GetTaskContext",
        O,
        "get",
        "/v1/tasks/{uuid}/context",
    ),
    (
        "/tasker.v1.TaskService/CancelTask",
        O,
        "delete",
        "/v1/tasks/{uuid}",
    ),
    (
        "/tasker.v1.StepService/ListSteps",
        O,
        "get",
        "/v1/tasks/{uuid}/workflow_steps",
    ),
    (
        "/tasker.v1.StepService/GetStep",
        O,
        "get",
        "/v1/tasks/{uuid}/workflow_steps/{step_uuid}",
    ),
    (
        "/tasker.v1.StepService/ResolveStep",
        O,
        "patch",
        "/v1/tasks/{uuid}/workflow_steps/{step_uuid}",
    ),
    (
        "/tasker.v1.TemplateService/ListTemplates",
        O,
        "get",
        "/v1/templates",
    ),
    (
        "/tasker.v1.TemplateService/GetTemplate",
        O,
        "get",
        "/v1/templates/{namespace}/{name}/{version}",
    ),
    (
        "/tasker.v1.HandlerService/ListHandlers",
        O,
        "get",
        "/v1/handlers",
    ),
    (
        "/tasker.v1.AnalyticsService/GetPerformanceMetrics",
        O,
        "get",
        "/v1/analytics/performance",
    ),
    (
        "/tasker.v1.AnalyticsService/GetBottlenecks",
        O,
        "get",
        "/v1/analytics/bottlenecks",
    ),
    ("/tasker.v1.DlqService/ListDlqEntries", O, "get", "/v1/dlq"),
    (
        "/tasker.v1.DlqService/GetDlqEntriesForTask",
        O,
        "get",
        "/v1/dlq/task/{task_uuid}",
    ),
    (
        "/tasker.v1.DlqService/UpdateDlqEntry",
        O,
        "patch",
        "/v1/dlq/entry/{dlq_entry_uuid}",
    ),
    (
        "/tasker.v1.DlqService/GetDlqStats",
        O,
        "get",
        "/v1/dlq/stats",
    ),
    ("/tasker.v1.ConfigService/GetConfig", O, "get", "/config"),
    (
        "/tasker.v1.WorkerTemplateService/ListTemplates",
        W,
        "get",
        "/v1/templates",
    ),
    (
        "/tasker.v1.WorkerTemplateService/GetTemplate",
        W,
        "get",
        "/v1/templates/{namespace}/{name}/{version}",
    ),
    (
        "/tasker.v1.WorkerTemplateService/ValidateTemplate",
        W,
        "post",
        "/v1/templates/{namespace}/{name}/{version}/validate",
    ),
    (
        "/tasker.v1.WorkerConfigService/GetConfig",
        W,
        "get",
        "/config",
    ),
];

/// An API key holding exactly `permission`.
fn key_for(permission: &str) -> String {
    format!("e2e-key-{}-0123456789", permission.replace(':', "-"))
}

/// Auth on (the fixtures' ES256 key and API keys, plus one API key per permission), config
/// services on unless `config_endpoint` is false.
fn config(config_endpoint: bool) -> TaskerConfig {
    let mut auth = config_for(ec256());
    auth.api_keys
        .extend(Permission::ALL.iter().map(|p| ApiKeyConfig {
            key: Some(key_for(p.as_str())),
            permissions: vec![p.as_str().to_owned()],
            description: format!("key-{}", p.as_str()),
            ..ApiKeyConfig::default()
        }));
    TaskerConfig {
        web: WebConfig {
            config_endpoint_enabled: config_endpoint,
            auth,
            ..WebConfig::default()
        },
        ..TaskerConfig::default()
    }
}

/// Both gRPC servers, running until dropped.
struct Servers {
    store: Store,
    orchestration: Channel,
    worker: Channel,
    _stop: watch::Sender<bool>,
}

async fn serve(
    kind: ApiKind,
    config: &TaskerConfig,
    store: Store,
    stop: &watch::Sender<bool>,
) -> SocketAddr {
    let app = grpc::app(kind, config, store).await.unwrap();
    let bound = GrpcBound::bind("127.0.0.1:0").await.unwrap();
    let addr = bound.addr();
    let security = SecurityService::from_config(&config.web.auth).unwrap();
    let mut rx = stop.subscribe();
    tokio::spawn(bound.serve(app, security, async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    addr
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn start(config: &TaskerConfig) -> Servers {
    let store = Store::seeded();
    let (stop, _) = watch::channel(false);
    let o = serve(ApiKind::Orchestration, config, store.clone(), &stop).await;
    let w = serve(ApiKind::Worker, config, store.clone(), &stop).await;
    Servers {
        store,
        orchestration: channel(o).await,
        worker: channel(w).await,
        _stop: stop,
    }
}

/// Credentials of one call, as gRPC metadata.
#[derive(Clone, Debug)]
enum Creds {
    None,
    Bearer(String),
    ApiKey(String),
}

fn request<T>(message: T, creds: &Creds) -> Request<T> {
    let mut request = Request::new(message);
    match creds {
        Creds::None => {}
        Creds::Bearer(token) => {
            let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        Creds::ApiKey(key) => {
            let value = MetadataValue::try_from(key.as_str()).unwrap();
            request.metadata_mut().insert("x-api-key", value);
        }
    }
    request
}

/// Fresh data for one call: a new pending task (so that cancelling it succeeds), one of its
/// steps, and the seeded DLQ entry.
struct Ids {
    task: String,
    step: String,
    dlq_task: String,
    dlq_entry: String,
}

fn fresh_ids(store: &Store) -> Ids {
    let task = store
        .create_task(
            NewTask {
                namespace: "ecommerce".into(),
                name: "order_fulfillment".into(),
                version: "1.0.0".into(),
                context: json!({"order_id": "ORD-E2E", "customer_email": "e2e@example.com"}),
                reason: "e2e".into(),
                priority: 0,
                tags: vec![],
            },
            "e2e-setup",
        )
        .expect("the store has room");
    let step = store.steps(task.task_uuid).unwrap()[0].step_uuid;
    let dlq = store.dlq(None).remove(0);
    Ids {
        task: task.task_uuid.to_string(),
        step: step.to_string(),
        dlq_task: dlq.task_uuid.to_string(),
        dlq_entry: dlq.dlq_entry_uuid.to_string(),
    }
}

fn order_context() -> Option<prost_types::Struct> {
    grpc::json_to_struct(json!({"order_id": "ORD-1", "customer_email": "a@example.com"}))
}

/// Calls the rpc at `path` with `creds` and data made for it.
async fn call(servers: &Servers, path: &str, creds: &Creds) -> Result<(), Status> {
    let ids = fresh_ids(&servers.store);
    let o = servers.orchestration.clone();
    let w = servers.worker.clone();
    let c = creds;
    let template = || pb::GetTemplateRequest {
        namespace: "ecommerce".into(),
        name: "order_fulfillment".into(),
        version: "1.0.0".into(),
    };
    match path {
        "/tasker.v1.TaskService/CreateTask" => {
            let message = pb::CreateTaskRequest {
                namespace: "ecommerce".into(),
                name: "order_fulfillment".into(),
                version: "1.0.0".into(),
                context: order_context(),
                ..Default::default()
            };
            TaskServiceClient::new(o)
                .create_task(request(message, c))
                .await?;
        }
        "/tasker.v1.TaskService/ListTasks" => {
            let message = pb::ListTasksRequest::default();
            TaskServiceClient::new(o)
                .list_tasks(request(message, c))
                .await?;
        }
        "/tasker.v1.TaskService/GetTask" => {
            let message = pb::GetTaskRequest {
                task_uuid: ids.task,
            };
            TaskServiceClient::new(o)
                .get_task(request(message, c))
                .await?;
        }
        "/tasker.v1.TaskService/GetTaskContext" => {
            let message = pb::GetTaskContextRequest {
                task_uuid: ids.task,
            };
            TaskServiceClient::new(o)
                .get_task_context(request(message, c))
                .await?;
        }
        "/tasker.v1.TaskService/CancelTask" => {
            let message = pb::CancelTaskRequest {
                task_uuid: ids.task,
            };
            TaskServiceClient::new(o)
                .cancel_task(request(message, c))
                .await?;
        }
        "/tasker.v1.TaskService/StreamTaskStatus" => {
            let message = pb::StreamTaskStatusRequest {
                task_uuid: ids.task,
            };
            let mut stream = TaskServiceClient::new(o)
                .stream_task_status(request(message, c))
                .await?
                .into_inner();
            let first = stream.message().await?.expect("a first update");
            assert_eq!(first.status(), pb::TaskStatus::Pending);
            assert!(stream.message().await?.is_none(), "a finite stream");
        }
        "/tasker.v1.StepService/ListSteps" => {
            let message = pb::ListStepsRequest {
                task_uuid: ids.task,
            };
            StepServiceClient::new(o)
                .list_steps(request(message, c))
                .await?;
        }
        "/tasker.v1.StepService/GetStep" => {
            let message = pb::GetStepRequest {
                task_uuid: ids.task,
                step_uuid: ids.step,
            };
            StepServiceClient::new(o)
                .get_step(request(message, c))
                .await?;
        }
        "/tasker.v1.StepService/ResolveStep" => {
            let message = pb::ResolveStepRequest {
                task_uuid: ids.task,
                step_uuid: ids.step,
                action: pb::StepAction::ResolveManually.into(),
                note: Some("by hand".into()),
                results: None,
            };
            StepServiceClient::new(o)
                .resolve_step(request(message, c))
                .await?;
        }
        "/tasker.v1.TemplateService/ListTemplates" => {
            let message = pb::ListTemplatesRequest {};
            TemplateServiceClient::new(o)
                .list_templates(request(message, c))
                .await?;
        }
        "/tasker.v1.TemplateService/GetTemplate" => {
            TemplateServiceClient::new(o)
                .get_template(request(template(), c))
                .await?;
        }
        "/tasker.v1.HandlerService/ListHandlers" => {
            let message = pb::ListHandlersRequest {};
            HandlerServiceClient::new(o)
                .list_handlers(request(message, c))
                .await?;
        }
        "/tasker.v1.AnalyticsService/GetPerformanceMetrics" => {
            let message = pb::GetPerformanceMetricsRequest {};
            AnalyticsServiceClient::new(o)
                .get_performance_metrics(request(message, c))
                .await?;
        }
        "/tasker.v1.AnalyticsService/GetBottlenecks" => {
            let message = pb::GetBottlenecksRequest {};
            AnalyticsServiceClient::new(o)
                .get_bottlenecks(request(message, c))
                .await?;
        }
        "/tasker.v1.DlqService/ListDlqEntries" => {
            let message = pb::ListDlqEntriesRequest::default();
            DlqServiceClient::new(o)
                .list_dlq_entries(request(message, c))
                .await?;
        }
        "/tasker.v1.DlqService/GetDlqEntriesForTask" => {
            let message = pb::GetDlqEntriesForTaskRequest {
                task_uuid: ids.dlq_task,
            };
            DlqServiceClient::new(o)
                .get_dlq_entries_for_task(request(message, c))
                .await?;
        }
        "/tasker.v1.DlqService/UpdateDlqEntry" => {
            let message = pb::UpdateDlqEntryRequest {
                dlq_entry_uuid: ids.dlq_entry,
                resolution_status: pb::DlqStatus::Investigating.into(),
                resolution_notes: Some("looking".into()),
            };
            DlqServiceClient::new(o)
                .update_dlq_entry(request(message, c))
                .await?;
        }
        "/tasker.v1.DlqService/GetDlqStats" => {
            let message = pb::GetDlqStatsRequest {};
            DlqServiceClient::new(o)
                .get_dlq_stats(request(message, c))
                .await?;
        }
        "/tasker.v1.ConfigService/GetConfig" => {
            let message = pb::GetConfigRequest {};
            ConfigServiceClient::new(o)
                .get_config(request(message, c))
                .await?;
        }
        "/tasker.v1.WorkerTemplateService/ListTemplates" => {
            let message = pb::ListTemplatesRequest {};
            WorkerTemplateServiceClient::new(w)
                .list_templates(request(message, c))
                .await?;
        }
        "/tasker.v1.WorkerTemplateService/GetTemplate" => {
            WorkerTemplateServiceClient::new(w)
                .get_template(request(template(), c))
                .await?;
        }
        "/tasker.v1.WorkerTemplateService/ValidateTemplate" => {
            let message = pb::ValidateTemplateRequest {
                namespace: "ecommerce".into(),
                name: "order_fulfillment".into(),
                version: "1.0.0".into(),
                context: order_context(),
            };
            let report = WorkerTemplateServiceClient::new(w)
                .validate_template(request(message, c))
                .await?
                .into_inner();
            assert!(report.valid, "{report:?}");
        }
        "/tasker.v1.WorkerConfigService/GetConfig" => {
            let message = pb::GetConfigRequest {};
            WorkerConfigServiceClient::new(w)
                .get_config(request(message, c))
                .await?;
        }
        other => panic!("no call for {other}: add an arm to call()"),
    }
    Ok(())
}

fn metadata<'s>(status: &'s Status, key: &str) -> Option<&'s str> {
    status.metadata().get(key).and_then(|v| v.to_str().ok())
}

fn bearer_with(permissions: &[&str]) -> Creds {
    Creds::Bearer(token(ec256(), &claims(permissions)))
}

/// A token holding every permission of the vocabulary but `permission`.
fn all_but(permission: &str) -> Creds {
    let others: Vec<&str> = Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .filter(|p| *p != permission)
        .collect();
    bearer_with(&others)
}

fn wildcard(permission: &str) -> String {
    let resource = permission.split(':').next().unwrap();
    format!("{resource}:*")
}

fn assert_unauthenticated(result: Result<(), Status>, reason: &str, what: &str) {
    let status = result.expect_err(what);
    assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    assert_eq!(
        metadata(&status, "x-auth-failure-reason"),
        Some(reason),
        "{what}"
    );
}

#[tokio::test]
async fn every_method_enforces_its_permission() {
    let servers = start(&config(true)).await;
    let now = now();
    let expired = Creds::Bearer(token(
        ec256(),
        &json!({"sub": "user-1", "iss": ISSUER, "aud": AUDIENCE, "iat": now - 7200,
                "exp": now - 3600, "permissions": ["tasks:*"]}),
    ));
    // A valid signature over other claims: the payload was swapped for one granting more.
    let forged = {
        let real = token(ec256(), &claims(&["tasks:read"]));
        let mut parts: Vec<&str> = real.split('.').collect();
        let all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        let payload = b64(claims(&all).to_string());
        parts[1] = &payload;
        Creds::Bearer(parts.join("."))
    };
    let unsigned = Creds::Bearer(format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(&["tasks:*"]).to_string())
    ));
    for m in METHODS {
        let path = m.path;
        assert_unauthenticated(call(&servers, path, &Creds::None).await, "missing", path);

        let status = call(&servers, path, &all_but(m.permission))
            .await
            .expect_err(path);
        assert_eq!(status.code(), Code::PermissionDenied, "{path}: {status:?}");
        assert_eq!(
            metadata(&status, "x-auth-failure-reason"),
            Some("forbidden")
        );
        assert_eq!(
            metadata(&status, "x-required-permission"),
            Some(m.permission),
            "{path}"
        );

        for (what, creds) in [
            ("exact permission", bearer_with(&[m.permission])),
            ("wildcard", bearer_with(&[&wildcard(m.permission)])),
            ("API key", Creds::ApiKey(key_for(m.permission))),
        ] {
            if let Err(status) = call(&servers, path, &creds).await {
                panic!("{path} with the {what}: {status:?}");
            }
        }

        assert_unauthenticated(call(&servers, path, &expired).await, "expired", path);
        assert_unauthenticated(call(&servers, path, &forged).await, "invalid", path);
        assert_unauthenticated(call(&servers, path, &unsigned).await, "invalid", path);
    }
}

/// The rpcs of the compiled `.proto` files, as `/package.Service/Method`.
fn proto_methods() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(tasker_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = BTreeSet::new();
    for file in set.file {
        let package = file.package().to_owned();
        for service in &file.service {
            for method in &service.method {
                methods.insert(format!("/{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    methods
}

#[test]
fn every_proto_method_has_a_row_and_a_permission_in_the_servers_tables() {
    let proto = proto_methods();
    assert_eq!(proto.len(), 23, "{proto:#?}");
    let rows: BTreeSet<String> = METHODS.iter().map(|m| m.path.to_owned()).collect();
    assert_eq!(
        rows, proto,
        "METHODS must list every rpc of the .proto files"
    );

    let orchestration = grpc::method_table(ApiKind::Orchestration, true);
    let worker = grpc::method_table(ApiKind::Worker, true);
    let mut served = BTreeMap::new();
    for (path, permission) in orchestration
        .permissions()
        .into_iter()
        .chain(worker.permissions())
    {
        assert!(
            served.insert(path.to_owned(), permission).is_none(),
            "{path} on both servers"
        );
    }
    let served_paths: BTreeSet<String> = served.keys().cloned().collect();
    assert_eq!(
        served_paths, proto,
        "the servers declare exactly the .proto rpcs"
    );
    for m in METHODS {
        let table = match m.server {
            Server::Orchestration => &orchestration,
            Server::Worker => &worker,
        };
        assert_eq!(
            table.access(m.path),
            Some(GrpcAccess::Requires(
                Permission::from_str(m.permission).unwrap()
            )),
            "{}",
            m.path
        );
    }
}

/// `method path → permission` of every protected REST operation of `kind`, read from the
/// OpenAPI document its router is built with.
fn rest_permissions(kind: ApiKind, config: &TaskerConfig) -> BTreeMap<(String, String), String> {
    let (_, api) = match kind {
        ApiKind::Orchestration => orchestration::app(config, Store::seeded()),
        ApiKind::Worker => worker::app(config, Store::seeded()),
    }
    .unwrap();
    let doc = serde_json::to_value(&api).unwrap();
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(p) = op.get("x-required-permission").and_then(Value::as_str) {
                out.insert((method.clone(), path.clone()), p.to_owned());
            }
        }
    }
    out
}

#[test]
fn rest_and_grpc_agree_on_every_operation() {
    let config = config(true);
    let rest_o = rest_permissions(ApiKind::Orchestration, &config);
    let rest_w = rest_permissions(ApiKind::Worker, &config);
    let grpc_o = grpc::method_table(ApiKind::Orchestration, true);
    let grpc_w = grpc::method_table(ApiKind::Worker, true);
    let mut twinned = BTreeSet::new();
    for (path, server, method, rest_path) in REST_TWINS {
        let (rest, table) = match server {
            Server::Orchestration => (&rest_o, &grpc_o),
            Server::Worker => (&rest_w, &grpc_w),
        };
        let rest_permission = rest
            .get(&(method.to_string(), rest_path.to_string()))
            .unwrap_or_else(|| panic!("no REST operation {method} {rest_path} for {path}"));
        let Some(GrpcAccess::Requires(grpc_permission)) = table.access(path) else {
            panic!("{path} is not declared");
        };
        assert_eq!(
            grpc_permission.as_str(),
            rest_permission,
            "{path} and {method} {rest_path} disagree"
        );
        twinned.insert((*server, method.to_string(), rest_path.to_string()));
    }
    // Every protected REST operation has its twin: a REST operation added without a gRPC
    // method (or the other way round) shows here.
    for (server, rest) in [(O, &rest_o), (W, &rest_w)] {
        for (method, path) in rest.keys() {
            assert!(
                twinned.contains(&(server, method.clone(), path.clone())),
                "{server:?} {method} {path} has no gRPC twin in REST_TWINS"
            );
        }
    }
    // The only rpc without a twin is the stream.
    let untwinned: Vec<&str> = METHODS
        .iter()
        .map(|m| m.path)
        .filter(|p| !REST_TWINS.iter().any(|t| t.0 == *p))
        .collect();
    assert_eq!(untwinned, ["/tasker.v1.TaskService/StreamTaskStatus"]);
}

#[tokio::test]
async fn health_and_reflection_need_no_credentials() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let servers = start(&config(true)).await;
    for (channel, service, expected) in [
        (&servers.orchestration, "tasker.v1.TaskService", 9),
        (&servers.worker, "tasker.v1.WorkerTemplateService", 4),
    ] {
        let mut health = HealthClient::new(channel.clone());
        for name in ["", service] {
            let reply = health
                .check(HealthCheckRequest {
                    service: name.to_owned(),
                })
                .await
                .unwrap();
            assert_eq!(
                reply.into_inner().status(),
                ServingStatus::Serving,
                "{name}"
            );
        }
        let list = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut replies = ServerReflectionClient::new(channel.clone())
            .server_reflection_info(tokio_stream::iter([list]))
            .await
            .unwrap()
            .into_inner();
        let reply = replies.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(services)) = reply.message_response else {
            panic!("{reply:?}");
        };
        let names: BTreeSet<String> = services.service.into_iter().map(|s| s.name).collect();
        assert!(names.contains(service), "{names:?}");
        assert!(names.contains("grpc.health.v1.Health"), "{names:?}");
        assert!(
            names.contains("grpc.reflection.v1.ServerReflection"),
            "{names:?}"
        );
        assert_eq!(
            names.len(),
            expected,
            "only what this server serves: {names:?}"
        );
    }
}

#[tokio::test]
async fn audit_fields_come_from_the_caller_and_context_needs_context_read() {
    let servers = start(&config(true)).await;
    let o = servers.orchestration.clone();
    let creator = bearer_with(&["tasks:create", "tasks:read"]);
    let message = pb::CreateTaskRequest {
        namespace: "ecommerce".into(),
        name: "order_fulfillment".into(),
        version: "1.0.0".into(),
        context: order_context(),
        ..Default::default()
    };
    let created = TaskServiceClient::new(o.clone())
        .create_task(request(message, &creator))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.initiator, "user-1", "the token's subject");
    assert!(created.context.is_none(), "no tasks:context_read");

    let get = |creds: Creds| {
        let o = o.clone();
        let task_uuid = created.task_uuid.clone();
        async move {
            TaskServiceClient::new(o)
                .get_task(request(pb::GetTaskRequest { task_uuid }, &creds))
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert!(get(bearer_with(&["tasks:read"])).await.context.is_none());
    let with_context = get(bearer_with(&["tasks:read", "tasks:context_read"])).await;
    assert_eq!(
        grpc::struct_to_json(with_context.context),
        json!({"order_id": "ORD-1", "customer_email": "a@example.com"})
    );
    let listed = TaskServiceClient::new(o.clone())
        .list_tasks(request(
            pb::ListTasksRequest::default(),
            &Creds::ApiKey(key_for("tasks:list")),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.tasks.iter().all(|t| t.context.is_none()));

    let ids = fresh_ids(&servers.store);
    let step = StepServiceClient::new(o.clone())
        .resolve_step(request(
            pb::ResolveStepRequest {
                task_uuid: ids.task,
                step_uuid: ids.step,
                action: pb::StepAction::ResolveManually.into(),
                note: None,
                results: None,
            },
            &Creds::ApiKey(key_for("steps:resolve")),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(step.resolved_by.as_deref(), Some("key-steps:resolve"));
    let entry = DlqServiceClient::new(o)
        .update_dlq_entry(request(
            pb::UpdateDlqEntryRequest {
                dlq_entry_uuid: ids.dlq_entry,
                resolution_status: pb::DlqStatus::ManuallyResolved.into(),
                resolution_notes: None,
            },
            &bearer_with(&["dlq:update"]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(entry.updated_by.as_deref(), Some("user-1"));
}

#[tokio::test]
async fn bad_input_gets_a_specific_status_never_internal() {
    let servers = start(&config(true)).await;
    let o = servers.orchestration.clone();
    let all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    let admin = bearer_with(&all);
    let mut tasks = TaskServiceClient::new(o.clone());

    let status = tasks
        .get_task(request(
            pb::GetTaskRequest {
                task_uuid: "not-a-uuid".into(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("task_uuid"), "{status:?}");

    let random = uuid::Uuid::new_v4().to_string();
    let status = tasks
        .get_task(request(
            pb::GetTaskRequest {
                task_uuid: random.clone(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = tasks
        .stream_task_status(request(
            pb::StreamTaskStatusRequest { task_uuid: random },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    let ids = fresh_ids(&servers.store);
    tasks
        .cancel_task(request(
            pb::CancelTaskRequest {
                task_uuid: ids.task.clone(),
            },
            &admin,
        ))
        .await
        .unwrap();
    let status = tasks
        .cancel_task(request(
            pb::CancelTaskRequest {
                task_uuid: ids.task.clone(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    let status = tasks
        .create_task(request(pb::CreateTaskRequest::default(), &admin))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = tasks
        .list_tasks(request(pb::ListTasksRequest { status: Some(0) }, &admin))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let status = StepServiceClient::new(o.clone())
        .resolve_step(request(
            pb::ResolveStepRequest {
                task_uuid: ids.task,
                step_uuid: ids.step,
                action: 0,
                note: None,
                results: None,
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = DlqServiceClient::new(o.clone())
        .update_dlq_entry(request(
            pb::UpdateDlqEntryRequest {
                dlq_entry_uuid: ids.dlq_entry,
                resolution_status: 99,
                resolution_notes: None,
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = TemplateServiceClient::new(o)
        .get_template(request(
            pb::GetTemplateRequest {
                namespace: "nope".into(),
                name: "nope".into(),
                version: "1".into(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

#[tokio::test]
async fn config_services_are_unimplemented_unless_enabled() {
    let servers = start(&config(false)).await;
    let admin = bearer_with(&["system:config_read", "worker:config_read"]);
    for path in [
        "/tasker.v1.ConfigService/GetConfig",
        "/tasker.v1.WorkerConfigService/GetConfig",
    ] {
        let status = call(&servers, path, &admin).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
        // Refused before authentication: the same answer without credentials.
        let status = call(&servers, path, &Creds::None).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
    assert_eq!(
        grpc::method_table(ApiKind::Orchestration, false)
            .access("/tasker.v1.ConfigService/GetConfig"),
        None
    );

    let servers = start(&config(true)).await;
    let reply = ConfigServiceClient::new(servers.orchestration.clone())
        .get_config(request(
            pb::GetConfigRequest {},
            &bearer_with(&["system:config_read"]),
        ))
        .await
        .unwrap()
        .into_inner();
    let config = grpc::struct_to_json(reply.config);
    assert_eq!(config["web"]["config_endpoint_enabled"], json!(true));
    let text = config.to_string();
    assert!(!text.contains(READER_KEY), "secrets are redacted: {text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}
