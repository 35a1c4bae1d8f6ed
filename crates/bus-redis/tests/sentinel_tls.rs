//! Sentinel with passwords and TLS everywhere: a master with `requirepass` and a sentinel with
//! a `requirepass` of its own, both speaking only TLS. The bus asks the sentinel (logging in
//! with the sentinel's password) where the master is, then logs in to the master with its
//! password, on both client stacks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use tickmesh_bus_redis::{RedisBus, RedisConfig, RedisTarget, Secret, TlsFiles};
use tickmesh_e2e::certs::{self, TestCerts};

use support::{Server, describe, free_port, round_trip, start, tls_args};

const MASTER_PASSWORD: &str = "master-Sekrit";
const SENTINEL_PASSWORD: &str = "sentinel-Sekrit";

struct Pair {
    _master: Server,
    sentinel: Server,
}

fn pair(certs: &TestCerts) -> Pair {
    let dir = certs.dir.path();
    let master_port = free_port();
    let mut args = tls_args(master_port, certs, dir, "no");
    args.extend(["--requirepass".to_owned(), MASTER_PASSWORD.to_owned()]);
    let master = start(master_port, &args);

    let sentinel_port = free_port();
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "bind 127.0.0.1\nport 0\ntls-port {sentinel_port}\n\
             tls-cert-file {cert}\ntls-key-file {key}\ntls-ca-cert-file {ca}\n\
             tls-auth-clients no\ntls-replication yes\n\
             requirepass {SENTINEL_PASSWORD}\n\
             sentinel monitor tm 127.0.0.1 {master_port} 1\n\
             sentinel auth-pass tm {MASTER_PASSWORD}\n",
            cert = certs.server_cert.display(),
            key = certs.server_key.display(),
            ca = certs.ca.display(),
        ),
    )
    .unwrap();
    let sentinel = start(
        sentinel_port,
        &[conf.display().to_string(), "--sentinel".to_owned()],
    );
    Pair {
        _master: master,
        sentinel,
    }
}

fn config(pair: &Pair, certs: &TestCerts, sentinel_password: &str) -> RedisConfig {
    RedisConfig {
        target: RedisTarget::Sentinel {
            sentinels: vec![format!("localhost:{}", pair.sentinel.port)],
            master: "tm".to_owned(),
        },
        password: Some(Secret::new(MASTER_PASSWORD)),
        sentinel_password: Some(Secret::new(sentinel_password)),
        sentinel_tls: true,
        tls: TlsFiles {
            ca: Some(certs.ca.clone()),
            ..TlsFiles::default()
        },
        ..RedisConfig::new(String::new())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bus_finds_and_uses_the_master_through_a_password_protected_tls_sentinel() {
    let certs = certs::make();
    let pair = pair(&certs);
    let bus = RedisBus::connect(config(&pair, &certs, SENTINEL_PASSWORD))
        .await
        .unwrap();
    round_trip(&bus, "sentinel-tls").await;
    assert!(!format!("{bus:?}").contains("Sekrit"), "{bus:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_for_the_sentinel_or_the_master_are_refused_without_showing_them() {
    let certs = certs::make();
    let pair = pair(&certs);
    let err = RedisBus::connect(config(&pair, &certs, "wrong-Sekrit"))
        .await
        .expect_err("the sentinel took a wrong password");
    let shown = describe(&err);
    assert!(shown.contains("no sentinel gave the address"), "{shown}");
    assert!(!shown.contains("Sekrit"), "{shown}");

    let mut wrong_master = config(&pair, &certs, SENTINEL_PASSWORD);
    wrong_master.password = Some(Secret::new("wrong-Sekrit"));
    let err = RedisBus::connect(wrong_master)
        .await
        .expect_err("the master took a wrong password");
    let shown = describe(&err);
    assert!(!shown.contains("Sekrit"), "{shown}");

    // Without TLS the sentinel does not answer at all.
    let mut plain = config(&pair, &certs, SENTINEL_PASSWORD);
    plain.sentinel_tls = false;
    plain.tls = TlsFiles::default();
    assert!(RedisBus::connect(plain).await.is_err());
}
