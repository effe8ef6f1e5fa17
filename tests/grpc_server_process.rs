//! The example servers serve gRPC as a user runs them: as processes, printing `grpc listening on
//! http://IP:PORT` after `listening on`, answering a real tonic client, stopping both listeners
//! on SIGTERM; and the demo's printed gRPC command works as pasted.
//!
//! The example binaries are built by `cargo test` (the README's test command builds every
//! example); these tests find them next to the test binary.

#[path = "common/process.rs"]
mod process;

use process::{example, stop};

use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use tasker_proto::v1::ListTasksRequest;
use tasker_proto::v1::task_service_client::TaskServiceClient;
use tonic::Code;

fn write_config(name: &str, toml: &str) -> PathBuf {
    process::write_config("grpc-process", name, toml)
}

const KEY: &str = "grpc-process-key-0123456789";

fn auth_config(grpc: &str) -> String {
    format!(
        "[web]\nbind_address = \"127.0.0.1:1\"\n\n[web.auth]\nenabled = true\napi_keys_enabled = true\n\
         \n[[web.auth.api_keys]]\nkey = \"{KEY}\"\npermissions = [\"tasks:list\"]\n\
         description = \"grpc-process\"\n\n{grpc}"
    )
}

fn spawn(name: &str, config: &PathBuf, args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(example(name))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("TASKER_GRPC_BIND_ADDRESS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

fn next_addr(lines: &mut Lines<BufReader<ChildStdout>>, prefix: &str) -> String {
    let line = lines.next().expect("a line").unwrap();
    line.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
        .to_owned()
}

async fn list_tasks(addr: &str, key: Option<&str>) -> Result<usize, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = TaskServiceClient::new(channel);
    let mut request = tonic::Request::new(ListTasksRequest::default());
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert("x-api-key", key.parse().unwrap());
    }
    Ok(client.list_tasks(request).await?.into_inner().tasks.len())
}

#[tokio::test]
async fn servers_print_grpc_listening_serve_grpc_and_stop_both_on_sigterm() {
    let config = write_config("auth-on.toml", &auth_config(""));
    for name in ["orchestration", "worker"] {
        let (mut child, mut lines) = spawn(
            name,
            &config,
            &["--bind", "127.0.0.1:0", "--grpc-bind", "127.0.0.1:0"],
        );
        let http = next_addr(&mut lines, "listening on http://");
        let grpc = next_addr(&mut lines, "grpc listening on http://");
        assert_ne!(http, grpc);
        assert!(grpc.starts_with("127.0.0.1:"), "{grpc}");
        if name == "orchestration" {
            assert_eq!(list_tasks(&grpc, Some(KEY)).await.unwrap(), 3);
            let refused = list_tasks(&grpc, None).await.unwrap_err();
            assert_eq!(refused.code(), Code::Unauthenticated);
        } else {
            // The worker serves no TaskService: a method it does not declare.
            let refused = list_tasks(&grpc, Some(KEY)).await.unwrap_err();
            assert_eq!(refused.code(), Code::Unimplemented);
        }
        // Off the runtime's thread, so that the client's dropped connections close meanwhile.
        let mut child = tokio::task::spawn_blocking(move || {
            stop(&mut child, name);
            child
        })
        .await
        .unwrap();
        let _ = child.wait();
        assert!(
            std::net::TcpStream::connect(&grpc).is_err(),
            "{name}: the gRPC listener is closed"
        );
    }
}

#[tokio::test]
async fn bind_on_port_zero_puts_grpc_on_a_free_port_and_grpc_can_be_disabled() {
    let config = write_config("default-grpc.toml", &auth_config(""));
    let (mut child, mut lines) = spawn("orchestration", &config, &["--bind", "127.0.0.1:0"]);
    next_addr(&mut lines, "listening on http://");
    let grpc = next_addr(&mut lines, "grpc listening on http://");
    assert_ne!(grpc, "127.0.0.1:9190", "port 0 on --bind: a free gRPC port");
    stop(&mut child, "orchestration");

    let config = write_config("no-grpc.toml", &auth_config("[grpc]\nenabled = false\n"));
    let (mut child, mut lines) = spawn("orchestration", &config, &["--bind", "127.0.0.1:0"]);
    next_addr(&mut lines, "listening on http://");
    stop(&mut child, "orchestration");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.is_empty(), "no gRPC line when disabled: {rest:?}");
}

#[test]
fn the_demo_prints_a_grpc_command_that_works_as_pasted() {
    let mut demo = Command::new(example("demo"))
        .args([
            "--orchestration-bind",
            "127.0.0.1:0",
            "--worker-bind",
            "127.0.0.1:0",
            "--orchestration-grpc-bind",
            "127.0.0.1:0",
            "--worker-grpc-bind",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut grpc_lines = 0;
    let mut command = None;
    for line in lines {
        let line = line.unwrap();
        grpc_lines += usize::from(line.starts_with("grpc listening on http://"));
        if line.contains("cargo run --example grpc_client") {
            command = Some(line);
            break;
        }
    }
    assert_eq!(grpc_lines, 2, "both servers serve gRPC");
    let command = command.expect("the banner prints a grpc_client command");
    // Run it as pasted into a shell, with the built example in place of `cargo run`.
    let line = command.replace(
        "cargo run --example grpc_client --",
        &example("grpc_client").display().to_string(),
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env_remove("TASKER_ORCHESTRATION_AUTH_TOKEN")
        .env_remove("TASKER_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{command}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("order_fulfillment"), "{stdout}");
    stop(&mut demo, "demo");
}
