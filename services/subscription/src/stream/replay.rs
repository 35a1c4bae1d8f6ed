//! Replaying history to a stream client that resumes: the durable stream from a position,
//! reaching into the [`EventArchive`] for what the stream no longer holds.
//!
//! A replay reads the stream in pages after the client's position. Where a page says the
//! stream dropped entries after that position, the dropped stretch is read from the archive
//! first (trades and tickers, by position), and whatever the archive cannot cover is
//! announced as [`ReplayItem::NotRetained`] before anything after it. Each client's replay is
//! paced to [`ReplayConfig::rate`] and at most [`ReplayConfig::concurrent`] replays read at
//! once, so clients catching up never starve the live ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tickmesh_bus::{BusError, Position, StreamHistory};
use tickmesh_domain::{MarketEvent, UtcMicros};
use tickmesh_proto::codec::decode_shared;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::archive::{ArchiveError, ArchiveQuery, EventArchive, archived};
use super::filter::TickFilter;

/// The longest a replay waits for the archive to hold a stretch the stream dropped.
const ARCHIVE_WAIT: Duration = Duration::from_secs(5);

/// How replays are read and paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayConfig {
    /// Events read per page, from the stream or the archive.
    pub page: usize,
    /// The most events per second one client is replayed.
    pub rate: u32,
    /// Replays reading at once; more wait for a turn.
    pub concurrent: usize,
    /// How far before a `start_time` the stream is read: an event is published after the
    /// exchange says it happened, unless the exchange's clock runs ahead of ours by more.
    pub clock_skew: Duration,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            page: 1_000,
            rate: 50_000,
            concurrent: 16,
            clock_skew: Duration::from_secs(300),
        }
    }
}

/// Where a replay starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayFrom {
    /// Every event after this position.
    After(Position),
    /// Every event whose exchange time is at or after this.
    Since(UtcMicros),
}

/// One replayed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayItem {
    /// An event at its position.
    Event(Position, Box<MarketEvent>),
    /// Events after `after` and before `before` may exist that neither the stream nor the
    /// archive holds any more.
    NotRetained {
        /// The last position covered before the stretch.
        after: Position,
        /// The first position covered after it.
        before: Position,
    },
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The stream could not be read.
    #[error("reading the stream back failed")]
    Stream(#[from] BusError),
    /// The archive could not be read.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// What replays read from: the stream, and the archive behind it.
#[derive(Debug, Clone)]
pub struct Replayer {
    history: Arc<dyn StreamHistory>,
    stream: String,
    archive: Option<Arc<dyn EventArchive>>,
    config: ReplayConfig,
    turns: Arc<Semaphore>,
    counts: Arc<Counts>,
}

/// Events replayed so far, for metrics.
#[derive(Debug, Default)]
struct Counts {
    stream: AtomicU64,
    archive: AtomicU64,
}

/// What replays have done, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Replays reading history now.
    pub active: usize,
    /// Events replayed from the stream so far.
    pub from_stream: u64,
    /// Events replayed from the archive so far.
    pub from_archive: u64,
}

impl Replayer {
    /// Counters so far.
    pub fn stats(&self) -> ReplayStats {
        ReplayStats {
            active: self
                .config
                .concurrent
                .max(1)
                .saturating_sub(self.turns.available_permits()),
            from_stream: self.counts.stream.load(Ordering::Relaxed),
            from_archive: self.counts.archive.load(Ordering::Relaxed),
        }
    }

