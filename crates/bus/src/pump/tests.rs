//! The pump against the in-process log and scripted stages: acknowledgement after the write,
//! poison isolated and dead-lettered, outages retried, stops and drains.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use async_trait::async_trait;

use super::*;
use crate::memory::MemoryLog;
use crate::{Delivery, Record};

/// Items are the payloads as text; `poison` ones fail permanently, `sticky` ones fail with a
/// retryable error forever, and everything fails (retryably) while `down` is set.
#[derive(Default)]
struct Script {
    poison: BTreeSet<String>,
    sticky: BTreeSet<String>,
    /// Payloads `prepare` rejects.
    rejects: BTreeSet<String>,
    down: AtomicBool,
    writes: Mutex<Vec<Vec<String>>>,
    attempts: AtomicUsize,
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Script {
    /// Every item the destination accepted, in write order.
    fn accepted(&self) -> Vec<String> {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl Stage for Arc<Script> {
    type Item = (String, Record);

    fn prepare(&self, batch: &mut [Delivery]) -> Prepared<Self::Item> {
        let mut prepared = Prepared::with_capacity(batch.len());
        for (i, delivery) in batch.iter_mut().enumerate() {
            let text = String::from_utf8(delivery.record.payload.to_vec()).unwrap();
            if self.rejects.contains(&text) {
                prepared.reject(i, format!("{text} is not an event"));
            } else {
                prepared.push(i, (text, std::mem::take(&mut delivery.record)));
            }
        }
        prepared
    }

    async fn write(&self, items: &[Self::Item]) -> Result<(), WriteError> {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        tokio::task::yield_now().await;
        if self.down.load(Ordering::Relaxed) {
            return Err(WriteError::retryable(Refused("destination down".into())));
        }
        if let Some((text, _)) = items.iter().find(|(t, _)| self.poison.contains(t)) {
            return Err(WriteError::permanent(Refused(format!("{text} overflows"))));
        }
        if let Some((text, _)) = items.iter().find(|(t, _)| self.sticky.contains(t)) {
            return Err(WriteError::retryable(Refused(format!("{text} times out"))));
        }
        self.writes
            .lock()
            .unwrap()
            .push(items.iter().map(|(t, _)| t.clone()).collect());
        Ok(())
    }

    fn dead_record<'a>(&self, item: &'a Self::Item, _delivery: &'a Delivery) -> &'a Record {
        &item.1
    }
}

use std::sync::atomic::Ordering;

fn config(batch_max: usize) -> PumpConfig {
    let mut config = PumpConfig::new(vec!["in".into()], "g", "c", "dlq");
    config.batch_max = batch_max;
    config.poll_wait = Duration::from_millis(20);
    config.retry = RetryPolicy {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
    };
    config.split_after = 3;
    config
}

async fn fill(log: &MemoryLog, texts: impl IntoIterator<Item = String>) {
    let records: Vec<Record> = texts
        .into_iter()
        .map(|t| Record::new("upbit:BTC/KRW", t))
        .collect();
    log.append("in", &records).await.unwrap();
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("e{i}")).collect()
}

/// Runs the pump until everything is consumed; returns what the dead-letter topic holds.
async fn drain(log: &MemoryLog, script: &Arc<Script>, batch_max: usize) -> Vec<Record> {
    let source: Arc<dyn DurableLog> = Arc::new(log.clone());
    let pump = Pump::new(
        config(batch_max),
        Arc::clone(&source),
        source,
        Arc::clone(script),
    );
    let stop = PumpStop::default();
    stop.when_drained.cancel();
    tokio::time::timeout(Duration::from_secs(10), pump.run(stop))
        .await
        .expect("the pump drained within 10 s")
        .unwrap();
    let mut reader = log.consume(&["dlq"], "inspect", "i").await.unwrap();
    reader
        .poll(10_000, Duration::ZERO)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.record)
        .collect()
}

fn header(record: &Record, name: &str) -> String {
    String::from_utf8(record.header(name).unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn everything_is_written_in_order_and_acknowledged() {
    let log = MemoryLog::new(10_000);
    fill(&log, texts(250)).await;
    let script = Arc::new(Script::default());
    let dead = drain(&log, &script, 40).await;
    assert!(dead.is_empty());
    assert_eq!(script.accepted(), texts(250));
    // Acknowledged: a new member of the group under the same name gets nothing again.
    let mut again = log.consume(&["in"], "g", "c").await.unwrap();
    assert!(again.poll(10, Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test]
async fn rejects_and_poison_are_dead_lettered_and_everything_else_is_written_once_in_order() {
    let log = MemoryLog::new(10_000);
    fill(&log, texts(100)).await;
    let script = Arc::new(Script {
        poison: ["e7", "e8", "e63"].map(String::from).into(),
        rejects: ["e50"].map(String::from).into(),
        ..Script::default()
    });
    let dead = drain(&log, &script, 64).await;

    let expected: Vec<String> = texts(100)
        .into_iter()
        .filter(|t| !["e7", "e8", "e63", "e50"].contains(&t.as_str()))
        .collect();
    assert_eq!(script.accepted(), expected, "written once each, in order");
    let mut reasons: Vec<(String, String)> = dead
        .iter()
        .map(|r| {
            (
                String::from_utf8(r.payload.to_vec()).unwrap(),
                header(r, DEAD_LETTER_REASON),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("e50".into(), "e50 is not an event".into()),
            ("e63".into(), "e63 overflows".into()),
            ("e7".into(), "e7 overflows".into()),
            ("e8".into(), "e8 overflows".into()),
        ]
    );
    assert!(header(&dead[0], DEAD_LETTER_SOURCE).starts_with("in@"));
}

#[tokio::test]
async fn a_record_failing_retryably_last_in_its_batch_is_retried_like_an_outage() {
    // Nothing behind it can show the destination working: it waits, everything else is
    // written, and a stop leaves it unacknowledged.
    let log = MemoryLog::new(10_000);
    fill(&log, texts(20)).await;
    let script = Arc::new(Script {
        sticky: ["e19"].map(String::from).into(),
        ..Script::default()
    });
    let source: Arc<dyn DurableLog> = Arc::new(log.clone());
    let pump = Pump::new(config(20), Arc::clone(&source), source, Arc::clone(&script));
    let stop = PumpStop::default();
    let run = tokio::spawn(pump.run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.now.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(script.accepted(), texts(19), "in order");
    let mut again = log.consume(&["in"], "g", "c").await.unwrap();
    assert_eq!(again.poll(100, Duration::ZERO).await.unwrap().len(), 20);
}

#[tokio::test]
async fn an_outage_is_retried_without_dead_letters() {
    let log = MemoryLog::new(10_000);
    fill(&log, texts(30)).await;
    let script = Arc::new(Script::default());
    script.down.store(true, Ordering::Relaxed);
    let heal = {
        let script = Arc::clone(&script);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            script.down.store(false, Ordering::Relaxed);
        })
    };
    let dead = drain(&log, &script, 30).await;
    heal.await.unwrap();
    assert!(dead.is_empty(), "an outage dead-letters nothing");
    assert_eq!(script.accepted(), texts(30));
    assert!(script.attempts.load(Ordering::Relaxed) > 3);
}

#[tokio::test]
async fn a_record_that_fails_retryably_while_others_are_written_is_dead_lettered() {
    // First or in the middle of a batch: the records behind it are written after it started
    // failing, which shows the destination working.
    for sticky in ["e13", "e0"] {
        let log = MemoryLog::new(10_000);
        fill(&log, texts(20)).await;
        let script = Arc::new(Script {
            sticky: [sticky].map(String::from).into(),
            ..Script::default()
        });
        let dead = drain(&log, &script, 20).await;
        assert_eq!(dead.len(), 1, "{sticky}");
        assert_eq!(dead[0].payload, sticky);
        let reason = header(&dead[0], DEAD_LETTER_REASON);
        assert!(
            reason.starts_with("failed ")
                && reason.ends_with(&format!(
                    "times while the destination accepted other writes; last error: {sticky} times out"
                )),
            "{reason}"
        );
        let mut expected: Vec<String> = texts(20).into_iter().filter(|t| t != sticky).collect();
        expected.sort();
        let mut accepted = script.accepted();
        accepted.sort();
        assert_eq!(accepted, expected, "every other record written once");
    }
}

#[tokio::test]
async fn an_outage_after_part_of_a_batch_was_written_dead_letters_nothing() {
    // A poison record makes the pump split the batch; the first half is written; then the
    // destination goes down. Its records must wait for it, not go to the dead letters.
    let log = MemoryLog::new(10_000);
    fill(&log, texts(16)).await;
    let script = Arc::new(Script {
        poison: ["e15"].map(String::from).into(),
        ..Script::default()
    });
    let source: Arc<dyn DurableLog> = Arc::new(log.clone());
    let pump = Pump::new(config(16), Arc::clone(&source), source, Arc::clone(&script));
    let stop = PumpStop::default();
    stop.when_drained.cancel();
    let run = tokio::spawn(pump.run(stop));
    // Down as soon as the first half is in.
    let watcher = {
        let script = Arc::clone(&script);
        tokio::spawn(async move {
            while script.accepted().is_empty() {
                tokio::task::yield_now().await;
            }
            script.down.store(true, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(400)).await;
            script.down.store(false, Ordering::Relaxed);
        })
    };
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    watcher.await.unwrap();
    let mut dlq = log.consume(&["dlq"], "inspect", "i").await.unwrap();
    let dead: Vec<Record> = dlq
        .poll(100, Duration::ZERO)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.record)
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].payload, "e15");
    let mut accepted = script.accepted();
    accepted.sort();
    let mut expected: Vec<String> = texts(15);
    expected.sort();
    assert_eq!(accepted, expected);
}

#[tokio::test]
async fn a_lone_retryable_failure_is_an_outage_retried_until_stop_and_left_unacknowledged() {
    // One record in its own batch: no other write vouches for the destination.
    let log = MemoryLog::new(10_000);
    fill(&log, ["lone".to_owned()]).await;
    let script = Arc::new(Script {
        sticky: ["lone"].map(String::from).into(),
        ..Script::default()
    });
    let source: Arc<dyn DurableLog> = Arc::new(log.clone());
    let pump = Pump::new(config(1), Arc::clone(&source), source, Arc::clone(&script));
    let stop = PumpStop::default();
    let run = tokio::spawn(pump.run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        script.attempts.load(Ordering::Relaxed) > 10,
        "still retrying an unhealthy destination"
    );
    stop.now.cancel();
    tokio::time::timeout(Duration::from_secs(2), run)
        .await
        .expect("a stop ends the retries at once")
        .unwrap()
        .unwrap();
    // Not acknowledged: the next member under this name gets it again.
    let mut again = log.consume(&["in"], "g", "c").await.unwrap();
    assert_eq!(again.poll(10, Duration::ZERO).await.unwrap().len(), 1);
    let mut dlq = log.consume(&["dlq"], "inspect", "i").await.unwrap();
    assert!(dlq.poll(10, Duration::ZERO).await.unwrap().is_empty());
}

/// A log whose `dlq` topic refuses records over `max_bytes`, as a broker refuses a record
/// over `message.max.bytes`.
#[derive(Debug)]
struct SmallDlq {
    inner: MemoryLog,
    max_bytes: usize,
}

#[async_trait]
impl DurableLog for SmallDlq {
    async fn append(&self, topic: &str, records: &[Record]) -> Result<(), BusError> {
        if topic == "dlq" && records.iter().any(|r| r.payload.len() > self.max_bytes) {
            return Err(BusError::Rejected {
                backend: "test",
                reason: "message too large".into(),
            });
        }
        self.inner.append(topic, records).await
    }

    async fn consume(
        &self,
        topics: &[&str],
        group: &str,
        consumer: &str,
    ) -> Result<Box<dyn LogConsumer>, BusError> {
        self.inner.consume(topics, group, consumer).await
    }
}

#[tokio::test]
async fn a_dead_letter_too_large_for_the_dead_letter_topic_goes_without_its_payload() {
    let log = MemoryLog::new(10_000);
    let big = "x".repeat(5_000);
    fill(&log, ["small".to_owned(), big.clone(), "tail".to_owned()]).await;
    let script = Arc::new(Script {
        poison: [big.clone(), "small".to_owned()].into(),
        ..Script::default()
    });
    let dead_letters: Arc<dyn DurableLog> = Arc::new(SmallDlq {
        inner: log.clone(),
        max_bytes: 1_000,
    });
    let pump = Pump::new(
        config(10),
        Arc::new(log.clone()),
        dead_letters,
        Arc::clone(&script),
    );
    let stop = PumpStop::default();
    stop.when_drained.cancel();
    pump.run(stop).await.unwrap();
    let mut dlq = log.consume(&["dlq"], "inspect", "i").await.unwrap();
    let dead: Vec<Record> = dlq
        .poll(10, Duration::ZERO)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.record)
        .collect();
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].payload, "small");
    assert!(dead[1].payload.is_empty());
    assert_eq!(header(&dead[1], PAYLOAD_DROPPED), "5000");
    // The reason quotes the record and is cut to 1 KiB.
    assert_eq!(header(&dead[1], DEAD_LETTER_REASON), "x".repeat(1_024));
    assert_eq!(script.accepted(), ["tail"]);
}
