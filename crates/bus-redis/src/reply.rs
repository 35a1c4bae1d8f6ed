//! Stream entries out of Redis replies, keeping field order (typed replies would not).

use bytes::Bytes;
use redis::Value;
use tickmesh_bus::{Cursor, Delivery, Record};

/// Field names of a stream entry; every other field is a header.
pub(crate) const KEY_FIELD: &str = "key";
pub(crate) const PAYLOAD_FIELD: &str = "payload";

/// One entry: its id and, unless it was trimmed away while pending, its record.
#[derive(Debug)]
pub(crate) struct Entry {
    pub id: String,
    pub record: Option<Record>,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn bytes(value: &Value) -> Option<Bytes> {
    match value {
        Value::BulkString(b) => Some(Bytes::copy_from_slice(b)),
        Value::SimpleString(s) => Some(Bytes::copy_from_slice(s.as_bytes())),
        _ => None,
    }
}

/// `[id, [field, value, ...]]`, the fields `nil` for an entry deleted while pending.
fn entry(value: &Value) -> Option<Entry> {
    let Value::Array(parts) = value else {
        return None;
    };
    let id = text(parts.first()?)?;
    let fields = match parts.get(1) {
        Some(Value::Array(fields)) => fields,
        Some(Value::Nil) | None => return Some(Entry { id, record: None }),
        Some(_) => return None,
    };
    let mut record = Record::new(String::new(), Bytes::new());
    for pair in fields.chunks(2) {
        let [name, value] = pair else { return None };
        let name = text(name)?;
        match name.as_str() {
            KEY_FIELD => record.key = text(value)?,
            PAYLOAD_FIELD => record.payload = bytes(value)?,
            _ => record.headers.push((name, bytes(value)?)),
        }
    }
    Some(Entry {
        id,
        record: Some(record),
    })
}

/// The entries of one stream: an array of entries.
pub(crate) fn entries(value: &Value) -> Option<Vec<Entry>> {
    match value {
        Value::Array(items) => items.iter().map(entry).collect(),
        Value::Nil => Some(Vec::new()),
        _ => None,
    }
}

/// An `XREADGROUP` reply: `nil` on timeout, else per stream `[name, entries]` (RESP2) or a
/// map of name to entries (RESP3).
pub(crate) fn read_reply(value: &Value) -> Option<Vec<(String, Vec<Entry>)>> {
    match value {
        Value::Nil => Some(Vec::new()),
        Value::Array(streams) => streams
            .iter()
            .map(|s| match s {
                Value::Array(pair) if pair.len() == 2 => {
                    Some((text(&pair[0])?, entries(&pair[1])?))
                }
                _ => None,
            })
            .collect(),
        Value::Map(streams) => streams
            .iter()
            .map(|(name, items)| Some((text(name)?, entries(items)?)))
            .collect(),
        _ => None,
    }
}

/// An `XAUTOCLAIM` reply: `[next cursor, entries, deleted ids]` (the last from Redis 7).
pub(crate) fn autoclaim_reply(value: &Value) -> Option<(String, Vec<Entry>)> {
    let Value::Array(parts) = value else {
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

/// `(lag, pending)` of `group` out of an `XINFO GROUPS` reply (flat key/value arrays on RESP2,
/// maps on RESP3). `lag` is nil when Redis cannot compute it (after deletions).
pub(crate) fn group_backlog(value: &Value, group: &str) -> Option<(Option<u64>, Option<u64>)> {
    let Value::Array(groups) = value else {
        return None;
    };
    groups.iter().find_map(|g| {
        let pairs: Vec<(&Value, &Value)> = match g {
            Value::Array(flat) => flat.chunks_exact(2).map(|kv| (&kv[0], &kv[1])).collect(),
            Value::Map(map) => map.iter().map(|(k, v)| (k, v)).collect(),
            _ => return None,
        };
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| text(k).as_deref() == Some(name))
                .map(|(_, v)| *v)
        };
        if field("name").and_then(text).as_deref() != Some(group) {
            return None;
        }
        let number = |name: &str| match field(name) {
            Some(Value::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        };
        Some((number("lag"), number("pending")))
    })
}
