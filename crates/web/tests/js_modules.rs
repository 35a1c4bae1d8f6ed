//! The page's DOM-free modules (protobuf codec, gRPC-Web framing, decimals, formatting,
//! candles) under Node's own test runner, with the real descriptor set the server serves.
//! Needs `node` (the test command installs it); without it this test fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_page_modules_pass_their_node_tests() {
    let dir = tempfile::tempdir().unwrap();
    let descriptors = dir.path().join("descriptors.pb");
    std::fs::write(&descriptors, tickmesh_proto::FILE_DESCRIPTOR_SET).unwrap();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let mut files: Vec<_> = std::fs::read_dir(&tests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test.mjs under {}", tests.display());
    let output = Command::new("node")
        .arg("--test")
        .args(&files)
        .env("TICKMESH_DESCRIPTORS", &descriptors)
        .output()
        .expect("cannot run node: install Node.js (./scripts/test.sh does)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node --test failed\n{stdout}\n{stderr}"
    );
    // Every file ran at least one test, and none was skipped.
    assert!(stdout.contains("# pass"), "{stdout}");
    assert!(stdout.contains("# skipped 0"), "{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
}
