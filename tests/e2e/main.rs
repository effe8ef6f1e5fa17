//! End-to-end tests: the real orchestration and worker servers on 127.0.0.1:0, spoken to over
//! HTTP, for every route of the tables in docs/openapi.md.

mod fixture;

use std::collections::BTreeSet;
use std::time::Duration;

use fixture::{API_KEY_HEADER, Servers, api_key, client, config, token};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tasker_auth::Permission;
use tasker_demo::store::{NewTask, Store};
use tasker_demo::{orchestration, worker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Orchestration,
    Worker,
}

/// The route tables of docs/openapi.md, as the tests see them: server, method, OpenAPI path, permission.
const ROUTES: &[(Api, &str, &str, Permission)] = &[
    (
        Api::Orchestration,
        "POST",
        "/v1/tasks",
        Permission::TasksCreate,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/tasks",
        Permission::TasksList,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/tasks/{uuid}",
        Permission::TasksRead,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/tasks/{uuid}/context",
        Permission::TasksContextRead,
    ),
    (
        Api::Orchestration,
        "DELETE",
        "/v1/tasks/{uuid}",
        Permission::TasksCancel,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/tasks/{uuid}/workflow_steps",
        Permission::StepsRead,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/tasks/{uuid}/workflow_steps/{step_uuid}",
        Permission::StepsRead,
    ),
    (
        Api::Orchestration,
        "PATCH",
        "/v1/tasks/{uuid}/workflow_steps/{step_uuid}",
        Permission::StepsResolve,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/templates",
        Permission::TemplatesRead,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/templates/{namespace}/{name}/{version}",
        Permission::TemplatesRead,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/handlers",
        Permission::SystemHandlersRead,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/analytics/performance",
        Permission::SystemAnalyticsRead,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/analytics/bottlenecks",
        Permission::SystemAnalyticsRead,
    ),
    (Api::Orchestration, "GET", "/v1/dlq", Permission::DlqRead),
    (
        Api::Orchestration,
        "GET",
        "/v1/dlq/task/{task_uuid}",
        Permission::DlqRead,
    ),
    (
        Api::Orchestration,
        "PATCH",
        "/v1/dlq/entry/{dlq_entry_uuid}",
        Permission::DlqUpdate,
    ),
    (
        Api::Orchestration,
        "GET",
        "/v1/dlq/stats",
        Permission::DlqStats,
    ),
    (
        Api::Orchestration,
        "GET",
        "/config",
        Permission::SystemConfigRead,
    ),
    (
        Api::Worker,
        "GET",
        "/v1/templates",
        Permission::WorkerTemplatesRead,
    ),
    (
        Api::Worker,
        "GET",
        "/v1/templates/{namespace}/{name}/{version}",
        Permission::WorkerTemplatesRead,
    ),
    (
        Api::Worker,
        "POST",
        "/v1/templates/{namespace}/{name}/{version}/validate",
        Permission::TemplatesValidate,
    ),
    (Api::Worker, "GET", "/config", Permission::WorkerConfigRead),
];

const PUBLIC: &[&str] = &[
    "/health",
    "/health/ready",
    "/health/live",
    "/metrics",
    "/api-docs/openapi.json",
];

async fn start(auth: bool, config_endpoint: bool) -> Servers {
    Servers::start(
        orchestration::app,
        worker::app,
        &config(auth, config_endpoint),
    )
    .await
}

fn new_task() -> NewTask {
    serde_json::from_value(json!({
        "name": "order_fulfillment", "namespace": "ecommerce", "version": "1.0.0",
        "context": {"order_id": "ORD-9", "customer_email": "e2e@example.com"}
    }))
    .unwrap()
}

