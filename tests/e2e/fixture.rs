//! Real servers on 127.0.0.1:0 with authentication on, and credentials to call them with.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use tasker_auth::keys::{KeyAlgorithm, KeyPair, TokenRequest};
use tasker_auth::{Permission, TaskerConfig, hash_api_key};
use tasker_demo::server::Bound;
use tasker_demo::store::Store;
use tokio::sync::watch;

pub(crate) const API_KEY_HEADER: &str = "X-Tasker-Key";

/// One key pair per test binary: generating keys is the slow part.
pub(crate) fn keys() -> &'static KeyPair {
    static KEYS: OnceLock<KeyPair> = OnceLock::new();
    KEYS.get_or_init(|| KeyPair::generate(KeyAlgorithm::Es256).expect("ES256 key generation"))
}

/// A token granting exactly `grants`.
pub(crate) fn token(grants: &[&str]) -> String {
    keys()
        .mint(&TokenRequest {
            subject: "e2e-user".into(),
            permissions: grants.iter().map(|g| (*g).to_owned()).collect(),
            issuer: "tasker-core".into(),
            audience: "tasker-api".into(),
            ttl: Duration::from_secs(600),
            kid: None,
        })
        .expect("mint")
}

/// The API key registered with exactly `permission` (one key per permission).
pub(crate) fn api_key(permission: Permission) -> String {
    format!(
        "tsk_e2e-{:0>2}-for-{}",
        permission.index(),
        permission.as_str()
    )
}

/// The configuration of the servers under test.
pub(crate) fn config(auth: bool, config_endpoint: bool) -> TaskerConfig {
    let mut toml = format!(
        "[web]\nconfig_endpoint_enabled = {config_endpoint}\n\n[web.auth]\nenabled = {auth}\n\
         jwt_allowed_algorithms = [\"ES256\"]\njwt_public_key = \"\"\"\n{}\"\"\"\n\
         api_keys_enabled = true\napi_key_header = \"{API_KEY_HEADER}\"\n",
        keys().public_key_pem()
    );
    for &p in Permission::ALL {
        toml.push_str(&format!(
            "\n[[web.auth.api_keys]]\nkey_sha256 = \"{}\"\ndescription = \"key-{}\"\npermissions = [\"{}\"]\n",
            hash_api_key(&api_key(p)),
            p.as_str(),
            p.as_str()
        ));
    }
    TaskerConfig::from_toml_str(&toml, &|_| None).expect("test configuration is valid")
}

/// Both servers, running until dropped.
pub(crate) struct Servers {
    pub(crate) orchestration: String,
    pub(crate) worker: String,
    pub(crate) store: Store,
    _shutdown: watch::Sender<bool>,
}

type AppFn =
    fn(
        &TaskerConfig,
        Store,
    ) -> Result<(axum::Router, utoipa::openapi::OpenApi), tasker_demo::server::StartupError>;

async fn spawn(
    app: AppFn,
    config: &TaskerConfig,
    store: Store,
    rx: watch::Receiver<bool>,
) -> SocketAddr {
    let (router, _) = app(config, store).expect("app builds");
    let bound = Bound::bind("127.0.0.1:0").await.expect("bind");
    let addr = bound.addr();
    let mut rx = rx;
    tokio::spawn(bound.serve(router, async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }));
    addr
}

impl Servers {
    pub(crate) async fn start(
        orchestration: AppFn,
        worker: AppFn,
        config: &TaskerConfig,
    ) -> Servers {
        let store = Store::seeded();
        let (tx, rx) = watch::channel(false);
        let o = spawn(orchestration, config, store.clone(), rx.clone()).await;
        let w = spawn(worker, config, store.clone(), rx).await;
        Servers {
            orchestration: format!("http://{o}"),
            worker: format!("http://{w}"),
            store,
            _shutdown: tx,
        }
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}
