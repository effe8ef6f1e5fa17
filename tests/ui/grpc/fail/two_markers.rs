//! A method declares its access once.

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
    #[public]
    async fn create_task(&self) -> u32 {
        1
    }

    #[requires(tasks:read)]
    #[requires(tasks:list)]
    async fn get_task(&self) -> u32 {
        2
    }
}

fn main() {}