/// A concrete URL and body for a route; resources a call changes are made fresh.
fn request_for(s: &Servers, api: Api, method: &str, path: &str) -> (String, Option<Value>) {
    let store: &Store = &s.store;
    let failed = store
        .list_tasks(Some(tasker_demo::store::TaskStatus::Error), false)
        .into_iter()
        .next()
        .expect("the seeded store has a failed task");
    let task = if method == "DELETE" {
        store
            .create_task(new_task(), "fixture")
            .expect("the store has room")
            .task_uuid
    } else {
        failed.task_uuid
    };
    let step = store.steps(failed.task_uuid).unwrap()[0].step_uuid;
    let dlq = store.dlq(None)[0].dlq_entry_uuid;
    let url = path
        .replace("{uuid}", &task.to_string())
        .replace("{task_uuid}", &task.to_string())
        .replace("{step_uuid}", &step.to_string())
        .replace("{dlq_entry_uuid}", &dlq.to_string())
        .replace("{namespace}", "ecommerce")
        .replace("{name}", "order_fulfillment")
        .replace("{version}", "1.0.0");
    let base = match api {
        Api::Orchestration => &s.orchestration,
        Api::Worker => &s.worker,
    };
    let body = match (method, path) {
        ("POST", "/v1/tasks") => Some(serde_json::to_value(new_task()).unwrap()),
        ("PATCH", p) if p.contains("workflow_steps") => {
            Some(json!({"action": "resolve_manually", "note": "fixed by hand"}))
        }
        ("PATCH", _) => {
            Some(json!({"resolution_status": "investigating", "resolution_notes": "looking"}))
        }
        ("POST", _) => Some(json!({"context": {"order_id": "ORD-1"}})),
        _ => None,
    };
    (format!("{base}{url}"), body)
}

