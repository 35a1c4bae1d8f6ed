//! Processes watch their services: one that fails takes the process down with a non-zero
//! status and its cause, and `tickmesh up` stops in order on SIGTERM, so everything ingestion
//! published before the signal is stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::mesh::{Mesh, run_for};
use support::process::Proc;
use support::sims::Sims;

/// The first log event whose message is `message`.
fn event<'a>(logs: &'a [serde_json::Value], message: &str) -> &'a serde_json::Value {
    logs.iter()
        .find(|e| e["message"].as_str() == Some(message))
        .unwrap_or_else(|| panic!("no `{message}` log line"))
}

fn count(event: &serde_json::Value, field: &str) -> u64 {
    event[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {event}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_fails_takes_its_process_down_with_the_cause() {
    let mesh = Mesh::new("failing", 0.0).await;
    // The bridge's stream is a plain string: no consumer group can be made on it, which no
    // retry can fix.
    let stream = format!("tickmesh:{}:events", mesh.id);
    let client = redis::Client::open(tickmesh_e2e::redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(&stream)
        .arg("not a stream")
        .query_async(&mut redis)
        .await
        .unwrap();

    let bridge = mesh.serve("bridge", &[]);
    let (status, logs) = bridge.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{status}");
    let failed = event(&logs, "a service failed; stopping the process");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with("the bridge service failed") && error.contains("WRONGTYPE"),
        "{error}"
    );
    let _: () = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut redis)
        .await
        .unwrap();
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn up_stores_everything_ingestion_published_before_sigterm() {
    // Fast enough that the bridge and storage are behind when the signal comes.
    let sims = Sims::start(&["BTC", "ETH", "XRP"], 1_500.0).await;
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let mut env = sims.ingestion_env();
    env.push(("TICKMESH__DATABASE__URL".to_owned(), url));
    env.push((
        "TICKMESH__SERVER__SHUTDOWN_GRACE".to_owned(),
        "12s".to_owned(),
    ));
    let up = Proc::start("up", &["up"], &env);
    sims.wait_connected().await;
    sims.resume();
    run_for(Duration::from_secs(2)).await;
    let logs = up.terminate();
    sims.pause();

    let published = count(event(&logs, "ingestion stopped"), "published");
    let bridge = event(&logs, "bridge stopped");
    let storage = event(&logs, "storage stopped");
    assert!(published > 3_000, "only {published} events published");
    assert_eq!(
        count(bridge, "forwarded"),
        published,
        "the bridge drained the stream"
    );
    assert_eq!(
        count(storage, "events") + count(storage, "dead_lettered"),
        published,
        "storage drained the topics"
    );
    // In that order: ingestion, then the bridge, then storage.
    let position = |message: &str| {
        logs.iter()
            .position(|e| e["message"].as_str() == Some(message))
            .unwrap()
    };
    assert!(position("ingestion stopped") < position("bridge stopped"));
    assert!(position("bridge stopped") < position("storage stopped"));
}
