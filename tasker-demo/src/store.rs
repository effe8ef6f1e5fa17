//! The in-memory data behind the demo servers: tasks with their context and workflow steps,
//! templates, handlers and DLQ entries, seeded with a few realistic records.
//!
//! The store is bounded: at most [`MAX_TASKS`] tasks and [`MAX_STORED_BYTES`] of data taken
//! from request bodies (task fields and contexts, step results and notes, DLQ notes), counted by
//! their size in memory. A write past either cap is refused with [`StoreFull`] (a 507 on the
//! wire) and changes nothing; the demo keeps its data until it restarts.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

/// The most tasks the store keeps; creating another is refused with [`StoreFull`].
pub const MAX_TASKS: usize = 10_000;

/// The most bytes of request data the store keeps (16 MiB), measured as the memory the values
/// occupy (a JSON array of small numbers takes far more room in memory than on the wire);
/// a write that would go past it is refused with [`StoreFull`].
pub const MAX_STORED_BYTES: usize = 16 * 1024 * 1024;

/// A write refused because the store holds as much as it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreFull {
    /// [`MAX_TASKS`] tasks are stored.
    #[error(
        "the demo store is full: it keeps at most {MAX_TASKS} tasks; restart the server to empty it"
    )]
    Tasks,
    /// The write would take the stored request data past [`MAX_STORED_BYTES`].
    #[error(
        "the demo store is full: it keeps at most {} MiB of task data and this write would go \
         past it; send less, or restart the server to empty it",
        MAX_STORED_BYTES / (1024 * 1024)
    )]
    Bytes,
}

/// Current time, RFC 3339.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting to start.
    Pending,
    /// Steps are running.
    InProgress,
    /// Every step finished.
    Complete,
    /// A step failed for good.
    Error,
    /// Cancelled by a caller.
    Cancelled,
}

/// Where a workflow step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Waiting for its dependencies.
    Pending,
    /// Running.
    InProgress,
    /// Done.
    Complete,
    /// Failed (it may be retried).
    Error,
    /// Resolved by an operator.
    ResolvedManually,
}

/// A task as stored.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    /// Its id.
    pub task_uuid: Uuid,
    /// Template name.
    pub name: String,
    /// Template namespace.
    pub namespace: String,
    /// Template version.
    pub version: String,
    /// Status.
    pub status: TaskStatus,
    /// Who submitted it (the caller's subject).
    pub initiator: String,
    /// Why.
    pub reason: String,
    /// Priority (higher first).
    pub priority: i32,
    /// Free tags.
    pub tags: Vec<String>,
    /// The task's input (a JSON object): may hold customer data, hence `tasks:context_read`.
    pub context: Value,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// A task as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// Its id.
    pub task_uuid: Uuid,
    /// Template name.
    pub name: String,
    /// Template namespace.
    pub namespace: String,
    /// Template version.
    pub version: String,
    /// Status.
    pub status: TaskStatus,
    /// Who submitted it.
    pub initiator: String,
    /// Why.
    pub reason: String,
    /// Priority.
    pub priority: i32,
    /// Tags.
    pub tags: Vec<String>,
    /// Number of workflow steps.
    pub step_count: usize,
    /// Steps complete or resolved.
    pub completed_steps: usize,
    /// The task's input, a JSON object; present only for callers holding `tasks:context_read`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
    /// Created at (RFC 3339).
    pub created_at: String,
    /// Updated at (RFC 3339).
    pub updated_at: String,
}

/// The body of `POST /v1/tasks`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// Template name.
    pub name: String,
    /// Template namespace.
    pub namespace: String,
    /// Template version.
    pub version: String,
    /// Input of the task: a JSON object (its fields are what a template's `required_context`
    /// names); default `{}`.
    #[serde(default = "empty_object", deserialize_with = "json_object")]
    #[schema(value_type = Object)]
    pub context: Value,
    /// Why the task is submitted.
    #[serde(default)]
    pub reason: String,
    /// Priority (default 0): an integer, which JSON may also write as `2.0`.
    #[serde(default, deserialize_with = "json_i32")]
    pub priority: i32,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A workflow step.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowStep {
    /// Its id.
    pub step_uuid: Uuid,
    /// Its task.
    pub task_uuid: Uuid,
    /// Step name from the template.
    pub name: String,
    /// Status.
    pub status: StepStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The step's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Value>,
    /// Last error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Who resolved it manually (from the caller's SecurityContext, never from a body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// The operator's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_note: Option<String>,
    /// Updated at (RFC 3339).
    pub updated_at: String,
}