    /// Replays of `stream` through `history`, and `archive` for what the stream dropped.
    pub fn new(
        history: Arc<dyn StreamHistory>,
        stream: impl Into<String>,
        archive: Option<Arc<dyn EventArchive>>,
        config: ReplayConfig,
    ) -> Replayer {
        Replayer {
            history,
            stream: stream.into(),
            archive,
            turns: Arc::new(Semaphore::new(config.concurrent.max(1))),
            counts: Arc::default(),
            config,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &ReplayConfig {
        &self.config
    }

    /// A replay of what `filter` matches from `from`; it reads nothing until asked.
    pub fn replay(&self, filter: TickFilter, from: ReplayFrom) -> Replay {
        let (after, since) = match from {
            ReplayFrom::After(position) => (position, None),
            ReplayFrom::Since(time) => {
                let skew = i64::try_from(self.config.clock_skew.as_millis()).unwrap_or(i64::MAX);
                let ms = time.as_millis().saturating_sub(skew).max(0);
                (Position::at_ms(u64::try_from(ms).unwrap_or(0)), Some(time))
            }
        };
        Replay {
            source: self.clone(),
            filter,
            since,
            after,
            archive_through: None,
            turn: None,
        }
    }
}

/// One client's replay: pages of items after its position, as far as the stream reaches.
#[derive(Debug)]
pub struct Replay {
    source: Replayer,
    filter: TickFilter,
    since: Option<UtcMicros>,
    /// Everything up to here has been read (matching or not).
    after: Position,
    /// The end of a stretch the stream dropped, while it is being read from the archive.
    archive_through: Option<Position>,
    turn: Option<OwnedSemaphorePermit>,
}

/// One page of a replay.
#[derive(Debug, Default)]
pub struct ReplayPage {
    /// The items, in position order.
    pub items: Vec<ReplayItem>,
    /// Whether the page reached the end of the stream as it was when read.
    pub caught_up: bool,
    /// Entries read for it, matching or not: what pacing counts.
    pub read: usize,
}

impl Replay {
    /// The position everything up to which has been read.
    pub fn read_through(&self) -> Position {
        self.after
    }

    /// The next page: the archive's part of a stretch the stream dropped, one page at a
    /// time, or else the stream's next entries. Waits for a replay turn first, and keeps it
    /// until [`Replay::finish`].
    pub async fn next_page(&mut self) -> Result<ReplayPage, ReplayError> {
        if self.turn.is_none() {
            let turns = Arc::clone(&self.source.turns);
            // The semaphore is never closed, so acquiring only fails if it were.
            self.turn = turns.acquire_owned().await.ok();
        }
        let max = self.source.config.page.max(1);
        if let Some(through) = self.archive_through {
            return self.archive_page(through, max).await;
        }
        let page = self
            .source
            .history
            .read_after(&self.source.stream, self.after, max)
            .await?;
        if let Some(trimmed) = page.trimmed_through.filter(|t| *t > self.after) {
            // The stream dropped entries after the position: that stretch comes first, from
            // the archive, and the page is read again after it.
            self.await_archive(trimmed).await?;
            let items = self.unretained(trimmed).await?.into_iter().collect();
            self.archive_through = Some(trimmed);
            return Ok(ReplayPage {
                items,
                caught_up: false,
                read: 0,
            });
        }
        let caught_up = page.entries.len() < max;
        let read = page.entries.len();
        let mut items = Vec::new();
        for (position, record) in page.entries {
            if position <= self.after {
                continue;
            }
            self.after = position;
            let Ok(event) = decode_shared(&record.payload) else {
                // Not a market event: the live path skips it too (and counts it there).
                continue;
            };
            if self.wanted(&event) {
                items.push(ReplayItem::Event(position, Box::new(event)));
            }
        }
        let replayed = items.len() as u64;
        self.source
            .counts
            .stream
            .fetch_add(replayed, Ordering::Relaxed);
        Ok(ReplayPage {
            items,
            caught_up,
            read,
        })
    }

    /// Gives the replay turn back (the client goes on live).
    pub fn finish(&mut self) {
        self.turn = None;
    }

    fn wanted(&self, event: &MarketEvent) -> bool {
        self.filter.matches(event) && self.since.is_none_or(|t| event.exchange_time >= t)
    }

    /// Waits (up to [`ARCHIVE_WAIT`]) until the archive's writer has come to `trimmed`, so
    /// the stretch read from it is complete: storage writes a little behind the stream. It
    /// goes on after the wait regardless (storage down: what it has is replayed).
    async fn await_archive(&self, trimmed: Position) -> Result<(), ReplayError> {
        let Some(archive) = &self.source.archive else {
            return Ok(());
        };
        let target = trimmed;
        let deadline = tokio::time::Instant::now() + ARCHIVE_WAIT;
        while archive.stored_through().await?.is_none_or(|s| s < target)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// The [`ReplayItem::NotRetained`] for the part of the stretch after `self.after`
    /// through `through` that the archive cannot cover: what its retention dropped, or all of
    /// it when order books are wanted (they are not archived) or there is no archive.
    async fn unretained(&self, through: Position) -> Result<Option<ReplayItem>, ReplayError> {
        let after = self.after;
        let gone = |before: Position| Some(ReplayItem::NotRetained { after, before });
        let Some(archive) = &self.source.archive else {
            return Ok(gone(through.next()));
        };
        let wants_unarchived = tickmesh_domain::EventKind::ALL
            .into_iter()
            .any(|k| self.filter.wants_kind(k) && !archived(k));
        if wants_unarchived {
            return Ok(gone(through.next()));
        }
        Ok(match archive.dropped_through().await? {
            Some(dropped) if dropped > after => gone(dropped.min(through).next()),
            _ => None,
        })
    }

    /// One page of the archive's events after `self.after` through `through`; the stretch
    /// is done when a page comes back short.
    async fn archive_page(
        &mut self,
        through: Position,
        max: usize,
    ) -> Result<ReplayPage, ReplayError> {
        let mut items = Vec::new();
        let mut read = 0;
        if let Some(archive) = &self.source.archive {
            let query = ArchiveQuery {
                filter: self.filter.clone(),
                after: self.after,
                through,
                since: self.since,
                limit: max,
            };
            let events = archive.events(&query).await?;
            read = events.len();
            self.source
                .counts
                .archive
                .fetch_add(read as u64, Ordering::Relaxed);
            if events.len() >= max
                && let Some((last, _)) = events.last()
            {
                self.after = *last;
                items.extend(
                    events
                        .into_iter()
                        .map(|(p, e)| ReplayItem::Event(p, Box::new(e))),
                );
                return Ok(ReplayPage {
                    items,
                    caught_up: false,
                    read,
                });
            }
            items.extend(
                events
                    .into_iter()
                    .map(|(p, e)| ReplayItem::Event(p, Box::new(e))),
            );
        }
        self.after = through;
        self.archive_through = None;
        Ok(ReplayPage {
            items,
            caught_up: false,
            read,
        })
    }
}
