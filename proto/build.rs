//! Compiles the `.proto` files with protox (pure Rust, so no system `protoc` is needed) and
//! generates prost messages and tonic clients and servers into `OUT_DIR`, plus the encoded
//! descriptor set that gRPC server reflection serves.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "tickmesh/market/v1/market.proto",
    "tickmesh/subscription/v1/subscription.proto",
    "tickmesh/stream/v1/stream.proto",
    "tickmesh/ingestion/v1/ingestion.proto",
    "tickmesh/bridge/v1/bridge.proto",
    "tickmesh/history/v1/history.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let fds = protox::compile(PROTOS, [&root])?;
    std::fs::write(out_dir.join("tickmesh_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
