//! Compiles `proto/tasker/v1/*.proto` with the `protoc` of `protoc-bin-vendored`, so a machine
//! with only the Rust toolchain builds the crate; also writes the file descriptor set that
//! server reflection serves.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest.join("..").join("proto");
    let protos = [
        root.join("tasker/v1/orchestration.proto"),
        root.join("tasker/v1/worker.proto"),
    ];
    // The well-known types (google/protobuf/struct.proto) ship next to the vendored binary.
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let well_known = protoc_bin_vendored::include_path()?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("tasker_v1_descriptor.bin"))
        .build_transport(cfg!(feature = "transport"))
        .compile_with_config(config, &protos, &[root.clone(), well_known])?;

    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    Ok(())
}
