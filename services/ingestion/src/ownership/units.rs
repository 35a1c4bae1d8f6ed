//! Units of work: an exchange and one shard of its markets, collected over one connection.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

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
    // The publisher asks for every event: the name is hashed as it is written, not built.
    let mut hash = Fnv1a::default();
    let _ = write!(hash, "{market}");
    // The remainder is below `shards`, which is a u16.
    u16::try_from(hash.0 % u64::from(shards.max(1))).unwrap_or(0)
}

/// 64-bit FNV-1a: stable across processes and releases, unlike the standard hasher.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = Fnv1a::default();
    hash.add(bytes);
    hash.0
}

struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn add(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.add(s.as_bytes());
        Ok(())
    }
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
            let whole = fnv1a(m.to_string().as_bytes()) % 4;
            assert_eq!(
                u64::from(shard),
                whole,
                "hashed as written or whole, the same"
            );
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
