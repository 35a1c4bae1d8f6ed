//! The steps of one batch: read it (poll, then linger), prepare it, write it (splitting
//! around records at fault), and dead-letter what can never be written.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::Ordering;

use tracing::{error, warn};

use super::retry::Backoff;
use super::{Batch, Next, Pump, PumpStop, Stage, dead};
use crate::error::chain;
use crate::{BusError, Delivery, LogConsumer, Record};

/// A contiguous part of a batch's items, with its failures so far.
#[derive(Debug)]
struct Part {
    range: Range<usize>,
    failures: u32,
    /// The pump's count of successful writes when this part last failed (or, before its first
    /// failure, when it was split off): a success counted after it shows the destination
    /// working since.
    progress_at_failure: u64,
    /// Written ahead of a stuck part to see whether the destination works at all.
    probe: bool,
}

impl Part {
    fn new(range: Range<usize>, progress: u64) -> Part {
        Part {
            range,
            failures: 0,
            progress_at_failure: progress,
            probe: false,
        }
    }

    /// The two halves.
    fn halves(&self, progress: u64) -> [Part; 2] {
        let mid = self.range.start + self.range.len() / 2;
        [self.range.start..mid, mid..self.range.end].map(|range| Part::new(range, progress))
    }
}

/// What to do with a part whose write failed.
enum Then {
    /// Try it again after a pause.
    Retry,
    /// Write the part behind it first, to see whether the destination works at all.
    Probe,
    /// Write its halves instead, in order, at once.
    Split,
    /// Dead-letter its one record with this reason.
    DeadLetter(String),
}

impl<S: Stage> Pump<S> {
    /// The next batch, prepared, with its rejects dead-lettered.
    pub(super) async fn next(
        &self,
        consumer: &mut dyn LogConsumer,
        stop: &PumpStop,
    ) -> Result<Next<S::Item>, BusError> {
        let Some(mut deliveries) = self.fetch(consumer, stop).await? else {
            return Ok(Next::Stop);
        };
        if deliveries.is_empty() {
            return Ok(if stop.when_drained.is_cancelled() {
                Next::Stop
            } else {
                Next::Empty
            });
        }
        self.events.read(deliveries.len());
        let mut prepared = self.stage.prepare(&mut deliveries);
        let rejects = std::mem::take(&mut prepared.rejects);
        if !rejects.is_empty() {
            let letters: Vec<Record> = rejects
                .iter()
                .filter_map(|(i, reason)| {
                    let delivery = deliveries.get(*i)?;
                    warn!(topic = %delivery.topic, cursor = %delivery.cursor, %reason, "dead-lettering a record");
                    Some(dead::letter(&delivery.record, delivery, reason))
                })
                .collect();
            if !self.send_dead(letters, stop).await {
                return Ok(Next::Stop);
            }
        }
        Ok(Next::Batch(Batch {
            deliveries,
            prepared,
        }))
    }

