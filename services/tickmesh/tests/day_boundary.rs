//! Midnight on real services: exchange clocks warped to just before 00:00 UTC, run through it,
//! and every trade stored once in PostgreSQL's day partition of its exchange time, yesterday's
//! and today's, made by storage as they were needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Database, Statement};
use support::mesh::Mesh;
use support::sims::Sims;
use tickmesh_simulator::ExchangeClock;

const DAY_US: i64 = 86_400_000_000;

/// `trades_pYYYYMMDD` of the UTC day starting at `day_us`.
fn partition(day_us: i64) -> String {
    let day = chrono::DateTime::from_timestamp_micros(day_us).unwrap();
    format!("trades_p{}", day.format("%Y%m%d"))
}

#[tokio::test(flavor = "multi_thread")]
async fn trades_across_midnight_land_in_their_days_partitions_exactly_once() {
    // The clocks start ten minutes before the last midnight and run 40 times faster than real
    // time: the simulators start generating a few minutes before it and cross it in seconds.
    let now_us = tickmesh_domain::UtcMicros::now().as_micros();
    let midnight_us = now_us - now_us.rem_euclid(DAY_US);
    let back = Duration::from_micros(u64::try_from(now_us - midnight_us).unwrap() + 600_000_000);
    let clock = ExchangeClock::warped(back, 40);
    let sims = Sims::start_with_clock(&["BTC", "ETH"], 30.0, clock.clone()).await;
    let mesh = Mesh::with_sims("daybound", sims).await;
    let overrides = [("TICKMESH__INGESTION__MAX_CLOCK_SKEW", "48h".to_owned())];
    let storage = mesh.serve("storage", &overrides);
    let bridge = mesh.serve("bridge", &overrides);
    let ingestion = mesh.serve("ingestion", &overrides);
    mesh.sims.wait_connected().await;
    assert!(
        clock.now_us() < midnight_us,
        "the setup took past the warped midnight; start the clocks further back"
    );
    mesh.sims.resume();
    support::eventually(
        "the exchange clocks to pass midnight by 20 s",
        Duration::from_secs(60),
        || async { (clock.now_us() > midnight_us + 20_000_000).then_some(()) },
    )
    .await;
    mesh.assert_converges().await;

    let db = Database::connect(mesh.db.url.as_str()).await.unwrap();
    let count = |table: String| {
        let db = db.clone();
        async move {
            let row = db
                .query_one(Statement::from_string(
                    db.get_database_backend(),
                    format!("select count(*) as n from {table}"),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    let yesterday = count(partition(midnight_us - DAY_US)).await;
    let today = count(partition(midnight_us)).await;
    let emitted = i64::try_from(mesh.sims.emitted().len()).unwrap();
    eprintln!("{yesterday} trades before midnight, {today} after, {emitted} emitted");
    assert!(yesterday > 0 && today > 0, "{yesterday} / {today}");
    assert_eq!(
        yesterday + today,
        emitted,
        "every trade in its day's partition"
    );
    // No trade sits in the wrong day.
    let misplaced = count(format!(
        "{} where exchange_time_us >= {midnight_us}",
        partition(midnight_us - DAY_US)
    ))
    .await;
    assert_eq!(misplaced, 0);

    ingestion.terminate();
    bridge.terminate();
    storage.terminate();
    mesh.finish().await;
}
