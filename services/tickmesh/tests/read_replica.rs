//! `database.read_url`: storage writes to `database.url` and answers `HistoryService` from the
//! read replica. A second database stands in for the replica, holding candles the primary
//! does not, so where each answer came from is plain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Database, Statement};
use support::TempDatabase;
use support::mesh::Mesh;
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;

/// 2025-01-01T00:00:00Z in microseconds.
const DAY: i64 = 1_735_689_600_000_000;

fn wire(micros: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: micros / 1_000_000,
        nanos: 0,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn history_reads_go_to_the_read_replica_and_writes_to_the_primary() {
    let mesh = Mesh::new("readreplica", 10.0).await;
    let replica = TempDatabase::create("readreplica_copy").await;
    let migrated = std::process::Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .arg("migrate")
        .env("TICKMESH__DATABASE__URL", &replica.url)
        .env("TICKMESH__METRICS__LISTEN", "off")
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let copy = Database::connect(replica.url.as_str()).await.unwrap();
    for sql in [
        "insert into markets (exchange, market) values ('upbit', 'ADA/KRW')".to_owned(),
        format!(
            "insert into candles_1m (market_id, open_time_us, open, high, low, close, volume, \
             quote_volume, trade_count, first_trade_time_us, first_trade_id, last_trade_time_us, \
             last_trade_id) select id, {DAY}, 1000, 1010.5, 990, 1005, 2.5, 2512.5, 3, {DAY}, 1, \
             {DAY} + 30000000, 3 from markets where market = 'ADA/KRW'"
        ),
    ] {
        copy.execute(Statement::from_string(copy.get_database_backend(), sql))
            .await
            .unwrap();
    }

    let services = mesh
        .start_flowing(&[("TICKMESH__DATABASE__READ_URL", replica.url.clone())])
        .await;
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", services.storage.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let candles = HistoryServiceClient::new(channel)
        .list_candles(history::ListCandlesRequest {
            exchange: 1,
            market: "ADA".into(),
            interval: history::CandleInterval::CandleInterval1m as i32,
            start_time: wire(DAY),
            end_time: wire(DAY + 3_600_000_000),
        })
        .await
        .unwrap()
        .into_inner()
        .candles;
    assert_eq!(candles.len(), 1, "{candles:?}");
    assert_eq!(candles[0].high, "1010.5");
    assert_eq!(candles[0].trade_count, 3);

    // Meanwhile the simulators' trades are written to the primary, and only there.
    let primary = Database::connect(mesh.db.url.as_str()).await.unwrap();
    support::eventually("trades in the primary", Duration::from_secs(30), || {
        let primary = primary.clone();
        async move { (!support::stored_trades(&primary).await.is_empty()).then_some(()) }
    })
    .await;
    assert!(
        support::stored_trades(&copy).await.is_empty(),
        "storage wrote to the replica"
    );
    services.terminate();
    mesh.finish().await;
    replica.drop_now().await;
}
