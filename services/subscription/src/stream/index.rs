//! The connected clients, indexed by the exchange and market they asked for, so an event is
//! offered only to the clients that may want it instead of to every client in turn.
//!
//! A filter lists exchanges and markets, each list empty for "all". A client is filed under
//! every `(exchange, market)` pair its lists make, with `None` standing for an empty list: a
//! client of `upbit` and `BTC/KRW, ETH/KRW` under `(upbit, BTC/KRW)` and `(upbit, ETH/KRW)`, a
//! client of every exchange and `BTC/KRW` under `(None, BTC/KRW)`. An event of `upbit BTC/KRW`
//! then looks at exactly four buckets, `(upbit, BTC/KRW)`, `(upbit, None)`, `(None, BTC/KRW)`
//! and `(None, None)`, and each client is in at most one of them: which one depends only on
//! which of its lists are empty. Kinds are not indexed (there are three) and are checked per
//! client in the bucket.
//!
//! A filter files a client under at most `exchanges × markets` keys, which the request limits
//! bound (16 × 256 by default).

use std::collections::HashMap;

use tickmesh_bus::InboxSender;
use tickmesh_domain::{Exchange, Market};

use super::clients::TickItem;
use super::filter::TickFilter;

/// One bucket's key: an exchange and a market, `None` for "any".
type Key = (Option<Exchange>, Option<Market>);

/// One connected client: what it asked for and where its items go.
#[derive(Debug)]
pub(super) struct Client {
    pub(super) filter: TickFilter,
    pub(super) sender: InboxSender<TickItem>,
}

impl Client {
    /// A client not registered yet.
    pub(super) fn new(filter: TickFilter, sender: InboxSender<TickItem>) -> Client {
        Client { filter, sender }
    }
}

/// The clients by id, and their ids by key.
#[derive(Debug, Default)]
pub(super) struct ClientIndex {
    clients: HashMap<u64, Client>,
    buckets: HashMap<Key, Vec<u64>>,
}

impl ClientIndex {
    pub(super) fn len(&self) -> usize {
        self.clients.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Files `client` under `id` (ids are never reused).
    pub(super) fn insert(&mut self, id: u64, client: Client) {
        for key in keys(&client.filter) {
            self.buckets.entry(key).or_default().push(id);
        }
        self.clients.insert(id, client);
    }

    /// Forgets the client `id`; nothing happens if it is not here.
    pub(super) fn remove(&mut self, id: u64) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        for key in keys(&client.filter) {
            if let Some(ids) = self.buckets.get_mut(&key) {
                if let Some(at) = ids.iter().position(|&i| i == id) {
                    ids.swap_remove(at);
                }
                if ids.is_empty() {
                    self.buckets.remove(&key);
                }
            }
        }
    }

    /// Calls `offer` with every client whose exchange and market lists admit `exchange` and
    /// `market`, each once; a client for which it returns `false` (its reader is gone) is
    /// removed afterwards.
    pub(super) fn offer_feed(
        &mut self,
        exchange: Exchange,
        market: Market,
        mut offer: impl FnMut(&Client) -> bool,
    ) {
        let mut gone = Vec::new();
        for key in [
            (Some(exchange), Some(market)),
            (Some(exchange), None),
            (None, Some(market)),
            (None, None),
        ] {
            let Some(ids) = self.buckets.get(&key) else {
                continue;
            };
            for id in ids {
                if let Some(client) = self.clients.get(id)
                    && !offer(client)
                {
                    gone.push(*id);
                }
            }
        }
        for id in gone {
            self.remove(id);
        }
    }

    /// Calls `offer` with every client; as [`ClientIndex::offer_feed`] for the return value.
    pub(super) fn offer_all(&mut self, mut offer: impl FnMut(&Client) -> bool) {
        let gone: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, client)| !offer(client))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.remove(id);
        }
    }

    /// Forgets every client.
    pub(super) fn clear(&mut self) {
        self.clients.clear();
        self.buckets.clear();
    }
}

