//! Redis restarted under ingestion: an outage that fits the publisher's buffer loses nothing;
//! one that does not drops events by policy and reports how many.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::mesh::{Mesh, run_for};
use support::redis::PrivateRedis;
use tickmesh_domain::Payload;

/// Every trade in the stream as `(exchange, market, trade_id)`.
async fn streamed_trades(url: &str, stream: &str) -> BTreeSet<(String, String, i64)> {
    let mut out = BTreeSet::new();
    for entry in support::redis::stream_entries(url, stream).await {
        let payload: Vec<u8> = entry.get("payload").unwrap();
        let event = tickmesh_proto::codec::decode_event(&payload).unwrap();
        if let Payload::Trade(t) = event.payload {
            out.insert((
                event.exchange.as_str().to_owned(),
                event.market.to_string(),
                i64::try_from(t.trade_id.0).unwrap(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_restart_that_fits_the_buffer_loses_nothing() {
    let mut redis = PrivateRedis::start();
    let mesh = Mesh::new("ro_fits", 20.0).await;
    let stream = format!("tickmesh:{}:events", mesh.id);
    let ingestion = mesh.serve("ingestion", &[("TICKMESH__BUS__REDIS_URL", redis.url())]);
    mesh.sims.wait_connected().await;
    mesh.sims.resume();

    run_for(Duration::from_secs(2)).await;
    redis.stop();
    run_for(Duration::from_secs(3)).await;
    redis.restart();
    run_for(Duration::from_secs(2)).await;
    mesh.sims.pause();

    let emitted: BTreeSet<_> = mesh.sims.emitted().into_iter().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let streamed = streamed_trades(&redis.url(), &stream).await;
        if streamed == emitted {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream holds {} trades, the simulators emitted {}",
            streamed.len(),
            emitted.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let resumed = ingestion.logged("takes events again");
    assert_eq!(resumed.len(), 1, "one outage, reported once it ended");
    assert_eq!(resumed[0]["dropped"], 0);
    ingestion.terminate();
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_outage_beyond_the_buffer_reports_what_it_dropped() {
    let mut redis = PrivateRedis::start();
    let mesh = Mesh::new("ro_overflow", 20.0).await;
    let stream = format!("tickmesh:{}:events", mesh.id);
    let ingestion = mesh.serve(
        "ingestion",
        &[
            ("TICKMESH__BUS__REDIS_URL", redis.url()),
            ("TICKMESH__INGESTION__BUFFER_CAPACITY", "40".to_owned()),
            ("TICKMESH__INGESTION__OVERFLOW", "drop-oldest".to_owned()),
        ],
    );
    mesh.sims.wait_connected().await;
    mesh.sims.resume();

    run_for(Duration::from_secs(1)).await;
    redis.stop();
    // 60 trades/s plus their tickers and books overflow 40 slots within a second.
    run_for(Duration::from_secs(4)).await;
    redis.restart();
    run_for(Duration::from_secs(2)).await;
    mesh.sims.pause();
    run_for(Duration::from_secs(1)).await;

    let resumed = ingestion.logged("takes events again");
    assert_eq!(resumed.len(), 1, "one outage, reported once it ended");
    let dropped = resumed[0]["dropped"].as_u64().unwrap();
    assert!(dropped > 0, "an outage beyond the buffer must drop events");
    assert!(!ingestion.logged("outage buffer full").is_empty());

    let emitted: BTreeSet<_> = mesh.sims.emitted().into_iter().collect();
    let streamed = streamed_trades(&redis.url(), &stream).await;
    assert!(streamed.is_subset(&emitted));
    let missing = emitted.len() - streamed.len();
    assert!(missing > 0, "trades were dropped, so some must be missing");
    assert!(
        missing as u64 <= dropped,
        "{missing} trades missing but only {dropped} events reported dropped"
    );
    ingestion.terminate();
    mesh.finish().await;
}
