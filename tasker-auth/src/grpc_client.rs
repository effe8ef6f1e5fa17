//! [`ClientCredentials`] on tonic channels: a tower layer that sets the credential metadata of
//! every call (features `client` and `grpc`).
//!
//! tonic's generated clients accept any tower service over `http::Request`, so the layer wraps
//! the `Channel`: each call gets `authorization: Bearer <jwt>` or the API-key header (in lower
//! case, as gRPC metadata is), a minted token is renewed when due exactly as for REST, and the
//! first call over plain `http` to a host that is not loopback logs a warning for that host.
//! A renewal that fails fails the call with the [`CredentialError`] (tonic reports it as
//! `UNKNOWN` with that message); no call goes out without the credentials it was given.
//!
//! # Example
//!
//! ```
//! use tasker_auth::client::{ClientCredentials, GrpcCredentialsLayer};
//! use tower::{ServiceBuilder, ServiceExt as _};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let endpoint: http::Uri = "http://127.0.0.1:9190".parse()?;
//! // With tonic: `let channel = Channel::builder(endpoint.clone()).connect().await?;`
//! // and `TaskServiceClient::new(service)` below. A stand-in channel here:
//! let channel = tower::service_fn(|request: http::Request<()>| async move {
//!     Ok::<_, std::convert::Infallible>(request.headers()["authorization"].clone())
//! });
//! let credentials = ClientCredentials::bearer("eyJhbGciOiJFUzI1NiJ9.e30.c2ln")?;
//! let service = ServiceBuilder::new()
//!     .layer(GrpcCredentialsLayer::new(credentials, endpoint))
//!     .service(channel);
//! let sent = service.oneshot(http::Request::new(())).await?;
//! assert_eq!(sent, "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
//! # Ok(())
//! # }
//! ```
//!
//! In a real client the credentials come from [`ClientCredentials::from_env`], as for REST.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Uri};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::client::{ClientCredentials, CredentialError};

/// The error type of [`GrpcCredentialsService`]: the channel's error, or a [`CredentialError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Adds [`ClientCredentials`] to every call of a tonic channel (see the
/// [module documentation](self)).
#[derive(Clone, Debug)]
pub struct GrpcCredentialsLayer {
    credentials: ClientCredentials,
    endpoint: Uri,
}

impl GrpcCredentialsLayer {
    /// A layer sending `credentials` to the server at `endpoint` (the URI the channel connects
    /// to: tonic's requests carry only the method path, so the layer is told where they go, to
    /// warn about plain http to a remote host).
    pub fn new(credentials: ClientCredentials, endpoint: Uri) -> Self {
        GrpcCredentialsLayer {
            credentials,
            endpoint,
        }
    }
}

impl<S> Layer<S> for GrpcCredentialsLayer {
    type Service = GrpcCredentialsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcCredentialsService {
            inner,
            credentials: self.credentials.clone(),
            endpoint: self.endpoint.clone(),
        }
    }
}

/// The service made by [`GrpcCredentialsLayer`].
#[derive(Clone, Debug)]
pub struct GrpcCredentialsService<S> {
    inner: S,
    credentials: ClientCredentials,
    endpoint: Uri,
}

impl<S, B> Service<Request<B>> for GrpcCredentialsService<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = GrpcCredentialsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        self.credentials.check_transport(&self.endpoint);
        match self.credentials.apply(request.headers_mut()) {
            Ok(()) => GrpcCredentialsFuture {
                inner: Some(self.inner.call(request)),
                error: None,
            },
            Err(error) => GrpcCredentialsFuture {
                inner: None,
                error: Some(error),
            },
        }
    }
}

pin_project! {
    /// The future of [`GrpcCredentialsService`]: the channel's, or the credential error.
    #[derive(Debug)]
    pub struct GrpcCredentialsFuture<F> {
        #[pin]
        inner: Option<F>,
        error: Option<CredentialError>,
    }
}

impl<F, R, E> Future for GrpcCredentialsFuture<F>
where
    F: Future<Output = Result<R, E>>,
    E: Into<BoxError>,
{
    type Output = Result<R, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(error) = this.error.take() {
            return Poll::Ready(Err(Box::new(error)));
        }
        match this.inner.as_pin_mut() {
            Some(inner) => inner.poll(cx).map_err(Into::into),
            None => Poll::Ready(Err("the call was already answered".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use std::convert::Infallible;
    use tower::ServiceExt as _;

    /// Echoes the request headers back.
    fn echo() -> impl Service<Request<()>, Response = HeaderMap, Error = Infallible> {
        tower::service_fn(|request: Request<()>| async move {
            Ok::<_, Infallible>(request.headers().clone())
        })
    }

    fn layer(credentials: ClientCredentials) -> GrpcCredentialsLayer {
        GrpcCredentialsLayer::new(credentials, Uri::from_static("http://127.0.0.1:9190"))
    }

    #[tokio::test]
    async fn grpc_credentials_set_the_metadata_of_every_call() {
        let bearer = ClientCredentials::bearer("header.payload.signature").unwrap();
        let headers = layer(bearer)
            .layer(echo())
            .oneshot(Request::new(()))
            .await
            .unwrap();
        assert_eq!(headers["authorization"], "Bearer header.payload.signature");

        let key = ClientCredentials::api_key("X-API-Key", "tsk_0123456789abcdef").unwrap();
        let headers = layer(key)
            .layer(echo())
            .oneshot(Request::new(()))
            .await
            .unwrap();
        assert_eq!(headers["x-api-key"], "tsk_0123456789abcdef");
        assert!(headers.get("authorization").is_none());

        let headers = layer(ClientCredentials::none())
            .layer(echo())
            .oneshot(Request::new(()))
            .await
            .unwrap();
        assert!(headers.is_empty());
    }
}
