//! Helpers shared by the server tests: a server on a free port, health calls, test certificates.

// Each test crate uses a part of these.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tickmesh_bootstrap::{GrpcServer, Secret, ServerError, ServerSettings};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response};

/// The health service's unary method, gated in these tests as if it were a mutating one.
pub const CHECK: &str = "/grpc.health.v1.Health/Check";

/// Settings for a test server, with `token` as `server.api_token`.
pub fn settings(token: Option<&str>) -> ServerSettings {
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        request_timeout: Duration::from_secs(5),
        concurrency_limit: 16,
        shutdown_grace: Duration::from_millis(200),
        api_token: token.map(Secret::new),
        tls: None,
        token_for_reads: false,
        connections: Default::default(),
        calls: Default::default(),
        web: Default::default(),
    }
}

/// A running server; dropping it stops the server.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl Running {
    /// Stops the server and returns how `serve` ended.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the server did not stop")
            .unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Serves `server` with `settings` on a free port of 127.0.0.1.
pub async fn start(server: GrpcServer, settings: ServerSettings) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(listener, &settings, async {
                let _ = stop_rx.await;
            })
            .await
    });
    Running {
        addr,
        stop: Some(stop_tx),
        task: Some(task),
    }
}

/// A plain-text channel to `addr`.
pub async fn plain_channel(addr: SocketAddr) -> Channel {
    tickmesh_bootstrap::connect_channel(&format!("http://{addr}"), None)
        .await
        .unwrap()
}

/// A health `Check` of the overall status, with `token` as the bearer token when given.
pub async fn check(channel: Channel, token: Option<&str>) -> Result<ServingStatus, tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    if let Some(token) = token {
        tickmesh_bootstrap::bearer(&mut request, token).unwrap();
    }
    let response = HealthClient::new(channel)
        .check(request)
        .await?
        .into_inner();
    Ok(status(response.status))
}

/// A health `Check` with a raw `authorization` header value.
pub async fn check_with_header(
    channel: Channel,
    authorization: &str,
) -> Result<ServingStatus, tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    let response = HealthClient::new(channel)
        .check(request)
        .await?
        .into_inner();
    Ok(status(response.status))
}

/// The first status a health `Watch` without a token reports.
pub async fn first_watch(channel: Channel) -> Result<ServingStatus, tonic::Status> {
    let mut stream = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    let first = stream.message().await?.expect("the watch ended at once");
    Ok(status(first.status))
}

pub fn status(s: i32) -> ServingStatus {
    health_check_response::ServingStatus::try_from(s).unwrap()
}

/// A test CA and a server certificate it signed for `localhost` and 127.0.0.1, in a temp dir.
pub struct TestCerts {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Makes [`TestCerts`] with the `openssl` command.
pub fn make_certs() -> TestCerts {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n\
         [dn]\nCN = tickmesh test ca\n\
         [v3_ca]\nbasicConstraints = critical, CA:TRUE\n\
         keyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n",
    )
    .unwrap();
    std::fs::write(
        d.join("server.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = localhost\n",
    )
    .unwrap();
    std::fs::write(
        d.join("server.ext"),
        "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n\
         authorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-config",
            "ca.cnf",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-config",
            "server.cnf",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    TestCerts {
        ca: d.join("ca.pem"),
        cert: d.join("server.pem"),
        key: d.join("server.key"),
        dir,
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the tls tests need the openssl command to make test certificates");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
