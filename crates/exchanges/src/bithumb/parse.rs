//! Bithumb frames: the quotation dialect (see [`crate::quotation`]) tagged as Bithumb.

use tickmesh_domain::{Exchange, MarketEvent, UtcMicros};

use crate::{Control, FrameError, quotation};

/// Parses one Bithumb frame (binary or text), appending its events to `out`.
pub fn parse_frame(
    payload: &[u8],
    received: UtcMicros,
    keep_raw: bool,
    out: &mut Vec<MarketEvent>,
) -> Result<Control, FrameError> {
    quotation::parse_frame(Exchange::Bithumb, payload, received, keep_raw, out)
}
