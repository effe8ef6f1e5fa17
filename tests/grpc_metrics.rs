//! The authentication metrics carry `protocol`: a gRPC call refused by `GrpcAuthLayer` is
//! counted with `protocol="grpc"`, a REST request with `protocol="http"`, in the same counters.
//! A binary of its own, so that the thread-local recorder sees every count.

#[path = "common/auth_fixtures.rs"]
mod fixtures;

use std::convert::Infallible;

use fixtures::*;
use http::{HeaderMap, Request, Response};
use tasker_auth::grpc::{GrpcAuthLayer, GrpcMethodTable, GrpcMethods};
use tasker_auth::{SecurityService, grpc_service};
use tower::{Layer as _, ServiceExt as _};

/// Stands in for a tonic service trait: the table only needs the declarations.
#[allow(dead_code)]
trait TaskService {
    async fn create_task(&self) -> Result<(), ()>;
}

struct Tasks;

#[grpc_service(package = "tasker.v1")]
impl TaskService for Tasks {
    #[requires(tasks:create)]
    async fn create_task(&self) -> Result<(), ()> {
        Ok(())
    }
}

/// One gRPC call to `CreateTask` through the layer, in process; its `grpc-status`.
async fn grpc_call(security: &SecurityService, headers: HeaderMap) -> String {
    let table = GrpcMethodTable::new().service::<Tasks>();
    let server = tower::service_fn(|_: Request<()>| async {
        let mut response = Response::new(());
        response
            .headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("0"));
        Ok::<_, Infallible>(response)
    });
    let mut request = Request::new(());
    *request.uri_mut() = format!("/{}/CreateTask", <Tasks as GrpcMethods>::SERVICE)
        .parse()
        .unwrap();
    *request.headers_mut() = headers;
    let response = GrpcAuthLayer::new(security.clone(), table)
        .layer(server)
        .oneshot(request)
        .await
        .unwrap();
    response.headers()["grpc-status"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn grpc_refusals_are_counted_with_protocol_grpc() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let reader = token(ec256(), &claims(&["tasks:read"]));
    let creator = token(ec256(), &claims(&["tasks:create"]));
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let service = service_for(ec256());
            assert_eq!(grpc_call(&service, HeaderMap::new()).await, "16");
            assert_eq!(grpc_call(&service, bearer(&reader)).await, "7");
            assert_eq!(grpc_call(&service, bearer(&creator)).await, "0");
            assert_refused(&get_tasks(&service, HeaderMap::new()).await, "missing");
        });
    });
    let metrics = handle.render();
    for line in [
        r#"tasker_auth_failures_total{reason="missing",protocol="grpc"} 1"#,
        r#"tasker_auth_failures_total{reason="missing",protocol="http"} 1"#,
        r#"tasker_auth_requests_total{method="none",result="failure",protocol="grpc"} 1"#,
        r#"tasker_auth_requests_total{method="jwt",result="success",protocol="grpc"} 2"#,
        r#"tasker_permission_denials_total{permission="tasks:create",protocol="grpc"} 1"#,
        r#"tasker_auth_verification_seconds_count{method="jwt",protocol="grpc"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}
