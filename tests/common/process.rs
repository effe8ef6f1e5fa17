//! The example servers as processes, for the tests that run them as a user does: the binaries
//! `cargo test` built, configuration files in a temporary directory, and a graceful stop.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The path of the example binary `name`. `cargo test` builds every example (the README's test
/// command); they sit next to the test binary's directory.
pub(crate) fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace --all-features`, which builds the examples",
        path.display()
    );
    path
}

/// Writes `toml` as `name` in a directory of this test process (`tag` keeps test files apart)
/// and returns its path.
pub(crate) fn write_config(tag: &str, name: &str, toml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tasker-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path
}

/// Sends SIGTERM and waits (at most 10 s) for a graceful, successful exit.
pub(crate) fn stop(child: &mut Child, name: &str) {
    // The shell's builtin `kill`: no dependency on a procps binary.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", child.id()))
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name} did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        exit.success(),
        "{name} exits 0 after a graceful shutdown: {exit}"
    );
}