/// What an operator does to a step (`PATCH .../workflow_steps/{step_uuid}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Mark it resolved, optionally with results.
    ResolveManually,
    /// Reset it so it runs again.
    ResetForRetry,
}

/// The body of `PATCH /v1/tasks/{uuid}/workflow_steps/{step_uuid}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepResolution {
    /// What to do.
    pub action: StepAction,
    /// Why.
    #[serde(default)]
    pub note: Option<String>,
    /// Results to record when resolving.
    #[serde(default)]
    pub results: Option<Value>,
}

/// A step of a task template.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateStep {
    /// Step name.
    pub name: String,
    /// The handler that runs it.
    pub handler: String,
    /// Steps it waits for.
    pub depends_on: Vec<String>,
}

/// A task template.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Template {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// What it does.
    pub description: String,
    /// Context fields a task must provide.
    pub required_context: Vec<String>,
    /// Its steps.
    pub steps: Vec<TemplateStep>,
}

/// A registered step handler.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HandlerInfo {
    /// Namespace.
    pub namespace: String,
    /// Handler name.
    pub name: String,
    /// Handler version.
    pub version: String,
    /// Workers that can run it.
    pub available_workers: u32,
}

/// Where a DLQ entry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DlqStatus {
    /// Not looked at yet.
    Pending,
    /// Someone is on it.
    Investigating,
    /// Fixed by hand.
    ManuallyResolved,
    /// Given up.
    PermanentlyFailed,
}

/// A dead-letter-queue entry: a task that could not proceed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DlqEntry {
    /// Its id.
    pub dlq_entry_uuid: Uuid,
    /// The task.
    pub task_uuid: Uuid,
    /// Why it landed here.
    pub dlq_reason: String,
    /// Status.
    pub resolution_status: DlqStatus,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_notes: Option<String>,
    /// Who last updated it (from the caller's SecurityContext, never from a body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// When it landed.
    pub dlq_timestamp: String,
    /// Updated at.
    pub updated_at: String,
}

/// The body of `PATCH /v1/dlq/entry/{dlq_entry_uuid}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DlqUpdate {
    /// New status.
    pub resolution_status: DlqStatus,
    /// Notes.
    #[serde(default)]
    pub resolution_notes: Option<String>,
}

/// DLQ counts.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DlqStats {
    /// All entries.
    pub total: usize,
    /// Per status.
    pub by_status: BTreeMap<String, usize>,
    /// Per reason.
    pub by_reason: BTreeMap<String, usize>,
}

/// `GET /v1/analytics/performance`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PerformanceMetrics {
    /// Tasks known.
    pub total_tasks: usize,
    /// Complete.
    pub completed_tasks: usize,
    /// In error.
    pub failed_tasks: usize,
    /// Pending or in progress.
    pub active_tasks: usize,
    /// completed / total.
    pub completion_rate: f64,
    /// failed / total.
    pub error_rate: f64,
    /// Mean step attempts.
    pub average_step_attempts: f64,
}

/// One slow or failing step in `GET /v1/analytics/bottlenecks`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Bottleneck {
    /// Step name.
    pub step_name: String,
    /// Executions seen.
    pub executions: u32,
    /// Failed attempts.
    pub error_count: u32,
    /// Retries beyond the first attempt.
    pub retry_count: u32,
}

/// `{}`, the context of a task submitted without one.
pub fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// Deserializes a JSON object, refusing any other JSON value (`null`, `5`, `"s"`, `[1]`).
pub fn json_object<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Map::<String, Value>::deserialize(deserializer).map(Value::Object)
}

