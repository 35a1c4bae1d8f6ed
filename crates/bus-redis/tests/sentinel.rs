//! Redis Sentinel failover: a master, a replica and a sentinel on loopback. The bus finds the
//! master through the sentinel, and after the master dies and the sentinel promotes the
//! replica, appends and reads go to the new master without restarting anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tickmesh_bus::{DurableLog, Record};
use tickmesh_bus_redis::{RedisBus, RedisConfig, RedisTarget};

/// A `redis-server` child, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(args: &[String]) -> Server {
    let child = Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run redis-server ({e}); ./scripts/test.sh installs it"));
    Server(child)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn server(port: u16, dir: &Path, extra: &[&str]) -> Server {
    let mut args: Vec<String> = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    args.push("--dir".into());
    args.push(dir.display().to_string());
    args.extend(extra.iter().map(ToString::to_string));
    let s = start(&args);
    wait_until("redis to listen", Duration::from_secs(10), || {
        redis_cli(port, &["PING"]).trim() == "PONG"
    });
    s
}

fn records(from: u32, n: u32) -> Vec<Record> {
    (from..from + n)
        .map(|i| Record::new("k", i.to_string().into_bytes()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn appends_follow_the_master_through_a_sentinel_failover() {
    let dir = tempfile::tempdir().unwrap();
    let (master_port, replica_port, sentinel_port) = (free_port(), free_port(), free_port());
    let master = server(master_port, dir.path(), &[]);
    let replica_dir = dir.path().join("replica");
    std::fs::create_dir(&replica_dir).unwrap();
    let _replica = server(
        replica_port,
        &replica_dir,
        &["--replicaof", "127.0.0.1", &master_port.to_string()],
    );
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sentinel_port}\nbind 127.0.0.1\n\
             sentinel monitor tm 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds tm 1000\n\
             sentinel failover-timeout tm 5000\n"
        ),
    )
    .unwrap();
    let _sentinel = start(&[conf.display().to_string(), "--sentinel".to_owned()]);
    wait_until("the replica to sync", Duration::from_secs(10), || {
        redis_cli(replica_port, &["INFO", "replication"]).contains("master_link_status:up")
    });
    wait_until(
        "the sentinel to see the replica",
        Duration::from_secs(15),
        || {
            redis_cli(sentinel_port, &["SENTINEL", "replicas", "tm"])
                .contains(&replica_port.to_string())
        },
    );

    let stream = "tickmesh:sentinel:events";
    let bus = RedisBus::connect(RedisConfig {
        target: RedisTarget::Sentinel {
            sentinels: vec![format!("127.0.0.1:{sentinel_port}")],
            master: "tm".to_owned(),
        },
        ..RedisConfig::new(String::new())
    })
    .await
    .unwrap();
    bus.append(stream, &records(0, 5)).await.unwrap();
    // The replica must have them before the master dies, or they die with it. (`WAIT` from
    // another client proves nothing: it waits only for that client's own writes.)
    wait_until(
        "the replica to have the first records",
        Duration::from_secs(10),
        || redis_cli(replica_port, &["XLEN", stream]).trim() == "5",
    );

    drop(master);
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match bus.append(stream, &records(5, 5)).await {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(40),
                    "no failover: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    eprintln!(
        "appends resumed {:?} after the master died ({attempts} attempts)",
        started.elapsed()
    );
    let role = redis_cli(replica_port, &["ROLE"]);
    assert!(
        role.starts_with("master"),
        "the replica was not promoted: {role}"
    );
    assert_eq!(redis_cli(replica_port, &["XLEN", stream]).trim(), "10");

    // Reading follows the new master too.
    let mut consumer = bus.consume(&[stream], "g", "c").await.unwrap();
    let mut seen = 0;
    while seen < 10 {
        let batch = consumer.poll(100, Duration::from_secs(1)).await.unwrap();
        assert!(!batch.is_empty(), "only {seen} of 10 records read back");
        seen += batch.len();
        consumer.ack(&batch).await.unwrap();
    }
}
