//! The permission check runs before every other extractor: through real axum routers, a caller
//! without the permission gets the 403 of docs/authentication.md and the request body is never
//! polled, whatever the handler extracts; `#[requires]` and `authorize()` behave the same.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use tasker_auth::{
    Action, AuthMethod, Permission, PermissionSet, Resource, SecurityContext, authorize, requires,
    try_authorize,
};
use tower::ServiceExt;

// ---- fixtures ---------------------------------------------------------------------------------

/// A request body that records whether anything read a frame of it.
fn tracked_body(bytes: &'static [u8]) -> (Body, Arc<AtomicBool>) {
    let polled = Arc::new(AtomicBool::new(false));
    let flag = polled.clone();
    let body = Full::new(Bytes::from_static(bytes)).map_frame(move |frame| {
        flag.store(true, Ordering::SeqCst);
        frame
    });
    (Body::new(body), polled)
}

fn caller(grants: &[&str]) -> SecurityContext {
    let parsed = PermissionSet::parse_grants(grants.iter().copied());
    assert!(parsed.unknown.is_empty());
    SecurityContext::new(
        "test-client",
        AuthMethod::Jwt {
            issuer: "tasker-core".into(),
        },
        parsed.permissions,
        None,
    )
}

/// Stands in for the authentication layer: puts `ctx` in every request's extensions.
fn with_caller(router: Router, ctx: Option<SecurityContext>) -> Router {
    match ctx {
        Some(ctx) => router.layer(Extension(ctx)),
        None => router,
    }
}

fn json_post(uri: &str, body: Body, content_type: Option<&str>) -> Request {
    let mut req = Request::post(uri);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    req.body(body).unwrap()
}

async fn send(router: Router, req: Request) -> (StatusCode, HeaderMap, serde_json::Value) {
    let response = router.oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (parts.status, parts.headers, json)
}

/// Asserts the exact 403 (docs/authentication.md) for `permission`.
fn assert_forbidden(
    status: StatusCode,
    headers: &HeaderMap,
    body: &serde_json::Value,
    permission: &str,
) {
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        format!(r#"Bearer error="insufficient_scope", scope="{permission}""#)
    );
    assert_eq!(headers["x-auth-failure-reason"], "forbidden");
    assert_eq!(
        *body,
        serde_json::json!({"error": {
            "code": "AUTHORIZATION_FAILED",
            "reason": "forbidden",
            "message": "the caller lacks the permission this route requires",
            "required_permission": permission,
        }})
    );
}

fn assert_misconfigured(status: StatusCode, headers: &HeaderMap, body: &serde_json::Value) {
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(headers["x-auth-failure-reason"], "misconfigured");
    assert_eq!(body["error"]["code"], "AUTH_MISCONFIGURED");
    assert!(headers.get(header::WWW_AUTHENTICATE).is_none());
}

#[derive(Deserialize)]
struct NewTask {
    name: String,
}

// ---- handlers ---------------------------------------------------------------------------------

#[requires(tasks:create)]
async fn create_task(ctx: SecurityContext, Json(task): Json<NewTask>) -> String {
    format!("{} created {}", ctx.subject(), task.name)
}

#[requires(tasks:create)]
async fn create_task_without_context(Json(task): Json<NewTask>) -> String {
    format!("created {}", task.name)
}

async fn create_task_plain(Json(task): Json<NewTask>) -> String {
    format!("created {}", task.name)
}

fn macro_router() -> Router {
    Router::new()
        .route("/with-context", post(create_task))
        .route("/without-context", post(create_task_without_context))
}

fn authorize_router() -> Router {
    Router::new().route(
        "/with-context",
        post(authorize(
            Resource::Tasks,
            Action::Create,
            create_task_plain,
        )),
    )
}

const ROUTES: [&str; 2] = ["/with-context", "/without-context"];

// ---- #[requires]: ordering ----------------------------------------------------------------------

#[tokio::test]
async fn requires_denied_malformed_json_is_403_body_never_polled() {
    for uri in ROUTES {
        let (body, polled) = tracked_body(b"{not json");
        let app = with_caller(macro_router(), Some(caller(&["tasks:read"])));
        let (status, headers, json) =
            send(app, json_post(uri, body, Some("application/json"))).await;
        assert_forbidden(status, &headers, &json, "tasks:create");
        assert!(!polled.load(Ordering::SeqCst), "{uri}: body was polled");
    }
}

