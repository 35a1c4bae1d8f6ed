//! The service core: validation against the catalog, idempotent create, delete, and watches
//! that see a snapshot and then every change exactly once, in order.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tickmesh_domain::{Exchange, Market};
use tickmesh_subscription::subscriptions::{
    Added, Change, MarketCatalog, MemoryStore, StoreError, Subscription, SubscriptionError,
    SubscriptionStore, Subscriptions, Watch, WatchError,
};

use Exchange::{Bithumb, Korbit, Upbit};

fn m(text: &str) -> Market {
    Market::parse(text).unwrap()
}

/// Upbit lists BTC and ETH, Bithumb BTC, Korbit BTC and XRP.
fn catalog() -> MarketCatalog {
    MarketCatalog::new([
        (Upbit, vec![m("BTC"), m("ETH")]),
        (Bithumb, vec![m("BTC")]),
        (Korbit, vec![m("BTC"), m("XRP")]),
    ])
}

fn core_on(store: impl SubscriptionStore + 'static) -> Subscriptions {
    Subscriptions::new(Arc::new(store), catalog())
}

fn core() -> Subscriptions {
    core_on(MemoryStore::new())
}

fn pairs(added: &[Added]) -> Vec<(Exchange, Market, bool)> {
    added
        .iter()
        .map(|a| (a.subscription.exchange, a.subscription.market, a.created))
        .collect()
}

fn keys(subscriptions: &[Subscription]) -> Vec<(Exchange, Market)> {
    subscriptions.iter().map(Subscription::key).collect()
}

/// The next change, within a second.
async fn next(watch: &mut Watch) -> Option<Result<Change, WatchError>> {
    tokio::time::timeout(Duration::from_secs(1), watch.next())
        .await
        .expect("a change within a second")
}

async fn added(watch: &mut Watch) -> (Exchange, Market) {
    match next(watch).await {
        Some(Ok(Change::Added(s))) => s.key(),
        other => panic!("expected an addition, got {other:?}"),
    }
}

async fn removed(watch: &mut Watch) -> (Exchange, Market) {
    match next(watch).await {
        Some(Ok(Change::Removed(s))) => s.key(),
        other => panic!("expected a removal, got {other:?}"),
    }
}

#[tokio::test]
async fn create_for_all_exchanges_subscribes_only_those_listing_the_market() {
    let core = core();
    let eth = core.create(None, m("ETH")).await.unwrap();
    assert_eq!(pairs(&eth), [(Upbit, m("ETH"), true)]);
    let btc = core.create(None, m("KRW-BTC")).await.unwrap();
    assert_eq!(
        pairs(&btc),
        [
            (Upbit, m("BTC"), true),
            (Bithumb, m("BTC"), true),
            (Korbit, m("BTC"), true)
        ]
    );
    assert_eq!(
        keys(&core.list(Some(Korbit)).await.unwrap()),
        [(Korbit, m("BTC"))]
    );
    assert_eq!(core.list(None).await.unwrap().len(), 4);
}

