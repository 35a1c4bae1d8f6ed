//! What the keyset-paged reads ([`trades_page`](super::trades_page),
//! [`tickers_page`](super::tickers_page)) share: the page size a request gets, the time range,
//! reading one row past the page, and page tokens.
//!
//! A page token names the key of the last row handed out, as integers behind a prefix that
//! says which read it belongs to and in which version (`v1:<time>:<id>` for trades). A token
//! of another read, version or shape is refused naming `page_token`, never read as a
//! different key.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Select};
use tickmesh_domain::{Exchange, Market, UtcMicros};

use super::{HistoryError, check_range};

/// The page size used when a request asks for 0.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The largest page; larger requests are clamped to it (as AIP-158 recommends), not refused.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Which page of a market's stored rows to read: ListTrades and ListTickers ask alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest<'a> {
    /// The exchange.
    pub exchange: Exchange,
    /// The market.
    pub market: Market,
    /// Inclusive start of the exchange-time range; `None` for the beginning.
    pub start: Option<UtcMicros>,
    /// Exclusive end; `None` for no end.
    pub end: Option<UtcMicros>,
    /// Rows wanted: 0 means [`DEFAULT_PAGE_SIZE`], more than [`MAX_PAGE_SIZE`] the maximum.
    pub size: u32,
    /// The previous page's `next_page_token`; `None` for the first page.
    pub token: Option<&'a str>,
}

/// The rows a request for `requested` gets: 0 means [`DEFAULT_PAGE_SIZE`], more than
/// [`MAX_PAGE_SIZE`] the maximum.
pub(crate) fn page_size(requested: u32) -> u32 {
    match requested {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

/// `query` limited to `time` in `[start, end)`, either bound open, and to times from `from`
/// on when a page continues after a key (`from`: the first time the next page may hold).
/// Errors name `end_time` when `start >= end`.
///
/// The two lower bounds become one, the later: the databases start an index scan from one
/// bound only, and SQLite picks the first it sees, so with both the scan would start at the
/// range's start and every page of a long range would cost more than the last.
pub(crate) fn in_range_from<E: EntityTrait>(
    mut query: Select<E>,
    time: impl ColumnTrait,
    start: Option<UtcMicros>,
    end: Option<UtcMicros>,
    from: Option<i64>,
) -> Result<Select<E>, HistoryError> {
    check_range(start, end)?;
    let lower = match (start.map(UtcMicros::as_micros), from) {
        (Some(start), Some(from)) => Some(start.max(from)),
        (start, from) => start.or(from),
    };
    if let Some(lower) = lower {
        query = query.filter(time.gte(lower));
    }
    if let Some(end) = end {
        query = query.filter(time.lt(end.as_micros()));
    }
    Ok(query)
}

/// At most `size` rows of `query` (which must be ordered by the page key), and whether more
/// follow: one row more than the page is read to tell, and dropped.
pub(crate) async fn read_page<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    query: Select<E>,
    size: u32,
) -> Result<(Vec<E::Model>, bool), DbErr> {
    let mut rows = query.limit(u64::from(size) + 1).all(db).await?;
    let more = rows.len() > size as usize;
    rows.truncate(size as usize);
    Ok((rows, more))
}

/// The page tokens of one paged read: `<prefix><key>`, the key's integers separated by `:`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageToken {
    /// Names the read and the token's version, with the trailing `:`.
    pub prefix: &'static str,
    /// The RPC whose responses hand the tokens out, for the error a client sees.
    pub rpc: &'static str,
}

impl PageToken {
    /// The token naming `key`.
    pub(crate) fn encode<const N: usize>(&self, key: [i64; N]) -> String {
        let mut token = self.prefix.to_owned();
        for (i, part) in key.iter().enumerate() {
            if i > 0 {
                token.push(':');
            }
            token.push_str(&part.to_string());
        }
        token
    }

    /// The key `token` names; refused unless it has this prefix and exactly `N` integers.
    pub(crate) fn decode<const N: usize>(&self, token: &str) -> Result<[i64; N], HistoryError> {
        let rest = token
            .strip_prefix(self.prefix)
            .ok_or_else(|| self.invalid())?;
        let mut key = [0; N];
        let mut parts = rest.split(':');
        for slot in &mut key {
            let part = parts.next().ok_or_else(|| self.invalid())?;
            *slot = part.parse().map_err(|_| self.invalid())?;
        }
        if parts.next().is_some() {
            return Err(self.invalid());
        }
        Ok(key)
    }

    /// The error for a token this read did not hand out.
    pub(crate) fn invalid(&self) -> HistoryError {
        HistoryError::invalid(
            "page_token",
            format!("not a token from a previous {} response", self.rpc),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: PageToken = PageToken {
        prefix: "t1:",
        rpc: "ListThings",
    };

    #[test]
    fn page_sizes_default_and_clamp() {
        assert_eq!(page_size(0), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(1), 1);
        assert_eq!(page_size(MAX_PAGE_SIZE), MAX_PAGE_SIZE);
        assert_eq!(page_size(u32::MAX), MAX_PAGE_SIZE);
    }

    #[test]
    fn tokens_round_trip() {
        assert_eq!(ONE.encode([-5]), "t1:-5");
        assert_eq!(ONE.decode::<1>("t1:-5").unwrap(), [-5]);
        let two = ONE.encode([1_790_133_480_000_000, i64::MAX]);
        assert_eq!(two, format!("t1:1790133480000000:{}", i64::MAX));
        assert_eq!(
            ONE.decode::<2>(&two).unwrap(),
            [1_790_133_480_000_000, i64::MAX]
        );
    }

    #[test]
    fn foreign_tokens_name_the_field_and_the_rpc() {
        for bad in [
            "", "garbage", "t1:", "t1:x", "t1:1:2", "t2:1", "v1:1", "t1: 1",
        ] {
            match ONE.decode::<1>(bad) {
                Err(HistoryError::InvalidArgument { field, reason }) => {
                    assert_eq!(field, "page_token");
                    assert!(reason.contains("ListThings"), "{reason}");
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
