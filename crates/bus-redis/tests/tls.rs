//! The adapter over TLS with passwords and ACL users, against private `redis-server`s started
//! with `--tls-port` and `--requirepass` (certificates made by openssl): the conformance
//! suites pass over it, and refusals (wrong password, untrusted certificate, plain text, a
//! missing client certificate) fail without showing the password.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use tickmesh_bus::conformance;
use tickmesh_bus_redis::{RedisBus, RedisConfig, Secret, TlsFiles};
use tickmesh_e2e::certs::{self, TestCerts};

use support::{Server, describe, free_port, round_trip, start, tls_args};

const PASSWORD: &str = "default-Sekrit,pw";
const APP_PASSWORD: &str = "app-Sekrit@pw";

/// A TLS-only server with a password for the default user and an ACL user `app`.
fn server(certs: &TestCerts, client_certs: &str) -> Server {
    let port = free_port();
    let mut args = tls_args(port, certs, certs.dir.path(), client_certs);
    args.extend(
        [
            "--requirepass",
            PASSWORD,
            "--user",
            "app",
            "on",
            &format!(">{APP_PASSWORD}"),
            "~*",
            "&*",
            "+@all",
        ]
        .iter()
        .map(ToString::to_string),
    );
    start(port, &args)
}

fn config(url: String, certs: &TestCerts) -> RedisConfig {
    RedisConfig {
        tls: TlsFiles {
            ca: Some(certs.ca.clone()),
            ..TlsFiles::default()
        },
        reclaim_after: std::time::Duration::from_secs(1),
        ..RedisConfig::new(url)
    }
}

#[tokio::test]
async fn the_conformance_suites_pass_over_tls_with_a_password() {
    let certs = certs::make();
    let server = server(&certs, "optional");
    let url = format!("rediss://:{PASSWORD}@localhost:{}", server.port);
    let stream = "tickmesh:tls:events";
    let bus = RedisBus::connect(RedisConfig {
        stream: stream.to_owned(),
        ..config(url, &certs)
    })
    .await
    .unwrap();
    conformance::live::run(&bus, "tls-live").await;
    conformance::log::run(&bus, "tls-log").await;
    conformance::publisher::run(&bus, &bus, &bus, stream, "tls-pub").await;
    assert!(!format!("{bus:?}").contains("Sekrit"), "{bus:?}");
}

#[tokio::test]
async fn an_acl_user_logs_in_from_the_url_or_from_its_own_keys() {
    let certs = certs::make();
    let server = server(&certs, "optional");
    // The user and password in the URL; the address by IP, which the certificate names too.
    let url = format!("rediss://app:{APP_PASSWORD}@127.0.0.1:{}", server.port);
    let bus = RedisBus::connect(config(url, &certs)).await.unwrap();
    round_trip(&bus, "acl-url").await;

    // The same from bus.redis_username and bus.redis_password, over a URL without them.
    let url = format!("rediss://localhost:{}", server.port);
    let bus = RedisBus::connect(RedisConfig {
        username: Some("app".to_owned()),
        password: Some(Secret::new(APP_PASSWORD)),
        ..config(url, &certs)
    })
    .await
    .unwrap();
    round_trip(&bus, "acl-keys").await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_showing_it() {
    let certs = certs::make();
    let server = server(&certs, "optional");
    for url in [
        format!("rediss://:wrong-Sekrit@localhost:{}", server.port),
        format!("rediss://app:wrong-Sekrit@localhost:{}", server.port),
        format!("rediss://localhost:{}", server.port),
    ] {
        let err = RedisBus::connect(config(url.clone(), &certs))
            .await
            .expect_err("connected with a wrong password");
        let shown = describe(&err);
        assert!(!shown.contains("Sekrit"), "{shown}");
        let lower = shown.to_lowercase();
        assert!(
            lower.contains("wrongpass") || lower.contains("auth"),
            "{url}: {shown}"
        );
    }
}

#[tokio::test]
async fn an_untrusted_certificate_and_plain_text_are_refused() {
    let certs = certs::make();
    let other = certs::make();
    let server = server(&certs, "optional");
    let url = format!("rediss://:{PASSWORD}@localhost:{}", server.port);
    let err = RedisBus::connect(config(url, &other))
        .await
        .expect_err("trusted a certificate of another ca");
    let shown = describe(&err);
    assert!(shown.to_lowercase().contains("certificate"), "{shown}");
    assert!(!shown.contains("Sekrit"), "{shown}");

    let url = format!("redis://:{PASSWORD}@localhost:{}", server.port);
    let plain = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        RedisBus::connect(RedisConfig::new(url)),
    )
    .await
    .expect("a plain-text connection to a tls port hung");
    let err = plain.expect_err("talked plain text to a tls port");
    assert!(!describe(&err).contains("Sekrit"), "{err}");
}

#[tokio::test]
async fn a_client_certificate_is_presented_where_one_is_required() {
    let certs = certs::make();
    let server = server(&certs, "yes");
    let url = format!("rediss://:{PASSWORD}@localhost:{}", server.port);
    assert!(
        RedisBus::connect(config(url.clone(), &certs))
            .await
            .is_err(),
        "connected without the required client certificate"
    );
    let mut with_cert = config(url, &certs);
    with_cert.tls.cert = Some(certs.client_cert.clone());
    with_cert.tls.key = Some(certs.client_key.clone());
    let bus = RedisBus::connect(with_cert).await.unwrap();
    round_trip(&bus, "mtls").await;
}
