//! A minimal RESP2 codec for the connections the adapter opens itself ([`crate::direct`]).
//!
//! Why not redis-rs for this one connection: the bridge reads stream entries in replies of up
//! to thousands of entries of seven strings each. redis-rs parses every reply with `combine`
//! into a generic `Value` tree holding a `Vec<u8>` per string, which the adapter then copied
//! again into `Bytes`; that parsing was a large share of the bridge's CPU (docs/benchmarks.md).
//! Here a reply is first *scanned* to find where it ends ([`Scan`], resumable, so a reply
//! arriving over many reads is walked once), then *split* into [`Reply`] values whose strings
//! are `Bytes` slices of that one buffer: no copy per payload and one allocation per array.
//!
//! The publisher's pipelines go the same way: its commands are written straight into one
//! buffer ([`Pipeline`]) and its replies (a number and an entry id per event) are only scanned
//! for errors, never built into values.
//!
//! Only what the stream commands return is handled: simple strings, errors, integers,
//! bulk strings (nil included) and arrays (nil included). Anything else is a protocol error
//! and the connection is dropped.

use std::fmt;

use bytes::Bytes;

/// The largest reply accepted. Replies are bounded by the caller's `COUNT` times the size of
/// an entry (a few KiB for an order book), so this only stops a runaway buffer: past it the
/// connection is dropped with an error rather than growing further.
pub(crate) const MAX_REPLY: usize = 256 << 20;

/// The longest status or error line accepted.
const MAX_LINE: usize = 64 * 1024;

/// Deepest nesting accepted; stream replies nest four deep.
const MAX_DEPTH: usize = 16;

/// Appends `arg` as a RESP bulk string.
fn put_bulk(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(arg.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// Appends a RESP array header of `n` elements.
fn put_array(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A command, its arguments each sent as a bulk string.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    body: Vec<u8>,
    count: usize,
}

impl Request {
    /// A command named `name`, arguments to follow.
    pub(crate) fn new(name: &str) -> Request {
        let mut request = Request::default();
        request.arg(name);
        request
    }

    /// Appends one argument.
    pub(crate) fn arg(&mut self, arg: impl AsRef<[u8]>) -> &mut Request {
        put_bulk(&mut self.body, arg.as_ref());
        self.count += 1;
        self
    }

    /// Appends a number as its decimal text.
    pub(crate) fn num(&mut self, n: u64) -> &mut Request {
        self.arg(itoa::Buffer::new().format(n))
    }

    /// Writes the command in RESP to `out`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        put_array(out, self.count);
        out.extend_from_slice(&self.body);
    }
}

/// Commands written straight into one buffer, sent in one write and answered in order.
///
/// Each command states its argument count up front ([`Pipeline::command`]), so no per-command
/// buffer is needed; a wrong count corrupts the stream, which debug builds assert against.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pipeline {
    buf: Vec<u8>,
    commands: usize,
    /// Arguments the current command still expects.
    owed: usize,
}

impl Pipeline {
    /// Starts a command of `args` arguments, its name included.
    pub(crate) fn command(&mut self, args: usize) -> &mut Pipeline {
        debug_assert_eq!(self.owed, 0, "the previous command is missing arguments");
        put_array(&mut self.buf, args);
        self.commands += 1;
        self.owed = args;
        self
    }

    /// Appends one argument of the current command.
    pub(crate) fn arg(&mut self, arg: impl AsRef<[u8]>) -> &mut Pipeline {
        debug_assert!(self.owed > 0, "more arguments than the command declared");
        self.owed = self.owed.saturating_sub(1);
        put_bulk(&mut self.buf, arg.as_ref());
        self
    }

    /// The encoded commands.
    pub(crate) fn bytes(&self) -> &[u8] {
        debug_assert_eq!(self.owed, 0, "the last command is missing arguments");
        &self.buf
    }

    /// How many replies the commands will get.
    pub(crate) fn commands(&self) -> usize {
        self.commands
    }
}

/// One reply value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A nil bulk string or nil array.
    Nil,
    /// `+OK` and the like.
    Simple(Bytes),
    /// A number.
    Int(i64),
    /// A bulk string: a slice of the buffer the reply was read into.
    Bulk(Bytes),
    /// An array.
    Array(Vec<Reply>),
    /// An error reply, `CODE message`. Only nested errors stay values; a top-level error is
    /// returned as [`ServerError`] by the connection.
    Error(String),
}

impl Reply {
    /// The value as UTF-8 text, for strings.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Reply::Bulk(b) | Reply::Simple(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The value's bytes, for strings.
    pub(crate) fn bytes(&self) -> Option<Bytes> {
        match self {
            Reply::Bulk(b) | Reply::Simple(b) => Some(b.clone()),
            _ => None,
        }
    }
}

/// An error reply from Redis, such as `NOGROUP No such key ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerError(pub String);

impl ServerError {
    /// The error's code: its first word (`NOGROUP`, `BUSYGROUP`, `READONLY`, `ERR`).
    pub(crate) fn code(&self) -> &str {
        self.0.split(' ').next().unwrap_or_default()
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis replied {}", self.0)
    }
}

impl std::error::Error for ServerError {}