/// Deserializes an `i32` from any JSON number with that integer value: JSON Schema's `integer`
/// counts `2.0` as one, so a client may send it.
pub fn json_i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    use serde::de::Error as _;
    let number = serde_json::Number::deserialize(deserializer)?;
    let integer = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= f64::from(i32::MAX) + 1.0)
            .map(|f| f as i64)
    });
    integer.and_then(|i| i32::try_from(i).ok()).ok_or_else(|| {
        D::Error::custom(format!(
            "expected an integer in the i32 range, got {number}"
        ))
    })
}

/// About how many bytes a JSON value occupies in memory: its own slot, the text of its strings
/// and keys, and its elements. Recursion is bounded by serde_json's nesting limit (128).
fn json_size(value: &Value) -> usize {
    const SLOT: usize = std::mem::size_of::<Value>();
    SLOT + match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => s.capacity(),
        Value::Array(items) => {
            items.iter().map(json_size).sum::<usize>() + (items.capacity() - items.len()) * SLOT
        }
        // A key's `String`, the value's slot (in `json_size`) and the map's own bookkeeping.
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| string_size(k) + json_size(v) + 16)
            .sum(),
    }
}

fn string_size(s: &str) -> usize {
    std::mem::size_of::<String>() + s.len()
}

fn optional_string_size(s: Option<&String>) -> usize {
    s.map_or(0, |s| string_size(s))
}

fn optional_json_size(value: Option<&Value>) -> usize {
    value.map_or(0, json_size)
}

fn new_task_size(new: &NewTask) -> usize {
    [&new.name, &new.namespace, &new.version, &new.reason]
        .into_iter()
        .map(|s| string_size(s))
        .sum::<usize>()
        + new.tags.iter().map(|t| string_size(t)).sum::<usize>()
        + json_size(&new.context)
}

#[derive(Debug, Default)]
struct Data {
    tasks: BTreeMap<Uuid, TaskRecord>,
    steps: BTreeMap<Uuid, Vec<WorkflowStep>>,
    templates: Vec<Template>,
    handlers: Vec<HandlerInfo>,
    dlq: Vec<DlqEntry>,
    /// Bytes of request data held, as [`json_size`] and [`string_size`] count them.
    stored_bytes: usize,
}

/// Replaces `old` bytes of request data by `new` in the count `stored`, unless that takes it past
/// [`MAX_STORED_BYTES`]. Shrinking is always allowed.
fn replace_bytes(stored: &mut usize, old: usize, new: usize) -> Result<(), StoreFull> {
    let after = stored.saturating_sub(old) + new;
    if new > old && after > MAX_STORED_BYTES {
        return Err(StoreFull::Bytes);
    }
    *stored = after;
    Ok(())
}

/// The shared in-memory store. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Store {
    data: Arc<RwLock<Data>>,
}

impl Store {
    fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A store seeded with templates, handlers, a few tasks in various states and DLQ entries.
    pub fn seeded() -> Self {
        let store = Store::default();
        {
            let mut d = store.write();
            d.templates = seed_templates();
            d.handlers = d
                .templates
                .iter()
                .flat_map(|t| {
                    t.steps.iter().map(|s| HandlerInfo {
                        namespace: t.namespace.clone(),
                        name: s.handler.clone(),
                        version: t.version.clone(),
                        available_workers: 2,
                    })
                })
                .collect();
        }
        let orders = |id: &str| json!({"order_id": id, "customer_email": format!("customer-{id}@example.com"), "amount_cents": 12_999});
        let seed = |new: NewTask, initiator: &str| {
            store
                .create_task(new, initiator)
                .expect("three small tasks fit in an empty store")
        };
        let t1 = seed(
            seed_task("order_fulfillment", "ecommerce", orders("ORD-1001")),
            "ops@example.com",
        );
        let t2 = seed(
            seed_task("order_fulfillment", "ecommerce", orders("ORD-1002")),
            "checkout-service",
        );
        let t3 = seed(
            seed_task(
                "monthly_invoice",
                "billing",
                json!({"account_id": "ACC-77", "period": "2026-10"}),
            ),
            "billing-scheduler",
        );
        {
            let mut d = store.write();
            advance(&mut d, t1.task_uuid, 4, None);
            advance(
                &mut d,
                t2.task_uuid,
                1,
                Some("payment gateway timeout after 3 attempts"),
            );
            advance(&mut d, t3.task_uuid, 2, None);
            let when = now();
            d.dlq.push(DlqEntry {
                dlq_entry_uuid: Uuid::new_v4(),
                task_uuid: t2.task_uuid,
                dlq_reason: "retry_exhausted".into(),
                resolution_status: DlqStatus::Pending,
                resolution_notes: None,
                updated_by: None,
                dlq_timestamp: when.clone(),
                updated_at: when,
            });
        }
        store
    }

