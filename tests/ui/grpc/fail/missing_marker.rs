//! A method with neither `#[requires]` nor `#[public]` cannot be served.

use tasker_auth::grpc_service;

#[tonic::async_trait]
trait TaskService: Send + Sync + 'static {
    async fn create_task(&self) -> u32;
    async fn get_task(&self) -> u32;
}

struct Tasks;

#[grpc_service(package = "tasker.v1")]
#[tonic::async_trait]
impl TaskService for Tasks {
    #[requires(tasks:create)]
    async fn create_task(&self) -> u32 {
        1
    }

    async fn get_task(&self) -> u32 {
        2
    }
}

fn main() {}