#[tokio::test]
async fn requires_denied_without_content_type_is_403_not_415() {
    for uri in ROUTES {
        let (body, polled) = tracked_body(b"{\"name\":\"x\"}");
        let app = with_caller(macro_router(), Some(caller(&[])));
        let (status, headers, json) = send(app, json_post(uri, body, None)).await;
        assert_forbidden(status, &headers, &json, "tasks:create");
        assert!(!polled.load(Ordering::SeqCst));
    }
}

#[tokio::test]
async fn requires_allowed_malformed_json_is_400() {
    for uri in ROUTES {
        let (body, polled) = tracked_body(b"{not json");
        let app = with_caller(macro_router(), Some(caller(&["tasks:create"])));
        let (status, headers, _) = send(app, json_post(uri, body, Some("application/json"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(headers.get("x-auth-failure-reason").is_none());
        assert!(
            polled.load(Ordering::SeqCst),
            "{uri}: the Json extractor ran"
        );
    }
}

#[tokio::test]
async fn requires_allowed_reaches_handler() {
    let (body, _) = tracked_body(b"{\"name\":\"nightly\"}");
    let app = with_caller(macro_router(), Some(caller(&["tasks:*"])));
    let response = app
        .oneshot(json_post("/with-context", body, Some("application/json")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, "test-client created nightly");
}

/// Captures log lines so the test can check that misconfiguration is logged.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn without_auth_layer_requires_and_authorize_are_500_misconfigured_and_logged() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    for uri in ROUTES {
        let (body, polled) = tracked_body(b"{not json");
        let app = with_caller(macro_router(), None);
        let (status, headers, json) =
            send(app, json_post(uri, body, Some("application/json"))).await;
        assert_misconfigured(status, &headers, &json);
        assert!(!polled.load(Ordering::SeqCst));
    }
    // The same for authorize(). Kept in this one test: it is the only test of this binary that
    // reaches the misconfiguration log line, so no other test thread can register that callsite
    // before the capturing subscriber is installed (tracing caches a callsite's interest).
    let (body, polled) = tracked_body(b"{not json");
    let app = with_caller(authorize_router(), None);
    let (status, headers, json) = send(
        app,
        json_post("/with-context", body, Some("application/json")),
    )
    .await;
    assert_misconfigured(status, &headers, &json);
    assert!(!polled.load(Ordering::SeqCst));
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("ERROR"), "{logged}");
    assert!(
        logged.contains("authentication layer is missing"),
        "{logged}"
    );
    assert!(logged.contains("/without-context"), "{logged}");
}

// ---- #[requires]: every extractor kind ----------------------------------------------------------

static PARTS_EXTRACTOR_RUNS: AtomicUsize = AtomicUsize::new(0);
static BODY_EXTRACTOR_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A custom `FromRequestParts` extractor that counts its runs.
struct CountedParts;

impl<S: Send + Sync> FromRequestParts<S> for CountedParts {
    type Rejection = StatusCode;

    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        PARTS_EXTRACTOR_RUNS.fetch_add(1, Ordering::SeqCst);
        Ok(CountedParts)
    }
}

/// A custom `FromRequest` extractor that counts its runs and reads the body.
struct CountedBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for CountedBody {
    type Rejection = StatusCode;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        BODY_EXTRACTOR_RUNS.fetch_add(1, Ordering::SeqCst);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        Ok(CountedBody(bytes))
    }
}

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    limit: u32,
}

#[requires(steps:resolve)]
async fn path_form(Path(id): Path<u32>, Form(task): Form<NewTask>) -> String {
    format!("{id} {}", task.name)
}

#[requires(steps:resolve)]
async fn query_bytes(State(_): State<()>, Query(_): Query<Page>, body: Bytes) -> String {
    body.len().to_string()
}

#[requires(steps:resolve)]
async fn custom(
    CountedParts: CountedParts,
    ctx: SecurityContext,
    CountedBody(body): CountedBody,
) -> String {
    format!("{} {}", ctx.subject(), body.len())
}

