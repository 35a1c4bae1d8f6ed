//! The publish: a batch goes out as one Lua script, which appends each event to the stream
//! (`XADD`) and publishes it live framed with the id the append gave (`PUBLISH`; see
//! [`tickmesh_bus::position::frame`]), so a stream client can tell exactly where the live
//! events it receives sit in the stream.
//!
//! When events carry a [`Fence`], the script first checks each fence's lease and writes only
//! the events whose lease still names their holder, in order, and records the last event per
//! market under the unit for a successor. Redis runs a script alone, so no grant can come
//! between the check and the writes: a former holder that wakes up after its lease passed on
//! writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use sha1::{Digest as _, Sha1};
use tickmesh_bus::{BusError, Fence, OWNER_HEADER, Outgoing, PublishedMark};

use crate::lease::LeaseKeys;
use crate::reply::{KEY_FIELD, PAYLOAD_FIELD};
use crate::resp::{Reply, Request};

/// ARGV: stream, maxlen, fence count; per fence its lease key, holder, marks key, owner tag,
/// mark count and per mark (market key, event time, `time:id` of the last trade or empty);
/// then per event its fence number (0: none), channel, key, payload, header count and
/// headers. Returns how many events were fenced off. An unfenced event with no header or
/// one (the usual ones) is appended by a direct call, without building the command as a table.
const PUBLISH: &str = r"
local stream, maxlen, nf = ARGV[1], ARGV[2], tonumber(ARGV[3])
local i = 4
local owners = {}
for f = 1, nf do
  local lease, holder, marks, owner, nm = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  i = i + 5
  if redis.call('GET', lease) == holder then
    owners[f] = owner
    for m = 1, nm do
      local field = ARGV[i] .. '|e'
      local old = tonumber(redis.call('HGET', marks, field) or '')
      if not old or tonumber(ARGV[i + 1]) > old then
        redis.call('HSET', marks, field, ARGV[i + 1])
      end
      if ARGV[i + 2] ~= '' then
        redis.call('HSET', marks, ARGV[i] .. '|t', ARGV[i + 2])
      end
      i = i + 3
    end
  else
    owners[f] = false
    i = i + nm * 3
  end
