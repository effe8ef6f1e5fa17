//! UI test of `#[requires]` in a build where `tasker-auth` lacks its `openapi` feature; every
//! other case is in the workspace root's `tests/compiletest.rs`, which always has the feature.
//!
//! Regenerate the `.stderr` snapshot with `TRYBUILD=overwrite cargo test -p tasker-auth-macros
//! --test compiletest`, then read the diff.

#[test]
fn requires_ui_without_openapi() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
}
