//! `#[grpc_service]` goes on the impl of a service trait.

use tasker_auth::grpc_service;

struct Tasks;

#[grpc_service(package = "tasker.v1")]
impl Tasks {
    #[public]
    async fn ping(&self) -> u32 {
        1
    }
}

#[grpc_service(package = "tasker.v1")]
struct NotAnImpl;

fn main() {}
