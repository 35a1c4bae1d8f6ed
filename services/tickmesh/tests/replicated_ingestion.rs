//! Replicated ingestion on real Redis, the Kafka-protocol broker and PostgreSQL: three
//! `tickmesh serve ingestion --replicated` processes share 12 units (3 exchanges x 4 shards of
//! 32 markets); one is killed with SIGKILL, one is stopped gracefully, a new one joins. Then:
//! PostgreSQL holds exactly the simulators' trades; the stream shows one owner at a time per
//! market (fencing tokens never go back); every gap marker covers trades the simulators really
//! made while nobody published the market; and the failover time and the duplicates
//! published are measured from the stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use support::mesh::{Mesh, run_for};
use support::process::Proc;
use tickmesh_domain::Payload;
use tickmesh_proto::ingestion::v1 as wire;
use tickmesh_proto::ingestion::v1::ingestion_service_client::IngestionServiceClient;

const MARKETS: usize = 32;

fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn market_names() -> Vec<String> {
    (0..MARKETS).map(|i| format!("HA{i:02}")).collect()
}

fn replica(mesh: &Mesh, member: &str) -> Proc {
    mesh.serve(
        "ingestion",
        &[
            ("TICKMESH__INGESTION__REPLICATED", "true".to_owned()),
            ("TICKMESH__INGESTION__MEMBER", member.to_owned()),
            ("TICKMESH__INGESTION__SHARDS", "4".to_owned()),
            ("TICKMESH__INGESTION__LEASE_TTL", "3s".to_owned()),
            ("TICKMESH__INGESTION__LEASE_RENEW", "500ms".to_owned()),
            ("TICKMESH__METRICS__LISTEN", "127.0.0.1:0".to_owned()),
        ],
    )
}

/// Who holds each unit, as `ListFeeds` of `grpc` reports it.
async fn owners(grpc: &str) -> BTreeMap<String, String> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let reply = IngestionServiceClient::new(channel)
        .list_feeds(wire::ListFeedsRequest::default())
        .await
        .unwrap()
        .into_inner();
    reply.units.into_iter().map(|u| (u.unit, u.owner)).collect()
}

/// Waits until the 12 units are held by exactly `members`, evenly.
async fn wait_balanced(grpc: &str, members: &[&str]) -> Duration {
    let started = Instant::now();
    let per = 12usize.div_ceil(members.len());
    support::eventually(
        &format!("12 units held evenly by {members:?}"),
        Duration::from_secs(30),
        || async {
            let owners = owners(grpc).await;
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for owner in owners.values() {
                *counts.entry(owner.as_str()).or_default() += 1;
            }
            let balanced = owners.len() == 12
                && counts.keys().copied().collect::<Vec<_>>() == members
                && counts.values().all(|&n| n <= per);
            balanced.then_some(())
        },
    )
    .await;
    started.elapsed()
}

/// One stream entry: its id's milliseconds, market key, owner tag and event.
struct Entry {
    ms: u64,
    key: String,
    owner: (String, u64),
    event: tickmesh_domain::MarketEvent,
}

