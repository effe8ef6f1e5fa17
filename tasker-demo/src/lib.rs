//! The demo Tasker servers' shared parts: the in-memory [`store`] and the [`server`] plumbing
//! (configuration, public routes, OpenAPI, metrics, serving with graceful shutdown).
//!
//! The handlers themselves live in `examples/orchestration.rs` and `examples/worker.rs`, where
//! each carries its `#[requires(...)]` and `#[utoipa::path(...)]`; `examples/demo.rs` runs both.
//! This package also owns the workspace's integration tests (`tests/`) and benches (`benches/`).

pub mod api_error;
pub mod server;
pub mod store;
