//! Trading pairs and their many spellings.
//!
//! The canonical text of a market is `BASE/QUOTE` in upper case (`BTC/KRW`). Users and
//! exchanges write it in several ways, all accepted by [`Market::parse`]:
//!
//! | spelling  | who writes it                         | order       |
//! |-----------|---------------------------------------|-------------|
//! | `KRW-BTC` | Upbit, Bithumb (WebSocket and `/v1`)  | QUOTE-BASE  |
//! | `BTC_KRW` | Bithumb legacy WebSocket and REST     | BASE_QUOTE  |
//! | `btc_krw` | Korbit / Digital X (case-sensitive)   | base_quote  |
//! | `BTC/KRW` | tickmesh canonical                    | BASE/QUOTE  |
//! | `BTC`     | users; a bare asset means `BTC/KRW`   | BASE        |
//!
//! [`Market`] is `Copy` and allocation-free: assets are stored inline, because a market is
//! attached to every one of the hundreds of thousands of events per second the parsers emit.

use std::fmt;
use std::str::FromStr;

use crate::exchange::Exchange;

/// The longest asset code accepted. Listed codes are at most 10 characters today.
pub const MAX_ASSET_LEN: usize = 15;

/// An asset code such as `BTC` or `1INCH`: 1 to 15 ASCII letters and digits, stored upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asset {
    len: u8,
    bytes: [u8; MAX_ASSET_LEN],
}

impl Asset {
    /// The Korean won, the quote of every market a bare asset names.
    pub const KRW: Asset = Asset {
        len: 3,
        bytes: *b"KRW\0\0\0\0\0\0\0\0\0\0\0\0",
    };

    /// Parses an asset code, normalising it to upper case.
    pub fn parse(code: &str) -> Result<Asset, MarketError> {
        let raw = code.as_bytes();
        if raw.is_empty() || raw.len() > MAX_ASSET_LEN {
            return Err(MarketError::BadAsset(code.to_owned()));
        }
        let mut bytes = [0u8; MAX_ASSET_LEN];
        for (slot, &b) in bytes.iter_mut().zip(raw) {
            if !b.is_ascii_alphanumeric() {
                return Err(MarketError::BadAsset(code.to_owned()));
            }
            *slot = b.to_ascii_uppercase();
        }
        Ok(Asset {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// Returns the upper-case code.
    pub fn as_str(&self) -> &str {
        // Invariant: `parse` only stores ASCII alphanumerics, which are valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trading pair: `base` priced in `quote` (`BTC/KRW` is bitcoin priced in won).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Market {
    /// The asset bought and sold.
    pub base: Asset,
    /// The asset prices are quoted in.
    pub quote: Asset,
}

/// Why a market or asset spelling was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    /// The asset code is empty, too long or has characters other than letters and digits.
    #[error("invalid asset code {0:?}: expected 1 to 15 letters or digits")]
    BadAsset(String),
    /// The text matches none of the accepted market spellings.
    #[error("invalid market {0:?}: expected BTC/KRW, KRW-BTC, BTC_KRW, btc_krw or BTC")]
    BadMarket(String),
    /// Base and quote are the same asset.
    #[error("invalid market {0:?}: base and quote are the same asset")]
    SameAsset(String),
}

impl Market {
    /// Builds a market from its two assets.
    pub fn new(base: Asset, quote: Asset) -> Result<Market, MarketError> {
        if base == quote {
            return Err(MarketError::SameAsset(format!("{base}/{quote}")));
        }
        Ok(Market { base, quote })
    }

    /// Parses any accepted spelling (see the module docs); surrounding spaces are ignored.
    pub fn parse(text: &str) -> Result<Market, MarketError> {
        let s = text.trim();
        let bad = || MarketError::BadMarket(text.to_owned());
        let (base, quote) = if let Some((quote, base)) = s.split_once('-') {
            (base, quote)
        } else if let Some((base, quote)) = s.split_once('_') {
            (base, quote)
        } else if let Some((base, quote)) = s.split_once('/') {
            (base, quote)
        } else {
            (s, "KRW")
        };
        let base = Asset::parse(base).map_err(|_| bad())?;
        let quote = Asset::parse(quote).map_err(|_| bad())?;
        Market::new(base, quote).map_err(|e| match e {
            MarketError::SameAsset(_) => MarketError::SameAsset(text.to_owned()),
            other => other,
        })
    }

    /// Parses the symbol an exchange itself sends, in that exchange's own spelling only.
    ///
    /// Stricter than [`Market::parse`]: a frame that carries another exchange's spelling is
    /// malformed and must be counted as such, not silently reinterpreted.
    pub fn from_exchange_symbol(exchange: Exchange, symbol: &str) -> Result<Market, MarketError> {
        let bad = || MarketError::BadMarket(symbol.to_owned());
        let (base, quote) = match exchange {
            Exchange::Upbit | Exchange::Bithumb => {
                let (quote, base) = symbol.split_once('-').ok_or_else(bad)?;
                (base, quote)
            }
            Exchange::Korbit => symbol.split_once('_').ok_or_else(bad)?,
        };
        Market::new(
            Asset::parse(base).map_err(|_| bad())?,
            Asset::parse(quote).map_err(|_| bad())?,
        )
    }

    /// Formats the market the way `exchange` expects it in requests (`KRW-BTC`, `btc_krw`).
    pub fn to_exchange_symbol(&self, exchange: Exchange) -> String {
        match exchange {
            Exchange::Upbit | Exchange::Bithumb => format!("{}-{}", self.quote, self.base),
            Exchange::Korbit => format!(
                "{}_{}",
                self.base.as_str().to_ascii_lowercase(),
                self.quote.as_str().to_ascii_lowercase()
            ),
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.quote)
    }
}

impl fmt::Debug for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.quote)
    }
}

impl FromStr for Market {
    type Err = MarketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Market::parse(s)
    }
}

#[cfg(test)]
mod tests;
