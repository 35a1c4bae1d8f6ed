//! Durable topics on Redis streams with consumer groups.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tickmesh_bus::{Backlog, BusError, Delivery, DurableLog, LogConsumer, Record};
use tracing::warn;

use crate::direct::{DirectConn, REPLY_TIMEOUT, blocking_timeout};
use crate::reply::{self, Entry, KEY_FIELD, PAYLOAD_FIELD};
use crate::resp::{Pipeline, Reply, Request};
use crate::{BACKEND, RedisBus, trimmed};

/// The longest a single blocking read waits; longer waits are split so a dead connection is
/// noticed within this plus [`crate::READ_SLACK`].
const MAX_BLOCK: Duration = Duration::from_secs(5);

/// Appends a record's fields (`key`, `payload`, then each header) to an `XADD`: four
/// arguments plus two per header.
pub(crate) fn record_fields(pipeline: &mut Pipeline, record: &Record) {
    pipeline
        .arg(KEY_FIELD)
        .arg(&record.key)
        .arg(PAYLOAD_FIELD)
        .arg(&record.payload);
    for (name, value) in &record.headers {
        pipeline.arg(name).arg(value);
    }
}

fn malformed(what: &str) -> BusError {
    BusError::Rejected {
        backend: BACKEND,
        reason: format!("unexpected {what} reply"),
    }
}

#[async_trait]
impl DurableLog for RedisBus {
    async fn append(&self, topic: &str, records: &[Record]) -> Result<(), BusError> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some(record) = records
            .iter()
            .find(|r| r.size() > tickmesh_bus::MAX_RECORD_BYTES)
        {
            return Err(BusError::Rejected {
                backend: BACKEND,
                reason: format!(
                    "a record of {} bytes is larger than the {} bytes a stream entry may have",
                    record.size(),
                    tickmesh_bus::MAX_RECORD_BYTES
                ),
            });
        }
        let mut pipeline = Pipeline::default();
        for record in records {
            self.queue_xadd(&mut pipeline, topic, record);
        }
        self.run(&pipeline).await
    }

    async fn consume(
        &self,
        topics: &[&str],
        group: &str,
        consumer: &str,
    ) -> Result<Box<dyn LogConsumer>, BusError> {
        // Its own connection: a blocking XREADGROUP would hold up everyone on a shared one.
        let name = client_name(group, consumer);
        let mut conn = DirectConn::connect(&self.config, name).await?;
        for topic in topics {
            create_group(&mut conn, topic, group).await?;
        }
        Ok(Box::new(RedisConsumer {
            conn,
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            backlog: topics.iter().map(|_| Some("0".to_owned())).collect(),
            claim_cursors: topics.iter().map(|_| "0-0".to_owned()).collect(),
            group: group.to_owned(),
            name: consumer.to_owned(),
            reclaim_after: self.config.reclaim_after,
            last_reclaim: Instant::now(),
            reclaimed: 0,
            trimmed: 0,
        }))
    }
}

/// The connection name of a consumer. Redis refuses names with spaces, newlines or bytes
/// outside printable ASCII (`CLIENT SETNAME`), and a refused name would keep the consumer from
/// connecting at all, so such characters become `_`.
fn client_name(group: &str, consumer: &str) -> String {
    format!("tickmesh-consumer:{group}:{consumer}")
        .chars()
        .map(|c| if ('!'..='~').contains(&c) { c } else { '_' })
        .collect()
}

