//! The worker server's gRPC services (`proto/tasker/v1/worker.proto`), each method with the
//! permission of its REST twin in [`crate::worker`].

use tasker_auth::grpc::GrpcMethodTable;
use tasker_auth::grpc_service;
use tasker_proto::v1 as pb;
use tasker_proto::v1::worker_config_service_server::{
    WorkerConfigService, WorkerConfigServiceServer,
};
use tasker_proto::v1::worker_template_service_server::{
    WorkerTemplateService, WorkerTemplateServiceServer,
};
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use super::{find_template, get_template, json_to_struct, list_templates, struct_to_json};
use crate::server::AppState;

/// `tasker.v1.WorkerTemplateService`.
#[derive(Debug, Clone)]
pub struct WorkerTemplates(AppState);
/// `tasker.v1.WorkerConfigService` (served only when `web.config_endpoint_enabled`).
#[derive(Debug, Clone)]
pub struct WorkerConfig(AppState);

/// The declared methods of every worker service; the config service's only when
/// `config_endpoint_enabled`.
pub fn method_table(config_endpoint_enabled: bool) -> GrpcMethodTable {
    let table = GrpcMethodTable::new().service::<WorkerTemplates>();
    if config_endpoint_enabled {
        table.service::<WorkerConfig>()
    } else {
        table
    }
}

/// Every worker service over `state`, with their names.
pub(super) fn routes(
    state: AppState,
    config_endpoint_enabled: bool,
) -> (Vec<&'static str>, Routes) {
    let mut names = vec![WorkerTemplateServiceServer::<WorkerTemplates>::NAME];
    let routes = Routes::default().add_service(WorkerTemplateServiceServer::new(WorkerTemplates(
        state.clone(),
    )));
    if config_endpoint_enabled {
        names.push(WorkerConfigServiceServer::<WorkerConfig>::NAME);
        let config = WorkerConfigServiceServer::new(WorkerConfig(state));
        (names, routes.add_service(config))
    } else {
        (names, routes)
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl WorkerTemplateService for WorkerTemplates {
    #[requires(worker:templates_read)]
    async fn list_templates(
        &self,
        _request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        Ok(Response::new(list_templates(&self.0.store)))
    }

    #[requires(worker:templates_read)]
    async fn get_template(
        &self,
        request: Request<pb::GetTemplateRequest>,
    ) -> Result<Response<pb::Template>, Status> {
        get_template(&self.0.store, request.get_ref()).map(Response::new)
    }

    /// Checks a task context against the template's required fields, as
    /// `POST .../validate` does.
    #[requires(templates:validate)]
    async fn validate_template(
        &self,
        request: Request<pb::ValidateTemplateRequest>,
    ) -> Result<Response<pb::ValidateTemplateResponse>, Status> {
        let r = request.into_inner();
        let t = find_template(&self.0.store, &r.namespace, &r.name, &r.version)?;
        let context = struct_to_json(r.context);
        let missing_fields: Vec<String> = t
            .required_context
            .iter()
            .filter(|field| context.get(field.as_str()).is_none())
            .cloned()
            .collect();
        Ok(Response::new(pb::ValidateTemplateResponse {
            valid: missing_fields.is_empty(),
            missing_fields,
            handlers: t.steps.into_iter().map(|s| s.handler).collect(),
        }))
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl WorkerConfigService for WorkerConfig {
    /// The running configuration with every secret redacted, as the worker's `GET /config`.
    #[requires(worker:config_read)]
    async fn get_config(
        &self,
        _request: Request<pb::GetConfigRequest>,
    ) -> Result<Response<pb::GetConfigResponse>, Status> {
        Ok(Response::new(pb::GetConfigResponse {
            config: json_to_struct(serde_json::Value::clone(&self.0.redacted_config)),
        }))
    }
}
