//! `tickmesh feeds`: the exchange connections' status, who holds each unit of a replicated
//! ingestion, and the bridge's status where it runs.

use serde_json::{Value as Json, json};
use tickmesh_proto::bridge::v1::GetStatsRequest;
use tickmesh_proto::bridge::v1::bridge_service_client::BridgeServiceClient;
use tickmesh_proto::ingestion::v1 as ingestion;
use tickmesh_proto::ingestion::v1::ingestion_service_client::IngestionServiceClient;

use crate::output::{Column, OutputArgs, Printer, Shape, Value, machine, shown};
use crate::server::{ServerArgs, explain};
use crate::wire::{exchange_text, market_text, time};

/// Options of `tickmesh feeds`.
#[derive(Debug, clap::Args)]
pub struct FeedsArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The fields of a feed.
pub const COLUMNS: &[Column] = &[
    shown("exchange", "EXCHANGE"),
    machine("unit"),
    machine("lease_token"),
    shown("state", "STATE"),
    shown("markets", "MARKETS"),
    shown("events_per_second", "EVENTS/S"),
    shown("messages", "MESSAGES"),
    shown("reconnects", "RECONNECTS"),
    shown("gaps", "GAPS"),
    machine("backfilled_trades"),
    machine("parse_errors"),
    shown("rejected", "REJECTED"),
    shown("last_message_time", "LAST MESSAGE"),
    machine("last_disconnect_reason"),
];

/// Runs `tickmesh feeds`. JSON is one object: `feeds`, and `bridge` (null when no bridge
/// answers at the same address).
pub async fn run(args: FeedsArgs) -> anyhow::Result<()> {
    let channel = args.server.connect().await?;
    let reply = IngestionServiceClient::new(channel.clone())
        .list_feeds(args.server.request(ingestion::ListFeedsRequest {})?)
        .await
        .map_err(explain)?
        .into_inner();
    let feeds = &reply.feeds;
    let mut printer = Printer::stdout(&args.output, COLUMNS, Shape::Object("feeds"));
    for f in feeds {
        let state = ingestion::FeedState::try_from(f.state).map_or_else(
            |_| "?".to_owned(),
            |s| {
                s.as_str_name()
                    .trim_start_matches("FEED_STATE_")
                    .to_ascii_lowercase()
            },
        );
        printer.row(vec![
            Value::Text(exchange_text(f.exchange)),
            Value::Text(f.unit.clone()),
            Value::Count(f.lease_token),
            Value::Text(state),
            Value::List(f.markets.iter().map(|m| market_text(Some(m))).collect()),
            Value::Rate(f.events_per_second),
            Value::Count(f.messages),
            Value::Count(f.reconnects),
            Value::Count(f.gaps),
            Value::Count(f.backfilled_trades),
            Value::Count(f.parse_errors),
            // Frames and events refused at the edge, all reasons (`ListFeeds` has each).
            Value::Count(f.rejected.iter().map(|r| r.count).sum()),
            time(f.last_message_time.as_ref()).map_or(Value::Null, Value::Age),
            Value::Text(f.last_disconnect_reason.clone()),
        ])?;
    }
    // The bridge runs beside ingestion in `tickmesh up`; elsewhere it may be another process.
    let bridge = BridgeServiceClient::new(channel)
        .get_stats(args.server.request(GetStatsRequest {})?)
        .await
        .ok()
        .map(tonic::Response::into_inner);
    let mut notes: Vec<String> = units_notes(&reply);
    notes.extend(bridge.iter().map(|s| {
        format!(
            "bridge: {} forwarded, {:.0}/s, lag {}, pending {}, {} dead-lettered",
            s.forwarded, s.events_per_second, s.lag, s.pending, s.dead_lettered
        )
    }));
    let bridge = bridge.map_or(Json::Null, |s| {
        json!({
            "forwarded": s.forwarded,
            "events_per_second": s.events_per_second,
            "lag": s.lag,
            "pending": s.pending,
            "dead_lettered": s.dead_lettered,
            "reclaimed": s.reclaimed,
        })
    });
    let units: Vec<Json> = reply
        .units
        .iter()
        .map(|u| {
            json!({
                "unit": u.unit,
                "owner": u.owner,
                "token": u.token,
                "granted_time": time(u.granted_time.as_ref()).map(crate::render::machine_time),
                "remaining_ms": u.remaining_ms,
            })
        })
        .collect();
    let extra = vec![
        ("bridge", bridge),
        ("replica", Json::String(reply.replica.clone())),
        ("units", Json::Array(units)),
    ];
    printer.finish(extra, &notes)?;
    Ok(())
}

/// One line per unit of a replicated ingestion: who holds it and since when.
fn units_notes(reply: &ingestion::ListFeedsResponse) -> Vec<String> {
    reply
        .units
        .iter()
        .map(|u| {
            let owner = if u.owner.is_empty() {
                "nobody"
            } else {
                u.owner.as_str()
            };
            format!("unit {}: held by {owner} (token {})", u.unit, u.token)
        })
        .collect()
}
