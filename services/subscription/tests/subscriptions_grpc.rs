//! `SubscriptionService` over a real tonic server on loopback, through the generated client:
//! create, list, delete and watch, and watches ending when clients go away or the server stops.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod subscriptions_support;

use std::time::Duration;

use subscriptions_support::{client, core, create, exchange, next_change, pair, pairs, serve};
use tickmesh_proto::market::v1 as market_wire;
use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::watch_subscriptions_response::Change;

#[tokio::test]
async fn create_list_delete_and_watch() {
    use market_wire::Exchange::{Bithumb, Korbit, Unspecified, Upbit};
    let core = core();
    let server = serve(core.clone()).await;
    let mut client = client(&server).await;

    let created = client
        .create_subscription(create(Upbit, "KRW-BTC"))
        .await
        .unwrap();
    let created = created.into_inner().subscriptions;
    assert_eq!(pairs(&created), [pair(Upbit, "BTC/KRW")]);
    assert!(created[0].created_time.is_some());

    let mut all = client
        .watch_subscriptions(wire::WatchSubscriptionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut korbit = client
        .watch_subscriptions(wire::WatchSubscriptionsRequest {
            exchange: exchange(Korbit),
        })
        .await
        .unwrap()
        .into_inner();
    match next_change(&mut all).await {
        Change::Snapshot(s) => assert_eq!(pairs(&s.subscriptions), [pair(Upbit, "BTC/KRW")]),
        other => panic!("expected the snapshot first, got {other:?}"),
    }
    match next_change(&mut korbit).await {
        Change::Snapshot(s) => assert!(s.subscriptions.is_empty()),
        other => panic!("expected the snapshot first, got {other:?}"),
    }

    // Unspecified: every exchange listing the market; the existing one comes back unchanged.
    let again = client
        .create_subscription(create(Unspecified, "btc_krw"))
        .await
        .unwrap();
    let again = again.into_inner().subscriptions;
    assert_eq!(
        pairs(&again),
        [
            pair(Upbit, "BTC/KRW"),
            pair(Bithumb, "BTC/KRW"),
            pair(Korbit, "BTC/KRW")
        ]
    );
    assert_eq!(
        again[0], created[0],
        "idempotent: same subscription, same time"
    );

    let listed = client
        .list_subscriptions(wire::ListSubscriptionsRequest {
            exchange: exchange(Bithumb),
        })
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    assert_eq!(pairs(&listed), [pair(Bithumb, "BTC/KRW")]);

    let removed = client
        .delete_subscription(wire::DeleteSubscriptionRequest {
            exchange: exchange(Unspecified),
            market: "BTC".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .removed;
    assert_eq!(removed.len(), 3);

    let mut changes = Vec::new();
    for _ in 0..5 {
        changes.push(match next_change(&mut all).await {
            Change::Added(s) => ("added", pairs(&[s])[0].clone()),
            Change::Removed(s) => ("removed", pairs(&[s])[0].clone()),
            Change::Snapshot(_) => panic!("a second snapshot"),
        });
    }
    assert_eq!(
        changes,
        [
            ("added", pair(Bithumb, "BTC/KRW")),
            ("added", pair(Korbit, "BTC/KRW")),
            ("removed", pair(Upbit, "BTC/KRW")),
            ("removed", pair(Bithumb, "BTC/KRW")),
            ("removed", pair(Korbit, "BTC/KRW")),
        ]
    );
    assert!(
        matches!(next_change(&mut korbit).await, Change::Added(s) if s.exchange == exchange(Korbit))
    );
    assert!(
        matches!(next_change(&mut korbit).await, Change::Removed(s) if s.exchange == exchange(Korbit))
    );

    // A client going away closes its watch on the server.
    assert_eq!(core.watchers(), 2);
    drop(korbit);
    let closed = async {
        while core.watchers() > 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the watch closes");

    // Shutting down ends open watches, so the server drains instead of hanging on them.
    core.shutdown();
    server.stop.cancel();
    let next = tokio::time::timeout(Duration::from_secs(5), all.message())
        .await
        .unwrap();
    assert!(matches!(next, Ok(None)), "{next:?}");
    tokio::time::timeout(Duration::from_secs(5), server.served)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
