//! Units of work: an exchange and one shard of its markets, collected over one connection.

use std::collections::BTreeSet;
use std::fmt;

use tickmesh_domain::{Exchange, Market};

/// One exchange connection's share of the work: the markets of `exchange` whose shard is
/// `shard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit {
    /// The exchange.
    pub exchange: Exchange,
    /// The shard, below the exchange's shard count.
    pub shard: u16,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.exchange, self.shard)
    }
}

/// The shard of `market` among `shards`: FNV-1a of its name, so every replica and every
/// release computes the same one, and a market never moves while the count stays.
pub fn shard_of(market: &Market, shards: u16) -> u16 {
    let hash = fnv1a(market.to_string().as_bytes());
    // The remainder is below `shards`, which is a u16.
    u16::try_from(hash % u64::from(shards.max(1))).unwrap_or(0)
}

/// 64-bit FNV-1a: stable across processes and releases, unlike the standard hasher.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Every unit of `exchanges` at `shards` each, in order.
pub fn all_units(exchanges: &[Exchange], shards: u16) -> Vec<Unit> {
    exchanges
        .iter()
        .flat_map(|&exchange| (0..shards.max(1)).map(move |shard| Unit { exchange, shard }))
        .collect()
}

/// The part of `markets` that is `unit`'s.
pub fn markets_of(unit: Unit, shards: u16, markets: &BTreeSet<Market>) -> BTreeSet<Market> {
    markets
        .iter()
        .filter(|m| shard_of(m, shards) == unit.shard)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn shards_are_stable_and_spread_markets() {
        let markets: BTreeSet<Market> = (0..200)
            .map(|i| Market::parse(&format!("C{i}")).unwrap())
            .collect();
        let mut counts = [0usize; 4];
        for m in &markets {
            let shard = shard_of(m, 4);
            assert_eq!(shard, shard_of(m, 4));
            counts[usize::from(shard)] += 1;
        }
        // 200 markets over 4 shards: none is empty or holds most of them.
        assert!(counts.iter().all(|&c| (25..=75).contains(&c)), "{counts:?}");
        let units = all_units(&[Exchange::Upbit, Exchange::Korbit], 4);
        assert_eq!(units.len(), 8);
        assert_eq!(units[5].to_string(), "korbit-1");
        let split: usize = units[..4]
            .iter()
            .map(|u| markets_of(*u, 4, &markets).len())
            .sum();
        assert_eq!(split, markets.len(), "every market is in exactly one unit");
    }
}
