//! Counting the entries a stream trimmed before a consumer group read them.
//!
//! Streams are bounded with `XADD MAXLEN ~ N`, which drops the oldest entries whether a group
//! has read them or not. Redis keeps two counters that make the loss countable: the stream's
//! `entries-added` (every entry ever added) and each group's `entries-read` (entries it was
//! delivered; trimmed entries it never saw are not counted). While the stream's oldest entry
//! is newer than the group's last delivered one, every entry the stream still holds is unread,
//! so
//!
//! ```text
//! never read = entries-added - entries-read - length
//! ```
//!
//! counts, exactly, every entry trimmed unread since the group was created. Otherwise no unread
//! entry can have been trimmed since the last time that held (trimming only takes the oldest),
//! and the count is unchanged.
//!
//! The count is kept per group in the hash `{stream}:trimmed`, raised by a script only, so a
//! loss is reported once however many members of the group (and restarts of them) see it:
//! each member adds what it raised the count by.

use crate::reply::{self, GroupInfo, StreamInfo};
use crate::resp::Request;

/// Raises the stored count of `ARGV[1]` (the group) in hash `KEYS[1]` to `ARGV[2]`, if that
/// is a count (negative: not computable now). Returns how much it rose and the count now. A
/// count below the stored one means the group was created anew: the stored one follows it
/// down, reporting nothing.
const RAISE: &str = r"
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local new = tonumber(ARGV[2])
if new < 0 or new == old then return {0, old} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if new > old then return {new - old, new} end
return {0, new}
";

/// The key holding `stream`'s counts per group.
pub(crate) fn key(stream: &str) -> String {
    format!("{stream}:trimmed")
}

/// Entries trimmed before the group read them since it was created, when the figures allow
/// telling (see the module docs).
pub(crate) fn never_read(stream: &StreamInfo, group: &GroupInfo) -> Option<u64> {
    let added = stream.entries_added?;
    let read = group.entries_read?;
    let newer_than_delivered = match (&stream.first_entry, &group.last_delivered) {
        (None, _) => true,
        (Some(first), Some(last)) => reply::stream_id(first)? > reply::stream_id(last)?,
        (Some(_), None) => return None,
    };
    newer_than_delivered.then(|| added.saturating_sub(read).saturating_sub(stream.length))
}

/// The `EVAL` that records `count` (or only reads the stored count, for `None`).
pub(crate) fn raise(stream: &str, group: &str, count: Option<u64>) -> Request {
    let mut cmd = Request::new("EVAL");
    cmd.arg(RAISE).num(1).arg(key(stream)).arg(group);
    match count {
        Some(n) => cmd.num(n),
        None => cmd.arg("-1"),
    };
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(length: u64, added: u64, first: Option<&str>) -> StreamInfo {
        StreamInfo {
            length,
            entries_added: Some(added),
            first_entry: first.map(str::to_owned),
            max_deleted: None,
            last_generated: None,
        }
    }

    fn group(read: u64, last: &str) -> GroupInfo {
        GroupInfo {
            entries_read: Some(read),
            last_delivered: Some(last.to_owned()),
            ..GroupInfo::default()
        }
    }

    #[test]
    fn counts_only_while_every_held_entry_is_unread() {
        // 305 added, 2 read, 10 held, the oldest newer than the last delivered: 293 lost.
        assert_eq!(
            never_read(&stream(10, 305, Some("20-0")), &group(2, "5-0")),
            Some(293)
        );
        // The group reads within what is held: nothing can be told (and nothing was lost).
        assert_eq!(
            never_read(&stream(10, 305, Some("20-0")), &group(300, "25-0")),
            None
        );
        // An empty stream holds nothing unread.
        assert_eq!(never_read(&stream(0, 50, None), &group(50, "9-0")), Some(0));
        // Redis before 7 has no counters.
        let old = StreamInfo {
            entries_added: None,
            ..stream(10, 0, Some("1-0"))
        };
        assert_eq!(never_read(&old, &group(2, "0-0")), None);
    }
}
