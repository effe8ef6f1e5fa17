//! A loopback identity provider for tests: a status, content type and body per path, over plain
//! HTTP/1.1, recording the paths asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What each path answers: status, content type, body.
type Routes = Arc<Mutex<HashMap<String, (u16, &'static str, Vec<u8>)>>>;

/// Where OpenID Connect discovery looks under an issuer.
pub(crate) const DISCOVERY: &str = "/.well-known/openid-configuration";

/// A loopback IdP: a status, content type and body per path (the query is ignored); 404
/// elsewhere. Records the paths asked for, with their queries.
pub(crate) struct Idp {
    addr: std::net::SocketAddr,
    routes: Routes,
    asked: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Idp {
    pub(crate) async fn start() -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Arc::new(Mutex::new(HashMap::new()));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (r, a) = (Arc::clone(&routes), Arc::clone(&asked));
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, Arc::clone(&r), Arc::clone(&a)));
            }
        });
        Idp {
            addr,
            routes,
            asked,
            server,
        }
    }

    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn route(&self, path: &str, status: u16, content_type: &'static str, body: Vec<u8>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, content_type, body));
    }

    pub(crate) fn json(&self, path: &str, body: &Value) {
        self.route(
            path,
            200,
            "application/json",
            serde_json::to_vec(body).unwrap(),
        );
    }

    /// A discovery document naming `issuer` and `jwks_uri`.
    pub(crate) fn discovery(&self, issuer: &str, jwks_uri: &str) {
        self.json(
            DISCOVERY,
            &json!({
                "issuer": issuer,
                "jwks_uri": jwks_uri,
                "authorization_endpoint": format!("{issuer}/auth"),
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }),
        );
    }

    pub(crate) fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

async fn serve(mut socket: TcpStream, routes: Routes, asked: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
    asked.lock().unwrap().push(path.clone());
    let (status, content_type, body) = routes
        .lock()
        .unwrap()
        .get(path.split('?').next().unwrap_or_default())
        .cloned()
        .unwrap_or((404, "text/plain", b"not found".to_vec()));
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.write_all(&body).await;
    let _ = socket.shutdown().await;
}
