//! The package is required and must be a protobuf package; `#[public]` takes no arguments.

use tasker_auth::grpc_service;

#[tonic::async_trait]
trait TaskService: Send + Sync + 'static {
    async fn create_task(&self) -> u32;
    async fn get_task(&self) -> u32;
}

struct Tasks;

#[grpc_service]
#[tonic::async_trait]
impl TaskService for Tasks {
    #[public(yes)]
    async fn create_task(&self) -> u32 {
        1
    }

    #[public]
    async fn get_task(&self) -> u32 {
        2
    }
}

struct Other;

#[grpc_service(package = "tasker v1")]
#[tonic::async_trait]
impl TaskService for Other {
    #[public]
    async fn create_task(&self) -> u32 {
        1
    }

    #[public]
    async fn get_task(&self) -> u32 {
        2
    }
}

fn main() {}
