//! The workspace package of tasker-auth: it owns the integration tests under `tests/`, the
//! benches under `benches/` and the runnable servers under `examples/`. It has no API of its own;
//! see the `tasker-auth` crate.
