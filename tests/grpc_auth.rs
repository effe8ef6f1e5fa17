//! gRPC authentication and authorization end to end: a real tonic server on loopback behind
//! `GrpcAuthLayer`, with its table built from `#[grpc_service]` declarations, called by real
//! tonic clients. Every refusal is checked for its code, message and `x-auth-failure-reason`;
//! a counting layer between the auth layer and tonic's router proves that refused calls never
//! reach the router, hence never reach the message decoder.

#[path = "common/auth_fixtures.rs"]
mod fixtures;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Buf, BufMut};
use fixtures::*;
use serde_json::json;
use tasker_auth::grpc::{GrpcAuthLayer, GrpcMethodTable, GrpcMethods, HEALTH_SERVICE};
use tasker_auth::{Permission, SecurityContext, SecurityService, grpc_service};
use tasker_proto::v1::task_service_client::TaskServiceClient;
use tasker_proto::v1::task_service_server::{TaskService, TaskServiceServer};
use tasker_proto::v1::{
    CancelTaskRequest, CreateTaskRequest, GetTaskContextRequest, GetTaskContextResponse,
    GetTaskRequest, ListTasksRequest, ListTasksResponse, StreamTaskStatusRequest, Task,
    TaskStatusUpdate,
};
use tokio_stream::StreamExt;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status};

/// Counts the calls that reached the handlers.
#[derive(Clone, Default)]
struct Tasks {
    handled: Arc<AtomicUsize>,
}

impl Tasks {
    fn subject<T>(&self, request: &Request<T>) -> Result<String, Status> {
        self.handled.fetch_add(1, Ordering::SeqCst);
        request
            .extensions()
            .get::<SecurityContext>()
            .map(|ctx| ctx.subject().to_owned())
            .ok_or_else(|| Status::internal("no SecurityContext"))
    }
}

fn task(uuid: &str, initiator: String) -> Task {
    Task {
        task_uuid: uuid.to_owned(),
        initiator,
        ..Task::default()
    }
}

type UpdateStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<TaskStatusUpdate, Status>> + Send>>;

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl TaskService for Tasks {
    #[requires(tasks:create)]
    async fn create_task(
        &self,
        request: Request<CreateTaskRequest>,
    ) -> Result<Response<Task>, Status> {
        let subject = self.subject(&request)?;
        Ok(Response::new(task("new", subject)))
    }

    #[requires(tasks:list)]
    async fn list_tasks(
        &self,
        request: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        self.subject(&request)?;
        Ok(Response::new(ListTasksResponse::default()))
    }

    #[requires(tasks:read)]
    async fn get_task(&self, request: Request<GetTaskRequest>) -> Result<Response<Task>, Status> {
        let subject = self.subject(&request)?;
        let uuid = request.into_inner().task_uuid;
        Ok(Response::new(task(&uuid, subject)))
    }

    #[requires(tasks:context_read)]
    async fn get_task_context(
        &self,
        request: Request<GetTaskContextRequest>,
    ) -> Result<Response<GetTaskContextResponse>, Status> {
        self.subject(&request)?;
        Ok(Response::new(GetTaskContextResponse::default()))
    }

    #[requires(tasks:cancel)]
    async fn cancel_task(
        &self,
        request: Request<CancelTaskRequest>,
    ) -> Result<Response<Task>, Status> {
        let subject = self.subject(&request)?;
        Ok(Response::new(task("cancelled", subject)))
    }

    type StreamTaskStatusStream = UpdateStream;

    #[requires(tasks:read)]
    async fn stream_task_status(
        &self,
        request: Request<StreamTaskStatusRequest>,
    ) -> Result<Response<Self::StreamTaskStatusStream>, Status> {
        self.subject(&request)?;
        let uuid = request.into_inner().task_uuid;
        let updates = (1..=3u64).map(move |n| {
            Ok(TaskStatusUpdate {
                task_uuid: uuid.clone(),
                completed_steps: n,
                step_count: 3,
                ..TaskStatusUpdate::default()
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(updates))))
    }
}

struct Running {
    addr: SocketAddr,
    /// Calls that got past the auth layer into tonic's router.
    routed: Arc<AtomicUsize>,
    /// Calls that reached a handler (after decoding).
    handled: Arc<AtomicUsize>,
}

async fn start(security: SecurityService) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tasks = Tasks::default();
    let handled = Arc::clone(&tasks.handled);
    let routed = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&routed);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<TaskServiceServer<Tasks>>()
        .await;
    let table = GrpcMethodTable::new()
        .service::<Tasks>()
        .public_service(HEALTH_SERVICE);
    tokio::spawn(async move {
        Server::builder()
            .layer(GrpcAuthLayer::new(security, table))
            .layer(tower::util::MapRequestLayer::new(
                move |request: http::Request<tonic::body::Body>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    request
                },
            ))
            .add_service(TaskServiceServer::new(tasks))
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    Running {
        addr,
        routed,
        handled,
    }
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn client(addr: SocketAddr) -> TaskServiceClient<Channel> {
    TaskServiceClient::new(channel(addr).await)
}

fn with_bearer<T>(message: T, token: &str) -> Request<T> {
    with_metadata(message, "authorization", &format!("Bearer {token}"))
}

fn with_metadata<T>(message: T, key: &'static str, value: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(key, value.parse().unwrap());
    request
}

fn token_for(permissions: &[&str]) -> String {
    token(ec256(), &claims(permissions))
}

fn service() -> SecurityService {
    service_for(ec256())
}

fn metadata<'s>(status: &'s Status, key: &str) -> Option<&'s str> {
    status.metadata().get(key).map(|v| v.to_str().unwrap())
}