/// The bytes read are not RESP2 as this codec knows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed redis reply: {0}")]
pub(crate) struct ProtocolError(pub &'static str);

/// Finds where the reply at the start of a buffer ends, across reads: each call continues
/// where the previous one stopped, so a reply is walked once however it arrives.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    /// Where the next value to walk starts.
    pos: usize,
    /// Values still to walk before the reply is complete.
    pending: usize,
}

impl Default for Scan {
    fn default() -> Self {
        Scan { pos: 0, pending: 1 }
    }
}

impl Scan {
    /// Walks what `buf` holds; `Some(len)` once the whole reply is `buf[..len]`, `None` while
    /// more bytes are needed. `buf` must start with the same bytes on every call.
    pub(crate) fn advance(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        while self.pending > 0 {
            let Some((kind, line, after)) = header(buf, self.pos)? else {
                return Ok(None);
            };
            match kind {
                b'+' | b'-' | b':' => self.pos = after,
                b'$' => match bulk_len(line)? {
                    None => self.pos = after,
                    Some(len) => {
                        let end = after + len + 2;
                        if buf.len() < end {
                            return Ok(None);
                        }
                        if &buf[end - 2..end] != b"\r\n" {
                            return Err(ProtocolError("a bulk string is not followed by CRLF"));
                        }
                        self.pos = end;
                    }
                },
                b'*' => {
                    self.pos = after;
                    if let Some(n) = array_len(line)? {
                        self.pending = self
                            .pending
                            .checked_add(n)
                            .ok_or(ProtocolError("too many array elements"))?;
                    }
                }
                _ => return Err(ProtocolError("unknown type byte")),
            }
            self.pending -= 1;
            if self.pos > MAX_REPLY {
                return Err(ProtocolError("reply larger than the 256 MiB limit"));
            }
        }
        Ok(Some(self.pos))
    }
}

/// Splits a complete reply (as [`Scan`] found it) into values sharing its buffer.
pub(crate) fn split(frame: &Bytes) -> Result<Reply, ProtocolError> {
    let mut pos = 0;
    let reply = value(frame, &mut pos, 0)?;
    if pos != frame.len() {
        return Err(ProtocolError("bytes left after the reply"));
    }
    Ok(reply)
}

fn value(frame: &Bytes, pos: &mut usize, depth: usize) -> Result<Reply, ProtocolError> {
    let incomplete = ProtocolError("reply ends early");
    let (kind, line, after) = header(frame, *pos)?.ok_or(incomplete.clone())?;
    let line_range = *pos + 1..*pos + 1 + line.len();
    *pos = after;
    Ok(match kind {
        b'+' => Reply::Simple(frame.slice(line_range)),
        b'-' => Reply::Error(String::from_utf8_lossy(line).into_owned()),
        b':' => Reply::Int(int(line)?),
        b'$' => match bulk_len(line)? {
            None => Reply::Nil,
            Some(len) => {
                let end = after + len;
                if frame.len() < end + 2 {
                    return Err(incomplete);
                }
                *pos = end + 2;
                Reply::Bulk(frame.slice(after..end))
            }
        },
        b'*' => match array_len(line)? {
            None => Reply::Nil,
            Some(n) => {
                if depth >= MAX_DEPTH {
                    return Err(ProtocolError("arrays nested too deep"));
                }
                // Each element takes at least three bytes, so `n` cannot over-allocate.
                let mut items = Vec::with_capacity(n.min(frame.len() / 3));
                for _ in 0..n {
                    items.push(value(frame, pos, depth + 1)?);
                }
                Reply::Array(items)
            }
        },
        _ => return Err(ProtocolError("unknown type byte")),
    })
}

/// The value header at `pos`: its type byte, the rest of its line and where the line ends;
/// `None` while the line is incomplete.
#[allow(clippy::type_complexity)] // a private triple, named at its one definition
fn header(buf: &[u8], pos: usize) -> Result<Option<(u8, &[u8], usize)>, ProtocolError> {
    let Some(rest) = buf.get(pos..) else {
        return Ok(None);
    };
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
        // Lengths and numbers fit in a few bytes; status and error lines carry text
        // (`-WRONGTYPE Operation against a key ...`), so they may be longer.
        let limit = match rest.first() {
            Some(b'+' | b'-') => MAX_LINE,
            _ => 64,
        };
        if rest.len() > limit {
            return Err(ProtocolError("a header line longer than its limit"));
        }
        return Ok(None);
    };
    match rest.get(cr + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(ProtocolError("CR without LF")),
    }
    if cr == 0 {
        return Err(ProtocolError("an empty header line"));
    }
    Ok(Some((rest[0], &rest[1..cr], pos + cr + 2)))
}

fn int(line: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(ProtocolError("not an integer"))
}

/// A length of `-1` means nil.
fn length(line: &[u8]) -> Result<Option<usize>, ProtocolError> {
    match int(line)? {
        -1 => Ok(None),
        n => usize::try_from(n)
            .map(Some)
            .map_err(|_| ProtocolError("a negative length")),
    }
}

fn bulk_len(line: &[u8]) -> Result<Option<usize>, ProtocolError> {
    match length(line)? {
        Some(n) if n > MAX_REPLY => Err(ProtocolError("a bulk string over the 256 MiB limit")),
        n => Ok(n),
    }
}

fn array_len(line: &[u8]) -> Result<Option<usize>, ProtocolError> {
    length(line)
}

#[cfg(test)]
mod tests;
