//! The conformance suite of [`SubscriptionStore`]: what every adapter must do, as one async
//! function that panics on the first violation. Each adapter's tests run it on an empty store.

// Test code only (behind the `conformance` feature, which only dev-dependencies enable): a
// panic is how the suite reports a violated contract, so unwrap and expect are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tickmesh_domain::{Exchange, Market, UtcMicros};

use super::store::{Added, Subscription, SubscriptionStore};

const UPBIT: Exchange = Exchange::Upbit;
const BITHUMB: Exchange = Exchange::Bithumb;
const KORBIT: Exchange = Exchange::Korbit;

fn m(text: &str) -> Market {
    Market::parse(text).expect("a valid market")
}

fn keys(subscriptions: &[Subscription]) -> Vec<(Exchange, Market)> {
    subscriptions.iter().map(Subscription::key).collect()
}

fn added_keys(added: &[Added]) -> Vec<(Exchange, Market, bool)> {
    added
        .iter()
        .map(|a| (a.subscription.exchange, a.subscription.market, a.created))
        .collect()
}

/// Runs every check against `store`, which must start empty.
pub async fn run(store: &dyn SubscriptionStore) {
    starts_empty(store).await;
    adds_idempotently(store).await;
    lists_sorted_and_filtered(store).await;
    removes_what_exists(store).await;
    concurrent_adds_create_once(store).await;
}

async fn starts_empty(store: &dyn SubscriptionStore) {
    assert!(
        store.list(None).await.unwrap().is_empty(),
        "store not empty"
    );
    assert!(store.add(&[]).await.unwrap().is_empty());
    assert!(store.remove(None, m("BTC")).await.unwrap().is_empty());
}

async fn adds_idempotently(store: &dyn SubscriptionStore) {
    let before = UtcMicros::now();
    let first = store
        .add(&[(UPBIT, m("BTC")), (KORBIT, m("BTC")), (UPBIT, m("BTC"))])
        .await
        .unwrap();
    let after = UtcMicros::now();
    assert_eq!(
        added_keys(&first),
        [(UPBIT, m("BTC"), true), (KORBIT, m("BTC"), true)],
        "one result per distinct pair, in input order"
    );
    for a in &first {
        let created = a.subscription.created;
        assert!(
            before <= created && created <= after,
            "created time {created:?} not now"
        );
    }
    tokio::time::sleep(Duration::from_millis(3)).await;
    let second = store
        .add(&[(KORBIT, m("BTC")), (BITHUMB, m("ETH"))])
        .await
        .unwrap();
    assert_eq!(
        added_keys(&second),
        [(KORBIT, m("BTC"), false), (BITHUMB, m("ETH"), true)]
    );
    assert_eq!(
        second[0].subscription, first[1].subscription,
        "an existing subscription keeps its creation time"
    );
    assert!(second[1].subscription.created > first[1].subscription.created);
}

async fn lists_sorted_and_filtered(store: &dyn SubscriptionStore) {
    let long = m("ABCDEFGHIJKLMNO/USDT");
    store
        .add(&[
            (UPBIT, m("XRP")),
            (UPBIT, long),
            (UPBIT, m("ADA")),
            (UPBIT, m("BTC/USDT")),
        ])
        .await
        .unwrap();
    let all = store.list(None).await.unwrap();
    let mut expected = vec![
        (UPBIT, m("BTC")),
        (KORBIT, m("BTC")),
        (BITHUMB, m("ETH")),
        (UPBIT, m("XRP")),
        (UPBIT, long),
        (UPBIT, m("ADA")),
        (UPBIT, m("BTC/USDT")),
    ];
    expected.sort();
    assert_eq!(keys(&all), expected, "sorted by exchange, then market");
    assert_eq!(expected[0].0, UPBIT, "upbit sorts first");
    let upbit = store.list(Some(UPBIT)).await.unwrap();
    let expected_upbit: Vec<_> = expected
        .iter()
        .filter(|(e, _)| *e == UPBIT)
        .copied()
        .collect();
    assert_eq!(keys(&upbit), expected_upbit);
    assert_eq!(
        keys(&store.list(Some(KORBIT)).await.unwrap()),
        [(KORBIT, m("BTC"))]
    );
    let removed: usize = [m("XRP"), long, m("ADA"), m("BTC/USDT")]
        .into_iter()
        .map(|market| store.remove(Some(UPBIT), market))
        .collect::<futures::future::JoinAll<_>>()
        .await
        .into_iter()
        .map(|r| r.unwrap().len())
        .sum();
    assert_eq!(removed, 4);
}

async fn removes_what_exists(store: &dyn SubscriptionStore) {
    let korbit_btc = store.list(Some(KORBIT)).await.unwrap()[0];
    let removed = store.remove(Some(KORBIT), m("BTC")).await.unwrap();
    assert_eq!(removed, [korbit_btc], "removed with its creation time");
    assert!(
        store
            .remove(Some(KORBIT), m("BTC"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .remove(Some(UPBIT), m("ETH"))
            .await
            .unwrap()
            .is_empty()
    );

    store.add(&[(BITHUMB, m("BTC"))]).await.unwrap();
    let removed = store.remove(None, m("BTC")).await.unwrap();
    assert_eq!(
        keys(&removed),
        [(UPBIT, m("BTC")), (BITHUMB, m("BTC"))],
        "removed on every exchange, sorted"
    );
    assert_eq!(
        keys(&store.list(None).await.unwrap()),
        [(BITHUMB, m("ETH"))]
    );

    tokio::time::sleep(Duration::from_millis(3)).await;
    let again = store.add(&[(KORBIT, m("BTC"))]).await.unwrap();
    assert!(again[0].created, "a removed pair is created anew");
    assert!(again[0].subscription.created > korbit_btc.created);
    store.remove(None, m("BTC")).await.unwrap();
    store.remove(None, m("ETH")).await.unwrap();
    assert!(store.list(None).await.unwrap().is_empty());
}

async fn concurrent_adds_create_once(store: &dyn SubscriptionStore) {
    let pair = [(UPBIT, m("SOL")), (KORBIT, m("SOL"))];
    let results = futures::future::join_all((0..8).map(|_| store.add(&pair))).await;
    let mut created = 0;
    let mut times = Vec::new();
    for added in results {
        let added = added.unwrap();
        assert_eq!(added.len(), 2);
        created += added.iter().filter(|a| a.created).count();
        times.push(added.iter().map(|a| a.subscription).collect::<Vec<_>>());
    }
    assert_eq!(created, 2, "each pair created exactly once");
    assert!(
        times.windows(2).all(|w| w[0] == w[1]),
        "all see the same rows"
    );
    assert_eq!(store.remove(None, m("SOL")).await.unwrap().len(), 2);
}
