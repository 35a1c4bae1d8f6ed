//! Reading the stream back for stream clients that resume: `XRANGE` after a position, and
//! `XINFO STREAM`'s `max-deleted-entry-id` to tell whether trimming took entries after it.
//!
//! Replays go over one connection of their own, so they never queue behind the publisher's
//! pipelines or a consumer's blocking reads; callers take turns on it, each read one round
//! trip of at most the page they asked for.

use async_trait::async_trait;
use tickmesh_bus::{BusError, HistoryPage, Position, StreamHistory};

use crate::direct::{ConnError, REPLY_TIMEOUT};
use crate::reply;
use crate::resp::Request;
use crate::{BACKEND, RedisBus};

/// The most entries one read asks for, whatever the caller wants: a page of market events is
/// then at most a few MiB.
const MAX_PAGE: usize = 10_000;

#[async_trait]
impl StreamHistory for RedisBus {
    async fn read_after(
        &self,
        stream: &str,
        after: Position,
        max: usize,
    ) -> Result<HistoryPage, BusError> {
        let mut range = Request::new("XRANGE");
        range
            .arg(stream)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .num(max.clamp(1, MAX_PAGE) as u64);
        let mut info = Request::new("XINFO");
        info.arg("STREAM").arg(stream);
        let mut conn = self.history.lock().await;
        let entries = conn.query(&range, REPLY_TIMEOUT).await?;
        let entries = reply::entries(&entries).ok_or_else(|| malformed("XRANGE"))?;
        let trimmed_through = match conn.query(&info, REPLY_TIMEOUT).await {
            Ok(info) => trimmed_through(
                &reply::stream_info(&info).ok_or_else(|| malformed("XINFO STREAM"))?,
            ),
            // No stream yet: nothing was ever trimmed.
            Err(ConnError::Server(e)) if e.to_string().contains("no such key") => None,
            Err(e) => return Err(e.into()),
        };
        drop(conn);
        let entries = entries
            .into_iter()
            .filter_map(|entry| Some((entry.id.parse::<Position>().ok()?, entry.record?)))
            .collect();
        Ok(HistoryPage {
            entries,
            trimmed_through,
        })
    }
}

/// The highest position the stream no longer holds. Trimming takes the oldest entries, so
/// when fewer entries are held than were ever added, everything before the first one held is
/// gone (Redis 7.0 does not count trims in `max-deleted-entry-id`, so this is worked out from
/// the counts).
fn trimmed_through(info: &reply::StreamInfo) -> Option<Position> {
    let parse = |id: &Option<String>| id.as_deref().and_then(|id| id.parse::<Position>().ok());
    let deleted = parse(&info.max_deleted).filter(|p| *p != Position::ZERO);
    let dropped = info.entries_added.is_some_and(|added| added > info.length);
    let before_first = match parse(&info.first_entry) {
        _ if !dropped => None,
        Some(first) if first.seq > 0 => Some(Position {
            ms: first.ms,
            seq: first.seq - 1,
        }),
        Some(first) => first
            .ms
            .checked_sub(1)
            .map(|ms| Position { ms, seq: u64::MAX }),
        // Everything added was dropped.
        None => parse(&info.last_generated),
    };
    deleted.max(before_first)
}

fn malformed(command: &str) -> BusError {
    BusError::Rejected {
        backend: BACKEND,
        reason: format!("unexpected reply to {command}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(length: u64, added: u64, first: Option<&str>, last: &str) -> reply::StreamInfo {
        reply::StreamInfo {
            length,
            entries_added: Some(added),
            first_entry: first.map(str::to_owned),
            max_deleted: Some("0-0".to_owned()),
            last_generated: Some(last.to_owned()),
        }
    }

    #[test]
    fn what_was_trimmed_is_everything_before_the_first_entry_held() {
        let p = |ms, seq| Some(Position { ms, seq });
        assert_eq!(trimmed_through(&info(5, 5, Some("10-0"), "12-1")), None);
        assert_eq!(trimmed_through(&info(5, 9, Some("10-3"), "12-1")), p(10, 2));
        assert_eq!(
            trimmed_through(&info(5, 9, Some("10-0"), "12-1")),
            p(9, u64::MAX)
        );
        assert_eq!(trimmed_through(&info(0, 9, None, "12-1")), p(12, 1));
        let mut deleted = info(5, 5, Some("10-0"), "12-1");
        deleted.max_deleted = Some("11-4".to_owned());
        assert_eq!(trimmed_through(&deleted), p(11, 4));
    }
}