    /// Creates a task and its steps from its template (or a single step when there is none),
    /// unless the store is full.
    pub fn create_task(&self, new: NewTask, initiator: &str) -> Result<Task, StoreFull> {
        let mut d = self.write();
        if d.tasks.len() >= MAX_TASKS {
            return Err(StoreFull::Tasks);
        }
        replace_bytes(&mut d.stored_bytes, 0, new_task_size(&new))?;
        let when = now();
        let record = TaskRecord {
            task_uuid: Uuid::new_v4(),
            name: new.name,
            namespace: new.namespace,
            version: new.version,
            status: TaskStatus::Pending,
            initiator: initiator.to_owned(),
            reason: new.reason,
            priority: new.priority,
            tags: new.tags,
            context: new.context,
            created_at: when.clone(),
            updated_at: when.clone(),
        };
        let step_names: Vec<String> = d
            .templates
            .iter()
            .find(|t| t.namespace == record.namespace && t.name == record.name)
            .map(|t| t.steps.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_else(|| vec!["run".to_owned()]);
        let steps = step_names
            .into_iter()
            .map(|name| WorkflowStep {
                step_uuid: Uuid::new_v4(),
                task_uuid: record.task_uuid,
                name,
                status: StepStatus::Pending,
                attempts: 0,
                max_attempts: 3,
                results: None,
                last_error: None,
                resolved_by: None,
                resolution_note: None,
                updated_at: when.clone(),
            })
            .collect();
        d.steps.insert(record.task_uuid, steps);
        let view = view(&d, &record, true);
        d.tasks.insert(record.task_uuid, record);
        Ok(view)
    }

    /// Every task, newest first, optionally only those with `status`.
    pub fn list_tasks(&self, status: Option<TaskStatus>, with_context: bool) -> Vec<Task> {
        let d = self.read();
        let mut tasks: Vec<Task> = d
            .tasks
            .values()
            .filter(|t| status.is_none_or(|s| t.status == s))
            .map(|t| view(&d, t, with_context))
            .collect();
        tasks.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        tasks
    }

    /// One task.
    pub fn task(&self, id: Uuid, with_context: bool) -> Option<Task> {
        let d = self.read();
        d.tasks.get(&id).map(|t| view(&d, t, with_context))
    }

    /// A task's context.
    pub fn task_context(&self, id: Uuid) -> Option<Value> {
        self.read().tasks.get(&id).map(|t| t.context.clone())
    }

    /// Cancels a task; `None` when it does not exist, `Err` with its status when it already ended.
    pub fn cancel_task(&self, id: Uuid) -> Option<Result<Task, TaskStatus>> {
        let mut d = self.write();
        let task = d.tasks.get_mut(&id)?;
        if matches!(task.status, TaskStatus::Complete | TaskStatus::Cancelled) {
            return Some(Err(task.status));
        }
        task.status = TaskStatus::Cancelled;
        task.updated_at = now();
        let task = task.clone();
        Some(Ok(view(&d, &task, false)))
    }

    /// A task's steps, or `None` when the task does not exist.
    pub fn steps(&self, task: Uuid) -> Option<Vec<WorkflowStep>> {
        self.read().steps.get(&task).cloned()
    }

    /// One step of a task.
    pub fn step(&self, task: Uuid, step: Uuid) -> Option<WorkflowStep> {
        self.read()
            .steps
            .get(&task)?
            .iter()
            .find(|s| s.step_uuid == step)
            .cloned()
    }

    /// Resolves or resets a step; `resolved_by` is the caller's subject. `None` when the step
    /// does not exist, `Err` (and nothing changed) when its new results or note do not fit.
    pub fn resolve_step(
        &self,
        task: Uuid,
        step: Uuid,
        resolution: StepResolution,
        resolved_by: &str,
    ) -> Option<Result<WorkflowStep, StoreFull>> {
        let mut d = self.write();
        let d = &mut *d;
        let s = d
            .steps
            .get_mut(&task)?
            .iter_mut()
            .find(|s| s.step_uuid == step)?;
        let old = optional_json_size(s.results.as_ref())
            + optional_string_size(s.resolution_note.as_ref());
        let results = match (resolution.action, &resolution.results) {
            (StepAction::ResolveManually, Some(new)) => json_size(new),
            _ => optional_json_size(s.results.as_ref()),
        };
        let new = results + optional_string_size(resolution.note.as_ref());
        if let Err(full) = replace_bytes(&mut d.stored_bytes, old, new) {
            return Some(Err(full));
        }
        match resolution.action {
            StepAction::ResolveManually => {
                s.status = StepStatus::ResolvedManually;
                s.results = resolution.results.or(s.results.take());
            }
            StepAction::ResetForRetry => {
                s.status = StepStatus::Pending;
                s.attempts = 0;
                s.last_error = None;
            }
        }
        s.resolved_by = Some(resolved_by.to_owned());
        s.resolution_note = resolution.note;
        s.updated_at = now();
        let updated = s.clone();
        refresh_status(d, task);
        Some(Ok(updated))
    }

    /// Every template.
    pub fn templates(&self) -> Vec<Template> {
        self.read().templates.clone()
    }

    /// One template.
    pub fn template(&self, namespace: &str, name: &str, version: &str) -> Option<Template> {
        self.read()
            .templates
            .iter()
            .find(|t| t.namespace == namespace && t.name == name && t.version == version)
            .cloned()
    }

    /// Every registered handler.
    pub fn handlers(&self) -> Vec<HandlerInfo> {
        self.read().handlers.clone()
    }

    /// DLQ entries, optionally only those with `status`.
    pub fn dlq(&self, status: Option<DlqStatus>) -> Vec<DlqEntry> {
        self.read()
            .dlq
            .iter()
            .filter(|e| status.is_none_or(|s| e.resolution_status == s))
            .cloned()
            .collect()
    }

    /// The DLQ entries of a task.
    pub fn dlq_for_task(&self, task: Uuid) -> Vec<DlqEntry> {
        self.read()
            .dlq
            .iter()
            .filter(|e| e.task_uuid == task)
            .cloned()
            .collect()
    }

    /// Updates a DLQ entry; `updated_by` is the caller's subject. `None` when the entry does not
    /// exist, `Err` (and nothing changed) when its new notes do not fit.
    pub fn update_dlq(
        &self,
        id: Uuid,
        update: DlqUpdate,
        updated_by: &str,
    ) -> Option<Result<DlqEntry, StoreFull>> {
        let mut d = self.write();
        let d = &mut *d;
        let e = d.dlq.iter_mut().find(|e| e.dlq_entry_uuid == id)?;
        let old = optional_string_size(e.resolution_notes.as_ref());
        let new = optional_string_size(update.resolution_notes.as_ref());
        if let Err(full) = replace_bytes(&mut d.stored_bytes, old, new) {
            return Some(Err(full));
        }
        e.resolution_status = update.resolution_status;
        e.resolution_notes = update.resolution_notes;
        e.updated_by = Some(updated_by.to_owned());
        e.updated_at = now();
        Some(Ok(e.clone()))
    }

    /// DLQ counts.
    pub fn dlq_stats(&self) -> DlqStats {
        let d = self.read();
        let mut stats = DlqStats {
            total: d.dlq.len(),
            by_status: BTreeMap::new(),
            by_reason: BTreeMap::new(),
        };
        for e in &d.dlq {
            let status = serde_json::to_value(e.resolution_status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *stats.by_status.entry(status).or_default() += 1;
            *stats.by_reason.entry(e.dlq_reason.clone()).or_default() += 1;
        }
        stats
    }

    /// Task-level performance figures.
    pub fn performance(&self) -> PerformanceMetrics {
        let d = self.read();
        let total = d.tasks.len();
        let count = |s: TaskStatus| d.tasks.values().filter(|t| t.status == s).count();
        let completed = count(TaskStatus::Complete);
        let failed = count(TaskStatus::Error);
        let steps: Vec<&WorkflowStep> = d.steps.values().flatten().collect();
        let ratio = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        PerformanceMetrics {
            total_tasks: total,
            completed_tasks: completed,
            failed_tasks: failed,
            active_tasks: count(TaskStatus::Pending) + count(TaskStatus::InProgress),
            completion_rate: ratio(completed, total),
            error_rate: ratio(failed, total),
            average_step_attempts: ratio(
                steps.iter().map(|s| s.attempts as usize).sum(),
                steps.len(),
            ),
        }
    }

    /// Steps by errors and retries, worst first.
    pub fn bottlenecks(&self) -> Vec<Bottleneck> {
        let d = self.read();
        let mut by_name: BTreeMap<&str, Bottleneck> = BTreeMap::new();
        for s in d.steps.values().flatten() {
            let b = by_name.entry(&s.name).or_insert_with(|| Bottleneck {
                step_name: s.name.clone(),
                executions: 0,
                error_count: 0,
                retry_count: 0,
            });
            b.executions += u32::from(s.attempts > 0);
            b.error_count += u32::from(s.status == StepStatus::Error);
            b.retry_count += s.attempts.saturating_sub(1);
        }
        let mut list: Vec<Bottleneck> =
            by_name.into_values().filter(|b| b.executions > 0).collect();
        list.sort_by_key(|b| std::cmp::Reverse((b.error_count, b.retry_count)));
        list
    }
}

fn view(d: &Data, t: &TaskRecord, with_context: bool) -> Task {
    let steps = d
        .steps
        .get(&t.task_uuid)
        .map(Vec::as_slice)
        .unwrap_or_default();
    Task {
        task_uuid: t.task_uuid,
        name: t.name.clone(),
        namespace: t.namespace.clone(),
        version: t.version.clone(),
        status: t.status,
        initiator: t.initiator.clone(),
        reason: t.reason.clone(),
        priority: t.priority,
        tags: t.tags.clone(),
        step_count: steps.len(),
        completed_steps: steps
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    StepStatus::Complete | StepStatus::ResolvedManually
                )
            })
            .count(),
        context: with_context.then(|| t.context.clone()),
        created_at: t.created_at.clone(),
        updated_at: t.updated_at.clone(),
    }
}

