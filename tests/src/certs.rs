//! Throwaway certificates for the TLS tests, made by `scripts/lib/test-certs.sh` (openssl),
//! which the test command's service scripts use too.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA, a server certificate for `localhost` and `127.0.0.1` signed by it, and a client
/// certificate, all PEM, in a directory that lives as long as this value.
#[derive(Debug)]
pub struct TestCerts {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// A client certificate (for servers that require one) and its key.
    pub client_cert: PathBuf,
    /// The client certificate's private key.
    pub client_key: PathBuf,
    /// Where they are; removed on drop.
    pub dir: tempfile::TempDir,
}

/// Makes a fresh set; panics when openssl is missing or fails (`./scripts/test.sh` installs it).
pub fn make() -> TestCerts {
    // Panicking is how a test helper reports failure.
    #[allow(clippy::expect_used)]
    let dir = tempfile::tempdir().expect("a temporary directory for test certificates");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/test-certs.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} failed (is openssl installed? ./scripts/test.sh installs it): {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let d = dir.path();
    TestCerts {
        ca: d.join("ca.pem"),
        server_cert: d.join("server.pem"),
        server_key: d.join("server.key"),
        client_cert: d.join("client.pem"),
        client_key: d.join("client.key"),
        dir,
    }
}