/// `status` is UNAUTHENTICATED for `reason`, with the REST message of that reason.
fn assert_unauthenticated(status: &Status, reason: &str, message: &str) {
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(metadata(status, "x-auth-failure-reason"), Some(reason));
    assert_eq!(status.message(), message);
    assert_eq!(metadata(status, "x-required-permission"), None);
}

fn assert_permission_denied(status: &Status, permission: &str) {
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(metadata(status, "x-auth-failure-reason"), Some("forbidden"));
    assert_eq!(metadata(status, "x-required-permission"), Some(permission));
    assert_eq!(
        status.message(),
        "the caller lacks the permission this route requires"
    );
}

#[test]
fn grpc_table_is_generated_from_the_declarations() {
    assert_eq!(<Tasks as GrpcMethods>::SERVICE, "tasker.v1.TaskService");
    let table = GrpcMethodTable::new().service::<Tasks>();
    assert_eq!(
        table.permissions(),
        vec![
            ("/tasker.v1.TaskService/CancelTask", Permission::TasksCancel),
            ("/tasker.v1.TaskService/CreateTask", Permission::TasksCreate),
            ("/tasker.v1.TaskService/GetTask", Permission::TasksRead),
            (
                "/tasker.v1.TaskService/GetTaskContext",
                Permission::TasksContextRead
            ),
            ("/tasker.v1.TaskService/ListTasks", Permission::TasksList),
            (
                "/tasker.v1.TaskService/StreamTaskStatus",
                Permission::TasksRead
            ),
        ]
    );
}

