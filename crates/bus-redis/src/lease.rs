//! Leases on the bus's Redis server ([`tickmesh_bus::LeaseStore`]), and the fenced publish
//! that checks them in the same step as the write.
//!
//! Keys, under the stream's name so two meshes on one server never share a lease:
//! `{stream}:lease:{unit}` holds the holder (`member|token|granted_ms`) with a `PX` expiry,
//! `{stream}:token:{unit}` the last token granted (`INCR`), `{stream}:marks:{unit}` a hash of
//! the last event written per market (`{key}|e` the exchange time, `{key}|t` the last trade's
//! `time:id`), and `{stream}:members` a sorted set of members scored by when they expire.
//! Every operation is one Lua script, so each is atomic, and times come from the server's
//! `TIME`, so the members' clocks never have to agree.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tickmesh_bus::{Acquired, BusError, Holding, Lease, LeaseStore, Offer, PublishedMark};

use crate::direct::{DirectConn, REPLY_TIMEOUT};
use crate::resp::{Reply, Request};
use crate::{BACKEND, RedisBus};

/// The keys of the lease table of `stream`.
#[derive(Debug, Clone)]
pub(crate) struct LeaseKeys {
    stream: String,
}

impl LeaseKeys {
    pub(crate) fn new(stream: &str) -> LeaseKeys {
        LeaseKeys {
            stream: stream.to_owned(),
        }
    }

    pub(crate) fn lease(&self, unit: &str) -> String {
        format!("{}:lease:{unit}", self.stream)
    }

    fn token(&self, unit: &str) -> String {
        format!("{}:token:{unit}", self.stream)
    }

    pub(crate) fn marks(&self, unit: &str) -> String {
        format!("{}:marks:{unit}", self.stream)
    }

    fn members(&self) -> String {
        format!("{}:members", self.stream)
    }

    fn offer(&self, unit: &str) -> String {
        format!("{}:offer:{unit}", self.stream)
    }
}

/// Now in milliseconds of the server's clock, as a Lua expression.
const NOW_MS: &str =
    "local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)";

const HEARTBEAT: &str = "
local members, member, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
NOW
redis.call('ZADD', members, now + ttl, member)
redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
redis.call('PEXPIRE', members, ttl * 10)
return redis.call('ZRANGE', members, 0, -1)";

const ACQUIRE: &str = "
local lease, token_key, marks, member, ttl, offer = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('EXISTS', lease) == 1 then return false end
local successor = redis.call('HGET', offer, 'successor')
if successor and successor ~= member then return false end
redis.call('DEL', offer)
local token = redis.call('INCR', token_key)
NOW
local value = member .. '|' .. token .. '|' .. now
redis.call('SET', lease, value, 'PX', ttl)
return {value, redis.call('HGETALL', marks)}";

