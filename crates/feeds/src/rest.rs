//! The exchanges' REST APIs over HTTP: market lists and recent trades, for
//! [`TradeHistory`](crate::TradeHistory).
//!
//! Every request of a client (and of its clones) waits for its turn at one [`RequestPacer`]
//! set below the exchange's published limit, and every body is read incrementally up to
//! [`RestLimits::max_body_bytes`]: a larger answer fails with [`RestError::TooLarge`] instead
//! of filling memory.

mod pacer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use tickmesh_domain::{Exchange, Market};
use tickmesh_exchanges::{RestBodyError, Untrusted, bithumb, korbit, upbit};

pub use pacer::RequestPacer;

use crate::protocol::{RestError, TradeHistory, TradePage};

/// How a REST client treats an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestLimits {
    /// Requests started per second at most: about 80% of the exchange's published limit.
    pub per_second: u32,
    /// Largest response body read (a full page of 500 trades is about 100 KiB).
    pub max_body_bytes: usize,
    /// Limit on one request, body included.
    pub timeout: Duration,
}

impl RestLimits {
    /// The limits for `exchange`: Upbit 8 requests/s (it allows 10 per IP), Bithumb 8/s (150
    /// per category, but only 10 connection requests per IP before a 10-minute ban), Korbit
    /// 40/s (50 per IP); bodies up to 2 MiB; 10 s per request.
    pub fn for_exchange(exchange: Exchange) -> Self {
        let per_second = match exchange {
            Exchange::Upbit | Exchange::Bithumb => 8,
            Exchange::Korbit => 40,
        };
        Self {
            per_second,
            max_body_bytes: 2 * 1024 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

/// An HTTP client of one exchange's REST API; clones share its connection pool and pacer.
#[derive(Debug, Clone)]
pub struct RestClient {
    exchange: Exchange,
    base_url: String,
    http: reqwest::Client,
    pacer: Arc<RequestPacer>,
    max_body_bytes: usize,
}

impl RestClient {
    /// A client of `exchange` at `base_url` (production or a simulator), with the exchange's
    /// [`RestLimits::for_exchange`].
    pub fn new(exchange: Exchange, base_url: impl Into<String>) -> Result<Self, RestError> {
        Self::with_limits(exchange, base_url, RestLimits::for_exchange(exchange))
    }

    /// A client with chosen limits.
    pub fn with_limits(
        exchange: Exchange,
        base_url: impl Into<String>,
        limits: RestLimits,
    ) -> Result<Self, RestError> {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(limits.timeout)
            .user_agent(concat!("tickmesh/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Transport {
                url: base_url.clone(),
                source: Box::new(e),
            })?;
        Ok(Self {
            exchange,
            base_url,
            http,
            pacer: Arc::new(RequestPacer::new(limits.per_second)),
            max_body_bytes: limits.max_body_bytes,
        })
    }

    async fn get(&self, path: &str) -> Result<(u16, Bytes, String), RestError> {
        let url = format!("{}{}", self.base_url, path);
        let transport = |e: reqwest::Error| RestError::Transport {
            url: url.clone(),
            source: Box::new(e),
        };
        self.pacer.acquire().await;
        let mut response = self.http.get(&url).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let too_large = || RestError::TooLarge {
            url: url.clone(),
            limit: self.max_body_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body_bytes as u64)
        {
            return Err(too_large());
        }
        // Read chunk by chunk: a body without a length (chunked) may still be endless.
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body.freeze(), url))
    }

    fn body_error(&self, url: String, status: u16, e: RestBodyError) -> RestError {
        match e {
            RestBodyError::Exchange { name, message, .. } => RestError::Exchange {
                url,
                status,
                message: Untrusted::escaped(&format!("{name}: {message}")),
            },
            RestBodyError::Body { reason, .. } => RestError::Body {
                url,
                reason: Untrusted::escaped(&reason),
            },
        }
    }
}

#[async_trait]
impl TradeHistory for RestClient {
    async fn markets(&self) -> Result<Vec<Market>, RestError> {
        let path = match self.exchange {
            Exchange::Upbit => upbit::rest::MARKETS_PATH,
            Exchange::Bithumb => bithumb::rest::MARKETS_PATH,
            Exchange::Korbit => korbit::rest::MARKETS_PATH,
        };
        let (status, body, url) = self.get(path).await?;
        let parsed = match self.exchange {
            Exchange::Upbit => upbit::rest::parse_markets(&body),
            Exchange::Bithumb => bithumb::rest::parse_markets(&body),
            Exchange::Korbit => korbit::rest::parse_markets(&body),
        };
        let (markets, skipped) = parsed.map_err(|e| self.body_error(url, status, e))?;
        if !skipped.is_empty() {
            let skipped: Vec<String> = skipped.iter().map(|s| Untrusted::escaped(s)).collect();
            tracing::debug!(exchange = %self.exchange, ?skipped, "market codes tickmesh cannot represent");
        }
        Ok(markets)
    }

    async fn trades(
        &self,
        market: Market,
        cursor: Option<u64>,
        count: u32,
    ) -> Result<TradePage, RestError> {
        let path = match self.exchange {
            Exchange::Upbit => upbit::rest::trades_path(market, count, cursor),
            Exchange::Bithumb => bithumb::rest::trades_path(market, count, cursor),
            Exchange::Korbit => korbit::rest::trades_path(market, count),
        };
        let (status, body, url) = self.get(&path).await?;
        let trades = match self.exchange {
            Exchange::Upbit => upbit::rest::parse_trades(market, &body),
            Exchange::Bithumb => bithumb::rest::parse_trades(market, &body),
            Exchange::Korbit => korbit::rest::parse_trades(&body),
        }
        .map_err(|e| self.body_error(url, status, e))?;
        // Upbit and Bithumb page by `sequential_id`; Korbit serves only its latest trades.
        let next_cursor = match self.exchange {
            Exchange::Korbit => None,
            _ if trades.len() < count as usize => None,
            _ => trades.last().map(|(_, t)| t.trade_id.0),
        };
        Ok(TradePage {
            trades,
            next_cursor,
        })
    }
}
