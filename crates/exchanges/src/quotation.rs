//! The Upbit quotation dialect, which Bithumb's current ("v2") WebSocket and `/v1` REST API
//! copy: request arrays of `{ticket}`, `{type, codes}` and `{format}` objects, frames keyed
//! `type`/`code` (or `ty`/`cd` in the SIMPLE format), JSON numbers for prices and sizes.
//!
//! What differs between the two exchanges is passed in as the [`Exchange`](tickmesh_domain::Exchange):
//! timestamps are normalised by magnitude, so Bithumb's microsecond book times and everyone's
//! millisecond times need no per-exchange code.

pub(crate) mod frames;
pub mod parse;
pub mod requests;
pub mod rest;

pub use parse::parse_frame;
pub use requests::{Format, subscribe_request};
pub use rest::{parse_markets, parse_trades};
