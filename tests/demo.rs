//! The demo's printed requests work exactly as printed: each is sent to the running demo, over
//! HTTP, and must get the status the demo announces; when `curl` is installed, the printed
//! command lines themselves are run through `sh`.

use std::process::Command;

use tasker_demo::demo;

#[tokio::test]
async fn every_printed_request_gets_the_announced_status() {
    let running = demo::start("127.0.0.1:0", "127.0.0.1:0")
        .await
        .expect("demo starts");
    let banner = demo::banner(&running);
    assert!(banner.contains("authentication is ON"));
    let client = reqwest::Client::new();
    let mut forbidden = 0;
    for r in &running.requests {
        assert!(banner.contains(&r.curl()), "the banner prints {}", r.title);
        let mut req = client.request(r.method.parse().unwrap(), &r.url);
        for (name, value) in &r.headers {
            req = req.header(name, value);
        }
        if let Some(body) = &r.body {
            req = req.body(body.clone());
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status().as_u16(), r.expected_status, "{}", r.title);
        forbidden += usize::from(r.expected_status == 403);
    }
    assert!(forbidden >= 1, "the demo shows a 403");
    assert_eq!(
        running.tokens.len(),
        4,
        "read-only, task-submitter, ops-admin, worker-service"
    );

    let has_curl = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_curl {
        for r in running.requests.clone() {
            let line = r.curl();
            let out = tokio::task::spawn_blocking(move || {
                Command::new("sh").arg("-c").arg(&line).output()
            })
            .await
            .unwrap()
            .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let status = stdout.lines().last().unwrap_or_default();
            assert_eq!(
                status,
                r.expected_status.to_string(),
                "curl for {}: {stdout}",
                r.title
            );
        }
    }
    running.stop().await;
}
