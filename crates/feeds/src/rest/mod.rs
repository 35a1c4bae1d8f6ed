//! The exchanges' REST APIs over HTTP: market lists and recent trades, for
//! [`TradeHistory`](crate::TradeHistory).

use std::time::Duration;

use async_trait::async_trait;
use tickmesh_domain::{Exchange, Market};
use tickmesh_exchanges::{RestBodyError, bithumb, korbit, upbit};

use crate::protocol::{RestError, TradeHistory, TradePage};

/// An HTTP client of one exchange's REST API.
#[derive(Debug, Clone)]
pub struct RestClient {
    exchange: Exchange,
    base_url: String,
    http: reqwest::Client,
}

impl RestClient {
    /// A client of `exchange` at `base_url` (production or a simulator), with a 10 s timeout.
    pub fn new(exchange: Exchange, base_url: impl Into<String>) -> Result<Self, RestError> {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
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
        })
    }

    async fn get(&self, path: &str) -> Result<(u16, bytes::Bytes, String), RestError> {
        let url = format!("{}{}", self.base_url, path);
        let transport = |e: reqwest::Error| RestError::Transport {
            url: url.clone(),
            source: Box::new(e),
        };
        let response = self.http.get(&url).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        Ok((status, body, url))
    }

    fn body_error(&self, url: String, status: u16, e: RestBodyError) -> RestError {
        match e {
            RestBodyError::Exchange { name, message, .. } => RestError::Exchange {
                url,
                status,
                message: format!("{name}: {message}"),
            },
            RestBodyError::Body { reason, .. } => RestError::Body { url, reason },
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
