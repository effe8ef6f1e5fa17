//! `#[grpc_service]` on a tonic-generated service trait, above `#[tonic::async_trait]`: markers
//! removed, the table generated from them, and the server type still built from the impl.
//! Compiled as a module of the `compiletest` binary, like the `#[requires]` pass cases.

use tasker_auth::grpc::{GrpcAccess, GrpcMethodTable, GrpcMethods};
use tasker_auth::{Permission, grpc_service};
use tasker_proto::v1::template_service_server::{TemplateService, TemplateServiceServer};
use tasker_proto::v1::{GetTemplateRequest, ListTemplatesRequest, ListTemplatesResponse, Template};
use tonic::{Request, Response, Status};

struct Templates;

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl TemplateService for Templates {
    #[requires(templates:read)]
    async fn list_templates(
        &self,
        _request: Request<ListTemplatesRequest>,
    ) -> Result<Response<ListTemplatesResponse>, Status> {
        Ok(Response::new(ListTemplatesResponse::default()))
    }

    /// Doc comments and other attributes stay on the method.
    #[allow(unused_variables)]
    #[tasker_auth::requires(templates:read)]
    async fn get_template(
        &self,
        request: Request<GetTemplateRequest>,
    ) -> Result<Response<Template>, Status> {
        Err(Status::not_found("no such template"))
    }
}

/// A service with a public method, by a path to the trait, on a generic type.
mod ping {
    #[tonic::async_trait]
    pub(super) trait PingService: Send + Sync + 'static {
        async fn ping(&self) -> u32;
        async fn r#type(&self) -> u32;
    }
}

struct Pinger<T>(T);

#[grpc_service(package = "example.v2")]
#[tonic::async_trait]
impl<T: Send + Sync + 'static> ping::PingService for Pinger<T> {
    #[public]
    async fn ping(&self) -> u32 {
        1
    }

    #[requires(system:config_read)]
    async fn r#type(&self) -> u32 {
        2
    }
}

#[test]
fn tables_name_each_rpc_with_its_access() {
    let _server = TemplateServiceServer::new(Templates);
    assert_eq!(
        <Templates as GrpcMethods>::SERVICE,
        "tasker.v1.TemplateService"
    );
    assert_eq!(
        <Pinger<u8> as GrpcMethods>::SERVICE,
        "example.v2.PingService"
    );
    let table = GrpcMethodTable::new()
        .service::<Templates>()
        .service::<Pinger<u8>>();
    assert_eq!(
        table.access("/tasker.v1.TemplateService/GetTemplate"),
        Some(GrpcAccess::Requires(Permission::TemplatesRead))
    );
    assert_eq!(
        table.access("/example.v2.PingService/Ping"),
        Some(GrpcAccess::Public)
    );
    assert_eq!(
        table.access("/example.v2.PingService/Type"),
        Some(GrpcAccess::Requires(Permission::SystemConfigRead))
    );
}

#[tokio::test]
async fn methods_keep_their_bodies_once_the_markers_are_removed() {
    use ping::PingService;
    assert_eq!(Pinger(0u8).ping().await, 1);
    assert_eq!(Pinger(0u8).r#type().await, 2);
}
