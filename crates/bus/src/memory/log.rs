//! In-process durable topics and consumer groups.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::{
    Backlog, BusError, Cursor, Delivery, DurableLog, HistoryPage, LogConsumer, Position, Record,
    StreamHistory,
};

/// In-process topics with consumer groups.
#[derive(Debug, Clone)]
pub struct MemoryLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    retain: usize,
    reclaim_after: Duration,
    state: Mutex<State>,
    appended: Notify,
}

#[derive(Debug, Default)]
struct State {
    topics: HashMap<String, Topic>,
    groups: HashMap<String, Group>,
}

impl State {
    /// Counts `seq` of `topic`, dropped by retention, against every group that had not
    /// finished it: not yet read, or read and not acknowledged.
    fn count_dropped(&mut self, topic: &str, seq: u64) {
        for group in self.groups.values_mut() {
            let Some(&next) = group.next.get(topic) else {
                continue;
            };
            let key = (topic.to_owned(), seq);
            let pending = group.pending.values().any(|p| p.contains_key(&key));
            if seq >= next || pending {
                group.trimmed += 1;
            }
        }
    }
}

#[derive(Debug, Default)]
struct Topic {
    /// Sequence number of `records[0]`.
    first: u64,
    records: VecDeque<Record>,
    /// The stream position of each record, as Redis would give it (`positions[i]` is that of
    /// `records[i]`): what stream clients resume from.
    positions: VecDeque<Position>,
    /// The last position given, so positions only grow even if the clock steps back.
    last: Position,
    /// The last position dropped, if any.
    trimmed_through: Option<Position>,
    /// Acknowledged records kept anyway, newest first, for stream clients to replay.
    replay_keep: usize,
}

impl Topic {
    fn get(&self, seq: u64) -> Option<&Record> {
        let index = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.records.get(index)
    }

    fn position(&self, seq: u64) -> Option<Position> {
        let index = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.positions.get(index).copied()
    }

    /// The sequence number of the record at `position`, while the topic holds it.
    fn seq_of(&self, position: Position) -> Option<u64> {
        let index = self.positions.binary_search(&position).ok()?;
        Some(self.first + index as u64)
    }

    fn end(&self) -> u64 {
        self.first + self.records.len() as u64
    }

    /// Appends `record` at the next position: the current millisecond, or one more than the
    /// last position when the clock has not moved on (as Redis gives `XADD *` ids).
    fn push(&mut self, record: Record, now_ms: u64) {
        let position = if now_ms > self.last.ms {
            Position::at_ms(now_ms)
        } else {
            self.last.next()
        };
        self.last = position;
        self.records.push_back(record);
        self.positions.push_back(position);
    }

    /// Drops the oldest record; its sequence number, if there was one.
    fn pop(&mut self) -> Option<u64> {
        self.records.pop_front()?;
        self.trimmed_through = self.positions.pop_front().or(self.trimmed_through);
        self.first += 1;
        Some(self.first - 1)
    }
}

#[derive(Debug, Default)]
struct Group {
    /// Next sequence number to hand out, per topic.
    next: HashMap<String, u64>,
    /// Given but not acknowledged, per consumer name, with when it was given.
    pending: HashMap<String, BTreeMap<(String, u64), Instant>>,
    /// Records retention dropped before the group finished them.
    trimmed: u64,
}

impl Inner {
    /// Every update leaves the state consistent, so a lock poisoned by a panic elsewhere is
    /// still safe to use.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryLog {
    /// Appends at once (the in-process log never waits), returning each record's position.
    pub(crate) fn append_now(
        &self,
        topic: &str,
        records: &[Record],
    ) -> Result<Vec<Position>, BusError> {
        if let Some(record) = records.iter().find(|r| r.size() > crate::MAX_RECORD_BYTES) {
            return Err(BusError::Rejected {
                backend: "memory",
                reason: format!(
                    "a record of {} bytes is larger than the {} bytes a record may have",
                    record.size(),
                    crate::MAX_RECORD_BYTES
                ),
            });
        }
        let mut positions = Vec::with_capacity(records.len());
        {
            let now_ms = now_ms();
            let mut state = self.inner.lock();
            for record in records {
                let log = state.topics.entry(topic.to_owned()).or_default();
                log.push(record.clone(), now_ms);
                positions.push(log.last);
                if log.records.len() > self.inner.retain
                    && let Some(dropped) = log.pop()
                {
                    state.count_dropped(topic, dropped);
                }
            }
        }
        self.inner.appended.notify_waiters();
        Ok(positions)
    }

