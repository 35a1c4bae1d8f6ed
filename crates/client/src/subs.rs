//! `tickmesh subs add|rm|ls`: manage the collected exchange + market pairs.

use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;

use crate::output::{Column, OutputArgs, Printer, Shape, Value, shown};
use crate::server::{ServerArgs, explain};
use crate::wire::{exchange_filter, exchange_text, market_text, time};

/// Options of `tickmesh subs`.
#[derive(Debug, clap::Args)]
pub struct SubsArgs {
    #[command(subcommand)]
    action: SubsAction,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
enum SubsAction {
    /// Collect a market (on every exchange that lists it, or on one).
    Add {
        /// The market, in any spelling (BTC, KRW-BTC, btc_krw, BTC/KRW).
        market: String,
        /// Only this exchange (upbit, bithumb, korbit).
        #[arg(long)]
        exchange: Option<String>,
    },
    /// Stop collecting a market (everywhere, or on one exchange).
    Rm {
        /// The market.
        market: String,
        /// Only this exchange.
        #[arg(long)]
        exchange: Option<String>,
    },
    /// List what is collected.
    Ls {
        /// Only this exchange.
        #[arg(long)]
        exchange: Option<String>,
    },
}

/// The fields of a subscription.
pub const COLUMNS: &[Column] = &[
    shown("exchange", "EXCHANGE"),
    shown("market", "MARKET"),
    shown("since", "SINCE"),
];

/// Runs `tickmesh subs`: prints the pairs added, removed or collected.
pub async fn run(args: SubsArgs) -> anyhow::Result<()> {
    let mut client = SubscriptionServiceClient::new(args.server.connect().await?);
    let (subscriptions, note) = match &args.action {
        SubsAction::Add { market, exchange } => {
            let request = wire::CreateSubscriptionRequest {
                exchange: exchange_filter(exchange.as_deref())?,
                market: market.clone(),
            };
            let reply = client
                .create_subscription(args.server.request(request)?)
                .await
                .map_err(explain)?;
            (reply.into_inner().subscriptions, "subscribed")
        }
        SubsAction::Rm { market, exchange } => {
            let request = wire::DeleteSubscriptionRequest {
                exchange: exchange_filter(exchange.as_deref())?,
                market: market.clone(),
            };
            let reply = client
                .delete_subscription(args.server.request(request)?)
                .await
                .map_err(explain)?;
            (reply.into_inner().removed, "removed")
        }
        SubsAction::Ls { exchange } => {
            let request = wire::ListSubscriptionsRequest {
                exchange: exchange_filter(exchange.as_deref())?,
            };
            let reply = client
                .list_subscriptions(args.server.request(request)?)
                .await
                .map_err(explain)?;
            (reply.into_inner().subscriptions, "collected")
        }
    };
    let mut printer = Printer::stdout(&args.output, COLUMNS, Shape::List);
    for s in &subscriptions {
        printer.row(vec![
            Value::Text(exchange_text(s.exchange)),
            Value::Text(market_text(s.market.as_ref())),
            Value::time(time(s.created_time.as_ref())),
        ])?;
    }
    let count = subscriptions.len();
    let pairs = if count == 1 { "pair" } else { "pairs" };
    printer.finish(Vec::new(), &[format!("{count} {pairs} {note}")])?;
    Ok(())
}
