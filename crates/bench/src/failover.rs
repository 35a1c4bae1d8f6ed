//! Replicated ingestion under load: the bench runs several `serve ingestion` replicas,
//! kills one with SIGKILL and stops another with SIGTERM while the simulators generate, and
//! measures from the durable stream, whose entries name their publisher (`tickmesh-owner`):
//! how long each market went without entries when its holder died or handed it over, and how
//! many trades were published more than once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use tickmesh_domain::Payload;

/// Replicas, and when (after generation starts) one is killed and one stopped.
#[derive(Debug, Clone, Default)]
pub struct FailoverPlan {
    /// Ingestion replicas (1: a single ingestion, no leases).
    pub replicas: usize,
    /// When the first replica gets SIGKILL.
    pub kill_at: Option<Duration>,
    /// When the second replica gets SIGTERM (it hands its units over).
    pub stop_at: Option<Duration>,
}

/// The member name of replica `i` (from 1).
pub(crate) fn member(i: usize) -> String {
    format!("bench-ingestion-{i}")
}

/// What the stream showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FailoverFigures {
    /// Ingestion replicas.
    pub replicas: usize,
    /// Markets the killed replica held, taken over by another.
    pub killed_markets: usize,
    /// The longest pause, in milliseconds, between the killed replica's last entry of a market
    /// and its successor's first.
    pub killed_pause_max_ms: u64,
    /// Markets the stopped replica handed over.
    pub handed_over_markets: usize,
    /// The longest pause, in milliseconds, between the stopped replica's last entry of a
    /// market and its successor's first.
    pub handover_pause_max_ms: u64,
    /// Distinct trades the stream carried.
    pub trades_in_stream: u64,
    /// Trades the stream carried more than once (each repeat counted).
    pub trades_published_twice: u64,
}

/// Reads `stream` on `url` and measures the hand-overs from `killed` (SIGKILL at
/// `killed_ms`, Unix milliseconds) and `stopped` (SIGTERM at `stopped_ms`).
pub(crate) async fn measure(
    url: &str,
    stream: &str,
    replicas: usize,
    killed: Option<(&str, u64)>,
    stopped: Option<(&str, u64)>,
) -> anyhow::Result<FailoverFigures> {
    let client =
        redis::Client::open(url).with_context(|| format!("cannot reach Redis at {url}"))?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("cannot reach Redis at {url}"))?;
    let mut figures = FailoverFigures {
        replicas,
        ..FailoverFigures::default()
    };
    // Per market key: the last entry's owner and time.
    let mut last: HashMap<String, (String, u64)> = HashMap::new();
    let mut trades: HashSet<(String, u64)> = HashSet::new();
    let mut from = "-".to_owned();
    loop {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(stream)
            .arg(&from)
            .arg("+")
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("cannot read the stream {stream}"))?;
        let Some(end) = reply.ids.last() else {
            break;
        };
        from = format!("({}", end.id);
        for entry in &reply.ids {
            let ms: u64 = entry
                .id
                .split('-')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let key: String = entry.get("key").unwrap_or_default();
            let owner: String = entry.get("tickmesh-owner").unwrap_or_default();
            let member = owner
                .rsplit_once('|')
                .map_or(owner.as_str(), |(m, _)| m)
                .to_owned();
            if let Some((before, before_ms)) = last.get(&key)
                && *before != member
            {
                let pause = ms.saturating_sub(*before_ms);
                if killed.is_some_and(|(k, at)| before == k && ms >= at) {
                    figures.killed_markets += 1;
                    figures.killed_pause_max_ms = figures.killed_pause_max_ms.max(pause);
                } else if stopped.is_some_and(|(s, at)| before == s && ms >= at) {
                    figures.handed_over_markets += 1;
                    figures.handover_pause_max_ms = figures.handover_pause_max_ms.max(pause);
                }
            }
            let payload: Vec<u8> = entry.get("payload").unwrap_or_default();
            if let Ok(event) = tickmesh_proto::codec::decode_event(&payload)
                && let Payload::Trade(trade) = event.payload
            {
                if trades.insert((key.clone(), trade.trade_id.0)) {
                    figures.trades_in_stream += 1;
                } else {
                    figures.trades_published_twice += 1;
                }
            }
            last.insert(key, (member, ms));
        }
    }
    Ok(figures)
}
