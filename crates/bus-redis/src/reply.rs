//! Stream entries out of Redis replies, keeping field order (typed replies would not).
//!
//! Payloads and header values are slices of the buffer the reply was read into
//! ([`crate::resp`]), not copies.

use bytes::Bytes;
use tickmesh_bus::{Cursor, Delivery, Record};

use crate::resp::Reply;

/// Field names of a stream entry; every other field is a header.
pub(crate) const KEY_FIELD: &str = "key";
pub(crate) const PAYLOAD_FIELD: &str = "payload";

/// One entry: its id and, unless it was trimmed away while pending, its record.
#[derive(Debug)]
pub(crate) struct Entry {
    pub id: String,
    pub record: Option<Record>,
}

fn text(value: &Reply) -> Option<String> {
    value.text().map(str::to_owned)
}

/// `[id, [field, value, ...]]`, the fields `nil` for an entry deleted while pending.
fn entry(value: &Reply) -> Option<Entry> {
    let Reply::Array(parts) = value else {
        return None;
    };
    let id = text(parts.first()?)?;
    let fields = match parts.get(1) {
        Some(Reply::Array(fields)) => fields,
        Some(Reply::Nil) | None => return Some(Entry { id, record: None }),
        Some(_) => return None,
    };
    let mut record = Record::new(String::new(), Bytes::new());
    for pair in fields.chunks(2) {
        let [name, value] = pair else { return None };
        match name.text()? {
            KEY_FIELD => record.key = text(value)?,
            PAYLOAD_FIELD => record.payload = value.bytes()?,
            other => record.headers.push((other.to_owned(), value.bytes()?)),
        }
    }
    Some(Entry {
        id,
        record: Some(record),
    })
}

/// The entries of one stream: an array of entries.
pub(crate) fn entries(value: &Reply) -> Option<Vec<Entry>> {
    match value {
        Reply::Array(items) => items.iter().map(entry).collect(),
        Reply::Nil => Some(Vec::new()),
        _ => None,
    }
}

/// An `XREADGROUP` reply: `nil` on timeout, else per stream `[name, entries]`.
pub(crate) fn read_reply(value: &Reply) -> Option<Vec<(String, Vec<Entry>)>> {
    match value {
        Reply::Nil => Some(Vec::new()),
        Reply::Array(streams) => streams
            .iter()
            .map(|s| match s {
                Reply::Array(pair) if pair.len() == 2 => {
                    Some((text(&pair[0])?, entries(&pair[1])?))
                }
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// An `XAUTOCLAIM` reply: `[next cursor, entries, deleted ids]` (the last from Redis 7).
pub(crate) fn autoclaim_reply(value: &Reply) -> Option<(String, Vec<Entry>)> {
    let Reply::Array(parts) = value else {
        return None;
    };
    Some((text(parts.first()?)?, entries(parts.get(1)?)?))
}

/// A delivery from an entry that still has its record.
pub(crate) fn delivery(topic: &str, entry: Entry) -> Option<Delivery> {
    Some(Delivery {
        topic: topic.to_owned(),
        cursor: Cursor::new(entry.id),
        record: entry.record?,
    })
}

/// `(lag, pending)` of `group` out of an `XINFO GROUPS` reply (a flat key/value array per
/// group). `lag` is nil when Redis cannot compute it (after deletions).
pub(crate) fn group_backlog(value: &Reply, group: &str) -> Option<(Option<u64>, Option<u64>)> {
    let Reply::Array(groups) = value else {
        return None;
    };
    groups.iter().find_map(|g| {
        let Reply::Array(flat) = g else {
            return None;
        };
        let field = |name: &str| {
            flat.chunks_exact(2)
                .find(|kv| kv[0].text() == Some(name))
                .map(|kv| &kv[1])
        };
        if field("name").and_then(Reply::text) != Some(group) {
            return None;
        }
        let number = |name: &str| match field(name) {
            Some(Reply::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        };
        Some((number("lag"), number("pending")))
    })
}
