//! Hostile exchanges: each simulator sends every kind of poison frame (negative and far-future
//! times, the largest decimal as a price, a 1,000-level book, 10,000-deep nesting, a market
//! nobody subscribed, a 2 MiB frame) while it trades, into `tickmesh up` and into the
//! distributed mesh on real Redis, the Kafka-protocol broker and PostgreSQL. The processes stay
//! up, every poison is counted under its reason, and the database ends up holding exactly the
//! trades the simulators emitted: none lost, none of the poison.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};
use support::mesh::{Mesh, run_for};
use support::process::Proc;
use support::sims::Sims;
use tickmesh_proto::ingestion::v1 as wire;
use tickmesh_proto::ingestion::v1::ingestion_service_client::IngestionServiceClient;
use tickmesh_simulator::{Fault, Poison};

/// Per exchange, the refusals by reason (`oversize`, `time_skew`...) and the parse errors.
type Counts = BTreeMap<String, BTreeMap<String, u64>>;

async fn refusals(grpc: &str) -> Counts {
    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let feeds = IngestionServiceClient::new(channel)
        .list_feeds(wire::ListFeedsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .feeds;
    feeds
        .into_iter()
        .map(|feed| {
            let exchange = tickmesh_proto::market::v1::Exchange::try_from(feed.exchange)
                .unwrap()
                .as_str_name()
                .trim_start_matches("EXCHANGE_")
                .to_ascii_lowercase();
            let mut counts: BTreeMap<String, u64> = feed
                .rejected
                .iter()
                .map(|r| {
                    let reason = wire::RejectReason::try_from(r.reason)
                        .unwrap()
                        .as_str_name()
                        .trim_start_matches("REJECT_REASON_")
                        .to_ascii_lowercase();
                    (reason, r.count)
                })
                .collect();
            counts.insert("parse_errors".to_owned(), feed.parse_errors);
            (exchange, counts)
        })
        .collect()
}

/// What every poison, sent once on each exchange's connection, must add to its counts.
fn expected_per_exchange() -> BTreeMap<String, u64> {
    [
        ("oversize", 1),
        ("book_depth", 1),
        ("time_skew", 2),
        ("bad_value", 1),
        ("unsubscribed", 1),
        ("parse_errors", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Sends every poison to every simulator while they trade, waiting for each to be counted on
/// `grpc`'s feeds before the next, and checks the counts moved by exactly the poisons.
async fn send_every_poison(sims: &Sims, grpc: &str) {
    let before = refusals(grpc).await;
    for poison in Poison::ALL {
        for sim in &sims.all {
            sim.inject(Fault::Poison(poison));
        }
        run_for(Duration::from_millis(400)).await;
    }
    let after = support::eventually(
        "every poison counted on every feed",
        Duration::from_secs(20),
        || async {
            let after = refusals(grpc).await;
            let all_counted = after.iter().all(|(exchange, counts)| {
                expected_per_exchange()
                    .iter()
                    .all(|(reason, n)| counts[reason] >= before[exchange][reason] + n)
            });
            all_counted.then_some(after)
        },
    )
    .await;
    for (exchange, counts) in &after {
        for (reason, n) in expected_per_exchange() {
            assert_eq!(
                counts[&reason] - before[exchange][&reason],
                n,
                "{exchange} {reason}: {counts:?} before {:?}",
                before[exchange]
            );
        }
    }
}

async fn markets_stored(db: &DatabaseConnection) -> Vec<String> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "select distinct market from markets order by market",
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| r.try_get::<String>("", "market").unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_stores_every_trade_while_the_exchanges_send_poison() {
    let sims = Sims::start(&["BTC", "ETH"], 20.0).await;
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let mut env = sims.ingestion_env();
    env.push(("TICKMESH__DATABASE__URL".to_owned(), url.clone()));
    let up = Proc::start("up", &["up"], &env);
    sims.wait_connected().await;
    sims.resume();
    run_for(Duration::from_secs(1)).await;

    send_every_poison(&sims, &up.grpc).await;
    run_for(Duration::from_secs(1)).await;
    sims.pause();

    let emitted = sims.emitted();
    let db = Database::connect(url.as_str()).await.unwrap();
    support::eventually(
        "sqlite to hold exactly the emitted trades",
        Duration::from_secs(20),
        || {
            let (db, emitted) = (db.clone(), emitted.clone());
            async move { (support::stored_trades(&db).await == emitted).then_some(()) }
        },
    )
    .await;
    assert_eq!(
        support::candle_trade_count(&db).await,
        i64::try_from(emitted.len()).unwrap()
    );
    assert_eq!(markets_stored(&db).await, ["BTC/KRW", "ETH/KRW"]);
    up.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_distributed_mesh_stores_every_trade_while_the_exchanges_send_poison() {
    let mesh = Mesh::with_markets("hostile", 20.0, &["BTC", "ETH"]).await;
    let services = mesh.start_flowing(&[]).await;
    run_for(Duration::from_secs(1)).await;

    send_every_poison(&mesh.sims, &services.ingestion.grpc).await;
    run_for(Duration::from_secs(1)).await;

    mesh.assert_converges().await;
    let db = Database::connect(mesh.db.url.as_str()).await.unwrap();
    assert_eq!(markets_stored(&db).await, ["BTC/KRW", "ETH/KRW"]);
    // Nothing reached storage that it had to set aside: the edge refused it all.
    assert!(services.storage.logged("dead-lettering").is_empty());
    assert!(services.bridge.logged("dead-lettering").is_empty());
    services.terminate();
    mesh.finish().await;
}