/// Completes the first `done` steps; with `error`, the next one fails for good.
fn advance(d: &mut Data, task: Uuid, done: usize, error: Option<&str>) {
    if let Some(steps) = d.steps.get_mut(&task) {
        for (i, s) in steps.iter_mut().enumerate() {
            if i < done {
                s.status = StepStatus::Complete;
                s.attempts = 1 + u32::from(i == 1);
                s.results = Some(json!({"ok": true}));
            } else if i == done && error.is_some() {
                s.status = StepStatus::Error;
                s.attempts = s.max_attempts;
                s.last_error = error.map(str::to_owned);
            }
        }
    }
    refresh_status(d, task);
}

fn refresh_status(d: &mut Data, task: Uuid) {
    let Some(steps) = d.steps.get(&task) else {
        return;
    };
    let done = |s: &WorkflowStep| {
        matches!(
            s.status,
            StepStatus::Complete | StepStatus::ResolvedManually
        )
    };
    let status = if steps.iter().all(done) {
        TaskStatus::Complete
    } else if steps
        .iter()
        .any(|s| s.status == StepStatus::Error && s.attempts >= s.max_attempts)
    {
        TaskStatus::Error
    } else if steps.iter().any(|s| s.attempts > 0 || done(s)) {
        TaskStatus::InProgress
    } else {
        TaskStatus::Pending
    };
    if let Some(t) = d.tasks.get_mut(&task)
        && t.status != TaskStatus::Cancelled
    {
        t.status = status;
        t.updated_at = now();
    }
}