#[tokio::test]
async fn requires_denied_runs_no_extractor_of_any_kind() {
    let app = || {
        Router::new()
            .route("/path/{id}", post(path_form))
            .route("/query", post(query_bytes))
            .route("/custom", post(custom))
            .with_state(())
    };
    // Each request would fail its extractors (bad path, bad query, bad form) if they ran.
    let cases = [
        (
            "/path/not-a-number",
            Some("application/x-www-form-urlencoded"),
        ),
        ("/query?limit=minus-one", None),
        ("/custom", Some("text/plain")),
    ];
    for (uri, content_type) in cases {
        let (body, polled) = tracked_body(b"\xff\xfe not a form");
        let routed = with_caller(app(), Some(caller(&["steps:read", "tasks:*"])));
        let (status, headers, json) = send(routed, json_post(uri, body, content_type)).await;
        assert_forbidden(status, &headers, &json, "steps:resolve");
        assert!(!polled.load(Ordering::SeqCst), "{uri}: body was polled");
    }
    assert_eq!(PARTS_EXTRACTOR_RUNS.load(Ordering::SeqCst), 0);
    assert_eq!(BODY_EXTRACTOR_RUNS.load(Ordering::SeqCst), 0);

    // Allowed: the extractors run and reject the bad input themselves.
    let (body, polled) = tracked_body(b"a=b");
    let routed = with_caller(app(), Some(caller(&["steps:resolve"])));
    let (status, _, _) = send(routed, json_post("/query?limit=minus-one", body, None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        !polled.load(Ordering::SeqCst),
        "Query rejected before Bytes"
    );

    let (body, polled) = tracked_body(b"hello");
    let routed = with_caller(app(), Some(caller(&["steps:resolve"])));
    let (status, _, _) = send(routed, json_post("/custom", body, Some("text/plain"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(polled.load(Ordering::SeqCst));
    assert_eq!(PARTS_EXTRACTOR_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(BODY_EXTRACTOR_RUNS.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn requires_get_handler_with_path_is_403_for_wrong_resource_wildcard() {
    #[requires(dlq:read)]
    async fn read_dlq(Path(id): Path<String>) -> String {
        id
    }
    let app = Router::new().route("/v1/dlq/task/{id}", get(read_dlq));
    let denied = with_caller(app.clone(), Some(caller(&["tasks:*", "steps:*"])));
    let req = Request::get("/v1/dlq/task/abc")
        .body(Body::empty())
        .unwrap();
    let (status, headers, json) = send(denied, req).await;
    assert_forbidden(status, &headers, &json, "dlq:read");

    let allowed = with_caller(app, Some(caller(&["dlq:*"])));
    let req = Request::get("/v1/dlq/task/abc")
        .body(Body::empty())
        .unwrap();
    let response = allowed.oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

// ---- authorize() --------------------------------------------------------------------------------

#[tokio::test]
async fn authorize_denied_malformed_json_is_403_body_never_polled() {
    let (body, polled) = tracked_body(b"{not json");
    let app = with_caller(authorize_router(), Some(caller(&["tasks:read"])));
    let (status, headers, json) = send(
        app,
        json_post("/with-context", body, Some("application/json")),
    )
    .await;
    assert_forbidden(status, &headers, &json, "tasks:create");
    assert!(!polled.load(Ordering::SeqCst));
}

#[tokio::test]
async fn authorize_denied_without_content_type_is_403_not_415() {
    let (body, polled) = tracked_body(b"{\"name\":\"x\"}");
    let app = with_caller(authorize_router(), Some(caller(&[])));
    let (status, headers, json) = send(app, json_post("/with-context", body, None)).await;
    assert_forbidden(status, &headers, &json, "tasks:create");
    assert!(!polled.load(Ordering::SeqCst));
}

#[tokio::test]
async fn authorize_allowed_malformed_json_is_400() {
    let (body, polled) = tracked_body(b"{not json");
    let app = with_caller(authorize_router(), Some(caller(&["tasks:create"])));
    let (status, _, _) = send(
        app,
        json_post("/with-context", body, Some("application/json")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(polled.load(Ordering::SeqCst));
}

#[test]
fn authorize_pair_without_permission_fails_at_router_build() {
    let Err(err) = try_authorize(Resource::Tasks, Action::Delete, create_task_plain) else {
        panic!("tasks:delete is not a permission");
    };
    assert_eq!(err.resource, Resource::Tasks);
    assert_eq!(err.action, Action::Delete);
    assert_eq!(err.to_string(), "there is no permission `tasks:delete`");
    assert!(try_authorize(Resource::Health, Action::Read, create_task_plain).is_err());

    let ok = try_authorize(Resource::Tasks, Action::Cancel, create_task_plain).unwrap();
    assert_eq!(ok.permission(), Permission::TasksCancel);
}
