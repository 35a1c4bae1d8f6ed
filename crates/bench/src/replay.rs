//! A StreamTicks client that resumes from some way back partway through a run: how fast the
//! history reaches it, while the other clients' latency shows what the replay costs them.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use tickmesh_proto::convert::time_to_wire;
use tickmesh_proto::stream::v1 as wire;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tonic::transport::Endpoint;

/// When the resuming client comes, and from how far back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayPlan {
    /// This long after generation starts; `None` for no resuming client.
    pub at: Option<Duration>,
    /// It asks for everything from this long before it comes (`start_time`).
    pub back: Duration,
}

/// How the resuming client fared.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayFigures {
    /// How far back it asked to start, in seconds.
    pub back_s: f64,
    /// Events it received from history before the first live one.
    pub events: u64,
    /// Seconds from its request to its first live event.
    pub catch_up_s: f64,
    /// Replayed events per second it received.
    pub events_per_second: f64,
    /// Seconds to its first item.
    pub first_item_s: f64,
    /// Whether it reached live before the run ended.
    pub caught_up: bool,
}

/// Resumes from `back` ago on `addr`, for every event, and reads until the first live item
/// or `limit`.
pub async fn measure(addr: &str, back: Duration, limit: Duration) -> anyhow::Result<ReplayFigures> {
    let url = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    let channel = Endpoint::from_shared(url)
        .context("bad subscription address")?
        .connect()
        .await
        .with_context(|| format!("cannot connect the resuming client to {addr}"))?;
    let back_us = i64::try_from(back.as_micros()).unwrap_or(i64::MAX);
    let since = tickmesh_domain::UtcMicros(tickmesh_domain::UtcMicros::now().as_micros() - back_us);
    let request = wire::StreamTicksRequest {
        start_time: Some(time_to_wire(since)),
        ..wire::StreamTicksRequest::default()
    };
    let started = Instant::now();
    let mut stream = TickStreamServiceClient::new(channel)
        .max_decoding_message_size(4 << 20)
        .stream_ticks(request)
        .await
        .context("the resuming client's request failed")?
        .into_inner();
    let deadline = tokio::time::Instant::now() + limit;
    let (mut events, mut first_item, mut caught_up) = (0u64, None, false);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.message()).await;
        let Ok(next) = next else { break };
        let Some(item) = next.context("the resuming client's stream failed")? else {
            break;
        };
        first_item.get_or_insert_with(|| started.elapsed());
        if !item.replayed {
            caught_up = true;
            break;
        }
        events += 1;
    }
    let catch_up = started.elapsed().as_secs_f64();
    Ok(ReplayFigures {
        back_s: back.as_secs_f64(),
        events,
        catch_up_s: catch_up,
        events_per_second: events as f64 / catch_up.max(1e-9),
        first_item_s: first_item.unwrap_or_default().as_secs_f64(),
        caught_up,
    })
}
