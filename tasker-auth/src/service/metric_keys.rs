//! The metric keys of a decision, built once.
//!
//! `metrics`' macros allocate and hash a new key on every call when a label value is not a
//! literal, as `method` and `protocol` are here. Every authenticated request records two
//! metrics, so the keys of the common cases are statics instead: no allocation, and a recorder
//! reads their hash from the key rather than recomputing it. Anything else (a method this table
//! does not list) falls back to the macros, with the same names and labels.

use metrics::{Counter, Histogram, Key, Label, Level, Metadata};

use crate::protocol::Protocol;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// A `&'static Key` with literal name and labels.
macro_rules! key {
    ($name:literal; $($label:literal => $value:literal),+) => {{
        static LABELS: [Label; [$($label),+].len()] = [$(Label::from_static_parts($label, $value)),+];
        static KEY: Key = Key::from_static_parts($name, &LABELS);
        &KEY
    }};
}

macro_rules! requests_key {
    ($method:literal, $result:literal, $protocol:literal) => {
        key!("tasker_auth_requests_total"; "method" => $method, "result" => $result, "protocol" => $protocol)
    };
}

macro_rules! seconds_key {
    ($method:literal, $protocol:literal) => {
        key!("tasker_auth_verification_seconds"; "method" => $method, "protocol" => $protocol)
    };
}

/// `tasker_auth_requests_total{method, result, protocol}`.
pub(super) fn requests(method: &'static str, success: bool, protocol: Protocol) -> Counter {
    use Protocol::{Grpc, Http};
    const NAME: &str = "tasker_auth_requests_total";
    let key: &'static Key = match (method, success, protocol) {
        ("jwt", true, Http) => requests_key!("jwt", "success", "http"),
        ("jwt", true, Grpc) => requests_key!("jwt", "success", "grpc"),
        ("jwt", false, Http) => requests_key!("jwt", "failure", "http"),
        ("jwt", false, Grpc) => requests_key!("jwt", "failure", "grpc"),
        ("api_key", true, Http) => requests_key!("api_key", "success", "http"),
        ("api_key", true, Grpc) => requests_key!("api_key", "success", "grpc"),
        ("api_key", false, Http) => requests_key!("api_key", "failure", "http"),
        ("api_key", false, Grpc) => requests_key!("api_key", "failure", "grpc"),
        ("none", false, Http) => requests_key!("none", "failure", "http"),
        ("none", false, Grpc) => requests_key!("none", "failure", "grpc"),
        _ => {
            let result = if success { "success" } else { "failure" };
            return metrics::counter!(NAME, "method" => method, "result" => result, "protocol" => protocol.as_str());
        }
    };
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA))
}

/// `tasker_auth_verification_seconds{method, protocol}`.
pub(super) fn verification_seconds(method: &'static str, protocol: Protocol) -> Histogram {
    use Protocol::{Grpc, Http};
    const NAME: &str = "tasker_auth_verification_seconds";
    let key: &'static Key = match (method, protocol) {
        ("jwt", Http) => seconds_key!("jwt", "http"),
        ("jwt", Grpc) => seconds_key!("jwt", "grpc"),
        ("api_key", Http) => seconds_key!("api_key", "http"),
        ("api_key", Grpc) => seconds_key!("api_key", "grpc"),
        _ => return metrics::histogram!(NAME, "method" => method, "protocol" => protocol.as_str()),
    };
    metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA))
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::{KeyName, Recorder, SharedString, Unit};
    use std::sync::{Arc, Mutex};

    /// Records the keys registered, to compare the static keys with the macros' keys.
    #[derive(Clone, Default)]
    struct Keys(Arc<Mutex<Vec<Key>>>);

    impl Recorder for Keys {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            self.0.lock().unwrap().push(key.clone());
            Counter::noop()
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
            self.0.lock().unwrap().push(key.clone());
            metrics::Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            self.0.lock().unwrap().push(key.clone());
            Histogram::noop()
        }
    }

    #[test]
    fn static_keys_equal_the_keys_the_macros_build() {
        let recorder = Keys::default();
        let seen = Arc::clone(&recorder.0);
        metrics::with_local_recorder(&recorder, || {
            for method in ["jwt", "api_key", "none", "other"] {
                for protocol in [Protocol::Http, Protocol::Grpc] {
                    for success in [true, false] {
                        let _ = requests(method, success, protocol);
                        let result = if success { "success" } else { "failure" };
                        let _ = metrics::counter!("tasker_auth_requests_total", "method" => method, "result" => result, "protocol" => protocol.as_str());
                    }
                    let _ = verification_seconds(method, protocol);
                    let _ = metrics::histogram!("tasker_auth_verification_seconds", "method" => method, "protocol" => protocol.as_str());
                }
            }
        });
        let keys = seen.lock().unwrap();
        assert_eq!(keys.len(), 4 * 2 * 3 * 2);
        for pair in keys.chunks(2) {
            assert_eq!(pair[0], pair[1]);
            assert_eq!(pair[0].get_hash(), pair[1].get_hash());
        }
    }
}
