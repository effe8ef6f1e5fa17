//! Which protocol a request came over: the `protocol` label of the authentication metrics.

/// The protocol of a request, as the `protocol` label of `tasker_auth_requests_total`,
/// `tasker_auth_failures_total`, `tasker_auth_verification_seconds` and
/// `tasker_permission_denials_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// REST (axum): `AuthLayer`, `#[requires]` on handlers, `require_permission`.
    Http,
    /// gRPC (tonic): `GrpcAuthLayer`.
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    Grpc,
}

impl Protocol {
    /// The label value: `http` or `grpc`.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
        }
    }
}