#[tokio::test]
async fn create_is_idempotent() {
    let core = core();
    let first = core.create(Some(Upbit), m("BTC")).await.unwrap();
    let (_, mut watch) = core.watch(None).await.unwrap();
    let again = core.create(Some(Upbit), m("btc_krw")).await.unwrap();
    assert_eq!(pairs(&again), [(Upbit, m("BTC"), false)]);
    assert_eq!(again[0].subscription, first[0].subscription);
    let all = core.create(None, m("BTC")).await.unwrap();
    assert_eq!(
        pairs(&all),
        [
            (Upbit, m("BTC"), false),
            (Bithumb, m("BTC"), true),
            (Korbit, m("BTC"), true)
        ]
    );
    // Only the two new ones are announced.
    assert_eq!(added(&mut watch).await, (Bithumb, m("BTC")));
    assert_eq!(added(&mut watch).await, (Korbit, m("BTC")));
    assert!(
        tokio::time::timeout(Duration::from_millis(50), watch.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unlisted_markets_are_not_found_naming_exchange_and_market() {
    let core = core();
    let err = core.create(Some(Bithumb), m("ETH")).await.unwrap_err();
    assert!(matches!(err, SubscriptionError::NotListed(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "ETH/KRW is not listed on bithumb (1 markets listed); check the symbol"
    );
    let err = core.create(None, m("DOGE")).await.unwrap_err();
    assert!(
        matches!(err, SubscriptionError::ListedNowhere { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "DOGE/KRW is not listed on upbit, bithumb or korbit; check the symbol"
    );
    assert!(core.list(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_removes_on_one_exchange_or_all() {
    let core = core();
    core.create(None, m("BTC")).await.unwrap();
    core.create(None, m("ETH")).await.unwrap();
    let korbit = core.delete(Some(Korbit), m("BTC")).await.unwrap();
    assert_eq!(keys(&korbit), [(Korbit, m("BTC"))]);
    let rest = core.delete(None, m("BTC")).await.unwrap();
    assert_eq!(keys(&rest), [(Upbit, m("BTC")), (Bithumb, m("BTC"))]);
    assert!(core.delete(None, m("BTC")).await.unwrap().is_empty());
    // Deleting does not consult the catalog: a delisted market can still be removed.
    assert!(
        core.delete(Some(Bithumb), m("DOGE"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(keys(&core.list(None).await.unwrap()), [(Upbit, m("ETH"))]);
}

#[tokio::test]
async fn watch_sends_the_snapshot_then_changes_in_order_filtered_by_exchange() {
    let core = core();
    core.create(Some(Upbit), m("BTC")).await.unwrap();
    let (all_snapshot, mut all) = core.watch(None).await.unwrap();
    let (upbit_snapshot, mut upbit) = core.watch(Some(Upbit)).await.unwrap();
    let (_, mut korbit) = core.watch(Some(Korbit)).await.unwrap();
    assert_eq!(keys(&all_snapshot), [(Upbit, m("BTC"))]);
    assert_eq!(keys(&upbit_snapshot), [(Upbit, m("BTC"))]);

    core.create(None, m("BTC")).await.unwrap();
    core.create(Some(Upbit), m("ETH")).await.unwrap();
    core.delete(None, m("BTC")).await.unwrap();

    assert_eq!(added(&mut all).await, (Bithumb, m("BTC")));
    assert_eq!(added(&mut all).await, (Korbit, m("BTC")));
    assert_eq!(added(&mut all).await, (Upbit, m("ETH")));
    assert_eq!(removed(&mut all).await, (Upbit, m("BTC")));
    assert_eq!(removed(&mut all).await, (Bithumb, m("BTC")));
    assert_eq!(removed(&mut all).await, (Korbit, m("BTC")));

    assert_eq!(added(&mut upbit).await, (Upbit, m("ETH")));
    assert_eq!(removed(&mut upbit).await, (Upbit, m("BTC")));

    assert_eq!(added(&mut korbit).await, (Korbit, m("BTC")));
    assert_eq!(removed(&mut korbit).await, (Korbit, m("BTC")));
    assert!(
        tokio::time::timeout(Duration::from_millis(50), korbit.next())
            .await
            .is_err()
    );
}

/// A memory store that pauses after writing and after reading, widening every race between a
/// change and a watch: a long pause after the write lets a watch read the new row before the
/// change is announced (seen twice unless ordered), a long pause after the read lets a change
/// be announced before the watch subscribes (missed unless ordered).
#[derive(Debug, Default)]
struct SlowStore {
    inner: MemoryStore,
    after_write: Duration,
    after_read: Duration,
}

#[async_trait]
impl SubscriptionStore for SlowStore {
    async fn add(&self, pairs: &[(Exchange, Market)]) -> Result<Vec<Added>, StoreError> {
        let added = self.inner.add(pairs).await;
        tokio::time::sleep(self.after_write).await;
        added
    }

    async fn remove(
        &self,
        exchange: Option<Exchange>,
        market: Market,
    ) -> Result<Vec<Subscription>, StoreError> {
        self.inner.remove(exchange, market).await
    }

    async fn list(&self, exchange: Option<Exchange>) -> Result<Vec<Subscription>, StoreError> {
        let listed = self.inner.list(exchange).await;
        tokio::time::sleep(self.after_read).await;
        listed
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_while_a_watch_starts_is_seen_exactly_once() {
    let (short, long) = (Duration::ZERO, Duration::from_millis(10));
    for round in 0..20u64 {
        let (after_write, after_read) = if round % 2 == 0 {
            (long, short)
        } else {
            (short, long)
        };
        let store = SlowStore {
            inner: MemoryStore::new(),
            after_write,
            after_read,
        };
        let core = Arc::new(core_on(store));
        let creator = core.clone();
        let create = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros((round / 2) * 200)).await;
            creator.create(Some(Upbit), m("BTC")).await.unwrap();
        });
        tokio::time::sleep(Duration::from_micros(500)).await;
        let (snapshot, mut watch) = core.watch(None).await.unwrap();
        create.await.unwrap();
        // A later change marks the end of what the race could have produced.
        core.create(Some(Upbit), m("ETH")).await.unwrap();
        let mut seen = keys(&snapshot);
        loop {
            let key = added(&mut watch).await;
            if key == (Upbit, m("ETH")) {
                break;
            }
            seen.push(key);
        }
        assert_eq!(seen, [(Upbit, m("BTC"))], "round {round}");
    }
}

#[tokio::test]
async fn a_watcher_that_falls_behind_is_told_and_its_watch_ends() {
    let core = core().with_watch_capacity(2);
    let (_, mut watch) = core.watch(None).await.unwrap();
    core.create(None, m("BTC")).await.unwrap();
    core.create(None, m("ETH")).await.unwrap();
    match next(&mut watch).await {
        Some(Err(e @ WatchError::Lagged { missed: 2 })) => {
            assert_eq!(e.to_string(), "watch fell behind by 2 changes; watch again");
        }
        other => panic!("expected a lag, got {other:?}"),
    }
    assert!(next(&mut watch).await.is_none(), "the watch is over");
    let (fresh, _) = core.watch(None).await.unwrap();
    assert_eq!(fresh.len(), 4, "watching again gives the whole set");
}

#[tokio::test]
async fn shutdown_ends_every_watch() {
    let core = core();
    let (_, mut watch) = core.watch(None).await.unwrap();
    core.create(Some(Upbit), m("BTC")).await.unwrap();
    core.shutdown();
    assert!(next(&mut watch).await.is_none());
    let (_, mut late) = core.watch(None).await.unwrap();
    assert!(next(&mut late).await.is_none());
}

#[tokio::test]
async fn the_catalog_can_be_replaced() {
    let core = core();
    assert!(core.create(None, m("DOGE")).await.is_err());
    core.set_catalog(MarketCatalog::new([(Bithumb, vec![m("DOGE")])]));
    let added = core.create(None, m("DOGE")).await.unwrap();
    assert_eq!(pairs(&added), [(Bithumb, m("DOGE"), true)]);
    assert!(!core.catalog().lists(Upbit, m("BTC")));
}

#[tokio::test]
async fn a_replica_sharing_the_store_tells_its_watchers_what_another_changed() {
    let store: Arc<dyn SubscriptionStore> = Arc::new(MemoryStore::new());
    let a = Subscriptions::new(Arc::clone(&store), catalog());
    let b = Subscriptions::new(Arc::clone(&store), catalog());
    // The first sync only learns the set.
    b.create(Some(Korbit), m("XRP")).await.unwrap();
    assert_eq!(a.sync_from_store().await.unwrap(), 0);

    let (snapshot, mut watch) = a.watch(None).await.unwrap();
    assert_eq!(keys(&snapshot), [(Korbit, m("XRP"))]);
    b.create(Some(Upbit), m("ETH")).await.unwrap();
    b.delete(Some(Korbit), m("XRP")).await.unwrap();
    assert_eq!(a.sync_from_store().await.unwrap(), 2);
    assert_eq!(added(&mut watch).await, (Upbit, m("ETH")));
    match next(&mut watch).await {
        Some(Ok(Change::Removed(s))) => assert_eq!(s.key(), (Korbit, m("XRP"))),
        other => panic!("expected the removal, got {other:?}"),
    }

    // A replica's own changes are broadcast once, not again by its sync.
    a.create(Some(Bithumb), m("BTC")).await.unwrap();
    assert_eq!(added(&mut watch).await, (Bithumb, m("BTC")));
    assert_eq!(a.sync_from_store().await.unwrap(), 0);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), watch.next())
            .await
            .is_err(),
        "nothing more to see"
    );
}

/// A store whose reads hang once `hang_reads` is set, as a database does under a slow query.
#[derive(Debug)]
struct HangingStore {
    inner: MemoryStore,
    hang_reads: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl SubscriptionStore for HangingStore {
    async fn add(&self, pairs: &[(Exchange, Market)]) -> Result<Vec<Added>, StoreError> {
        self.inner.add(pairs).await
    }

    async fn remove(
        &self,
        exchange: Option<Exchange>,
        market: Market,
    ) -> Result<Vec<Subscription>, StoreError> {
        self.inner.remove(exchange, market).await
    }

    async fn list(&self, exchange: Option<Exchange>) -> Result<Vec<Subscription>, StoreError> {
        if self.hang_reads.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.list(exchange).await
    }
}

#[tokio::test]
async fn watches_take_their_snapshot_without_reading_the_store_or_holding_up_changes() {
    let store = Arc::new(HangingStore {
        inner: MemoryStore::new(),
        hang_reads: false.into(),
    });
    let core = Subscriptions::new(store.clone(), catalog());
    core.create(Some(Upbit), m("BTC")).await.unwrap();
    // The first watch reads the store once.
    let (snapshot, first) = core.watch(None).await.unwrap();
    assert_eq!(keys(&snapshot), [(Upbit, m("BTC"))]);

    store
        .hang_reads
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut watches = Vec::new();
    for _ in 0..100 {
        watches.push(soon("a watch", core.watch(None)).await.unwrap());
    }
    soon("a create", core.create(None, m("ETH"))).await.unwrap();
    let (korbit, _) = soon("a watch", core.watch(Some(Korbit))).await.unwrap();
    assert!(korbit.is_empty(), "{korbit:?}");
    let (upbit, _) = soon("a watch", core.watch(Some(Upbit))).await.unwrap();
    assert_eq!(keys(&upbit), [(Upbit, m("BTC")), (Upbit, m("ETH"))]);

    // Every watch sees the change exactly once, after a snapshot without it.
    watches.push((snapshot, first));
    for (snapshot, watch) in &mut watches {
        assert_eq!(keys(snapshot), [(Upbit, m("BTC"))]);
        assert_eq!(added(watch).await, (Upbit, m("ETH")));
    }
}

/// `call`'s output; a panic naming `what` if it waits (for a hanging store read) 10 s.
async fn soon<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .unwrap_or_else(|_| panic!("{what} waited for a hanging store read"))
}
