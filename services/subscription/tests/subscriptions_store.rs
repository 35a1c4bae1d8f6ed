//! Every subscription store adapter passes the conformance suite: in memory, SQLite (a file)
//! and PostgreSQL (a scratch database; the test fails when no server is reachable).

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tickmesh_migrations::testing::ScratchPostgres;
use tickmesh_subscription::subscriptions::conformance;
use tickmesh_subscription::subscriptions::{DbStore, MemoryStore};

async fn migrated(url: &str) -> DbStore {
    let db = sea_orm::Database::connect(url).await.unwrap();
    tickmesh_migrations::migrate(&db).await.unwrap();
    DbStore::new(db)
}

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("tickmesh.db").display()
    );
    conformance::run(&migrated(&url).await).await;
}

#[tokio::test]
async fn postgres_store_conforms() {
    let scratch = ScratchPostgres::create().await.unwrap_or_else(|e| {
        tickmesh_e2e::unreachable("PostgreSQL", &tickmesh_e2e::database_url(), &e)
    });
    let store = migrated(scratch.url()).await;
    conformance::run(&store).await;
    store.connection().clone().close().await.unwrap();
}

#[tokio::test]
async fn a_foreign_row_is_an_invalid_row_error() {
    use sea_orm::ConnectionTrait;
    use tickmesh_subscription::subscriptions::{StoreError, SubscriptionStore};

    let store = migrated("sqlite::memory:").await;
    store
        .connection()
        .execute_unprepared(
            "INSERT INTO subscriptions (exchange, market, created_at_us) VALUES ('binance', 'BTC/KRW', 1)",
        )
        .await
        .unwrap();
    let err = store.list(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidRow {
                column: "exchange",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_service_keeps_its_subscriptions_across_restarts_on_sqlite() {
    use std::sync::Arc;
    use tickmesh_domain::{Exchange, Market};
    use tickmesh_subscription::subscriptions::{MarketCatalog, Subscriptions};

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("tickmesh.db").display()
    );
    let btc = Market::parse("BTC").unwrap();
    let catalog = MarketCatalog::new(Exchange::ALL.map(|e| (e, vec![btc])));
    let first = Subscriptions::new(Arc::new(migrated(&url).await), catalog.clone());
    let created = first.create(None, btc).await.unwrap();
    assert_eq!(created.len(), 3);
    drop(first);

    let second = Subscriptions::new(Arc::new(migrated(&url).await), catalog);
    let (snapshot, _watch) = second.watch(None).await.unwrap();
    let expected: Vec<_> = created.iter().map(|a| a.subscription).collect();
    assert_eq!(snapshot, expected);
    let again = second.create(Some(Exchange::Korbit), btc).await.unwrap();
    assert!(!again[0].created);
}
