//! The orchestration server's gRPC services (`proto/tasker/v1/orchestration.proto`), each
//! method with the permission of its REST twin in [`crate::orchestration`].

use std::pin::Pin;

use tasker_auth::grpc::GrpcMethodTable;
use tasker_auth::grpc_service;
use tasker_proto::v1 as pb;
use tasker_proto::v1::analytics_service_server::{AnalyticsService, AnalyticsServiceServer};
use tasker_proto::v1::config_service_server::{ConfigService, ConfigServiceServer};
use tasker_proto::v1::dlq_service_server::{DlqService, DlqServiceServer};
use tasker_proto::v1::handler_service_server::{HandlerService, HandlerServiceServer};
use tasker_proto::v1::step_service_server::{StepService, StepServiceServer};
use tasker_proto::v1::task_service_server::{TaskService, TaskServiceServer};
use tasker_proto::v1::template_service_server::{TemplateService, TemplateServiceServer};
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use super::{
    caller, get_template, json_to_struct, list_templates, not_found, parse_uuid, required,
    sees_context, store_full, struct_to_json,
};
use crate::server::AppState;
use crate::store::{
    self, DlqStatus, DlqUpdate, NewTask, StepAction, StepResolution, StepStatus, TaskStatus,
};

/// `tasker.v1.TaskService`.
#[derive(Debug, Clone)]
pub struct Tasks(AppState);
/// `tasker.v1.StepService`.
#[derive(Debug, Clone)]
pub struct Steps(AppState);
/// `tasker.v1.TemplateService`.
#[derive(Debug, Clone)]
pub struct Templates(AppState);
/// `tasker.v1.HandlerService`.
#[derive(Debug, Clone)]
pub struct Handlers(AppState);
/// `tasker.v1.AnalyticsService`.
#[derive(Debug, Clone)]
pub struct Analytics(AppState);
/// `tasker.v1.DlqService`.
#[derive(Debug, Clone)]
pub struct Dlq(AppState);
/// `tasker.v1.ConfigService` (served only when `web.config_endpoint_enabled`).
#[derive(Debug, Clone)]
pub struct Config(AppState);

/// The declared methods of every orchestration service; the config service's only when
/// `config_endpoint_enabled`.
pub fn method_table(config_endpoint_enabled: bool) -> GrpcMethodTable {
    let table = GrpcMethodTable::new()
        .service::<Tasks>()
        .service::<Steps>()
        .service::<Templates>()
        .service::<Handlers>()
        .service::<Analytics>()
        .service::<Dlq>();
    if config_endpoint_enabled {
        table.service::<Config>()
    } else {
        table
    }
}

/// Every orchestration service over `state`, with their names.
pub(super) fn routes(
    state: AppState,
    config_endpoint_enabled: bool,
) -> (Vec<&'static str>, Routes) {
    let mut names = vec![
        TaskServiceServer::<Tasks>::NAME,
        StepServiceServer::<Steps>::NAME,
        TemplateServiceServer::<Templates>::NAME,
        HandlerServiceServer::<Handlers>::NAME,
        AnalyticsServiceServer::<Analytics>::NAME,
        DlqServiceServer::<Dlq>::NAME,
    ];
    let routes = Routes::default()
        .add_service(TaskServiceServer::new(Tasks(state.clone())))
        .add_service(StepServiceServer::new(Steps(state.clone())))
        .add_service(TemplateServiceServer::new(Templates(state.clone())))
        .add_service(HandlerServiceServer::new(Handlers(state.clone())))
        .add_service(AnalyticsServiceServer::new(Analytics(state.clone())))
        .add_service(DlqServiceServer::new(Dlq(state.clone())));
    if config_endpoint_enabled {
        names.push(ConfigServiceServer::<Config>::NAME);
        (
            names,
            routes.add_service(ConfigServiceServer::new(Config(state))),
        )
    } else {
        (names, routes)
    }
}

