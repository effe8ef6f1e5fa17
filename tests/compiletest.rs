//! UI tests of `#[requires]`: what compiles, and the exact errors of what does not.
//!
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite cargo test --test compiletest`,
//! then read the diff: each message must make sense to someone who never saw this crate.

#[test]
fn requires_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/requires/pass/*.rs");
    t.compile_fail("tests/ui/requires/fail/*.rs");
}

#[test]
fn grpc_service_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/grpc/pass/*.rs");
    t.compile_fail("tests/ui/grpc/fail/*.rs");
}