fn seed_task(name: &str, namespace: &str, context: Value) -> NewTask {
    NewTask {
        name: name.into(),
        namespace: namespace.into(),
        version: "1.0.0".into(),
        context,
        reason: "seeded for the demo".into(),
        priority: 0,
        tags: vec!["demo".into()],
    }
}

fn seed_templates() -> Vec<Template> {
    let step = |name: &str, handler: &str, deps: &[&str]| TemplateStep {
        name: name.into(),
        handler: handler.into(),
        depends_on: deps.iter().map(|d| (*d).into()).collect(),
    };
    vec![
        Template {
            namespace: "ecommerce".into(),
            name: "order_fulfillment".into(),
            version: "1.0.0".into(),
            description: "Validate an order, charge the card, reserve stock and ship".into(),
            required_context: vec!["order_id".into(), "customer_email".into()],
            steps: vec![
                step("validate_order", "OrderValidationHandler", &[]),
                step("process_payment", "PaymentHandler", &["validate_order"]),
                step("reserve_inventory", "InventoryHandler", &["validate_order"]),
                step(
                    "ship_order",
                    "ShippingHandler",
                    &["process_payment", "reserve_inventory"],
                ),
            ],
        },
        Template {
            namespace: "billing".into(),
            name: "monthly_invoice".into(),
            version: "1.0.0".into(),
            description: "Aggregate usage, render and send a monthly invoice".into(),
            required_context: vec!["account_id".into(), "period".into()],
            steps: vec![
                step("aggregate_usage", "UsageAggregationHandler", &[]),
                step(
                    "render_invoice",
                    "InvoiceRenderHandler",
                    &["aggregate_usage"],
                ),
                step("send_invoice", "EmailHandler", &["render_invoice"]),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_store_has_data_for_every_listing() {
        let s = Store::seeded();
        assert_eq!(s.list_tasks(None, false).len(), 3);
        assert!(
            s.list_tasks(None, false)
                .iter()
                .all(|t| t.context.is_none())
        );
        assert_eq!(s.templates().len(), 2);
        assert_eq!(s.handlers().len(), 7);
        assert_eq!(s.dlq(None).len(), 1);
        assert_eq!(s.dlq_stats().total, 1);
        assert_eq!(s.performance().total_tasks, 3);
        assert_eq!(s.performance().completed_tasks, 1);
        assert_eq!(s.performance().failed_tasks, 1);
        assert!(!s.bottlenecks().is_empty());
    }

    #[test]
    fn step_resolution_records_the_caller_and_completes_the_task() {
        let s = Store::seeded();
        let failed = s.list_tasks(Some(TaskStatus::Error), false).remove(0);
        let step = s
            .steps(failed.task_uuid)
            .unwrap()
            .into_iter()
            .find(|st| st.status == StepStatus::Error)
            .unwrap();
        let resolved = s
            .resolve_step(
                failed.task_uuid,
                step.step_uuid,
                StepResolution {
                    action: StepAction::ResolveManually,
                    note: Some("charged by phone".into()),
                    results: None,
                },
                "alice",
            )
            .unwrap()
            .unwrap();
        assert_eq!(resolved.resolved_by.as_deref(), Some("alice"));
        assert_eq!(
            s.task(failed.task_uuid, false).unwrap().status,
            TaskStatus::InProgress
        );
    }

    #[test]
    fn cancel_refuses_finished_tasks() {
        let s = Store::seeded();
        let done = s.list_tasks(Some(TaskStatus::Complete), false).remove(0);
        assert!(matches!(
            s.cancel_task(done.task_uuid),
            Some(Err(TaskStatus::Complete))
        ));
        let running = s.list_tasks(Some(TaskStatus::InProgress), false).remove(0);
        let cancelled = s.cancel_task(running.task_uuid).unwrap().unwrap();
        assert_eq!(cancelled.status, TaskStatus::Cancelled);
        assert!(s.cancel_task(Uuid::new_v4()).is_none());
    }

    fn task_with_context(context: Value) -> NewTask {
        seed_task("t", "n", context)
    }

    #[test]
    fn the_task_count_is_capped() {
        let s = Store::seeded();
        let seeded = s.list_tasks(None, false).len();
        for _ in seeded..MAX_TASKS {
            s.create_task(task_with_context(empty_object()), "a")
                .unwrap();
        }
        assert!(matches!(
            s.create_task(task_with_context(empty_object()), "a"),
            Err(StoreFull::Tasks)
        ));
        assert_eq!(s.list_tasks(None, false).len(), MAX_TASKS);
    }

    #[test]
    fn stored_bytes_are_capped_by_their_size_in_memory() {
        // 256 KiB on the wire, several MiB in memory: the cap counts the memory.
        let numbers = Value::Array(vec![json!(1); 128 * 1024]);
        assert!(json_size(&numbers) > 16 * serde_json::to_vec(&numbers).unwrap().len());
        let s = Store::seeded();
        let mut stored = 0;
        let refused = loop {
            match s.create_task(task_with_context(json!({ "n": numbers.clone() })), "a") {
                Ok(_) => stored += 1,
                Err(full) => break full,
            }
            assert!(stored < 100, "never refused");
        };
        assert_eq!(refused, StoreFull::Bytes);
        assert!(stored >= 1, "a task below the cap is stored");
        assert!(
            refused.to_string().contains("16 MiB"),
            "the message names the cap: {refused}"
        );
        // Small writes still fit; a refused write changed nothing.
        let count = s.list_tasks(None, false).len();
        s.create_task(task_with_context(empty_object()), "a")
            .unwrap();
        assert_eq!(s.list_tasks(None, false).len(), count + 1);
    }

    #[test]
    fn step_results_and_dlq_notes_count_against_the_cap_and_shrinking_frees_room() {
        let s = Store::seeded();
        let task = s.list_tasks(Some(TaskStatus::Error), false).remove(0);
        let step = s.steps(task.task_uuid).unwrap()[0].step_uuid;
        let big = Value::Array(vec![json!(1); 200 * 1024]);
        let resolve = |results: Option<Value>| StepResolution {
            action: StepAction::ResolveManually,
            note: None,
            results,
        };
        // Each resolution replaces the step's results: the same step never fills the store.
        for _ in 0..10 {
            s.resolve_step(task.task_uuid, step, resolve(Some(big.clone())), "a")
                .unwrap()
                .unwrap();
        }
        // Fill the store with tasks, then a larger result no longer fits...
        while s
            .create_task(task_with_context(json!({"n": big.clone()})), "a")
            .is_ok()
        {}
        let bigger = Value::Array(vec![json!(1); 400 * 1024]);
        assert!(matches!(
            s.resolve_step(task.task_uuid, step, resolve(Some(bigger)), "a"),
            Some(Err(StoreFull::Bytes))
        ));
        assert_eq!(
            s.step(task.task_uuid, step).unwrap().results.as_ref(),
            Some(&big),
            "a refused write changes nothing"
        );
        // ...nor a long DLQ note, while a smaller result always does.
        let entry = s.dlq(None)[0].dlq_entry_uuid;
        let note = DlqUpdate {
            resolution_status: DlqStatus::Investigating,
            resolution_notes: Some("x".repeat(8 * 1024 * 1024)),
        };
        assert!(matches!(
            s.update_dlq(entry, note, "a"),
            Some(Err(StoreFull::Bytes))
        ));
        s.resolve_step(task.task_uuid, step, resolve(Some(json!({}))), "a")
            .unwrap()
            .unwrap();
    }

    #[test]
    fn priorities_are_integers_however_json_writes_them() {
        let parse = |priority: &str| {
            serde_json::from_str::<NewTask>(&format!(
                r#"{{"name": "n", "namespace": "ns", "version": "1", "priority": {priority}}}"#
            ))
            .map(|t| t.priority)
        };
        assert_eq!(parse("-15508.0").unwrap(), -15508);
        assert_eq!(parse("7").unwrap(), 7);
        assert_eq!(parse("-2147483648.0").unwrap(), i32::MIN);
        for refused in ["1.5", "2147483648", "1e300", "\"1\""] {
            assert!(parse(refused).is_err(), "{refused}");
        }
    }
}
