//! One `StreamTicks` client from where it asked to start to live, with a cursor on every
//! item.
//!
//! A client that resumes first reads a [`Replay`] page by page, paced to its rate. Once a
//! page reaches the end of the stream, the client joins the [`TickHub`], and the stream is
//! read once more after that: whatever was appended before the hub subscription is in that
//! read, whatever after it arrives live. Live events at or before the last position read
//! (the seam) are the read's own and are skipped, so nothing is missed and nothing comes
//! twice. This holds because every live message carries the position the stream gave its
//! event ([`tickmesh_bus::position`]).
//!
//! A lagged marker names the cursors on both sides of what was dropped (the far side when the
//! next event is already waiting, as it is when a full buffer dropped events): a client can
//! fetch exactly that stretch on another stream.

use std::collections::VecDeque;
use std::sync::Arc;

use tickmesh_bus::Position;
use tickmesh_domain::{FeedGap, MarketEvent};
use tokio::time::Instant;

use super::filter::TickFilter;
use super::hub::{HubError, TickEvent, TickHub, TickItem, TickStream};
use super::replay::{Replay, ReplayError, ReplayItem};

/// What a client reads, with what it needs for its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionItem {
    /// A live event, shared with the other clients.
    Live(Arc<TickEvent>),
    /// An event read back from history.
    Replayed(Position, Box<MarketEvent>),
    /// This many events were dropped between the two positions (`None` where unknown).
    Lagged {
        /// How many.
        missed: u64,
        /// The last position before them.
        after: Option<Position>,
        /// The position of the next event delivered.
        before: Option<Position>,
    },
    /// A feed outage ingestion reported.
    Gap(Arc<FeedGap>),
    /// A stretch of history that is no longer retained.
    NotRetained {
        /// The last position before it.
        after: Position,
        /// The first position after it.
        before: Position,
    },
}

impl SessionItem {
    /// The position of an event item.
    pub fn position(&self) -> Option<Position> {
        match self {
            SessionItem::Live(event) => event.position,
            SessionItem::Replayed(position, _) => Some(*position),
            _ => None,
        }
    }
}

/// Why a client's stream ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The replay could not read history.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The hub would not take the client.
    #[error(transparent)]
    Hub(#[from] HubError),
}

enum Phase {
    Replaying {
        replay: Box<Replay>,
        /// Joined once the replay first caught up; the next caught-up page is the seam.
        joined: Option<TickStream>,
    },
    Live {
        ticks: TickStream,
        /// Live events at or before this were read from history.
        seam: Option<Position>,
        /// Events dropped and not yet reported, waiting for the next event's position.
        lagged: u64,
    },
}

/// One client's items, in order, each ready to be given its cursor.
pub struct Session {
    phase: Phase,
    hub: TickHub,
    filter: TickFilter,
    capacity: usize,
    queue: VecDeque<SessionItem>,
    /// The cursor of the last item handed out: everything up to it has been seen.
    cursor: Option<Position>,
    pacing: Pacing,
    /// Where the replay ended, applied to the cursor once the replayed items are out.
    seam: Option<Position>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A live-only client.
    pub async fn live(
        hub: &TickHub,
        filter: TickFilter,
        capacity: usize,
    ) -> Result<Session, HubError> {
        let ticks = hub.subscribe(filter.clone(), capacity).await?;
        Ok(Session::with_phase(
            hub,
            filter,
            capacity,
            Phase::Live {
                ticks,
                seam: None,
                lagged: 0,
            },
            0,
            None,
        ))
    }

    /// A client that replays `replay` (reading at most `rate` entries a second), then goes
    /// live.
    pub fn resume(
        hub: &TickHub,
        filter: TickFilter,
        capacity: usize,
        replay: Replay,
        rate: u32,
    ) -> Session {
        let cursor = Some(replay.read_through()).filter(|p| *p != Position::ZERO);
        Session::with_phase(
            hub,
            filter,
            capacity,
            Phase::Replaying {
                replay: Box::new(replay),
                joined: None,
            },
            rate,
            cursor,
        )
    }

    fn with_phase(
        hub: &TickHub,
        filter: TickFilter,
        capacity: usize,
        phase: Phase,
        rate: u32,
        cursor: Option<Position>,
    ) -> Session {
        Session {
            phase,
            hub: hub.clone(),
            filter,
            capacity,
            queue: VecDeque::new(),
            cursor,
            pacing: Pacing::new(rate),
            seam: None,
        }
    }

