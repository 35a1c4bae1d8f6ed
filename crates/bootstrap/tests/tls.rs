//! TLS on the server and `connect_channel` on the client, with certificates made by `openssl`.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{CHECK, TestCerts, check, make_certs, settings, start};
use tickmesh_bootstrap::{ClientError, GrpcServer, ServerError, ServerSettings, TlsFiles};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

fn tls_settings(certs: &TestCerts, token: Option<&str>) -> ServerSettings {
    ServerSettings {
        tls: Some(TlsFiles {
            cert: certs.cert.clone(),
            key: certs.key.clone(),
        }),
        ..settings(token)
    }
}

#[tokio::test]
async fn a_tls_server_answers_a_client_that_trusts_its_ca() {
    let certs = make_certs();
    let server = start(GrpcServer::new(), tls_settings(&certs, None)).await;
    let port = server.addr.port();

    let channel =
        tickmesh_bootstrap::connect_channel(&format!("https://localhost:{port}"), Some(&certs.ca))
            .await
            .unwrap();
    assert_eq!(check(channel, None).await.unwrap(), ServingStatus::Serving);

    // The certificate names 127.0.0.1 too.
    let channel =
        tickmesh_bootstrap::connect_channel(&format!("https://127.0.0.1:{port}"), Some(&certs.ca))
            .await
            .unwrap();
    assert_eq!(check(channel, None).await.unwrap(), ServingStatus::Serving);

    server.stop().await.unwrap();
}

#[tokio::test]
async fn bearer_tokens_work_over_tls() {
    let certs = make_certs();
    let server = start(
        GrpcServer::new().require_token_for(&[CHECK]),
        tls_settings(&certs, Some("tls-token")),
    )
    .await;
    let channel = tickmesh_bootstrap::connect_channel(
        &format!("https://localhost:{}", server.addr.port()),
        Some(&certs.ca),
    )
    .await
    .unwrap();
    let status = check(channel.clone(), None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        check(channel, Some("tls-token")).await.unwrap(),
        ServingStatus::Serving
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_plain_text_client_cannot_talk_to_a_tls_server() {
    let certs = make_certs();
    let server = start(GrpcServer::new(), tls_settings(&certs, None)).await;
    let url = format!("http://127.0.0.1:{}", server.addr.port());
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        match tickmesh_bootstrap::connect_channel(&url, None).await {
            Err(err) => Err(err.to_string()),
            Ok(channel) => check(channel, None).await.map_err(|s| s.to_string()),
        }
    })
    .await
    .expect("a plain-text call to a tls server hung");
    assert!(outcome.is_err(), "{outcome:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_with_another_ca_is_refused_with_advice() {
    let certs = make_certs();
    let other = make_certs();
    let server = start(GrpcServer::new(), tls_settings(&certs, None)).await;
    let url = format!("https://localhost:{}", server.addr.port());
    let err = tickmesh_bootstrap::connect_channel(&url, Some(&other.ca))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Connect { tls: true, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("signed by the given ca"), "{err}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unreadable_or_unusable_tls_files_fail_serve_naming_them() {
    let certs = make_certs();
    let missing = certs.dir.path().join("no-such-cert.pem");
    let mut s = tls_settings(&certs, None);
    s.tls = Some(TlsFiles {
        cert: missing.clone(),
        key: certs.key.clone(),
    });
    let err = start(GrpcServer::new(), s).await.stop().await.unwrap_err();
    assert!(matches!(err, ServerError::TlsFile { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let garbage = certs.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let mut s = tls_settings(&certs, None);
    s.tls = Some(TlsFiles {
        cert: garbage.clone(),
        key: certs.key.clone(),
    });
    let err = start(GrpcServer::new(), s).await.stop().await.unwrap_err();
    assert!(matches!(err, ServerError::TlsIdentity { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&garbage.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn connect_channel_says_what_to_fix() {
    let ca = Path::new("/nonexistent/ca.pem");

    let err = tickmesh_bootstrap::connect_channel("https://localhost:1", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::CaRequired { .. }), "{err:?}");
    assert!(err.to_string().contains("ca certificate"), "{err}");

    let err = tickmesh_bootstrap::connect_channel("http://localhost:1", Some(ca))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::CaWithoutTls { .. }), "{err:?}");

    let err = tickmesh_bootstrap::connect_channel("https://localhost:1", Some(ca))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::ReadCa { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");

    for bad in [
        "not a url at all",
        "ftp://localhost:1",
        "localhost:1",
        "/path",
    ] {
        let err = tickmesh_bootstrap::connect_channel(bad, None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::InvalidUrl { .. } | ClientError::Scheme { .. }
            ),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains(bad), "{err}");
    }

    // Nothing listens on a port that was just released.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = tickmesh_bootstrap::connect_channel(&format!("http://127.0.0.1:{port}"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Connect { tls: false, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("running there"), "{err}");
}