const RENEW: &str = "
if redis.call('GET', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', ARGV[1], ARGV[3])
return 1";

const RELEASE: &str = "
if redis.call('GET', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('DEL', ARGV[1])
return 1";

const OFFER: &str = "
if redis.call('GET', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', ARGV[3], 'holder', ARGV[2])
redis.call('PEXPIRE', ARGV[3], ARGV[4])
return 1";

const CLAIM: &str = "
if redis.call('EXISTS', ARGV[1]) == 0 then return 0 end
local successor = redis.call('HGET', ARGV[1], 'successor')
if not successor then
  redis.call('HSET', ARGV[1], 'successor', ARGV[2])
  return 1
end
if successor == ARGV[2] then return 1 end
return 0";

const READY: &str = "
if redis.call('HGET', ARGV[1], 'successor') == ARGV[2] then
  redis.call('HSET', ARGV[1], 'ready', '1')
end
return 1";

const OFFERS: &str = "
local out = {}
for i = 1, #ARGV do
  out[#out + 1] = redis.call('EXISTS', ARGV[i])
  out[#out + 1] = redis.call('HGET', ARGV[i], 'successor')
  out[#out + 1] = redis.call('HGET', ARGV[i], 'ready')
end
return out";

const HOLDERS: &str = "
local out = {}
for i = 1, #ARGV do
  out[#out + 1] = redis.call('GET', ARGV[i])
  out[#out + 1] = redis.call('PTTL', ARGV[i])
end
return out";

/// The lease table on Redis; cheap to clone. Its connection is its own, so renewals never
/// wait behind a large publish.
#[derive(Debug, Clone)]
pub struct RedisLeases {
    keys: LeaseKeys,
    conn: Arc<tokio::sync::Mutex<DirectConn>>,
}

impl RedisBus {
    /// The lease table kept beside this bus's stream; fenced publishes of this bus check it.
    pub fn leases(&self) -> RedisLeases {
        RedisLeases {
            keys: LeaseKeys::new(&self.config.stream),
            conn: Arc::new(tokio::sync::Mutex::new(DirectConn::lazy(
                &self.config,
                "tickmesh-leases".to_owned(),
            ))),
        }
    }
}

fn malformed(what: &str) -> BusError {
    BusError::Rejected {
        backend: BACKEND,
        reason: format!("unexpected reply to the lease {what} script"),
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

impl RedisLeases {
    async fn eval(&self, script: &str, args: &[&str]) -> Result<Reply, BusError> {
        let body = script.replace("NOW", NOW_MS);
        let mut request = Request::new("EVAL");
        request.arg(&body).arg("0");
        for arg in args {
            request.arg(arg);
        }
        let mut conn = self.conn.lock().await;
        Ok(conn.query(&request, REPLY_TIMEOUT).await?)
    }
}

/// The marks hash (`{key}|e` and `{key}|t` fields, flattened) by market key.
fn parse_marks(flat: &[Reply]) -> BTreeMap<String, PublishedMark> {
    let mut marks: BTreeMap<String, PublishedMark> = BTreeMap::new();
    for pair in flat.chunks_exact(2) {
        let (Some(field), Some(value)) = (pair[0].text(), pair[1].text()) else {
            continue;
        };
        let Some((key, kind)) = field.rsplit_once('|') else {
            continue;
        };
        let mark = marks.entry(key.to_owned()).or_default();
        match kind {
            "e" => mark.event_us = value.parse().unwrap_or(0),
            "t" => {
                mark.trade = value
                    .split_once(':')
                    .and_then(|(us, id)| Some((us.parse().ok()?, id.parse().ok()?)));
            }
            _ => {}
        }
    }
    marks
}

#[async_trait]
impl LeaseStore for RedisLeases {
    async fn heartbeat(&self, member: &str, ttl: Duration) -> Result<Vec<String>, BusError> {
        let reply = self
            .eval(HEARTBEAT, &[&self.keys.members(), member, &millis(ttl)])
            .await?;
        let Reply::Array(items) = reply else {
            return Err(malformed("heartbeat"));
        };
        items
            .iter()
            .map(|m| {
                m.text()
                    .map(str::to_owned)
                    .ok_or_else(|| malformed("heartbeat"))
            })
            .collect()
    }

    async fn leave(&self, member: &str) -> Result<(), BusError> {
        let mut request = Request::new("ZREM");
        request.arg(self.keys.members()).arg(member);
        let mut conn = self.conn.lock().await;
        conn.query(&request, REPLY_TIMEOUT).await?;
        Ok(())
    }

    async fn acquire(
        &self,
        unit: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<Option<Acquired>, BusError> {
        let reply = self
            .eval(
                ACQUIRE,
                &[
                    &self.keys.lease(unit),
                    &self.keys.token(unit),
                    &self.keys.marks(unit),
                    member,
                    &millis(ttl),
                    &self.keys.offer(unit),
                ],
            )
            .await?;
        match reply {
            Reply::Nil => Ok(None),
            Reply::Array(parts) if parts.len() == 2 => {
                let lease = parts[0]
                    .text()
                    .and_then(|v| Lease::parse(unit, v))
                    .ok_or_else(|| malformed("acquire"))?;
                let Reply::Array(flat) = &parts[1] else {
                    return Err(malformed("acquire"));
                };
                Ok(Some(Acquired {
                    lease,
                    marks: parse_marks(flat),
                }))
            }
            _ => Err(malformed("acquire")),
        }
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, BusError> {
        let reply = self
            .eval(
                RENEW,
                &[
                    &self.keys.lease(&lease.unit),
                    &lease.holder_value(),
                    &millis(ttl),
                ],
            )
            .await?;
        Ok(reply == Reply::Int(1))
    }

    async fn release(&self, lease: &Lease) -> Result<bool, BusError> {
        let reply = self
            .eval(
                RELEASE,
                &[&self.keys.lease(&lease.unit), &lease.holder_value()],
            )
            .await?;
        Ok(reply == Reply::Int(1))
    }

    async fn offer(&self, lease: &Lease, ttl: Duration) -> Result<bool, BusError> {
        let reply = self
            .eval(
                OFFER,
                &[
                    &self.keys.lease(&lease.unit),
                    &lease.holder_value(),
                    &self.keys.offer(&lease.unit),
                    &millis(ttl),
                ],
            )
            .await?;
        Ok(reply == Reply::Int(1))
    }

    async fn claim(&self, unit: &str, member: &str) -> Result<bool, BusError> {
        let reply = self.eval(CLAIM, &[&self.keys.offer(unit), member]).await?;
        Ok(reply == Reply::Int(1))
    }

    async fn ready(&self, unit: &str, member: &str) -> Result<(), BusError> {
        self.eval(READY, &[&self.keys.offer(unit), member]).await?;
        Ok(())
    }

    async fn offers(&self, units: &[String]) -> Result<Vec<Option<Offer>>, BusError> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = units.iter().map(|u| self.keys.offer(u)).collect();
        let args: Vec<&str> = keys.iter().map(String::as_str).collect();
        let Reply::Array(flat) = self.eval(OFFERS, &args).await? else {
            return Err(malformed("offers"));
        };
        if flat.len() != units.len() * 3 {
            return Err(malformed("offers"));
        }
        Ok(flat
            .chunks_exact(3)
            .map(|three| {
                (three[0] == Reply::Int(1)).then(|| Offer {
                    successor: three[1].text().map(str::to_owned),
                    ready: three[2].text() == Some("1"),
                })
            })
            .collect())
    }

    async fn holders(&self, units: &[String]) -> Result<Vec<Option<Holding>>, BusError> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = units.iter().map(|u| self.keys.lease(u)).collect();
        let args: Vec<&str> = keys.iter().map(String::as_str).collect();
        let Reply::Array(flat) = self.eval(HOLDERS, &args).await? else {
            return Err(malformed("holders"));
        };
        if flat.len() != units.len() * 2 {
            return Err(malformed("holders"));
        }
        Ok(units
            .iter()
            .zip(flat.chunks_exact(2))
            .map(|(unit, pair)| {
                let lease = Lease::parse(unit, pair[0].text()?)?;
                let Reply::Int(ms) = pair[1] else { return None };
                Some(Holding {
                    lease,
                    remaining: Duration::from_millis(u64::try_from(ms).ok()?),
                })
            })
            .collect())
    }
}
