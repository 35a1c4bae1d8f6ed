//! Packing closed partitions (PostgreSQL): once a partition's range has been past for an hour,
//! a maintenance round rebuilds its indexes packed, one partition per table per round, keeping
//! every row and the key; the partition still taking writes is left alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tickmesh_domain::UtcMicros;
use tickmesh_storage::maintain;
use tickmesh_storage::maintenance::{MaintenanceConfig, Retention, pack};

use common::TestDb;

/// 2025-01-01T00:00:00Z.
const DAY: i64 = 1_735_689_600_000_000;
const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

async fn number(db: &TestDb, sql: &str) -> i64 {
    db.conn
        .query_one(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap()
}

async fn text(db: &TestDb, sql: &str) -> Option<String> {
    db.conn
        .query_one(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "t")
        .unwrap()
}

/// The trades partitions each round packed.
async fn round(db: &TestDb, config: &MaintenanceConfig, now: i64) -> Vec<String> {
    let reports = maintain(&db.conn, config, UtcMicros(now)).await.unwrap();
    let trades = reports.iter().find(|r| r.table == "trades").unwrap();
    assert!(!trades.skipped);
    trades.partitions_packed.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_partitions_are_packed_once_keeping_rows_and_key() {
    let db = TestDb::postgres().await;
    let config = MaintenanceConfig {
        partitions_ahead: Duration::from_secs(86_400),
        retention: Retention {
            trades: None,
            tickers: None,
            books: None,
        },
        ..MaintenanceConfig::default()
    };
    assert_eq!(round(&db, &config, DAY).await, Vec::<String>::new());
    // 40,000 trades of 20 markets interleaved, as they arrive, on the first day; a few on
    // the second.
    db.conn
        .execute_unprepared(
            "INSERT INTO markets (exchange, market) \
             SELECT 'upbit', 'C' || i || '/KRW' FROM generate_series(1, 20) i",
        )
        .await
        .unwrap();
    db.conn
        .execute_unprepared(&format!(
            "INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us, \
             received_time_us, position) \
             SELECT 1 + i % 20, i, 142000000.5, 0.0010, 'b', {DAY} + i * 2000000, \
             {DAY} + i * 2000000 + 1, i FROM generate_series(0::bigint, 43199) i"
        ))
        .await
        .unwrap();
    let key = "pg_relation_size('trades_p20250101_pkey')";
    let before = number(&db, &format!("SELECT {key} AS n")).await;
    let rows = "SELECT count(*) AS n FROM trades";
    let stored = number(&db, rows).await;
    assert_eq!(stored, 43_200);

    // Closed for half an hour only: late rows may still come.
    assert!(
        round(&db, &config, DAY + DAY_US + HOUR_US / 2)
            .await
            .is_empty()
    );
    let packed = round(&db, &config, DAY + DAY_US + 2 * HOUR_US).await;
    assert_eq!(packed, ["trades_p20250101"]);
    let after = number(&db, &format!("SELECT {key} AS n")).await;
    assert!(after * 10 < before * 7, "{before} -> {after} bytes");
    assert_eq!(
        text(
            &db,
            "SELECT obj_description('trades_p20250101_pkey'::regclass, 'pg_class') AS t"
        )
        .await
        .as_deref(),
        Some(pack::PACKED)
    );
    assert_eq!(number(&db, rows).await, stored);
    let duplicate = format!(
        "INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us, \
         received_time_us) VALUES (1, 20, 1, 1, 's', {DAY} + 40000000, 1)"
    );
    assert!(db.conn.execute_unprepared(&duplicate).await.is_err());

    // Done once: the next round finds nothing more that closed (the second day is still
    // open), and the open partition's key is as written.
    assert!(
        round(&db, &config, DAY + DAY_US + 3 * HOUR_US)
            .await
            .is_empty()
    );
    assert_eq!(
        text(
            &db,
            "SELECT obj_description('trades_p20250102_pkey'::regclass, 'pg_class') AS t"
        )
        .await,
        None
    );
}