async fn read_stream(stream: &str) -> Vec<Entry> {
    let entries = support::redis::stream_entries(&tickmesh_e2e::redis_url(), stream).await;
    entries
        .iter()
        .map(|entry| {
            let payload: Vec<u8> = entry.get("payload").unwrap();
            let owner: String = entry
                .get("tickmesh-owner")
                .expect("a replicated ingestion's entry names its owner");
            let (member, token) = owner.rsplit_once('|').unwrap();
            Entry {
                ms: entry.id.split('-').next().unwrap().parse().unwrap(),
                key: entry.get("key").unwrap(),
                owner: (member.to_owned(), token.parse().unwrap()),
                event: tickmesh_proto::codec::decode_event(&payload).unwrap(),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_share_fail_over_and_hand_over_without_losing_or_repeating_trades() {
    let names = market_names();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mesh = Mesh::with_markets("ha_ingest", 150.0, &refs).await;
    let stream = format!("tickmesh:{}:events", mesh.id);

    // A stream client of the gap markers, from before anything is published.
    let client = redis::Client::open(tickmesh_e2e::redis_url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.psubscribe("tickmesh:gaps:*:HA*").await.unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = {
        let seen = std::sync::Arc::clone(&seen);
        tokio::spawn(async move {
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                let payload: Vec<u8> = message.get_payload().unwrap();
                let gap = tickmesh_proto::codec::decode_gap(&payload).unwrap();
                seen.lock().unwrap().push(gap);
            }
        })
    };

    let storage = mesh.serve("storage", &[]);
    let bridge = mesh.serve("bridge", &[]);
    let a = replica(&mesh, "ing-a");
    let b = replica(&mesh, "ing-b");
    let c = replica(&mesh, "ing-c");
    wait_balanced(&c.grpc, &["ing-a", "ing-b", "ing-c"]).await;
    mesh.sims.wait_connected().await;
    let resumed_ms = now_ms();
    mesh.sims.resume();
    run_for(Duration::from_secs(4)).await;

    // SIGKILL: no hand-over; the lease expires and the others take the units.
    let killed_ms = now_ms();
    a.kill();
    let failover = wait_balanced(&c.grpc, &["ing-b", "ing-c"]).await;
    eprintln!("units of the killed replica held again after {failover:?}");
    run_for(Duration::from_secs(3)).await;

    // A graceful stop hands its units over before exiting.
    b.terminate();
    wait_balanced(&c.grpc, &["ing-c"]).await;
    run_for(Duration::from_secs(2)).await;

    // A new replica joins: the survivor hands it half.
    let d = replica(&mesh, "ing-d");
    wait_balanced(&d.grpc, &["ing-c", "ing-d"]).await;
    run_for(Duration::from_secs(3)).await;

    mesh.assert_converges().await;

    let entries = read_stream(&stream).await;
    // One owner at a time: per market, the fencing token never goes back.
    let mut last: BTreeMap<&str, &(String, u64)> = BTreeMap::new();
    // (market, old owner, last entry of the old owner, first entry of the new one)
    let mut handovers: Vec<(&str, &str, u64, u64)> = Vec::new();
    let mut previous_ms: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &entries {
        if let Some(before) = last.get(e.key.as_str()) {
            assert!(
                e.owner.1 >= before.1,
                "{}: token {} after {} - two owners interleaved",
                e.key,
                e.owner.1,
                before.1
            );
            if e.owner.1 > before.1 {
                let from = previous_ms[e.key.as_str()];
                handovers.push((e.key.as_str(), before.0.as_str(), from, e.ms));
            }
        }
        last.insert(&e.key, &e.owner);
        previous_ms.insert(&e.key, e.ms);
    }
    let owners: BTreeSet<&str> = entries.iter().map(|e| e.owner.0.as_str()).collect();
    assert_eq!(
        owners,
        ["ing-a", "ing-b", "ing-c", "ing-d"].into(),
        "every replica published"
    );
    assert!(
        handovers.len() >= MARKETS,
        "only {} markets changed owner",
        handovers.len()
    );
    // The killed replica's markets pause for about a lease; the others change hands
    // without one (make before break).
    let (killed, graceful): (Vec<_>, Vec<_>) = handovers
        .iter()
        .filter(|(_, _, from, _)| *from >= resumed_ms)
        .partition(|(_, old, _, to)| *old == "ing-a" && *to >= killed_ms);
    let pause =
        |list: &[&(&str, &str, u64, u64)]| list.iter().map(|(_, _, from, to)| to - from).max();
    eprintln!(
        "{} market hand-overs in the stream: {} after the SIGKILL (longest pause between the two owners' entries {:?} ms), {} graceful (longest pause {:?} ms)",
        handovers.len(),
        killed.len(),
        pause(&killed),
        graceful.len(),
        pause(&graceful)
    );
    assert!(!killed.is_empty() && !graceful.is_empty());
    let killed_markets: BTreeSet<&str> = killed.iter().map(|(key, ..)| *key).collect();

    // Duplicates: trades the stream carries more than once.
    let mut trades: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for e in &entries {
        if let Payload::Trade(t) = &e.event.payload {
            *trades.entry((e.key.clone(), t.trade_id.0)).or_default() += 1;
        }
    }
    let repeated: usize = trades.values().map(|n| n - 1).sum();
    eprintln!(
        "{} trades in the stream, {repeated} published twice",
        trades.len()
    );
    assert_eq!(repeated, 0, "a hand-over published trades twice");

    // Every gap marker covers trades the simulators made while no owner published them.
    // What an operator sees: ListFeeds through the CLI, and the lease metrics.
    let feeds = std::process::Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args([
            "feeds",
            "--server",
            &format!("http://{}", c.grpc),
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        feeds.status.success(),
        "{}",
        String::from_utf8_lossy(&feeds.stderr)
    );
    let feeds: serde_json::Value = serde_json::from_slice(&feeds.stdout).unwrap();
    assert_eq!(feeds["replica"], "ing-c");
    let units = feeds["units"].as_array().unwrap();
    assert_eq!(units.len(), 12, "{feeds}");
    assert!(
        units
            .iter()
            .all(|u| u["owner"] == "ing-c" || u["owner"] == "ing-d"),
        "{feeds}"
    );
    let own = feeds["feeds"].as_array().unwrap();
    assert_eq!(own.len(), 6, "ing-c collects half the units: {feeds}");
    assert!(
        own.iter().all(|f| f["lease_token"].as_u64().unwrap() > 0),
        "{feeds}"
    );
    let logged = c.logged("metrics at");
    let addr = logged[0]["metrics_addr"].as_str().unwrap();
    let body = support::scrape(addr);
    for series in [
        "tickmesh_ingestion_replica{member=\"ing-c\"} 1",
        "tickmesh_ingestion_lease_changes_total{change=\"acquired\"}",
        "tickmesh_ingestion_lease_changes_total{change=\"released\"}",
        "tickmesh_ingestion_lease_age_seconds{unit=",
        "tickmesh_publisher_fenced_off_total",
    ] {
        assert!(body.contains(series), "{series} missing:\n{body}");
    }
    d.terminate();
    c.terminate();
    bridge.terminate();
    storage.terminate();
    listener.abort();
    let gaps = seen.lock().unwrap().clone();
    assert!(
        !gaps.is_empty(),
        "no gap marker, though the killed replica's markets traded while nobody published them"
    );
    for gap in &gaps {
        let key = tickmesh_proto::routing::partition_key(gap.exchange, &gap.market);
        assert!(
            killed_markets.contains(key.as_str()),
            "a gap marker for {key}, which was handed over gracefully: {gap:?}"
        );
        let sim = mesh
            .sims
            .all
            .iter()
            .find(|s| s.exchange() == gap.exchange)
            .unwrap();
        let made = sim
            .trades(gap.market)
            .iter()
            .filter(|t| {
                let us = t.time_ms * 1000;
                us >= gap.from.as_micros() && us <= gap.to.as_micros()
            })
            .count();
        assert!(
            made > 0 && gap.backfilled_trades > 0,
            "a gap marker without a real gap: {gap:?}"
        );
    }
    eprintln!(
        "{} gap markers, each over trades the simulators made",
        gaps.len()
    );
    mesh.finish().await;
}
