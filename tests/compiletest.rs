//! UI tests of `#[requires]` and `#[grpc_service]`: what compiles, and the exact errors of what does not.
//!
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite cargo test --test compiletest`,
//! then read the diff: each message must make sense to someone who never saw this crate.
//!
//! Only the cases that must fail go through trybuild, which then runs `cargo check` on its own
//! copy of the workspace. The cases that must compile are modules of this test binary: a single
//! passing case makes trybuild `cargo build` every dependency of the workspace root (criterion,
//! reqwest and aws-lc-sys's C code included) a second time, in its own target directory, which
//! was most of the test's time.

#[path = "ui/requires/pass/extractors.rs"]
mod extractors;
#[path = "ui/requires/pass/openapi.rs"]
mod openapi;
#[path = "ui/grpc/pass/template_service.rs"]
mod template_service;

// One `TestCases` for both macros: two tests running in parallel would share trybuild's project
// directory and overwrite each other's list of cases.
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/requires/fail/*.rs");
    t.compile_fail("tests/ui/grpc/fail/*.rs");
}
