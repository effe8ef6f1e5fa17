//! The gRPC side of the demo servers: the `tasker.v1` services of `proto/tasker/v1/*.proto`,
//! served by tonic from the same [`Store`] as REST, behind `tasker_auth::grpc::GrpcAuthLayer`.
//!
//! Each service is one small type whose `impl` carries `#[grpc_service(package = "tasker.v1")]`
//! and one `#[requires(...)]` per method, the same permission as the method's REST twin; the
//! layer's table is built from those declarations ([`method_table`]). `grpc.health.v1.Health`
//! and server reflection (`grpc.reflection.v1`) are public. The config services are routed,
//! and in the table, only when `web.config_endpoint_enabled` is true; otherwise the layer
//! answers `UNIMPLEMENTED`, as for any method it does not know.
//!
//! Handlers read the caller's `SecurityContext` from the request extensions (the layer puts it
//! there): its subject is the audit field (`initiator`, `resolved_by`, `updated_by`), and
//! `Task.context` is filled only for a caller holding `tasks:context_read`. Bad input is
//! `INVALID_ARGUMENT` (an identifier that is not a UUID, an unspecified enum), a missing record
//! `NOT_FOUND`, and cancelling a finished task `FAILED_PRECONDITION`.

pub mod orchestration;
pub mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;

use prost_types::value::Kind;
use serde_json::Value;
use tasker_auth::grpc::{
    GrpcAuthLayer, GrpcAuthService, GrpcMethodTable, HEALTH_SERVICE, REFLECTION_SERVICE,
};
use tasker_auth::{Permission, SecurityContext, SecurityService, TaskerConfig};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Status};
use tower::Layer as _;
use uuid::Uuid;

use crate::server::{ApiKind, AppState, StartupError};
use crate::store::{Store, Template};

/// How long in-flight gRPC calls may run on after a shutdown signal.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The gRPC services of one server, ready to serve: tonic's routes (every service, health and
/// reflection) and the method table the authentication layer enforces.
#[derive(Debug)]
pub struct GrpcApp {
    /// Every service of the server, routed by method path.
    pub routes: Routes,
    /// Who may call each method, generated from the services' declarations.
    pub table: GrpcMethodTable,
}

impl GrpcApp {
    /// The routes behind the authentication layer, as one tower service: what the server runs
    /// for each call (the benches call it directly).
    pub fn into_service(self, security: SecurityService) -> GrpcAuthService<Routes> {
        GrpcAuthLayer::new(security, self.table).layer(self.routes)
    }
}

/// The method table of `kind`'s server: every declared method, health and reflection public;
/// the config service only when `config_endpoint_enabled`.
pub fn method_table(kind: ApiKind, config_endpoint_enabled: bool) -> GrpcMethodTable {
    let table = match kind {
        ApiKind::Orchestration => orchestration::method_table(config_endpoint_enabled),
        ApiKind::Worker => worker::method_table(config_endpoint_enabled),
    };
    table
        .public_service(HEALTH_SERVICE)
        .public_service(REFLECTION_SERVICE)
}

/// Builds the gRPC services of `kind`'s server over `store`.
///
/// # Errors
///
/// [`StartupError::Serve`] if the reflection service cannot read the compiled descriptors.
pub async fn app(
    kind: ApiKind,
    config: &TaskerConfig,
    store: Store,
) -> Result<GrpcApp, StartupError> {
    let state = AppState {
        store,
        redacted_config: std::sync::Arc::new(config.redacted()),
    };
    let config_enabled = config.web.config_endpoint_enabled;
    let (names, mut routes) = match kind {
        ApiKind::Orchestration => orchestration::routes(state, config_enabled),
        ApiKind::Worker => worker::routes(state, config_enabled),
    };
    let (health_reporter, health) = tonic_health::server::health_reporter();
    let mut reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tasker_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(HEALTH_SERVICE)
        .with_service_name(REFLECTION_SERVICE);
    for name in &names {
        health_reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
        reflection = reflection.with_service_name(*name);
    }
    let reflection = reflection
        .build_v1()
        .map_err(|e| StartupError::Serve(std::io::Error::other(e)))?;
    routes = routes.add_service(health).add_service(reflection);
    Ok(GrpcApp {
        routes,
        table: method_table(kind, config_enabled),
    })
}

/// A bound gRPC listener, ready to serve.
#[derive(Debug)]
pub struct GrpcBound {
    listener: TcpListener,
    addr: SocketAddr,
}

impl GrpcBound {
    /// Binds `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// [`StartupError::Bind`] naming the address.
    pub async fn bind(addr: &str) -> Result<Self, StartupError> {
        let bind_error = |source| StartupError::Bind {
            addr: addr.to_owned(),
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(GrpcBound { listener, addr })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `app` behind the authentication layer of `security` until `shutdown` completes,
    /// then lets in-flight calls finish for at most [`SHUTDOWN_GRACE`] (a client that keeps
    /// its connection open, or a long stream, cannot hold the process up).
    ///
    /// # Errors
    ///
    /// The transport error that stopped the server.
    pub async fn serve(
        self,
        app: GrpcApp,
        security: SecurityService,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (fired, on_fire) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            let _ = fired.send(());
        };
        let server = tonic::transport::Server::builder()
            .layer(GrpcAuthLayer::new(security, app.table))
            .add_routes(app.routes)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(self.listener),
                shutdown,
            );
        let grace = async move {
            match on_fire.await {
                Ok(()) => tokio::time::sleep(SHUTDOWN_GRACE).await,
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            result = server => result.map_err(std::io::Error::other),
            () = grace => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "gRPC connections still open after the grace period: closing them");
                Ok(())
            }
        }
    }
}