    /// Keeps the newest `records` of `topic` after every group acknowledged them (within the
    /// retention bound), so stream clients can replay them: the in-process stand-in for the
    /// stream Redis keeps whole up to its `MAXLEN`.
    pub fn keep_for_replay(&self, topic: &str, records: usize) {
        let mut state = self.inner.lock();
        state
            .topics
            .entry(topic.to_owned())
            .or_default()
            .replay_keep = records;
    }

    /// Topics retaining at most `retain` records each (the oldest go first); records a
    /// member left unacknowledged for 30 s go to another member.
    pub fn new(retain: usize) -> MemoryLog {
        MemoryLog::with_reclaim_after(retain, Duration::from_secs(30))
    }

    /// As [`MemoryLog::new`], reclaiming after `reclaim_after`.
    pub fn with_reclaim_after(retain: usize, reclaim_after: Duration) -> MemoryLog {
        MemoryLog {
            inner: Arc::new(Inner {
                retain: retain.max(1),
                reclaim_after,
                state: Mutex::new(State::default()),
                appended: Notify::new(),
            }),
        }
    }

    /// Records `topic` holds (appended and not yet trimmed).
    pub fn len(&self, topic: &str) -> usize {
        self.inner
            .lock()
            .topics
            .get(topic)
            .map_or(0, |t| t.records.len())
    }

    /// Whether `topic` holds nothing.
    pub fn is_empty(&self, topic: &str) -> bool {
        self.len(topic) == 0
    }
}

#[async_trait]
impl DurableLog for MemoryLog {
    async fn append(&self, topic: &str, records: &[Record]) -> Result<(), BusError> {
        self.append_now(topic, records).map(drop)
    }