fn task_status(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Pending => pb::TaskStatus::Pending,
        TaskStatus::InProgress => pb::TaskStatus::InProgress,
        TaskStatus::Complete => pb::TaskStatus::Complete,
        TaskStatus::Error => pb::TaskStatus::Error,
        TaskStatus::Cancelled => pb::TaskStatus::Cancelled,
    }
}

/// A status filter: unset is "any"; `UNSPECIFIED` or an unknown number is bad input.
fn task_status_filter(value: Option<i32>) -> Result<Option<TaskStatus>, Status> {
    let Some(value) = value else {
        return Ok(None);
    };
    Ok(Some(match pb::TaskStatus::try_from(value) {
        Ok(pb::TaskStatus::Pending) => TaskStatus::Pending,
        Ok(pb::TaskStatus::InProgress) => TaskStatus::InProgress,
        Ok(pb::TaskStatus::Complete) => TaskStatus::Complete,
        Ok(pb::TaskStatus::Error) => TaskStatus::Error,
        Ok(pb::TaskStatus::Cancelled) => TaskStatus::Cancelled,
        Ok(pb::TaskStatus::Unspecified) | Err(_) => {
            return Err(Status::invalid_argument(format!(
                "status {value} is not a task status"
            )));
        }
    }))
}

fn task(t: store::Task) -> pb::Task {
    pb::Task {
        task_uuid: t.task_uuid.to_string(),
        name: t.name,
        namespace: t.namespace,
        version: t.version,
        status: task_status(t.status).into(),
        initiator: t.initiator,
        reason: t.reason,
        priority: t.priority,
        tags: t.tags,
        step_count: t.step_count as u64,
        completed_steps: t.completed_steps as u64,
        context: t.context.and_then(json_to_struct),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

fn step(s: store::WorkflowStep) -> pb::Step {
    let status = match s.status {
        StepStatus::Pending => pb::StepStatus::Pending,
        StepStatus::InProgress => pb::StepStatus::InProgress,
        StepStatus::Complete => pb::StepStatus::Complete,
        StepStatus::Error => pb::StepStatus::Error,
        StepStatus::ResolvedManually => pb::StepStatus::ResolvedManually,
    };
    pb::Step {
        step_uuid: s.step_uuid.to_string(),
        task_uuid: s.task_uuid.to_string(),
        name: s.name,
        status: status.into(),
        attempts: s.attempts,
        max_attempts: s.max_attempts,
        results: s.results.and_then(json_to_struct),
        last_error: s.last_error,
        resolved_by: s.resolved_by,
        resolution_note: s.resolution_note,
        updated_at: s.updated_at,
    }
}

fn dlq_status(status: DlqStatus) -> pb::DlqStatus {
    match status {
        DlqStatus::Pending => pb::DlqStatus::Pending,
        DlqStatus::Investigating => pb::DlqStatus::Investigating,
        DlqStatus::ManuallyResolved => pb::DlqStatus::ManuallyResolved,
        DlqStatus::PermanentlyFailed => pb::DlqStatus::PermanentlyFailed,
    }
}

/// A DLQ status from the wire; `UNSPECIFIED` or an unknown number is bad input.
fn dlq_status_from(field: &str, value: i32) -> Result<DlqStatus, Status> {
    match pb::DlqStatus::try_from(value) {
        Ok(pb::DlqStatus::Pending) => Ok(DlqStatus::Pending),
        Ok(pb::DlqStatus::Investigating) => Ok(DlqStatus::Investigating),
        Ok(pb::DlqStatus::ManuallyResolved) => Ok(DlqStatus::ManuallyResolved),
        Ok(pb::DlqStatus::PermanentlyFailed) => Ok(DlqStatus::PermanentlyFailed),
        Ok(pb::DlqStatus::Unspecified) | Err(_) => Err(Status::invalid_argument(format!(
            "{field} {value} is not a DLQ status"
        ))),
    }
}

fn dlq_entry(e: store::DlqEntry) -> pb::DlqEntry {
    pb::DlqEntry {
        dlq_entry_uuid: e.dlq_entry_uuid.to_string(),
        task_uuid: e.task_uuid.to_string(),
        dlq_reason: e.dlq_reason,
        resolution_status: dlq_status(e.resolution_status).into(),
        resolution_notes: e.resolution_notes,
        updated_by: e.updated_by,
        dlq_timestamp: e.dlq_timestamp,
        updated_at: e.updated_at,
    }
}

/// The updates of `StreamTaskStatus`.
type TaskStatusStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::TaskStatusUpdate, Status>> + Send>>;

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl TaskService for Tasks {
    #[requires(tasks:create)]
    async fn create_task(
        &self,
        request: Request<pb::CreateTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let ctx = caller(&request)?;
        let r = request.into_inner();
        let new = NewTask {
            namespace: required("namespace", r.namespace)?,
            name: required("name", r.name)?,
            version: required("version", r.version)?,
            context: struct_to_json(r.context),
            reason: r.reason,
            priority: r.priority,
            tags: r.tags,
        };
        let mut created = self
            .0
            .store
            .create_task(new, ctx.subject())
            .map_err(store_full)?;
        if !sees_context(&ctx) {
            created.context = None;
        }
        Ok(Response::new(task(created)))
    }

    #[requires(tasks:list)]
    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let ctx = caller(&request)?;
        let status = task_status_filter(request.into_inner().status)?;
        let tasks = self.0.store.list_tasks(status, sees_context(&ctx));
        Ok(Response::new(pb::ListTasksResponse {
            tasks: tasks.into_iter().map(task).collect(),
        }))
    }

    #[requires(tasks:read)]
    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let ctx = caller(&request)?;
        let uuid = parse_uuid("task_uuid", &request.into_inner().task_uuid)?;
        self.0
            .store
            .task(uuid, sees_context(&ctx))
            .map(|t| Response::new(task(t)))
            .ok_or_else(|| not_found(format_args!("task {uuid}")))
    }

    #[requires(tasks:context_read)]
    async fn get_task_context(
        &self,
        request: Request<pb::GetTaskContextRequest>,
    ) -> Result<Response<pb::GetTaskContextResponse>, Status> {
        let uuid = parse_uuid("task_uuid", &request.into_inner().task_uuid)?;
        let context = self
            .0
            .store
            .task_context(uuid)
            .ok_or_else(|| not_found(format_args!("task {uuid}")))?;
        Ok(Response::new(pb::GetTaskContextResponse {
            task_uuid: uuid.to_string(),
            context: json_to_struct(context),
        }))
    }

    #[requires(tasks:cancel)]
    async fn cancel_task(
        &self,
        request: Request<pb::CancelTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let uuid = parse_uuid("task_uuid", &request.into_inner().task_uuid)?;
        match self.0.store.cancel_task(uuid) {
            None => Err(not_found(format_args!("task {uuid}"))),
            Some(Err(status)) => Err(Status::failed_precondition(format!(
                "task {uuid} is {status:?} and cannot be cancelled"
            ))),
            Some(Ok(cancelled)) => Ok(Response::new(task(cancelled))),
        }
    }

    type StreamTaskStatusStream = TaskStatusStream;

    /// A finite stream: the task's current status, then the end of the stream. A client
    /// watching a task calls again (the demo store has no change notifications).
    #[requires(tasks:read)]
    async fn stream_task_status(
        &self,
        request: Request<pb::StreamTaskStatusRequest>,
    ) -> Result<Response<Self::StreamTaskStatusStream>, Status> {
        let uuid = parse_uuid("task_uuid", &request.into_inner().task_uuid)?;
        let t = self
            .0
            .store
            .task(uuid, false)
            .ok_or_else(|| not_found(format_args!("task {uuid}")))?;
        let update = pb::TaskStatusUpdate {
            task_uuid: t.task_uuid.to_string(),
            status: task_status(t.status).into(),
            completed_steps: t.completed_steps as u64,
            step_count: t.step_count as u64,
            updated_at: t.updated_at,
        };
        let stream: Self::StreamTaskStatusStream = Box::pin(tokio_stream::once(Ok(update)));
        Ok(Response::new(stream))
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl StepService for Steps {
    #[requires(steps:read)]
    async fn list_steps(
        &self,
        request: Request<pb::ListStepsRequest>,
    ) -> Result<Response<pb::ListStepsResponse>, Status> {
        let uuid = parse_uuid("task_uuid", &request.into_inner().task_uuid)?;
        let steps = self
            .0
            .store
            .steps(uuid)
            .ok_or_else(|| not_found(format_args!("task {uuid}")))?;
        Ok(Response::new(pb::ListStepsResponse {
            steps: steps.into_iter().map(step).collect(),
        }))
    }

    #[requires(steps:read)]
    async fn get_step(
        &self,
        request: Request<pb::GetStepRequest>,
    ) -> Result<Response<pb::Step>, Status> {
        let r = request.into_inner();
        let task_uuid = parse_uuid("task_uuid", &r.task_uuid)?;
        let step_uuid = parse_uuid("step_uuid", &r.step_uuid)?;
        self.0
            .store
            .step(task_uuid, step_uuid)
            .map(|s| Response::new(step(s)))
            .ok_or_else(|| not_found(format_args!("step {step_uuid} of task {task_uuid}")))
    }

    /// `resolved_by` is the caller's subject, never a field of the request.
    #[requires(steps:resolve)]
    async fn resolve_step(
        &self,
        request: Request<pb::ResolveStepRequest>,
    ) -> Result<Response<pb::Step>, Status> {
        let ctx = caller(&request)?;
        let r = request.into_inner();
        let task_uuid = parse_uuid("task_uuid", &r.task_uuid)?;
        let step_uuid = parse_uuid("step_uuid", &r.step_uuid)?;
        let action = match pb::StepAction::try_from(r.action) {
            Ok(pb::StepAction::ResolveManually) => StepAction::ResolveManually,
            Ok(pb::StepAction::ResetForRetry) => StepAction::ResetForRetry,
            Ok(pb::StepAction::Unspecified) | Err(_) => {
                return Err(Status::invalid_argument(
                    "action must be STEP_ACTION_RESOLVE_MANUALLY or STEP_ACTION_RESET_FOR_RETRY",
                ));
            }
        };
        let resolution = StepResolution {
            action,
            note: r.note,
            results: r.results.map(|s| struct_to_json(Some(s))),
        };
        self.0
            .store
            .resolve_step(task_uuid, step_uuid, resolution, ctx.subject())
            .ok_or_else(|| not_found(format_args!("step {step_uuid} of task {task_uuid}")))?
            .map(|s| Response::new(step(s)))
            .map_err(store_full)
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl TemplateService for Templates {
    #[requires(templates:read)]
    async fn list_templates(
        &self,
        _request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        Ok(Response::new(list_templates(&self.0.store)))
    }

    #[requires(templates:read)]
    async fn get_template(
        &self,
        request: Request<pb::GetTemplateRequest>,
    ) -> Result<Response<pb::Template>, Status> {
        get_template(&self.0.store, request.get_ref()).map(Response::new)
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl HandlerService for Handlers {
    #[requires(system:handlers_read)]
    async fn list_handlers(
        &self,
        _request: Request<pb::ListHandlersRequest>,
    ) -> Result<Response<pb::ListHandlersResponse>, Status> {
        let handlers = self
            .0
            .store
            .handlers()
            .into_iter()
            .map(|h| pb::Handler {
                namespace: h.namespace,
                name: h.name,
                version: h.version,
                available_workers: h.available_workers,
            })
            .collect();
        Ok(Response::new(pb::ListHandlersResponse { handlers }))
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl AnalyticsService for Analytics {
    #[requires(system:analytics_read)]
    async fn get_performance_metrics(
        &self,
        _request: Request<pb::GetPerformanceMetricsRequest>,
    ) -> Result<Response<pb::PerformanceMetrics>, Status> {
        let p = self.0.store.performance();
        Ok(Response::new(pb::PerformanceMetrics {
            total_tasks: p.total_tasks as u64,
            completed_tasks: p.completed_tasks as u64,
            failed_tasks: p.failed_tasks as u64,
            active_tasks: p.active_tasks as u64,
            completion_rate: p.completion_rate,
            error_rate: p.error_rate,
            average_step_attempts: p.average_step_attempts,
        }))
    }

    #[requires(system:analytics_read)]
    async fn get_bottlenecks(
        &self,
        _request: Request<pb::GetBottlenecksRequest>,
    ) -> Result<Response<pb::GetBottlenecksResponse>, Status> {
        let bottlenecks = self
            .0
            .store
            .bottlenecks()
            .into_iter()
            .map(|b| pb::Bottleneck {
                step_name: b.step_name,
                executions: b.executions,
                error_count: b.error_count,
                retry_count: b.retry_count,
            })
            .collect();
        Ok(Response::new(pb::GetBottlenecksResponse { bottlenecks }))
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl DlqService for Dlq {
    #[requires(dlq:read)]
    async fn list_dlq_entries(
        &self,
        request: Request<pb::ListDlqEntriesRequest>,
    ) -> Result<Response<pb::ListDlqEntriesResponse>, Status> {
        let status = request
            .into_inner()
            .resolution_status
            .map(|s| dlq_status_from("resolution_status", s))
            .transpose()?;
        Ok(Response::new(pb::ListDlqEntriesResponse {
            entries: self
                .0
                .store
                .dlq(status)
                .into_iter()
                .map(dlq_entry)
                .collect(),
        }))
    }

    /// `NOT_FOUND` when the task has no entry, as `GET /v1/dlq/task/{task_uuid}` answers 404.
    #[requires(dlq:read)]
    async fn get_dlq_entries_for_task(
        &self,
        request: Request<pb::GetDlqEntriesForTaskRequest>,
    ) -> Result<Response<pb::ListDlqEntriesResponse>, Status> {
        let uuid = parse_uuid("task_uuid", &request.into_inner().task_uuid)?;
        let entries = self.0.store.dlq_for_task(uuid);
        if entries.is_empty() {
            return Err(not_found(format_args!("DLQ entry for task {uuid}")));
        }
        Ok(Response::new(pb::ListDlqEntriesResponse {
            entries: entries.into_iter().map(dlq_entry).collect(),
        }))
    }

    /// `updated_by` is the caller's subject.
    #[requires(dlq:update)]
    async fn update_dlq_entry(
        &self,
        request: Request<pb::UpdateDlqEntryRequest>,
    ) -> Result<Response<pb::DlqEntry>, Status> {
        let ctx = caller(&request)?;
        let r = request.into_inner();
        let uuid = parse_uuid("dlq_entry_uuid", &r.dlq_entry_uuid)?;
        let update = DlqUpdate {
            resolution_status: dlq_status_from("resolution_status", r.resolution_status)?,
            resolution_notes: r.resolution_notes,
        };
        self.0
            .store
            .update_dlq(uuid, update, ctx.subject())
            .ok_or_else(|| not_found(format_args!("DLQ entry {uuid}")))?
            .map(|e| Response::new(dlq_entry(e)))
            .map_err(store_full)
    }

    #[requires(dlq:stats)]
    async fn get_dlq_stats(
        &self,
        _request: Request<pb::GetDlqStatsRequest>,
    ) -> Result<Response<pb::DlqStats>, Status> {
        let s = self.0.store.dlq_stats();
        let counts = |m: std::collections::BTreeMap<String, usize>| {
            m.into_iter().map(|(k, v)| (k, v as u64)).collect()
        };
        Ok(Response::new(pb::DlqStats {
            total: s.total as u64,
            by_status: counts(s.by_status),
            by_reason: counts(s.by_reason),
        }))
    }
}

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl ConfigService for Config {
    /// The running configuration with every secret redacted, as `GET /config`.
    #[requires(system:config_read)]
    async fn get_config(
        &self,
        _request: Request<pb::GetConfigRequest>,
    ) -> Result<Response<pb::GetConfigResponse>, Status> {
        Ok(Response::new(pb::GetConfigResponse {
            config: json_to_struct(serde_json::Value::clone(&self.0.redacted_config)),
        }))
    }
}