end
local refused = 0
local n = #ARGV
while i <= n do
  local f, channel, key, payload, nh = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local first = i + 5
  i = first + nh * 2
  if f == 0 and nh == 0 then
    local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'KEYF', key, 'PAYLOADF', payload)
    redis.call('PUBLISH', channel, '\0' .. string.char(#id) .. id .. payload)
  elseif f == 0 and nh == 1 then
    local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'KEYF', key, 'PAYLOADF', payload,
      ARGV[first], ARGV[first + 1])
    redis.call('PUBLISH', channel, '\0' .. string.char(#id) .. id .. payload)
  elseif f == 0 or owners[f] then
    local xadd = {'XADD', stream, 'MAXLEN', '~', maxlen, '*', 'KEYF', key, 'PAYLOADF', payload}
    for h = first, i - 1 do
      xadd[#xadd + 1] = ARGV[h]
    end
    if f > 0 then
      xadd[#xadd + 1] = 'OWNERH'
      xadd[#xadd + 1] = owners[f]
    end
    local id = redis.call(unpack(xadd))
    redis.call('PUBLISH', channel, '\0' .. string.char(#id) .. id .. payload)
  else
    refused = refused + 1
  end
end
return refused";

/// The script with the field names filled in, and its SHA-1 (hex) that `EVALSHA` names it by.
struct Script {
    text: String,
    sha: String,
}

/// Made once: filling in the names took a visible share of ingestion's CPU when done per batch.
static SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    let text = PUBLISH
        .replace("KEYF", KEY_FIELD)
        .replace("PAYLOADF", PAYLOAD_FIELD)
        .replace("OWNERH", OWNER_HEADER);
    let sha = sha1_hex(&text);
    Script { text, sha }
});

/// The SHA-1 of `text` in lowercase hex, as Redis names a script.
fn sha1_hex(text: &str) -> String {
    Sha1::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(40), |mut hex, byte| {
            // Writing to a `String` cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// How the script is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `EVALSHA`: the script by its hash, which Redis keeps once it has run the script.
    /// Sending the 2 KiB text with every batch cost ingestion a copy and Redis a hash of it,
    /// about a thousand times a second under load.
    ByHash,
    /// `EVAL` with the script's text, when Redis answered `NOSCRIPT` (its script cache
    /// emptied by a restart, a failover or `SCRIPT FLUSH`); running it caches it again.
    WithText,
}

/// Whether an error reply's `code` is Redis saying it does not have the script, so the same batch may be sent
/// again with [`Call::WithText`]: a script it did not find never ran, so nothing was written.
pub(crate) fn script_missing(code: Option<&str>) -> bool {
    code == Some("NOSCRIPT")
}

/// The script call of `batch` to `stream`, bounded at `maxlen`.
pub(crate) fn command(
    keys: &LeaseKeys,
    stream: &str,
    maxlen: usize,
    batch: &[Outgoing],
    call: Call,
) -> Request {
    // Fences by identity: the publisher shares one per lease, so this is one per unit.
    let mut fences: Vec<&Arc<Fence>> = Vec::new();
    let mut index: HashMap<*const Fence, usize> = HashMap::new();
    let mut marks: Vec<BTreeMap<&str, PublishedMark>> = Vec::new();
    let mut numbers = Vec::with_capacity(batch.len());
    for out in batch {
        let Some(fence) = &out.fence else {
            numbers.push(0);
            continue;
        };
        let n = *index.entry(Arc::as_ptr(fence)).or_insert_with(|| {
            fences.push(fence);
            marks.push(BTreeMap::new());
            fences.len()
        });
        numbers.push(n);
        if let Some(mark) = &out.mark {
            marks[n - 1]
                .entry(out.record.key.as_str())
                .and_modify(|m| m.merge(mark))
                .or_insert(*mark);
        }
    }
    let mut pipeline = match call {
        Call::ByHash => Request::new("EVALSHA"),
        Call::WithText => Request::new("EVAL"),
    };
    pipeline
        .arg(match call {
            Call::ByHash => &SCRIPT.sha,
            Call::WithText => &SCRIPT.text,
        })
        .arg("0")
        .arg(stream)
        .arg(itoa::Buffer::new().format(maxlen))
        .arg(itoa::Buffer::new().format(fences.len()));
    for (fence, marks) in fences.iter().zip(&marks) {
        pipeline
            .arg(keys.lease(&fence.unit))
            .arg(&fence.holder)
            .arg(keys.marks(&fence.unit))
            .arg(&fence.owner_tag)
            .arg(itoa::Buffer::new().format(marks.len()));
        for (key, mark) in marks {
            let trade = mark
                .trade
                .map(|(us, id)| format!("{us}:{id}"))
                .unwrap_or_default();
            pipeline
                .arg(key)
                .arg(itoa::Buffer::new().format(mark.event_us))
                .arg(trade);
        }
    }
    for (out, n) in batch.iter().zip(numbers) {
        pipeline
            .arg(itoa::Buffer::new().format(n))
            .arg(&out.channel)
            .arg(&out.record.key)
            .arg(&out.record.payload)
            .arg(itoa::Buffer::new().format(out.record.headers.len()));
        for (name, value) in &out.record.headers {
            pipeline.arg(name).arg(value);
        }
    }
    pipeline
}

/// How many events the script fenced off.
pub(crate) fn fenced_off(reply: &Reply) -> Result<usize, BusError> {
    match reply {
        Reply::Int(n) => usize::try_from(*n).map_err(|_| malformed()),
        _ => Err(malformed()),
    }
}

fn malformed() -> BusError {
    BusError::Rejected {
        backend: crate::BACKEND,
        reason: "unexpected reply to the fenced publish script".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_named_by_the_hash_redis_gives_them() {
        // What `SCRIPT LOAD "return 1"` answers.
        assert_eq!(
            sha1_hex("return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }
}