async fn call(
    s: &Servers,
    (api, method, path): (Api, &str, &str),
    header: Option<(&str, String)>,
) -> Response {
    let (url, body) = request_for(s, api, method, path);
    let mut req = client().request(Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn assert_auth_error(r: Response, status: StatusCode, reason: &str, what: &str) -> Value {
    assert_eq!(r.status(), status, "{what}");
    assert_eq!(header(&r, "x-auth-failure-reason"), reason, "{what}");
    assert!(
        header(&r, "content-type").starts_with("application/json"),
        "{what}"
    );
    let www = header(&r, "www-authenticate");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["reason"], reason, "{what}: {body}");
    assert!(body["error"]["message"].is_string(), "{what}");
    match status {
        StatusCode::UNAUTHORIZED => {
            assert_eq!(body["error"]["code"], "AUTHENTICATION_FAILED", "{what}");
            assert!(www.starts_with("Bearer realm=\"tasker\""), "{what}: {www}");
        }
        StatusCode::FORBIDDEN => {
            assert_eq!(body["error"]["code"], "AUTHORIZATION_FAILED", "{what}");
            let p = body["error"]["required_permission"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(
                www,
                format!("Bearer error=\"insufficient_scope\", scope=\"{p}\""),
                "{what}"
            );
        }
        _ => unreachable!(),
    }
    body
}

#[tokio::test]
async fn every_route_enforces_its_permission_for_every_kind_of_caller() {
    let s = start(true, true).await;
    for &(api, method, path, permission) in ROUTES {
        let what = format!("{api:?} {method} {path}");
        let route = (api, method, path);
        let ok = if method == "POST" && path == "/v1/tasks" {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };

        let r = call(&s, route, None).await;
        assert_auth_error(
            r,
            StatusCode::UNAUTHORIZED,
            "missing",
            &format!("{what}: no credentials"),
        )
        .await;

        let all_but: Vec<&str> = Permission::ALL
            .iter()
            .filter(|p| **p != permission)
            .map(|p| p.as_str())
            .collect();
        let r = call(
            &s,
            route,
            Some(("Authorization", format!("Bearer {}", token(&all_but)))),
        )
        .await;
        let body = assert_auth_error(
            r,
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("{what}: all but"),
        )
        .await;
        assert_eq!(body["error"]["required_permission"], permission.as_str());

        let exact = format!("Bearer {}", token(&[permission.as_str()]));
        let r = call(&s, route, Some(("Authorization", exact))).await;
        assert_eq!(
            r.status(),
            ok,
            "{what}: exact permission: {}",
            r.text().await.unwrap()
        );

        let wildcard = format!("{}:*", permission.resource().as_str());
        let r = call(
            &s,
            route,
            Some(("Authorization", format!("Bearer {}", token(&[&wildcard])))),
        )
        .await;
        assert_eq!(r.status(), ok, "{what}: {wildcard}");

        let r = call(&s, route, Some((API_KEY_HEADER, api_key(permission)))).await;
        assert_eq!(r.status(), ok, "{what}: API key");
        let body: Value = r.json().await.unwrap();
        assert!(body.is_object() || body.is_array(), "{what}: JSON body");
    }
}

#[tokio::test]
async fn task_context_is_shown_only_with_context_read() {
    let s = start(true, false).await;
    let (url, _) = request_for(&s, Api::Orchestration, "GET", "/v1/tasks/{uuid}");
    let read_only = client()
        .get(&url)
        .bearer_auth(token(&["tasks:read"]))
        .send()
        .await
        .unwrap();
    let body: Value = read_only.json().await.unwrap();
    assert!(body.get("context").is_none(), "{body}");
    assert!(body["task_uuid"].is_string());
    let with_context = client()
        .get(&url)
        .bearer_auth(token(&["tasks:read", "tasks:context_read"]))
        .send()
        .await
        .unwrap();
    let body: Value = with_context.json().await.unwrap();
    assert!(body["context"]["customer_email"].is_string(), "{body}");
}

#[tokio::test]
async fn audit_fields_come_from_the_caller_never_the_body() {
    let s = start(true, false).await;
    let (url, _) = request_for(
        &s,
        Api::Orchestration,
        "PATCH",
        "/v1/tasks/{uuid}/workflow_steps/{step_uuid}",
    );
    let bearer = token(&["steps:resolve"]);
    let r = client()
        .patch(&url)
        .bearer_auth(&bearer)
        .json(&json!({"action": "resolve_manually", "resolved_by": "mallory"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a body cannot carry resolved_by"
    );
    let r = client()
        .patch(&url)
        .bearer_auth(&bearer)
        .json(&json!({"action": "resolve_manually", "note": "ok"}))
        .send()
        .await
        .unwrap();
    let step: Value = r.json().await.unwrap();
    assert_eq!(step["resolved_by"], "e2e-user");

    let (url, _) = request_for(
        &s,
        Api::Orchestration,
        "PATCH",
        "/v1/dlq/entry/{dlq_entry_uuid}",
    );
    let r = client()
        .patch(&url)
        .header(API_KEY_HEADER, api_key(Permission::DlqUpdate))
        .json(&json!({"resolution_status": "manually_resolved"}))
        .send()
        .await
        .unwrap();
    let entry: Value = r.json().await.unwrap();
    assert_eq!(
        entry["updated_by"], "key-dlq:update",
        "the API key's description"
    );
}

/// Sends raw bytes and reads the status line; a server that waited for the body would time out.
async fn raw_status(base: &str, request: &[u8]) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the server answered without waiting for the body")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn denied_posts_get_403_without_the_body_being_read() {
    let s = start(true, false).await;
    let bearer = token(&["tasks:read"]);
    let malformed = format!(
        "POST /v1/tasks HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {bearer}\r\n\
         content-type: application/json\r\ncontent-length: 9\r\n\r\n{{not json"
    );
    assert_eq!(
        raw_status(&s.orchestration, malformed.as_bytes()).await,
        403
    );

    // 8 MiB announced, none sent: a server that read the body would still be waiting.
    let huge = format!(
        "POST /v1/tasks HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {bearer}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{{",
        8 * 1024 * 1024
    );
    assert_eq!(raw_status(&s.orchestration, huge.as_bytes()).await, 403);

    // And an allowed caller with a malformed body gets the extractor's 400.
    let allowed = token(&["tasks:create"]);
    let r = client()
        .post(format!("{}/v1/tasks", s.orchestration))
        .bearer_auth(allowed)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn config_endpoint_is_404_by_default_and_redacted_when_enabled() {
    let off = start(true, false).await;
    let ops = token(&["system:*", "worker:*"]);
    for base in [&off.orchestration, &off.worker] {
        let r = client()
            .get(format!("{base}/config"))
            .bearer_auth(&ops)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let on = start(true, true).await;
    for base in [&on.orchestration, &on.worker] {
        let r = client()
            .get(format!("{base}/config"))
            .bearer_auth(&ops)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.unwrap();
        assert!(!text.contains("BEGIN PUBLIC KEY"), "no PEM in /config");
        for &p in Permission::ALL {
            assert!(
                !text.contains(&tasker_auth::hash_api_key(&api_key(p))),
                "no key hash in /config"
            );
            assert!(!text.contains(&api_key(p)), "no key in /config");
        }
        let body: Value = serde_json::from_str(&text).unwrap();
        let keys = body
            .pointer("/web/auth/api_keys")
            .and_then(Value::as_array)
            .expect("api_keys listed");
        assert_eq!(keys.len(), Permission::ALL.len());
        assert!(
            keys.iter().all(|k| k["key_sha256"] == "[REDACTED]"),
            "{body}"
        );
        assert_eq!(body.pointer("/web/auth/enabled"), Some(&json!(true)));
    }
}

#[tokio::test]
async fn openapi_and_router_agree_route_by_route() {
    let s = start(true, true).await;
    for (api, base) in [
        (Api::Orchestration, &s.orchestration),
        (Api::Worker, &s.worker),
    ] {
        let doc: Value = client()
            .get(format!("{base}/api-docs/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["bearer_auth"]["scheme"], "bearer");
        assert_eq!(schemes["bearer_auth"]["bearerFormat"], "JWT");
        assert_eq!(schemes["api_key_auth"]["in"], "header");
        assert_eq!(schemes["api_key_auth"]["name"], API_KEY_HEADER);

        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let method = method.to_uppercase();
                if PUBLIC.contains(&path.as_str()) {
                    assert!(op.get("x-required-permission").is_none(), "{path}");
                    assert!(op.get("security").is_none(), "{path}");
                    let r = client().get(format!("{base}{path}")).send().await.unwrap();
                    assert_eq!(r.status(), StatusCode::OK, "public {path}");
                    continue;
                }
                let permission = op["x-required-permission"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path}"));
                assert_eq!(
                    op["security"],
                    json!([{"bearer_auth": []}, {"api_key_auth": []}]),
                    "{method} {path}"
                );
                assert!(
                    op["responses"]["401"].is_object() && op["responses"]["403"].is_object(),
                    "{method} {path}"
                );
                documented.insert((method.clone(), path.clone(), permission.to_owned()));
                // The router serves it, behind authentication.
                let r = call(&s, (api, &method, path), None).await;
                assert_eq!(
                    r.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} is routed and protected"
                );
            }
        }
        let expected: BTreeSet<_> = ROUTES
            .iter()
            .filter(|r| r.0 == api)
            .map(|&(_, m, p, perm)| (m.to_owned(), p.to_owned(), perm.as_str().to_owned()))
            .collect();
        assert_eq!(
            documented, expected,
            "{api:?}: the document lists exactly the routes of docs/openapi.md"
        );
    }
}

#[tokio::test]
async fn unknown_routes_stay_404_wrong_methods_405_and_public_routes_ignore_credentials() {
    let s = start(true, false).await;
    let r = client()
        .get(format!("{}/v1/nope", s.orchestration))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client()
        .put(format!("{}/v1/tasks", s.orchestration))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    for path in PUBLIC {
        let r = client()
            .get(format!("{}{path}", s.worker))
            .header("Authorization", "Bearer garbage")
            .header(API_KEY_HEADER, "wrong-wrong-wrong-wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let r = client()
        .get(format!("{}/api-docs/ui/", s.orchestration))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "Swagger UI is served offline");
    assert!(
        r.text().await.unwrap().contains("swagger"),
        "Swagger UI page"
    );
}

#[tokio::test]
async fn metrics_count_authentication_and_denials() {
    let s = start(true, false).await;
    let _ = client()
        .get(format!("{}/v1/tasks", s.orchestration))
        .send()
        .await
        .unwrap();
    let _ = client()
        .post(format!("{}/v1/tasks", s.orchestration))
        .bearer_auth(token(&["tasks:read"]))
        .json(&new_task())
        .send()
        .await
        .unwrap();
    let r = client()
        .get(format!("{}/metrics", s.orchestration))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-type").starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.contains("tasker_auth_failures_total"), "{text}");
    assert!(
        text.contains(
            "tasker_permission_denials_total{permission=\"tasks:create\",protocol=\"http\"}"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn with_auth_disabled_every_protected_route_is_open() {
    let s = start(false, true).await;
    for &(api, method, path, _) in ROUTES {
        let r = call(&s, (api, method, path), None).await;
        assert!(
            r.status().is_success(),
            "{api:?} {method} {path}: {}",
            r.status()
        );
    }
    let (url, _) = request_for(&s, Api::Orchestration, "GET", "/v1/tasks/{uuid}");
    let body: Value = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["context"].is_object(),
        "disabled auth holds every permission, context_read too"
    );
}

#[tokio::test]
async fn unknown_resources_are_json_404s_on_both_apis() {
    let s = start(true, false).await;
    let cases = [
        (
            &s.orchestration,
            "GET",
            "/v1/templates/ecommerce/nope/1.0.0",
            "templates:read",
        ),
        (
            &s.worker,
            "GET",
            "/v1/templates/ecommerce/nope/1.0.0",
            "worker:templates_read",
        ),
        (
            &s.worker,
            "POST",
            "/v1/templates/ecommerce/nope/1.0.0/validate",
            "templates:validate",
        ),
        (
            &s.orchestration,
            "GET",
            "/v1/tasks/00000000-0000-4000-8000-000000000000",
            "tasks:read",
        ),
    ];
    for (base, method, path, permission) in cases {
        let mut req = client()
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}{path}"),
            )
            .bearer_auth(token(&[permission]));
        if method == "POST" {
            req = req.json(&json!({"context": {}}));
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
        let body = error_body(r, "not_found", &format!("{method} {path}")).await;
        assert_eq!(
            body["error"]["code"], "NOT_FOUND",
            "{method} {path}: {body}"
        );
    }
}

/// Checks that `r` carries the one error shape, `tasker_auth::ErrorBody`, with `reason`.
async fn error_body(r: Response, reason: &str, what: &str) -> Value {
    assert!(
        header(&r, "content-type").starts_with("application/json"),
        "{what}: {:?}",
        r.headers()
    );
    let body: Value = r.json().await.unwrap();
    let parsed: tasker_auth::ErrorBody = serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("{what}: {body} is not an ErrorBody: {e}"));
    assert_eq!(parsed.error.reason, reason, "{what}: {body}");
    assert!(!parsed.error.message.is_empty(), "{what}: {body}");
    body
}

/// A token holding every permission.
fn full_access() -> String {
    let all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    token(&all)
}

async fn document(base: &str) -> Value {
    client()
        .get(format!("{base}/api-docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Sends `body` (with `content_type`, if any) and checks that the answer is the error `status`
/// and `reason`, in the one JSON shape, and documented with that shape for the operation.
#[allow(clippy::too_many_arguments)]
async fn expect_documented_error(
    doc: &Value,
    base: &str,
    method: &str,
    template: &str,
    url: &str,
    body: Option<(Option<&str>, Vec<u8>)>,
    status: StatusCode,
    reason: &str,
) {
    let what = format!("{method} {url}");
    let mut req = client()
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{base}{url}"),
        )
        .bearer_auth(full_access());
    if let Some((content_type, bytes)) = body {
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        req = req.body(bytes);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), status, "{what}");
    error_body(r, reason, &what).await;
    let documented = &doc["paths"][template][method.to_lowercase()]["responses"][status.as_str()];
    assert_eq!(
        documented["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody",
        "{what}: {status} is documented with the error body: {documented}"
    );
}

#[tokio::test]
async fn every_error_is_a_json_error_body_that_the_document_lists() {
    let s = start(true, false).await;
    let docs = [
        (Api::Orchestration, document(&s.orchestration).await),
        (Api::Worker, document(&s.worker).await),
    ];
    let json = Some("application/json");
    for &(api, method, path, _) in ROUTES.iter().filter(|r| r.2 != "/config") {
        let (base, doc) = match api {
            Api::Orchestration => (&s.orchestration, &docs[0].1),
            Api::Worker => (&s.worker, &docs[1].1),
        };
        let (url, body) = request_for(&s, api, method, path);
        let url = url.trim_start_matches(base.as_str()).to_owned();
        let valid = body.map(|b| serde_json::to_vec(&b).unwrap());
        if path.contains("uuid}") {
            let bad = path
                .replace("{uuid}", "not-a-uuid")
                .replace("{task_uuid}", "not-a-uuid")
                .replace("{dlq_entry_uuid}", "not-a-uuid")
                .replace("{step_uuid}", "not-a-uuid");
            let body = valid.clone().map(|b| (json, b));
            let (status, reason) = (StatusCode::BAD_REQUEST, "invalid_path");
            expect_documented_error(doc, base, method, path, &bad, body, status, reason).await;
        }
        let Some(valid) = valid else { continue };
        let cases = [
            (None, valid, StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json"),
            (
                json,
                b"{not json".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed_body",
            ),
            (
                json,
                b"{\"unexpected\": 1}".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                json,
                b"[]".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                json,
                vec![b' '; 1024 * 1024 + 1],
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
        ];
        for (content_type, bytes, status, reason) in cases {
            let body = Some((content_type, bytes));
            expect_documented_error(doc, base, method, path, &url, body, status, reason).await;
        }
    }

    let orchestration = &docs[0].1;
    for (template, url) in [
        ("/v1/tasks", "/v1/tasks?status=nope"),
        ("/v1/dlq", "/v1/dlq?resolution_status=nope"),
    ] {
        let (status, reason) = (StatusCode::BAD_REQUEST, "invalid_query");
        expect_documented_error(
            orchestration,
            &s.orchestration,
            "GET",
            template,
            url,
            None,
            status,
            reason,
        )
        .await;
    }

    // A finished task cannot be cancelled: 409.
    let done = s
        .store
        .list_tasks(Some(tasker_demo::store::TaskStatus::Complete), false)[0]
        .task_uuid;
    let url = format!("/v1/tasks/{done}");
    let (status, reason) = (StatusCode::CONFLICT, "conflict");
    expect_documented_error(
        orchestration,
        &s.orchestration,
        "DELETE",
        "/v1/tasks/{uuid}",
        &url,
        None,
        status,
        reason,
    )
    .await;

    // The router's own errors: no route, a wrong method (its Allow header kept).
    let r = client()
        .get(format!("{}/v1/nope", s.worker))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    error_body(r, "no_route", "GET /v1/nope").await;
    let r = client()
        .put(format!("{}/v1/tasks", s.orchestration))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(header(&r, "allow").contains("POST"), "{:?}", r.headers());
    error_body(r, "method_not_allowed", "PUT /v1/tasks").await;

    // Every operation documents the timeout, and every error response the one body.
    for (_, doc) in &docs {
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("408"), "{method} {path}");
                for (status, response) in responses {
                    if status.as_str() >= "400" {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn task_contexts_are_json_objects() {
    let s = start(true, false).await;
    let docs = document(&s.orchestration).await;
    let json = Some("application/json");
    for context in [json!(null), json!(5), json!("s"), json!([1])] {
        let body = json!({"name": "n", "namespace": "ns", "version": "1", "context": context});
        let body = Some((json, serde_json::to_vec(&body).unwrap()));
        let (status, reason) = (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
        expect_documented_error(
            &docs,
            &s.orchestration,
            "POST",
            "/v1/tasks",
            "/v1/tasks",
            body,
            status,
            reason,
        )
        .await;
    }
    let worker = document(&s.worker).await;
    let validate = "/v1/templates/{namespace}/{name}/{version}/validate";
    let body = Some((json, br#"{"context": [1]}"#.to_vec()));
    let (status, reason) = (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let url = "/v1/templates/ecommerce/order_fulfillment/1.0.0/validate";
    expect_documented_error(
        &worker, &s.worker, "POST", validate, url, body, status, reason,
    )
    .await;

    // Without a context, the task's context is `{}`, which is what the document says it is.
    let created: Value = client()
        .post(format!("{}/v1/tasks", s.orchestration))
        .bearer_auth(full_access())
        .json(&json!({"name": "n", "namespace": "ns", "version": "1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uuid = created["task_uuid"].as_str().unwrap();
    let context: Value = client()
        .get(format!("{}/v1/tasks/{uuid}/context", s.orchestration))
        .bearer_auth(full_access())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(context, json!({}));
    let schema = &docs["paths"]["/v1/tasks/{uuid}/context"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(schema["type"], "object", "{schema}");
}

#[tokio::test]
async fn a_full_store_refuses_writes_with_a_documented_507() {
    let s = start(true, false).await;
    let docs = document(&s.orchestration).await;
    let big: NewTask = serde_json::from_value(json!({
        "name": "n", "namespace": "ns", "version": "1",
        "context": {"n": vec![1; 256 * 1024]}
    }))
    .unwrap();
    while s.store.create_task(big.clone(), "filler").is_ok() {}
    let body = serde_json::to_vec(&big).unwrap();
    let body = Some((Some("application/json"), body));
    let (status, reason) = (StatusCode::INSUFFICIENT_STORAGE, "store_full");
    expect_documented_error(
        &docs,
        &s.orchestration,
        "POST",
        "/v1/tasks",
        "/v1/tasks",
        body,
        status,
        reason,
    )
    .await;
}
