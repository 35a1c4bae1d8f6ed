//! Private `redis-server` processes for the TLS, login and Sentinel tests.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tickmesh_bus::{DurableLog, LiveBus, LiveMessage, Record};
use tickmesh_bus_redis::RedisBus;
use tickmesh_e2e::certs::TestCerts;

/// A `redis-server` child, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `redis-server` (or a sentinel, with `--sentinel` among `args`) and waits until it
/// accepts connections on `port`.
pub fn start(port: u16, args: &[String]) -> Server {
    let child = Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run redis-server ({e}); ./scripts/test.sh installs it"));
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// The arguments of a server that speaks only TLS on `port`, with the test certificates.
pub fn tls_args(port: u16, certs: &TestCerts, dir: &Path, client_certs: &str) -> Vec<String> {
    let mut args: Vec<String> = ["--bind", "127.0.0.1", "--port", "0", "--save", ""]
        .iter()
        .map(ToString::to_string)
        .collect();
    for (flag, value) in [
        ("--tls-port", port.to_string()),
        ("--tls-cert-file", certs.server_cert.display().to_string()),
        ("--tls-key-file", certs.server_key.display().to_string()),
        ("--tls-ca-cert-file", certs.ca.display().to_string()),
        ("--tls-auth-clients", client_certs.to_owned()),
        ("--dir", dir.display().to_string()),
    ] {
        args.push(flag.to_owned());
        args.push(value);
    }
    args
}

/// Appends and reads back through the adapter's own connections, and publishes and receives
/// through redis-rs's: both stacks work.
pub async fn round_trip(bus: &RedisBus, name: &str) {
    let stream = format!("tickmesh:test:{name}");
    bus.append(&stream, &[Record::new("k", b"v".to_vec())])
        .await
        .unwrap();
    let mut consumer = bus.consume(&[&stream], "g", "c").await.unwrap();
    let batch = consumer.poll(10, Duration::from_secs(2)).await.unwrap();
    assert_eq!(batch.len(), 1);
    consumer.ack(&batch).await.unwrap();

    let channel = format!("tickmesh:live:{name}");
    let mut inbox = LiveBus::subscribe(bus, std::slice::from_ref(&channel), 16)
        .await
        .unwrap();
    LiveBus::publish(
        bus,
        &[LiveMessage {
            channel: channel.clone(),
            payload: b"hello".to_vec().into(),
        }],
    )
    .await
    .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .expect("no live message within 5 s");
    assert!(got.is_some());
}

/// Everything an error shows: its message and every source's, then its `Debug`.
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    format!("{text} / {err:?}")
}