#[tokio::test]
async fn grpc_without_credentials_is_unauthenticated_missing() {
    let server = start(service()).await;
    let status = client(server.addr)
        .await
        .list_tasks(ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_unauthenticated(
        &status,
        "missing",
        "authentication required: send a bearer token or an API key",
    );
    assert_eq!(server.routed.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn grpc_wrong_permission_is_permission_denied_naming_it() {
    let server = start(service()).await;
    let status = client(server.addr)
        .await
        .create_task(with_bearer(
            CreateTaskRequest::default(),
            &token_for(&["tasks:list"]),
        ))
        .await
        .unwrap_err();
    assert_permission_denied(&status, "tasks:create");
    assert_eq!(server.routed.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn grpc_right_permission_reaches_the_handler_with_the_context() {
    let server = start(service()).await;
    let task = client(server.addr)
        .await
        .create_task(with_bearer(
            CreateTaskRequest::default(),
            &token_for(&["tasks:create"]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(task.initiator, "user-1");
    assert_eq!(server.handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn grpc_api_key_in_lowercase_metadata_is_accepted() {
    let server = start(service()).await;
    let mut client = client(server.addr).await;
    let request = GetTaskRequest {
        task_uuid: "t-1".into(),
    };
    let task = client
        .get_task(with_metadata(request.clone(), "x-api-key", READER_KEY))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (task.task_uuid.as_str(), task.initiator.as_str()),
        ("t-1", "ci-reader")
    );
    let status = client
        .cancel_task(with_metadata(
            CancelTaskRequest::default(),
            "x-api-key",
            READER_KEY,
        ))
        .await
        .unwrap_err();
    assert_permission_denied(&status, "tasks:cancel");
    let status = client
        .get_task(with_metadata(request, "x-api-key", EXPIRED_KEY))
        .await
        .unwrap_err();
    assert_unauthenticated(&status, "invalid", "the credential was not accepted");
}

#[tokio::test]
async fn grpc_bad_tokens_are_unauthenticated_with_their_reason() {
    let server = start(service()).await;
    let mut client = client(server.addr).await;
    let mut expired = claims(&["tasks:list"]);
    expired["exp"] = json!(now() - 3600);
    let valid = token_for(&["tasks:list"]);
    let other = token_for(&["tasks:*"]);
    // The signature of another token: a forgery of `other`'s claims.
    let forged = format!(
        "{}.{}",
        other.rsplit_once('.').unwrap().0,
        valid.rsplit_once('.').unwrap().1
    );
    let alg_none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(&["tasks:list"]).to_string())
    );
    let cases = [
        (token(ec256(), &expired), "expired", "the token has expired"),
        (forged, "invalid", "the credential was not accepted"),
        (alg_none, "invalid", "the credential was not accepted"),
        (
            "not-a-jwt".to_owned(),
            "malformed",
            "the credential could not be parsed",
        ),
    ];
    for (token, reason, message) in cases {
        let status = client
            .list_tasks(with_bearer(ListTasksRequest::default(), &token))
            .await
            .unwrap_err();
        assert_unauthenticated(&status, reason, message);
    }
    // Both credential kinds at once, as on REST.
    let mut request = with_bearer(ListTasksRequest::default(), &valid);
    request
        .metadata_mut()
        .insert("x-api-key", READER_KEY.parse().unwrap());
    let status = client.list_tasks(request).await.unwrap_err();
    assert_unauthenticated(&status, "malformed", "the credential could not be parsed");
    // The bearer scheme is case-insensitive.
    let request = with_metadata(
        ListTasksRequest::default(),
        "authorization",
        &format!("bEaReR {valid}"),
    );
    client.list_tasks(request).await.unwrap();
    assert_eq!(server.handled.load(Ordering::SeqCst), 1);
}

/// Sends whatever bytes it is given as the message, and hands back the response bytes raw.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

async fn send_raw(addr: SocketAddr, path: &'static str, request: Request<Vec<u8>>) -> Status {
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    grpc.ready().await.unwrap();
    grpc.unary(
        request,
        http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .unwrap_err()
}

/// Not a protobuf message: an 11-byte varint is longer than any varint may be.
const GARBAGE: [u8; 11] = [0xff; 11];

#[tokio::test]
async fn grpc_denied_call_with_garbage_bytes_is_refused_before_decoding() {
    let server = start(service()).await;
    let path = "/tasker.v1.TaskService/CreateTask";
    let denied = with_bearer(GARBAGE.to_vec(), &token_for(&["tasks:list"]));
    let status = send_raw(server.addr, path, denied).await;
    assert_permission_denied(&status, "tasks:create");
    assert_eq!(server.routed.load(Ordering::SeqCst), 0);

    // The same bytes with the permission do reach tonic, whose decoder rejects them: the
    // refusal above came before any decoding.
    let allowed = with_bearer(GARBAGE.to_vec(), &token_for(&["tasks:create"]));
    let status = send_raw(server.addr, path, allowed).await;
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(server.routed.load(Ordering::SeqCst), 1);
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn grpc_denied_stream_is_refused_before_the_first_message() {
    let server = start(service()).await;
    let mut client = client(server.addr).await;
    let request = || StreamTaskStatusRequest {
        task_uuid: "t-1".into(),
    };
    let status = client
        .stream_task_status(with_bearer(request(), &token_for(&["tasks:list"])))
        .await
        .unwrap_err();
    assert_permission_denied(&status, "tasks:read");
    assert_eq!(server.routed.load(Ordering::SeqCst), 0);
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);

    let stream = client
        .stream_task_status(with_bearer(request(), &token_for(&["tasks:read"])))
        .await
        .unwrap()
        .into_inner();
    let updates: Vec<TaskStatusUpdate> = stream.map(Result::unwrap).collect().await;
    assert_eq!(
        updates
            .iter()
            .map(|u| u.completed_steps)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[tokio::test]
async fn grpc_health_is_public() {
    let server = start(service()).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(server.addr).await);
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "tasker.v1.TaskService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        reply.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

#[tokio::test]
async fn grpc_undeclared_method_is_refused_without_reaching_the_router() {
    let server = start(service()).await;
    let request = with_bearer(GARBAGE.to_vec(), &token_for(&["steps:read"]));
    let status = send_raw(server.addr, "/tasker.v1.StepService/ListSteps", request).await;
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert_eq!(server.routed.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn grpc_auth_disabled_serves_everything() {
    let server = start(SecurityService::disabled()).await;
    let task = client(server.addr)
        .await
        .cancel_task(CancelTaskRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(task.task_uuid, "cancelled");
}
