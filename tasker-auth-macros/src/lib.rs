//! The `#[requires(resource:action)]` attribute of `tasker-auth`.
//!
//! Use it through `tasker_auth::requires`; the user documentation lives there and in
//! `docs/permissions.md`.

mod attr;
mod expand;
mod grpc;
mod openapi;
mod valid;

use proc_macro::TokenStream;

/// Guards an async axum handler with one permission of the Tasker vocabulary.
///
/// ```text
/// #[requires(tasks:create)]
/// async fn create_task(ctx: SecurityContext, Json(task): Json<NewTask>) -> impl IntoResponse { .. }
/// ```
///
/// - The permission is checked against the vocabulary when the code is compiled; a misspelt
///   resource or action is a compile error that suggests the right one.
/// - The handler gets a first extractor that checks the request's `SecurityContext` before any
///   other extractor runs: a caller without the permission gets a 403 and the request
///   body is never read. A route without an authentication layer in front fails closed with a
///   logged 500.
/// - A `#[utoipa::path(...)]` written *below* `#[requires]` gets `x-required-permission`, the
///   `bearer_auth` and `api_key_auth` security requirements and the 401 and 403 responses.
///   Written above, it is a compile error.
///
/// See the `tasker_auth` crate documentation for examples.
#[proc_macro_attribute]
pub fn requires(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    expand::requires(args.into(), item.clone())
        .unwrap_or_else(|error| expand::fallback(item, &error))
        .into()
}

/// Declares who may call each method of a tonic service: put it on the `impl` block of the
/// generated service trait, above `#[tonic::async_trait]`, with the `.proto` package.
///
/// ```text
/// #[grpc_service(package = "tasker.v1")]
/// #[tonic::async_trait]
/// impl TaskService for Tasks {
///     #[requires(tasks:create)]
///     async fn create_task(&self, request: Request<CreateTaskRequest>) -> Result<Response<Task>, Status> { .. }
///     #[public]
///     async fn ping(..) .. { .. }
/// }
/// ```
///
/// - Each method carries exactly one `#[requires(resource:action)]`, checked against the
///   vocabulary with the same diagnostics as on axum handlers, or `#[public]`; a method with
///   neither is a compile error.
/// - The markers are removed, and the self type implements `tasker_auth::grpc::GrpcMethods`
///   (service `package.Trait`, methods under their rpc names), which
///   `tasker_auth::grpc::GrpcMethodTable::service` turns into the table of `GrpcAuthLayer`.
#[proc_macro_attribute]
pub fn grpc_service(args: TokenStream, item: TokenStream) -> TokenStream {
    grpc::expand(args.into(), item.into()).into()
}