/// Prints the `grpc listening on http://IP:PORT` line to stdout, flushed at once (after the
/// server's `listening on` line).
pub fn announce(addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "grpc listening on http://{addr}");
    let _ = out.flush();
}

/// The caller, as the authentication layer left it in the request. Its absence is a wiring
/// bug of the server (the layer is missing), never the caller's fault.
fn caller<T>(request: &Request<T>) -> Result<SecurityContext, Status> {
    request
        .extensions()
        .get::<SecurityContext>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("gRPC call without a SecurityContext: is GrpcAuthLayer installed?");
            Status::internal("the server is misconfigured")
        })
}

/// Whether the caller may see task contexts (they can hold customer data).
fn sees_context(ctx: &SecurityContext) -> bool {
    ctx.has(Permission::TasksContextRead)
}

/// Parses the identifier field `field`: `INVALID_ARGUMENT` naming the field when it is not a UUID.
fn parse_uuid(field: &str, value: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(value)
        .map_err(|_| Status::invalid_argument(format!("{field} is not a UUID: {value:?}")))
}

/// A required string field: `INVALID_ARGUMENT` naming it when empty.
fn required(field: &str, value: String) -> Result<String, Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    Ok(value)
}

fn not_found(what: impl std::fmt::Display) -> Status {
    Status::not_found(format!("{what} not found"))
}

/// A write the demo store refuses because it is full (REST answers 507).
fn store_full(full: crate::store::StoreFull) -> Status {
    Status::resource_exhausted(full.to_string())
}

/// A JSON value as a protobuf `Struct`: an object field by field, `null` as unset, and any
/// other value (a JSON context need not be an object) wrapped as `{"value": ...}`.
pub fn json_to_struct(value: Value) -> Option<prost_types::Struct> {
    match value {
        Value::Null => None,
        Value::Object(fields) => Some(prost_types::Struct {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k, json_to_value(v)))
                .collect(),
        }),
        other => Some(prost_types::Struct {
            fields: BTreeMap::from([("value".to_owned(), json_to_value(other))]),
        }),
    }
}

fn json_to_value(value: Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        Value::Object(_) => match json_to_struct(value) {
            Some(s) => Kind::StructValue(s),
            None => Kind::NullValue(0),
        },
    };
    prost_types::Value { kind: Some(kind) }
}

/// A protobuf `Struct` as a JSON object; unset is `null`.
pub fn struct_to_json(value: Option<prost_types::Struct>) -> Value {
    match value {
        None => Value::Null,
        Some(s) => Value::Object(
            s.fields
                .into_iter()
                .map(|(k, v)| (k, value_to_json(v)))
                .collect(),
        ),
    }
}

fn value_to_json(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        // Whole numbers stay integers, as a JSON client would have sent them.
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(n as i64),
        Some(Kind::NumberValue(n)) => {
            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
        }
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::ListValue(l)) => Value::Array(l.values.into_iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => struct_to_json(Some(s)),
    }
}

fn template(t: Template) -> tasker_proto::v1::Template {
    tasker_proto::v1::Template {
        namespace: t.namespace,
        name: t.name,
        version: t.version,
        description: t.description,
        required_context: t.required_context,
        steps: t
            .steps
            .into_iter()
            .map(|s| tasker_proto::v1::TemplateStep {
                name: s.name,
                handler: s.handler,
                depends_on: s.depends_on,
            })
            .collect(),
    }
}

/// `ListTemplates`, which both APIs serve (each under its own permission).
fn list_templates(store: &Store) -> tasker_proto::v1::ListTemplatesResponse {
    tasker_proto::v1::ListTemplatesResponse {
        templates: store.templates().into_iter().map(template).collect(),
    }
}

/// `GetTemplate`, which both APIs serve (each under its own permission).
fn get_template(
    store: &Store,
    r: &tasker_proto::v1::GetTemplateRequest,
) -> Result<tasker_proto::v1::Template, Status> {
    find_template(store, &r.namespace, &r.name, &r.version).map(template)
}

fn find_template(
    store: &Store,
    namespace: &str,
    name: &str,
    version: &str,
) -> Result<Template, Status> {
    store
        .template(namespace, name, version)
        .ok_or_else(|| not_found(format_args!("template {namespace}/{name}/{version}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_struct_round_trip_keeps_types() {
        let value = json!({"order_id": "ORD-1", "amount_cents": 12999, "rate": 0.5,
                           "ok": true, "none": null, "tags": ["a", 1], "nested": {"x": "y"}});
        assert_eq!(struct_to_json(json_to_struct(value.clone())), value);
        assert_eq!(json_to_struct(Value::Null), None);
        assert_eq!(
            struct_to_json(json_to_struct(json!(5))),
            json!({"value": 5})
        );
    }

    #[test]
    fn bad_uuid_is_invalid_argument_naming_the_field() {
        let status = parse_uuid("task_uuid", "nope").unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("task_uuid"), "{status:?}");
    }
}