    /// The cursor of the last item handed out.
    pub fn cursor(&self) -> Option<Position> {
        self.cursor
    }

    /// The next item and the cursor it carries; `None` once the hub closed and everything
    /// was read.
    pub async fn next(&mut self) -> Option<Result<(SessionItem, Option<Position>), SessionError>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                if let Some(position) = item.position() {
                    self.cursor = Some(position);
                }
                return Some(Ok((item, self.cursor)));
            }
            // Everything up to the seam has been read, matching or not.
            if let Some(seam) = self.seam.take() {
                self.cursor = self.cursor.max(Some(seam));
            }
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Queues what comes next; `false` once the hub closed and nothing is left.
    async fn fill(&mut self) -> Result<bool, SessionError> {
        let Session {
            phase,
            hub,
            filter,
            capacity,
            queue,
            cursor,
            pacing,
            seam: cursor_floor,
        } = self;
        let live = match phase {
            Phase::Replaying { replay, joined } => {
                let page = replay.next_page().await?;
                pacing.account(page.read).await;
                queue.extend(page.items.into_iter().map(|item| match item {
                    ReplayItem::Event(position, event) => SessionItem::Replayed(position, event),
                    ReplayItem::NotRetained { after, before } => {
                        SessionItem::NotRetained { after, before }
                    }
                }));
                if !page.caught_up {
                    // Fell behind again after joining: leave, or the live buffer would fill
                    // with events the replay reads anyway; join again once caught up.
                    *joined = None;
                    return Ok(true);
                }
                let Some(ticks) = joined.take() else {
                    // Caught up: join live, then read once more to cover the moment between.
                    *joined = Some(hub.subscribe(filter.clone(), *capacity).await?);
                    return Ok(true);
                };
                replay.finish();
                let seam = replay.read_through();
                *cursor_floor = Some(seam);
                Phase::Live {
                    ticks,
                    seam: Some(seam),
                    lagged: 0,
                }
            }
            Phase::Live {
                ticks,
                seam,
                lagged,
            } => {
                loop {
                    // Right after a drop, the next event (if one is already waiting) names the
                    // far side of it; otherwise the marker goes out now without it.
                    let next = if *lagged > 0 {
                        ticks.try_recv()
                    } else {
                        ticks.recv().await
                    };
                    let Some(item) = next else {
                        if *lagged == 0 {
                            return Ok(false);
                        }
                        queue.push_back(lagged_item(lagged, *cursor, None));
                        return Ok(true);
                    };
                    match item {
                        TickItem::Lagged(n) => *lagged += n,
                        TickItem::Event(event) => {
                            if let (Some(p), Some(s)) = (event.position, *seam)
                                && p <= s
                            {
                                continue;
                            }
                            if *lagged > 0 {
                                queue.push_back(lagged_item(lagged, *cursor, event.position));
                            }
                            queue.push_back(SessionItem::Live(event));
                            return Ok(true);
                        }
                        TickItem::Gap(gap) => {
                            if *lagged > 0 {
                                queue.push_back(lagged_item(lagged, *cursor, None));
                            }
                            queue.push_back(SessionItem::Gap(gap));
                            return Ok(true);
                        }
                    }
                }
            }
        };
        *phase = live;
        Ok(true)
    }
}

/// The lagged marker for `lagged` events, which it resets.
fn lagged_item(lagged: &mut u64, after: Option<Position>, before: Option<Position>) -> SessionItem {
    let missed = std::mem::take(lagged);
    SessionItem::Lagged {
        missed,
        after,
        before,
    }
}

/// Paces a replay to a rate of entries read per second.
struct Pacing {
    rate: u32,
    started: Option<Instant>,
    read: u64,
}

impl Pacing {
    fn new(rate: u32) -> Pacing {
        Pacing {
            rate,
            started: None,
            read: 0,
        }
    }

    /// Waits until `read` more entries are within the rate.
    async fn account(&mut self, read: usize) {
        if self.rate == 0 {
            return;
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        self.read += read as u64;
        let due =
            started + std::time::Duration::from_secs_f64(self.read as f64 / f64::from(self.rate));
        tokio::time::sleep_until(due).await;
    }
}