    /// A poll, then more polls until `batch_max` or `linger`. Empty when nothing came within
    /// `poll_wait`; `None` when stopped.
    async fn fetch(
        &self,
        consumer: &mut dyn LogConsumer,
        stop: &PumpStop,
    ) -> Result<Option<Vec<Delivery>>, BusError> {
        let config = &self.config;
        let mut backoff = Backoff::new(config.retry);
        let mut batch = loop {
            let polled = tokio::select! {
                () = stop.now.cancelled() => return Ok(None),
                polled = consumer.poll(config.batch_max, config.poll_wait) => polled,
            };
            match polled {
                Ok(batch) => break batch,
                Err(e) if e.is_retryable() => {
                    self.events.source_failed(&e);
                    warn!(error = %chain(&e), "polling failed; retrying");
                    if !backoff.pause(&stop.now).await {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        };
        if batch.is_empty() || config.linger.is_zero() {
            return Ok(Some(batch));
        }
        let until = tokio::time::Instant::now() + config.linger;
        while batch.len() < config.batch_max {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            // A failed poll ends the wait early: what is in hand is written (a Kafka consumer
            // would not deliver it again before a restart), and the next poll meets the
            // failure and backs off.
            match consumer.poll(config.batch_max - batch.len(), left).await {
                Ok(more) => batch.extend(more),
                Err(e) => {
                    self.events.source_failed(&e);
                    warn!(error = %chain(&e), "polling while gathering a batch failed; writing what is in hand");
                    break;
                }
            }
        }
        Ok(Some(batch))
    }

    /// Writes every item of a batch, or dead-letters it. `false` when stopped first.
    pub(super) async fn write_batch(
        &self,
        deliveries: &[Delivery],
        prepared: super::Prepared<S::Item>,
        stop: &PumpStop,
    ) -> bool {
        let super::Prepared { items, origins, .. } = prepared;
        if items.is_empty() {
            return true;
        }
        let mut queue = VecDeque::from([Part::new(0..items.len(), 0)]);
        let mut backoff = Backoff::new(self.config.retry);
        while let Some(mut part) = queue.pop_front() {
            let slice = &items[part.range.clone()];
            let error = match self.stage.write(slice).await {
                Ok(()) => {
                    self.stage.written(slice);
                    self.progress.fetch_add(1, Ordering::Relaxed);
                    backoff = Backoff::new(self.config.retry);
                    continue;
                }
                Err(e) => e,
            };
            self.events.write_failed(&error);
            let progress = self.progress.load(Ordering::Relaxed);
            let reason = error.reason();
            if part.probe && error.is_retryable() {
                // The destination fails for the part behind the stuck one too: an outage.
                // Back in order behind it, after a pause.
                part.probe = false;
                part.progress_at_failure = progress;
                let at = usize::from(!queue.is_empty());
                queue.insert(at, part);
                if !backoff.pause(&stop.now).await {
                    return false;
                }
                continue;
            }
            part.probe = false;
            part.failures += 1;
            let then = self.then(&part, &error, progress, queue.is_empty());
            part.progress_at_failure = progress;
            match then {
                Then::Split => {
                    warn!(records = part.range.len(), error = %reason, "a write keeps failing; splitting it to find the records at fault");
                    let [first, second] = part.halves(progress);
                    queue.push_front(second);
                    queue.push_front(first);
                }
                Then::DeadLetter(why) => {
                    let index = part.range.start;
                    let (Some(item), Some(delivery)) = (
                        items.get(index),
                        origins.get(index).and_then(|&o| deliveries.get(o)),
                    ) else {
                        continue;
                    };
                    warn!(topic = %delivery.topic, cursor = %delivery.cursor, reason = %why, "dead-lettering a record that can never be written");
                    let letter =
                        dead::letter(self.stage.dead_record(item, delivery), delivery, &why);
                    if !self.send_dead(vec![letter], stop).await {
                        return false;
                    }
                }
                Then::Probe => {
                    if let Some(mut next) = queue.pop_front() {
                        next.probe = true;
                        queue.push_front(part);
                        queue.push_front(next);
                    }
                }
                Then::Retry => {
                    warn!(records = part.range.len(), attempt = part.failures, error = %reason, "write failed; retrying");
                    if !backoff.pause(&stop.now).await {
                        return false;
                    }
                    queue.push_front(part);
                }
            }
        }
        true
    }

    /// Decides what a failed write of `part` leads to. `progress` is the count of successful
    /// writes now; `last` says no other part waits behind this one.
    ///
    /// Splitting keeps the order of the records; only a probe writes a later part before an
    /// earlier one, and only while one record keeps failing and the others might not.
    fn then(&self, part: &Part, error: &super::WriteError, progress: u64, last: bool) -> Then {
        let alone = part.range.len() == 1;
        if !error.is_retryable() {
            return if alone {
                Then::DeadLetter(error.reason())
            } else {
                Then::Split
            };
        }
        if part.failures < self.config.split_after {
            return Then::Retry;
        }
        if !alone {
            return Then::Split;
        }
        // One record that keeps failing. Only a write that succeeded after its previous
        // failure shows the destination working and the record at fault; the part behind it
        // is written first to find out. Without such a success it is an outage, retried
        // until it ends.
        if progress > part.progress_at_failure {
            Then::DeadLetter(format!(
                "failed {} times while the destination accepted other writes; last error: {}",
                part.failures,
                error.reason()
            ))
        } else if last {
            Then::Retry
        } else {
            Then::Probe
        }
    }

    /// Appends dead letters until the dead-letter topic took them. `false` when stopped first.
    pub(super) async fn send_dead(&self, letters: Vec<Record>, stop: &PumpStop) -> bool {
        let topic = &self.config.dead_letter_topic;
        let mut pending = VecDeque::from([letters]);
        let mut backoff = Backoff::new(self.config.retry);
        while let Some(letters) = pending.pop_front() {
            match self.dead_letters.append(topic, &letters).await {
                Ok(()) => self.events.dead_lettered(letters.len()),
                Err(BusError::Rejected { reason, .. }) if letters.len() > 1 => {
                    warn!(topic, %reason, "the dead-letter topic refused a batch; sending its records one by one");
                    for letter in letters.into_iter().rev() {
                        pending.push_front(vec![letter]);
                    }
                }
                Err(BusError::Rejected { reason, .. }) => {
                    let Some(letter) = letters.first() else {
                        continue;
                    };
                    if letter.header(dead::PAYLOAD_DROPPED).is_some() {
                        // Cannot happen with a topic that takes small records: said loudly
                        // rather than retried forever.
                        error!(topic, %reason, key = %letter.key.escape_debug(), "the dead-letter topic refused a record even without its payload; it is acknowledged without a dead letter");
                        continue;
                    }
                    warn!(topic, %reason, bytes = letter.payload.len(), "the dead-letter topic refused a record; sending it without its payload");
                    pending.push_front(vec![dead::strip(letter)]);
                }
                Err(e) => {
                    self.events.source_failed(&e);
                    warn!(topic, error = %chain(&e), "dead-letter append failed; retrying");
                    if !backoff.pause(&stop.now).await {
                        return false;
                    }
                    pending.push_front(letters);
                }
            }
        }
        true
    }
}
