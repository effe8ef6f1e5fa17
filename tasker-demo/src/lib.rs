//! The demo Tasker servers: the orchestration and worker APIs of the workflow-orchestration
//! system, every protected route guarded by `#[requires(...)]` and documented by
//! `#[utoipa::path(...)]`, backed by an in-memory store.
//!
//! The examples are thin `main`s over this crate (`cargo run --example demo`,
//! `cargo run --example orchestration -- --config examples/orchestration.toml`), and the
//! end-to-end tests drive the same routers over HTTP, so what is tested is what is run.
//!
//! A request meets the modules in this order: [`server`] (bind, timeout, body limit, the
//! authentication layer from `tasker-auth`), then the handlers of [`orchestration`] or
//! [`worker`] (each checks its permission before its [`extract`]ors read the path, query and
//! body), which read and write the [`store`] and answer errors with [`api_error::ApiError`]. [`demo`] runs both servers with
//! authentication on and prints requests to try.

pub mod api_error;
pub mod demo;
pub mod extract;
pub mod grpc;
pub mod orchestration;
pub mod server;
pub mod store;
pub mod worker;

/// The Rust blocks of the README, compiled and run as doc tests so that the wiring it shows
/// keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
