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

/// What `XINFO GROUPS` says of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupInfo {
    /// Entries not yet delivered to the group, as Redis counts them (entries the stream
    /// trimmed before the group read them stay counted; `None` when Redis cannot say).
    pub lag: Option<u64>,
    /// Delivered and not acknowledged.
    pub pending: Option<u64>,
    /// The id of the last entry delivered to the group.
    pub last_delivered: Option<String>,
    /// How many entries the group has read (Redis 7); trimmed entries are not counted.
    pub entries_read: Option<u64>,
}

/// What `XINFO STREAM` says of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StreamInfo {
    /// Entries it holds now.
    pub length: u64,
    /// Entries ever added (Redis 7).
    pub entries_added: Option<u64>,
    /// The id of its oldest entry, if it holds any.
    pub first_entry: Option<String>,
    /// The highest id trimmed or deleted from it (`0-0` for none; Redis 7.2 counts trims,
    /// 7.0 only `XDEL`s).
    pub max_deleted: Option<String>,
    /// The id the last entry added got.
    pub last_generated: Option<String>,
}

/// A flat `[name, value, name, value, ...]` reply's value of `name`.
fn field<'a>(flat: &'a [Reply], name: &str) -> Option<&'a Reply> {
    flat.chunks_exact(2)
        .find(|kv| kv[0].text() == Some(name))
        .map(|kv| &kv[1])
}

fn number(value: Option<&Reply>) -> Option<u64> {
    match value {
        Some(Reply::Int(n)) => u64::try_from(*n).ok(),
        _ => None,
    }
}

/// `group` out of an `XINFO GROUPS` reply (a flat key/value array per group).
pub(crate) fn group_info(value: &Reply, group: &str) -> Option<GroupInfo> {
    let Reply::Array(groups) = value else {
        return None;
    };
    groups.iter().find_map(|g| {
        let Reply::Array(flat) = g else {
            return None;
        };
        if field(flat, "name").and_then(Reply::text) != Some(group) {
            return None;
        }
        Some(GroupInfo {
            lag: number(field(flat, "lag")),
            pending: number(field(flat, "pending")),
            last_delivered: field(flat, "last-delivered-id").and_then(text),
            entries_read: number(field(flat, "entries-read")),
        })
    })
}

/// An `XINFO STREAM` reply.
pub(crate) fn stream_info(value: &Reply) -> Option<StreamInfo> {
    let Reply::Array(flat) = value else {
        return None;
    };
    let first_entry = match field(flat, "first-entry") {
        Some(Reply::Array(entry)) => entry.first().and_then(text),
        _ => None,
    };
    Some(StreamInfo {
        length: number(field(flat, "length"))?,
        entries_added: number(field(flat, "entries-added")),
        first_entry,
        max_deleted: field(flat, "max-deleted-entry-id").and_then(text),
        last_generated: field(flat, "last-generated-id").and_then(text),
    })
}

/// A stream id `ms-seq` as numbers, for ordering.
pub(crate) fn stream_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}