    async fn consume(
        &self,
        topics: &[&str],
        group: &str,
        consumer: &str,
    ) -> Result<Box<dyn LogConsumer>, BusError> {
        let mut state = self.inner.lock();
        // Joining registers the group's position on each topic at once (the oldest record
        // held), so what it has not read yet is kept for it from now on, even before its
        // first poll.
        let firsts: Vec<(String, u64)> = topics
            .iter()
            .map(|t| {
                let first = state.topics.get(*t).map_or(0, |log| log.first);
                ((*t).to_owned(), first)
            })
            .collect();
        let joined = state.groups.entry(group.to_owned()).or_default();
        for (topic, first) in firsts {
            joined.next.entry(topic).or_insert(first);
        }
        let trimmed_at_join = state.groups.get(group).map_or(0, |g| g.trimmed);
        let backlog = state
            .groups
            .get(group)
            .and_then(|g| g.pending.get(consumer))
            // Only the topics asked for, as Redis re-reads its own pending per stream.
            .map(|p| {
                p.keys()
                    .filter(|(topic, _)| topics.contains(&topic.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        drop(state);
        Ok(Box::new(MemoryConsumer {
            inner: Arc::clone(&self.inner),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            group: group.to_owned(),
            name: consumer.to_owned(),
            backlog,
            trimmed_at_join,
        }))
    }
}

/// A member of an in-process consumer group.
#[derive(Debug)]
struct MemoryConsumer {
    inner: Arc<Inner>,
    topics: Vec<String>,
    group: String,
    name: String,
    /// Pending records of an earlier member under this name, delivered first.
    backlog: VecDeque<(String, u64)>,
    /// The group's trimmed count when this member joined.
    trimmed_at_join: u64,
}

impl MemoryConsumer {
    fn take(&mut self, max: usize) -> Vec<Delivery> {
        let mut state = self.inner.lock();
        let State { topics, groups } = &mut *state;
        let group = groups.entry(self.group.clone()).or_default();
        let mut out = Vec::new();
        while out.len() < max {
            let Some((topic, seq)) = self.backlog.pop_front() else {
                break;
            };
            let still_pending = group
                .pending
                .get(&self.name)
                .is_some_and(|p| p.contains_key(&(topic.clone(), seq)));
            // A record trimmed away meanwhile is gone, as in Redis after MAXLEN.
            if let Some(record) = topics.get(&topic).and_then(|t| t.get(seq))
                && still_pending
            {
                out.push(delivery(&topic, seq, record, topics));
            }
        }
        // Records other members left unacknowledged too long become this member's.
        let now = Instant::now();
        let mut stale = Vec::new();
        for (name, pending) in &mut group.pending {
            if *name == self.name {
                continue;
            }
            pending.retain(|(topic, seq), given| {
                let take = stale.len() < max.saturating_sub(out.len())
                    && self.topics.contains(topic)
                    && now.duration_since(*given) >= self.inner.reclaim_after;
                if take {
                    stale.push((topic.clone(), *seq));
                }
                !take
            });
        }
        for (topic, seq) in stale {
            if let Some(record) = topics.get(&topic).and_then(|t| t.get(seq)) {
                out.push(delivery(&topic, seq, record, topics));
                let mine = group.pending.entry(self.name.clone()).or_default();
                mine.insert((topic, seq), now);
            }
        }
        for topic_name in &self.topics {
            let Some(topic) = topics.get(topic_name) else {
                continue;
            };
            let next = group.next.entry(topic_name.clone()).or_insert(0);
            *next = (*next).max(topic.first);
            while out.len() < max && *next < topic.end() {
                if let Some(record) = topic.get(*next) {
                    out.push(delivery(topic_name, *next, record, topics));
                    group
                        .pending
                        .entry(self.name.clone())
                        .or_default()
                        .insert((topic_name.clone(), *next), now);
                }
                *next += 1;
            }
        }
        out
    }
}

/// A delivery whose cursor is the record's stream position, as a Redis stream id is.
fn delivery(topic: &str, seq: u64, record: &Record, topics: &HashMap<String, Topic>) -> Delivery {
    let position = topics
        .get(topic)
        .and_then(|t| t.position(seq))
        .unwrap_or_default();
    Delivery {
        topic: topic.to_owned(),
        cursor: Cursor::new(position.to_string()),
        record: record.clone(),
    }
}

#[async_trait]
impl LogConsumer for MemoryConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let inner = Arc::clone(&self.inner);
            let appended = inner.appended.notified();
            let batch = self.take(max.max(1));
            if !batch.is_empty() {
                return Ok(batch);
            }
            if tokio::time::timeout_at(deadline, appended).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn ack(&mut self, deliveries: &[Delivery]) -> Result<(), BusError> {
        let mut state = self.inner.lock();
        let State { topics, groups } = &mut *state;
        let group = groups.entry(self.group.clone()).or_default();
        let pending = group.pending.entry(self.name.clone()).or_default();
        for d in deliveries {
            let position: Position = d.cursor.as_str().parse().map_err(|_| BusError::Rejected {
                backend: "memory",
                reason: format!("`{}` is not a cursor of this log", d.cursor),
            })?;
            // A record trimmed away meanwhile has no sequence number any more, and is no
            // longer pending either (a later read skips it).
            if let Some(seq) = topics.get(&d.topic).and_then(|t| t.seq_of(position)) {
                pending.remove(&(d.topic.clone(), seq));
            }
        }
        for topic in &self.topics {
            if let Some(log) = topics.get_mut(topic) {
                trim_consumed(topic, log, groups);
            }
        }
        Ok(())
    }

    /// The group's lag and pending count over this member's topics, and what retention
    /// dropped before the group finished it since this member joined (every member of a
    /// group reports the group's count: `tickmesh up` runs one member per group).
    async fn backlog(&mut self) -> Result<Backlog, BusError> {
        let state = self.inner.lock();
        let Some(group) = state.groups.get(&self.group) else {
            return Ok(Backlog::default());
        };
        let lag = self
            .topics
            .iter()
            .filter_map(|t| {
                let topic = state.topics.get(t)?;
                let next = group.next.get(t).copied().unwrap_or(0).max(topic.first);
                Some(topic.end().saturating_sub(next))
            })
            .sum();
        let pending = group
            .pending
            .values()
            .map(|p| p.keys().filter(|(t, _)| self.topics.contains(t)).count() as u64)
            .sum();
        Ok(Backlog {
            lag: Some(lag),
            pending: Some(pending),
            reclaimed: 0,
            trimmed: group.trimmed.saturating_sub(self.trimmed_at_join),
        })
    }
}

/// Drops the records of `log` every group reading it has acknowledged, so memory follows the
/// slowest group's lag rather than the retention cap. Groups count from the moment they join
/// ([`DurableLog::consume`]); a group that joins later finds acknowledged records gone, as a
/// Kafka consumer finds records past retention.
fn trim_consumed(name: &str, log: &mut Topic, groups: &HashMap<String, Group>) {
    let mut keep_from: Option<u64> = None;
    for group in groups.values() {
        let Some(&next) = group.next.get(name) else {
            continue;
        };
        let oldest_pending = group
            .pending
            .values()
            .filter_map(|p| {
                p.range((name.to_owned(), 0)..=(name.to_owned(), u64::MAX))
                    .next()
                    .map(|((_, seq), _)| *seq)
            })
            .min();
        let needed = oldest_pending.map_or(next, |p| p.min(next));
        keep_from = Some(keep_from.map_or(needed, |k| k.min(needed)));
    }
    let Some(keep_from) = keep_from else {
        return;
    };
    // The newest `replay_keep` records stay for stream clients that replay.
    let keep_from = keep_from.min(log.end().saturating_sub(log.replay_keep as u64));
    while log.first < keep_from && log.pop().is_some() {}
}

#[async_trait]
impl StreamHistory for MemoryLog {
    async fn read_after(
        &self,
        stream: &str,
        after: Position,
        max: usize,
    ) -> Result<HistoryPage, BusError> {
        let state = self.inner.lock();
        let Some(topic) = state.topics.get(stream) else {
            return Ok(HistoryPage::default());
        };
        let from = topic.positions.partition_point(|p| *p <= after);
        let entries = topic
            .positions
            .iter()
            .zip(&topic.records)
            .skip(from)
            .take(max)
            .map(|(p, r)| (*p, r.clone()))
            .collect();
        Ok(HistoryPage {
            entries,
            trimmed_through: topic.trimmed_through,
        })
    }
}

/// Milliseconds since the Unix epoch (UTC), now; 0 for a clock set before 1970.
fn now_ms() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn records(n: usize) -> Vec<Record> {
        (0..n).map(|i| Record::new("k", i.to_string())).collect()
    }

    #[tokio::test]
    async fn acknowledged_records_are_dropped_once_every_group_has_them() {
        let log = MemoryLog::new(1_000);
        log.append("t", &records(10)).await.unwrap();
        let mut fast = log.consume(&["t"], "fast", "a").await.unwrap();
        let mut slow = log.consume(&["t"], "slow", "b").await.unwrap();

        let all = fast.poll(100, Duration::ZERO).await.unwrap();
        fast.ack(&all).await.unwrap();
        // The slow group has read nothing yet, so everything stays for it.
        assert_eq!(log.len("t"), 10);

        let first = slow.poll(4, Duration::ZERO).await.unwrap();
        assert_eq!(log.len("t"), 10, "given but unacknowledged records stay");
        slow.ack(&first[..2]).await.unwrap();
        assert_eq!(log.len("t"), 8);
        slow.ack(&first[2..]).await.unwrap();
        assert_eq!(log.len("t"), 6);

        // What is left is still delivered, in order.
        let rest = slow.poll(100, Duration::ZERO).await.unwrap();
        let payloads: Vec<_> = rest.iter().map(|d| d.record.payload.clone()).collect();
        let expected: Vec<Bytes> = (4..10).map(|i| Bytes::from(i.to_string())).collect();
        assert_eq!(payloads, expected);
        slow.ack(&rest).await.unwrap();
        assert!(log.is_empty("t"));
    }

    #[tokio::test]
    async fn records_dropped_before_a_group_finished_them_are_counted() {
        let log = MemoryLog::new(5);
        let mut reader = log.consume(&["t"], "g", "a").await.unwrap();
        log.append("t", &records(3)).await.unwrap();
        let first = reader.poll(2, Duration::ZERO).await.unwrap();
        reader.ack(&first[..1]).await.unwrap();
        // Record 1 is pending, record 2 unread; 8 more push out 1 to 5 (0 was acknowledged
        // and already released).
        log.append("t", &records(8)).await.unwrap();
        let backlog = reader.backlog().await.unwrap();
        assert_eq!(backlog.trimmed, 5);
        assert_eq!(backlog.lag, Some(5));
        assert_eq!(backlog.pending, Some(1));
    }
}
