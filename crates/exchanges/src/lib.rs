//! The wire protocols of Upbit, Bithumb and Korbit (Digital X), as pure functions: frame
//! parsers into domain [`MarketEvent`](tickmesh_domain::MarketEvent)s, subscription request
//! builders, and parsers of the REST bodies the feeds need (market lists, recent trades).
//!
//! Nothing here does I/O, so every function is tested against verbatim payloads of each
//! exchange (docs/exchanges.md summarises the protocols) and benchmarked on its own;
//! `tickmesh-feeds` owns the sockets and `tickmesh-simulator` the servers.
//!
//! Upbit and Bithumb speak the same ("quotation") dialect, Bithumb having copied Upbit's, so
//! their shared wire types live in [`quotation`] and each exchange's module sets what differs.
//! Every exchange has the same files: `{exchange}.rs` (endpoints) and, in `{exchange}/`,
//! `parse.rs` (frames), `requests.rs` (what the client sends), `rest.rs` (REST bodies) and
//! `tests.rs`.

pub mod bithumb;
mod control;
pub mod korbit;
mod numbers;
pub mod quotation;
mod scan;
#[cfg(test)]
mod testing;
mod untrusted;
pub mod upbit;

pub use control::{Control, FrameError, RestBodyError};
pub use numbers::{decimal_text, integer_text};
pub use untrusted::{UNTRUSTED_LIMIT, Untrusted};