/// Creates `group` on `topic` (and the stream if missing) reading from the start; an existing
/// group is left as it is.
async fn create_group(conn: &mut DirectConn, topic: &str, group: &str) -> Result<(), BusError> {
    let mut cmd = Request::new("XGROUP");
    cmd.arg("CREATE")
        .arg(topic)
        .arg(group)
        .arg("0")
        .arg("MKSTREAM");
    match conn.query(&cmd, REPLY_TIMEOUT).await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A member of a Redis stream consumer group.
struct RedisConsumer {
    conn: DirectConn,
    topics: Vec<String>,
    /// Per topic, the id after which this member's own pending entries are still to be
    /// re-read (`Some`), or `None` once they all were.
    backlog: Vec<Option<String>>,
    /// Per topic, where the next `XAUTOCLAIM` scan starts.
    claim_cursors: Vec<String>,
    group: String,
    name: String,
    reclaim_after: Duration,
    last_reclaim: Instant,
    /// Entries taken over from other members so far.
    reclaimed: u64,
    /// Entries this member found trimmed before they were read or finished.
    trimmed: u64,
}

impl std::fmt::Debug for RedisConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConsumer")
            .field("topics", &self.topics)
            .field("group", &self.group)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RedisConsumer {
    async fn query(&mut self, cmd: &Request) -> Result<Reply, BusError> {
        self.query_within(cmd, REPLY_TIMEOUT).await
    }

    async fn query_within(&mut self, cmd: &Request, timeout: Duration) -> Result<Reply, BusError> {
        match self.conn.query(cmd, timeout).await {
            Ok(value) => Ok(value),
            // The group is gone: Redis restarted without persistence, or a promoted replica
            // never had it. Create it again (reading from the start of what is there) so the
            // next read works; this one reports the error and is retried by the caller.
            Err(e) if e.code() == Some("NOGROUP") => {
                warn!(group = %self.group, "the consumer group vanished from redis; creating it again");
                for topic in &self.topics {
                    create_group(&mut self.conn, topic, &self.group).await?;
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Takes the deliveries out of entries; entries trimmed away while pending are
    /// acknowledged so they stop being pending (their records are gone).
    async fn keep(&mut self, topic: &str, entries: Vec<Entry>) -> Result<Vec<Delivery>, BusError> {
        let mut out = Vec::with_capacity(entries.len());
        let mut gone = Vec::new();
        for entry in entries {
            let id = entry.id.clone();
            match reply::delivery(topic, entry) {
                Some(d) => out.push(d),
                None => gone.push(id),
            }
        }
        if !gone.is_empty() {
            warn!(
                topic,
                count = gone.len(),
                "pending entries were trimmed before they were processed"
            );
            self.trimmed += gone.len() as u64;
            let mut cmd = Request::new("XACK");
            cmd.arg(topic).arg(&self.group);
            for id in &gone {
                cmd.arg(id);
            }
            self.query(&cmd).await?;
        }
        Ok(out)
    }

    /// This member's own pending entries, left by its previous incarnation.
    async fn own_pending(&mut self, max: usize) -> Result<Vec<Delivery>, BusError> {
        for i in 0..self.topics.len() {
            let Some(after) = self.backlog[i].clone() else {
                continue;
            };
            let topic = self.topics[i].clone();
            let mut cmd = Request::new("XREADGROUP");
            cmd.arg("GROUP").arg(&self.group).arg(&self.name);
            cmd.arg("COUNT")
                .num(max as u64)
                .arg("STREAMS")
                .arg(&topic)
                .arg(&after);
            let value = self.query(&cmd).await?;
            let streams = reply::read_reply(&value).ok_or_else(|| malformed("XREADGROUP"))?;
            let entries: Vec<Entry> = streams.into_iter().flat_map(|(_, e)| e).collect();
            match entries.last() {
                None => self.backlog[i] = None,
                Some(last) => self.backlog[i] = Some(last.id.clone()),
            }
            let out = self.keep(&topic, entries).await?;
            if !out.is_empty() {
                return Ok(out);
            }
        }
        Ok(Vec::new())
    }

    /// Entries other members left pending for longer than `reclaim_after`.
    async fn reclaim(&mut self, max: usize) -> Result<Vec<Delivery>, BusError> {
        if self.last_reclaim.elapsed() < self.reclaim_after / 2 {
            return Ok(Vec::new());
        }
        self.last_reclaim = Instant::now();
        let idle_ms = u64::try_from(self.reclaim_after.as_millis()).unwrap_or(u64::MAX);
        for i in 0..self.topics.len() {
            let topic = self.topics[i].clone();
            let mut cmd = Request::new("XAUTOCLAIM");
            cmd.arg(&topic)
                .arg(&self.group)
                .arg(&self.name)
                .num(idle_ms);
            cmd.arg(&self.claim_cursors[i]).arg("COUNT").num(max as u64);
            let value = self.query(&cmd).await?;
            let (next, entries) =
                reply::autoclaim_reply(&value).ok_or_else(|| malformed("XAUTOCLAIM"))?;
            self.claim_cursors[i] = next;
            let out = self.keep(&topic, entries).await?;
            if !out.is_empty() {
                return Ok(out);
            }
        }
        Ok(Vec::new())
    }

    /// New entries, blocking up to `wait`.
    async fn fresh(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let mut cmd = Request::new("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.name)
            .arg("COUNT")
            .num(max as u64);
        let block = wait.min(MAX_BLOCK);
        if !block.is_zero() {
            cmd.arg("BLOCK")
                .num(u64::try_from(block.as_millis()).unwrap_or(1).max(1));
        }
        cmd.arg("STREAMS");
        for topic in &self.topics {
            cmd.arg(topic);
        }
        for _ in &self.topics {
            cmd.arg(">");
        }
        let value = self.query_within(&cmd, blocking_timeout(block)).await?;
        let streams = reply::read_reply(&value).ok_or_else(|| malformed("XREADGROUP"))?;
        let mut out = Vec::new();
        for (topic, entries) in streams {
            out.extend(self.keep(&topic, entries).await?);
        }
        Ok(out)
    }
}

#[async_trait]
impl LogConsumer for RedisConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let max = max.max(1);
        let own = self.own_pending(max).await?;
        if !own.is_empty() {
            return Ok(own);
        }
        let claimed = self.reclaim(max).await?;
        self.reclaimed += claimed.len() as u64;
        if !claimed.is_empty() {
            return Ok(claimed);
        }
        self.fresh(max, wait).await
    }

    async fn ack(&mut self, deliveries: &[Delivery]) -> Result<(), BusError> {
        for topic in &self.topics.clone() {
            let ids: Vec<&str> = deliveries
                .iter()
                .filter(|d| &d.topic == topic)
                .map(|d| d.cursor.as_str())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let mut cmd = Request::new("XACK");
            cmd.arg(topic).arg(&self.group);
            for id in ids {
                cmd.arg(id);
            }
            self.query(&cmd).await?;
        }
        Ok(())
    }

    async fn backlog(&mut self) -> Result<Backlog, BusError> {
        let mut total = Backlog {
            lag: Some(0),
            pending: Some(0),
            reclaimed: self.reclaimed,
            trimmed: 0,
        };
        for topic in &self.topics.clone() {
            let mut cmd = Request::new("XINFO");
            cmd.arg("GROUPS").arg(topic);
            let groups = self.query(&cmd).await?;
            let group = reply::group_info(&groups, &self.group).unwrap_or_default();
            let mut cmd = Request::new("XINFO");
            cmd.arg("STREAM").arg(topic);
            let stream = reply::stream_info(&self.query(&cmd).await?);
            let never_read = stream
                .as_ref()
                .and_then(|stream| trimmed::never_read(stream, &group));
            let raised = self
                .query(&trimmed::raise(topic, &self.group, never_read))
                .await?;
            let (rose, count) = match &raised {
                Reply::Array(pair) => match pair.as_slice() {
                    [Reply::Int(rose), Reply::Int(count)] => (
                        u64::try_from(*rose).unwrap_or(0),
                        u64::try_from(*count).unwrap_or(0),
                    ),
                    _ => return Err(malformed("EVAL")),
                },
                _ => return Err(malformed("EVAL")),
            };
            self.trimmed += rose;
            // Redis keeps trimmed entries in the group's lag; they will never be read.
            let lag = group.lag.map(|lag| lag.saturating_sub(count));
            total.lag = total.lag.zip(lag).map(|(a, b)| a + b);
            total.pending = total.pending.zip(group.pending).map(|(a, b)| a + b);
        }
        total.trimmed = self.trimmed;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_names_are_printable_ascii_without_spaces() {
        assert_eq!(
            super::client_name("bridge", "pod 7\nβ"),
            "tickmesh-consumer:bridge:pod_7__"
        );
    }
}
