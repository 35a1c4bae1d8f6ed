//! A consumer group member with manual, synchronous commits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use futures::FutureExt as _;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers as _, Message as _};
use rdkafka::{Offset, TopicPartitionList};
use tickmesh_bus::{BusError, Cursor, Delivery, LogConsumer, Record};

use crate::{BACKEND, KafkaConfig, unavailable};

pub(crate) struct KafkaConsumer {
    /// Shared with the blocking commit task.
    inner: Arc<StreamConsumer>,
}

impl std::fmt::Debug for KafkaConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConsumer").finish_non_exhaustive()
    }
}

impl KafkaConsumer {
    pub(crate) fn join(
        config: &KafkaConfig,
        topics: &[&str],
        group: &str,
        name: &str,
    ) -> Result<KafkaConsumer, BusError> {
        let mut client = config.client();
        client
            .set("group.id", group)
            .set("client.id", name)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // The test broker makes a first join take about 23 s with the default
            // (docs/architecture.md).
            .set(
                "session.timeout.ms",
                config.session_timeout.as_millis().to_string(),
            )
            // Prefetch at most 8 MiB of payload (librdkafka's default is 64 MiB): over half a
            // second of events at 50,000 a second.
            .set("queued.max.messages.kbytes", "8192")
            // ... and at most 4 MiB per fetch response (librdkafka's default is 50 MiB, read
            // into one buffer). The response, not the prefetch bound, is what a consumer that
            // fell behind holds: with `queued.min.messages` below, the next fetch goes out once
            // the queue is almost empty and brings a whole response at once, and librdkafka
            // keeps about 300 bytes of its own per record beside the decompressed payload. A
            // heap profile of storage behind at 70,000 events/s found over four fifths of its
            // memory there, 80 to 108 MiB in all. With 1 MiB responses it held 50 to 58 MiB,
            // but at 70,000 events/s it then stored only 0.7 to 0.85 as many events a second,
            // waiting for fetches (docs/benchmarks.md). Throughput wins by default;
            // `bus.kafka_options` can set 1 MiB where memory is tighter (docs/operations.md).
            .set("fetch.max.bytes", "4194304")
            // How long the broker may hold a fetch it has nothing for (librdkafka's default is
            // 500 ms). The test broker holds fetches for the whole wait, and now and then it
            // holds one while records wait: with 100 ms, storage under the heaviest load
            // spent a large part of its time in such waits and fell behind. With 20 ms it
            // keeps up, and at ordinary rates events reach the database sooner, for a little
            // more broker CPU (docs/benchmarks.md). Empty fetches of an idle consumer are then
            // 50 a second, which no broker notices.
            .set("fetch.wait.max.ms", "20")
            // Once a partition has 100 records waiting here, wait 50 ms before fetching it
            // again (librdkafka's defaults: 100,000 records, 1 s). Otherwise every fetch
            // returns the few records that arrived since the last one and the next goes out at
            // once: hundreds of fetches a second, which the test broker answers by scanning its
            // store. Under `tickmesh bench` waiting cut the broker's CPU, and with it the live
            // path's latency (it shares the cores), for slightly more time from frame to
            // database row (docs/benchmarks.md). Throughput is not capped: the fetch after the
            // wait takes everything that arrived meanwhile, up to the fetch size limits (1 MiB
            // per partition by default, 20 MiB a second each at this cadence).
            .set("queued.min.messages", "100")
            .set("fetch.queue.backoff.ms", "50");
        for (k, v) in &config.extra {
            client.set(k, v.expose());
        }
        let consumer: StreamConsumer = client.create().map_err(unavailable)?;
        consumer.subscribe(topics).map_err(unavailable)?;
        Ok(KafkaConsumer {
            inner: Arc::new(consumer),
        })
    }
}

/// The delivery of `message`. The payload and the header values are copied out of
/// librdkafka's buffer into one allocation and shared from there (a `Bytes` slice each),
/// instead of one allocation apiece: storage reads tens of thousands of records a second.
fn delivery(message: &BorrowedMessage<'_>) -> Delivery {
    let payload = message.payload().unwrap_or_default();
    let headers = message.headers();
    let values = headers.map_or(0, |h| {
        h.iter()
            .map(|h| h.value.map_or(0, <[u8]>::len))
            .sum::<usize>()
    });
    let mut buf = BytesMut::with_capacity(payload.len() + values);
    buf.extend_from_slice(payload);
    for header in headers.iter().flat_map(|h| h.iter()) {
        buf.extend_from_slice(header.value.unwrap_or_default());
    }
    let buf = buf.freeze();
    let mut record = Record::new(
        String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
        buf.slice(..payload.len()),
    );
    if let Some(headers) = headers {
        record.headers.reserve_exact(headers.count());
        let mut at = payload.len();
        for header in headers.iter() {
            let end = at + header.value.map_or(0, <[u8]>::len);
            record
                .headers
                .push((header.key.to_owned(), buf.slice(at..end)));
            at = end;
        }
    }
    Delivery {
        topic: message.topic().to_owned(),
        cursor: cursor(message.partition(), message.offset()),
        record,
    }
}

/// `partition:offset`, the text [`position`] reads back.
fn cursor(partition: i32, offset: i64) -> Cursor {
    let mut text = String::with_capacity(32);
    text.push_str(itoa::Buffer::new().format(partition));
    text.push(':');
    text.push_str(itoa::Buffer::new().format(offset));
    Cursor::new(text)
}

fn position(delivery: &Delivery) -> Result<(i32, i64), BusError> {
    delivery
        .cursor
        .as_str()
        .split_once(':')
        .and_then(|(p, o)| Some((p.parse().ok()?, o.parse().ok()?)))
        .ok_or_else(|| BusError::Rejected {
            backend: BACKEND,
            reason: format!("`{}` is not a kafka cursor", delivery.cursor),
        })
}

#[async_trait]
impl LogConsumer for KafkaConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let mut out = Vec::new();
        match tokio::time::timeout(wait, self.inner.recv()).await {
            Err(_) => return Ok(out),
            Ok(message) => out.push(delivery(&message.map_err(unavailable)?)),
        }
        // Take what is already fetched, without waiting for more.
        while out.len() < max {
            match self.inner.recv().now_or_never() {
                Some(message) => out.push(delivery(&message.map_err(unavailable)?)),
                None => break,
            }
        }
        Ok(out)
    }

    async fn ack(&mut self, deliveries: &[Delivery]) -> Result<(), BusError> {
        let mut next: HashMap<(String, i32), i64> = HashMap::new();
        for d in deliveries {
            let (partition, offset) = position(d)?;
            let slot = next.entry((d.topic.clone(), partition)).or_insert(0);
            *slot = (*slot).max(offset + 1);
        }
        if next.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            list.add_partition_offset(&topic, partition, Offset::Offset(offset))
                .map_err(unavailable)?;
        }
        // A synchronous commit blocks its thread until the broker answered.
        let consumer = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
            .await
            .map_err(|e| unavailable(format!("commit task failed: {e}")))?
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cursors_read_back_as_their_partition_and_offset() {
        for (partition, offset) in [(0, 0), (2, 12_345), (i32::MAX, i64::MAX)] {
            let delivery = Delivery {
                topic: "t".to_owned(),
                cursor: cursor(partition, offset),
                record: Record::default(),
            };
            assert_eq!(delivery.cursor.as_str(), format!("{partition}:{offset}"));
            assert_eq!(position(&delivery).unwrap(), (partition, offset));
        }
    }
}
