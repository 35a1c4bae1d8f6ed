//! Embedded mode: `tickmesh up` with no Redis, Kafka or PostgreSQL configured runs ingestion,
//! bridge and storage on the in-process bus and writes a SQLite file; the trades in it are
//! exactly the trades the simulators emitted, prices exact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Database, Statement};
use support::process::Proc;
use support::sims::Sims;

#[tokio::test(flavor = "multi_thread")]
async fn up_stores_what_the_simulators_emit_in_sqlite() {
    let sims = Sims::start(&["BTC", "XRP"], 30.0).await;
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let mut env = sims.ingestion_env();
    env.push(("TICKMESH__DATABASE__URL".to_owned(), url.clone()));
    let up = Proc::start("up", &["up"], &env);
    sims.wait_connected().await;
    sims.resume();
    tokio::time::sleep(Duration::from_secs(3)).await;
    sims.pause();

    let emitted: Vec<_> = sims.emitted();
    assert!(emitted.len() > 30, "only {} trades emitted", emitted.len());
    let db = Database::connect(url.as_str()).await.unwrap();
    support::eventually(
        "sqlite to hold every emitted trade",
        Duration::from_secs(20),
        || {
            let db = db.clone();
            let emitted = emitted.clone();
            async move { (support::stored_trades(&db).await == emitted).then_some(()) }
        },
    )
    .await;
    assert_eq!(
        support::candle_trade_count(&db).await,
        i64::try_from(emitted.len()).unwrap()
    );

    // Prices arrive as the exchanges wrote them: every stored price reads back as a decimal
    // with no float residue (SQLite keeps them as text).
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "select price, size from trades",
        ))
        .await
        .unwrap();
    let mut prices = BTreeSet::new();
    for row in rows {
        let price: String = row.try_get("", "price").unwrap();
        let size: String = row.try_get("", "size").unwrap();
        assert!(price.parse::<rust_decimal::Decimal>().is_ok(), "{price}");
        assert!(!size.contains('e') && !size.contains('E'), "{size}");
        prices.insert(price);
    }
    assert!(!prices.is_empty());
    up.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn up_simulate_collects_from_all_three_simulated_exchanges_offline() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let env = vec![("TICKMESH__DATABASE__URL".to_owned(), url.clone())];
    let up = Proc::start("up", &["up", "--simulate", "--simulate-rate", "30"], &env);
    assert_eq!(up.logged("simulated ").len(), 3, "one line per simulator");

    let db = Database::connect(url.as_str()).await.unwrap();
    let exchanges = support::eventually(
        "trades from every simulated exchange",
        Duration::from_secs(20),
        || {
            let db = db.clone();
            async move {
                let stored = support::stored_trades(&db).await;
                let exchanges: BTreeSet<String> = stored.into_iter().map(|t| t.0).collect();
                (exchanges.len() == 3).then_some(exchanges)
            }
        },
    )
    .await;
    assert_eq!(
        exchanges.into_iter().collect::<Vec<_>>(),
        ["bithumb", "korbit", "upbit"]
    );
    up.terminate();
    // Every trade stored by the time it stopped is counted once in the candles.
    let stored = support::stored_trades(&db).await.len();
    assert_eq!(
        support::candle_trade_count(&db).await,
        i64::try_from(stored).unwrap()
    );
}
