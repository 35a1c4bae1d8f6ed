//! Producing a batch with one completion for all of its records.
//!
//! rdkafka's `FutureProducer` gives every record a boxed oneshot channel and a future of its
//! own, and `append` joined a thousand of them per batch: in `perf` of the bridge under
//! `tickmesh bench`, the send future, `FuturesUnordered`, `join_all` and `MaybeDone` were a
//! visible share of its CPU (docs/benchmarks.md). Here every record of a batch carries the same
//! [`BatchDelivery`] (an `Arc` clone) as its delivery opaque; librdkafka's delivery report
//! (on the producer's polling thread) counts it down and keeps the first error, and the last
//! report wakes the batch's one waiter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext};
use tickmesh_bus::Record;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::polled::PolledProducer;

/// The outcome of one batch: records not yet reported, and the first failure.
#[derive(Debug)]
pub(crate) struct BatchDelivery {
    /// Records enqueued and not yet reported, plus one while the sender is still enqueueing
    /// (so the count cannot reach zero before the last record is in).
    pending: AtomicUsize,
    first_error: Mutex<Option<KafkaError>>,
    done: Notify,
}

impl BatchDelivery {
    fn new() -> Arc<BatchDelivery> {
        Arc::new(BatchDelivery {
            pending: AtomicUsize::new(1),
            first_error: Mutex::new(None),
            done: Notify::new(),
        })
    }

    /// Keeps the first error, or the first that names a record (a refusal wins over an
    /// outage: it says which records can never be written).
    fn fail(&self, error: KafkaError) {
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let replace = match first.as_ref() {
            None => true,
            Some(kept) => !refuses_record(kept) && refuses_record(&error),
        };
        if replace {
            *first = Some(error);
        }
    }

    /// One record (or the sender's own hold) is settled; the last one wakes the waiter.
    fn settle_one(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // `notify_one` keeps a permit when nobody waits yet, so the wake-up is not lost.
            self.done.notify_one();
        }
    }
}

/// Whether `error` says a record can never be written, whatever the broker's state: too
/// large, corrupt, or with a timestamp the topic refuses. Everything else (timeouts, leaders
/// moving, brokers down, a full queue, authorization) may pass later, or is the cluster's
/// problem rather than the record's.
pub(crate) fn refuses_record(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidTimestamp
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

/// Routes librdkafka's delivery reports to their batch (on the polling thread of
/// [`PolledProducer`]).
#[derive(Debug, Default)]
pub(crate) struct BatchContext;

impl ClientContext for BatchContext {}

impl ProducerContext for BatchContext {
    type DeliveryOpaque = Arc<BatchDelivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Arc<BatchDelivery>) {
        if let Err((error, _)) = result {
            batch.fail(error.clone());
        }
        batch.settle_one();
    }
}

/// Enqueues every record for `topic` and waits until librdkafka reported each one: `Ok` when
/// all were acknowledged, otherwise the first error. A full local queue is waited out, in
/// steps of `QUEUE_FULL_PAUSE`, for at most `queue_timeout` in all.
pub(crate) async fn produce_batch(
    producer: &PolledProducer,
    topic: &str,
    records: &[&Record],
    queue_timeout: Duration,
) -> Result<(), KafkaError> {
    const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);
    let batch = BatchDelivery::new();
    let give_up_at = Instant::now() + queue_timeout;
    let mut refused = None;
    'records: for &record in records {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (name, value) in &record.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_ref()),
            });
        }
        let mut message = BaseRecord::with_opaque_to(topic, Arc::clone(&batch))
            .key(record.key.as_bytes())
            .payload(record.payload.as_ref())
            .headers(headers);
        batch.pending.fetch_add(1, Ordering::AcqRel);
        loop {
            match producer.producer().send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < give_up_at =>
                {
                    message = back;
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((error, _)) => {
                    // Never enqueued, so no report will come for it.
                    batch.pending.fetch_sub(1, Ordering::AcqRel);
                    refused = Some(error);
                    break 'records;
                }
            }
        }
    }
    batch.settle_one();
    batch.done.notified().await;
    if let Some(error) = refused {
        batch.fail(error);
    }
    match batch
        .first_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::ClientConfig;

    use super::*;

    fn producer(settings: &[(&str, &str)]) -> PolledProducer {
        let mut config = ClientConfig::new();
        // Nothing listens on port 1: no record can be delivered.
        config.set("bootstrap.servers", "127.0.0.1:1");
        for (k, v) in settings {
            config.set(*k, *v);
        }
        PolledProducer::new(&config).unwrap()
    }

    fn records(n: usize, size: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record::new(format!("upbit:BTC/KRW:{i}"), vec![b'x'; size]))
            .collect()
    }

    #[tokio::test]
    async fn an_empty_batch_is_done_at_once() {
        let producer = producer(&[]);
        produce_batch(&producer, "t", &[], Duration::from_secs(1))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn undeliverable_records_fail_the_batch_once_all_are_reported() {
        let producer = producer(&[("message.timeout.ms", "200")]);
        let records = records(50, 10);
        let refs: Vec<&Record> = records.iter().collect();
        let error = produce_batch(&producer, "t", &refs, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
        );
    }

    #[tokio::test]
    async fn a_record_librdkafka_refuses_fails_the_batch_after_the_others_are_reported() {
        let producer = producer(&[("message.max.bytes", "1000"), ("message.timeout.ms", "200")]);
        let mut batch = records(3, 10);
        batch.push(Record::new("upbit:BTC/KRW", vec![b'x'; 5_000]));
        let refs: Vec<&Record> = batch.iter().collect();
        let error = produce_batch(&producer, "t", &refs, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)
        );
    }
}