/// Every key `filter` is filed under.
fn keys(filter: &TickFilter) -> Vec<Key> {
    let exchanges: Vec<Option<Exchange>> = if filter.exchanges.is_empty() {
        vec![None]
    } else {
        filter.exchanges.iter().copied().map(Some).collect()
    };
    let markets: Vec<Option<Market>> = if filter.markets.is_empty() {
        vec![None]
    } else {
        filter.markets.iter().copied().map(Some).collect()
    };
    exchanges
        .iter()
        .flat_map(|&e| markets.iter().map(move |&m| (e, m)))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tickmesh_bus::Inbox;
    use tickmesh_domain::{EventKind, Exchange};

    use super::*;

    fn market(text: &str) -> Market {
        Market::parse(text).unwrap()
    }

    const MARKETS: [&str; 3] = ["BTC/KRW", "ETH/KRW", "XRP/KRW"];

    /// Every shape of filter over the three exchanges and markets: each axis empty, one entry
    /// or two.
    fn filters() -> Vec<TickFilter> {
        let exchange_sets: Vec<Vec<Exchange>> = vec![
            vec![],
            vec![Exchange::Upbit],
            vec![Exchange::Bithumb, Exchange::Korbit],
        ];
        let market_sets: Vec<Vec<&str>> = vec![vec![], vec!["ETH/KRW"], vec!["BTC/KRW", "XRP/KRW"]];
        let mut filters = Vec::new();
        for exchanges in &exchange_sets {
            for markets in &market_sets {
                filters.push(TickFilter {
                    exchanges: exchanges.iter().copied().collect(),
                    markets: markets.iter().map(|m| market(m)).collect(),
                    kinds: [EventKind::Trade].into(),
                });
            }
        }
        filters
    }

    fn index_of(filters: &[TickFilter]) -> (ClientIndex, Vec<Inbox<TickItem>>) {
        let mut index = ClientIndex::default();
        let mut inboxes = Vec::new();
        for (id, filter) in filters.iter().enumerate() {
            let (sender, inbox) = Inbox::new(4);
            index.insert(id as u64, Client::new(filter.clone(), sender));
            inboxes.push(inbox);
        }
        (index, inboxes)
    }

    #[test]
    fn a_feed_is_offered_to_exactly_the_clients_whose_filter_admits_it_once_each() {
        let filters = filters();
        let (mut index, _inboxes) = index_of(&filters);
        for exchange in Exchange::ALL {
            for m in MARKETS {
                let mut offered = Vec::new();
                index.offer_feed(exchange, market(m), |c| {
                    offered.push(c.filter.clone());
                    true
                });
                let expected: Vec<&TickFilter> = filters
                    .iter()
                    .filter(|f| {
                        (f.exchanges.is_empty() || f.exchanges.contains(&exchange))
                            && (f.markets.is_empty() || f.markets.contains(&market(m)))
                    })
                    .collect();
                assert_eq!(offered.len(), expected.len(), "{exchange:?} {m}");
                for f in expected {
                    assert!(offered.contains(f), "{exchange:?} {m}: {f:?} not offered");
                }
            }
        }
    }

    #[test]
    fn clients_whose_reader_is_gone_are_removed_with_their_keys() {
        let filters = filters();
        let (mut index, _inboxes) = index_of(&filters);
        // The narrowest client (two exchanges and two markets) says its reader is gone.
        let narrow = filters.last().unwrap().clone();
        index.offer_feed(Exchange::Korbit, market("XRP/KRW"), |c| c.filter != narrow);
        assert_eq!(index.len(), filters.len() - 1);
        assert!(
            !index
                .buckets
                .contains_key(&(Some(Exchange::Bithumb), Some(market("BTC/KRW")))),
            "an emptied bucket is dropped"
        );
        for id in 0..filters.len() as u64 {
            index.remove(id);
        }
        assert!(index.is_empty());
        assert!(index.buckets.is_empty());
    }

    #[test]
    fn a_buffered_item_is_three_words() {
        // A slow client's buffer holds thousands of these: keep the variants pointer-sized.
        assert!(std::mem::size_of::<tickmesh_bus::Received<TickItem>>() <= 24);
    }

    #[test]
    fn offering_to_all_reaches_every_client_and_drops_the_gone() {
        let (mut index, _inboxes) = index_of(&filters());
        let mut seen = 0;
        index.offer_all(|_| {
            seen += 1;
            seen % 2 == 0
        });
        assert_eq!(seen, 9);
        assert_eq!(index.len(), 4);
    }
}
