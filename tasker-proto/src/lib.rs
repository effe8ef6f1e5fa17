//! The `tasker.v1` gRPC contract: messages, tonic server traits and clients generated at build
//! time from `proto/tasker/v1/orchestration.proto` and `worker.proto` (no system `protoc` needed).
//!
//! Each service's server module (`task_service_server`, ...) has the trait to implement and the
//! `XServer` wrapper to route; each client module (`task_service_client`, ...) a typed client.
//! Authorization is not here: wrap the server in `tasker_auth::grpc::GrpcAuthLayer`, and declare
//! each method's permission on its `impl` block with `#[tasker_auth::grpc_service]`.
//!
//! # Example
//!
//! ```
//! use tasker_proto::v1::{GetTaskRequest, TaskStatus};
//!
//! let request = GetTaskRequest { task_uuid: "0b1e...".into() };
//! assert_eq!(request.task_uuid, "0b1e...");
//! assert_eq!(TaskStatus::Pending.as_str_name(), "TASK_STATUS_PENDING");
//! ```

/// Package `tasker.v1`.
pub mod v1 {
    #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("tasker.v1");
}

/// The encoded `FileDescriptorSet` of both files, for `tonic-reflection`'s
/// `register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tasker_v1_descriptor");
