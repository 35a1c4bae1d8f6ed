//! Frame to committed row: the database is polled for the newest stored trade of every pair,
//! and each generated trade up to it is timed at the first poll that sees it.
//!
//! One market's trades are written in order (one partition, one consumer, one transaction per
//! batch), so a stored id means every earlier id of that pair is stored too. The final count
//! per pair, after the simulators stop, checks that assumption and finds any loss.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tickmesh_domain::{Exchange, Market};

use crate::feed::Feeds;
use crate::latency::Latency;

/// The poller's findings.
#[derive(Debug)]
pub(crate) struct RowWatch {
    db: DatabaseConnection,
    pairs: Vec<(Exchange, Market)>,
    /// Each pair's index in `pairs`, by the texts the database stores.
    index: HashMap<(String, String), usize>,
    /// Per pair, how many of its generated trades a poll has seen stored.
    seen: Vec<usize>,
    /// Frame to committed row, after the warm-up.
    pub(crate) latency: Latency,
    /// Polls made, and their total time.
    pub(crate) polls: u64,
    pub(crate) poll_time: Duration,
}

/// `SELECT` the newest trade id of each pair in one statement (portable between PostgreSQL
/// and SQLite: `VALUES` columns are `column1`, `column2` on both).
///
/// The newest is the last by (exchange time, trade id), the order of the trades key, so the
/// database reads one key entry per pair from the newest partition down. `MAX(trade_id)`
/// would read every stored trade of the pair each poll (the id is the key's last column),
/// which grows with the run and costs the database more than the writes it measures. The
/// simulators number a market's trades in the order of their times, so the two agree.
fn newest_ids_sql(pairs: &[(Exchange, Market)]) -> String {
    let values: Vec<String> = pairs
        .iter()
        .map(|(e, m)| format!("('{}', '{}')", e.as_str(), m))
        .collect();
    format!(
        "SELECT v.column1 AS exchange, v.column2 AS market, \
         (SELECT t.trade_id FROM trades t WHERE t.market_id = \
           (SELECT m.id FROM markets m WHERE m.exchange = v.column1 AND m.market = v.column2) \
           ORDER BY t.exchange_time_us DESC, t.trade_id DESC LIMIT 1) \
         AS newest \
         FROM (VALUES {}) AS v",
        values.join(", ")
    )
}

impl RowWatch {
    /// Watches `db` for the trades of `pairs`.
    pub(crate) fn new(db: DatabaseConnection, pairs: Vec<(Exchange, Market)>) -> RowWatch {
        let index = pairs
            .iter()
            .enumerate()
            .map(|(i, (e, m))| ((e.as_str().to_owned(), m.to_string()), i))
            .collect();
        RowWatch {
            db,
            index,
            seen: vec![0; pairs.len()],
            pairs,
            latency: Latency::new(),
            polls: 0,
            poll_time: Duration::ZERO,
        }
    }

    /// Trades seen stored so far.
    pub(crate) fn stored(&self) -> u64 {
        self.seen.iter().map(|&n| n as u64).sum()
    }

    /// One poll: times every trade newly seen stored.
    pub(crate) async fn poll(&mut self, feeds: &Feeds, warmup_end: Instant) -> anyhow::Result<()> {
        let started = Instant::now();
        let backend = self.db.get_database_backend();
        let rows = self
            .db
            .query_all(Statement::from_string(backend, newest_ids_sql(&self.pairs)))
            .await
            .context("cannot poll the trades table")?;
        self.polls += 1;
        self.poll_time += started.elapsed();
        for row in rows {
            let exchange: String = row.try_get("", "exchange")?;
            let market: String = row.try_get("", "market")?;
            let Some(newest) = row.try_get::<Option<i64>>("", "newest")? else {
                continue;
            };
            let Some(&index) = self.index.get(&(exchange, market)) else {
                continue;
            };
            let (e, m) = self.pairs[index];
            let through = u64::try_from(newest).unwrap_or(0);
            for (_, at) in feeds.emissions(e, m, self.seen[index], through) {
                self.seen[index] += 1;
                if at >= warmup_end {
                    self.latency.record(started.duration_since(at));
                }
            }
        }
        Ok(())
    }

    /// Stored trades per pair, counted (not inferred from the newest id).
    pub(crate) async fn counts(&self) -> anyhow::Result<Vec<((Exchange, Market), u64)>> {
        let backend = self.db.get_database_backend();
        let rows = self
            .db
            .query_all(Statement::from_string(
                backend,
                "SELECT m.exchange, m.market, COUNT(*) AS n FROM trades t \
                 JOIN markets m ON m.id = t.market_id GROUP BY m.exchange, m.market",
            ))
            .await
            .context("cannot count the stored trades")?;
        let mut counts = Vec::new();
        for row in rows {
            let exchange: String = row.try_get("", "exchange")?;
            let market: String = row.try_get("", "market")?;
            let n: i64 = row.try_get("", "n")?;
            if let Some(&i) = self.index.get(&(exchange, market)) {
                counts.push((self.pairs[i], u64::try_from(n).unwrap_or(0)));
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_newest_id_query_runs_on_sqlite() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let backend = db.get_database_backend();
        for sql in [
            "CREATE TABLE markets (id INTEGER PRIMARY KEY, exchange TEXT, market TEXT)",
            "CREATE TABLE trades (market_id INTEGER, exchange_time_us BIGINT, trade_id BIGINT)",
            "INSERT INTO markets VALUES (1, 'bithumb', 'BTC/KRW'), (2, 'upbit', 'BTC/KRW')",
            "INSERT INTO trades VALUES (2, 100, 7), (2, 300, 9), (2, 300, 8), (1, 50, 11)",
        ] {
            db.execute(Statement::from_string(backend, sql))
                .await
                .unwrap();
        }
        let pairs = vec![
            (Exchange::Upbit, Market::parse("BTC").unwrap()),
            (Exchange::Korbit, Market::parse("BTC").unwrap()),
        ];
        let rows = db
            .query_all(Statement::from_string(backend, newest_ids_sql(&pairs)))
            .await
            .unwrap();
        let newest: Vec<(String, Option<i64>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "exchange").unwrap(),
                    r.try_get("", "newest").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            newest,
            vec![("upbit".to_owned(), Some(9)), ("korbit".to_owned(), None)]
        );
    }
}
