//! `tickmesh subs add|rm|ls`: manage the desired exchange + market pairs.

use tickmesh_proto::convert::exchange_to_wire;
use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;

use super::{ServerArgs, explain, print_table};
use crate::client::history::{exchange_name, market_name, parse_exchange, time_text};

/// Options of `tickmesh subs`.
#[derive(Debug, clap::Args)]
pub struct SubsArgs {
    #[command(subcommand)]
    action: SubsAction,
    #[command(flatten)]
    server: ServerArgs,
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

pub async fn run(args: SubsArgs) -> anyhow::Result<()> {
    let mut client = SubscriptionServiceClient::new(args.server.connect().await?);
    let exchange = |e: &Option<String>| -> anyhow::Result<i32> {
        Ok(e.as_deref()
            .map(parse_exchange)
            .transpose()?
            .map_or(0, |e| exchange_to_wire(e) as i32))
    };
    let subscriptions = match &args.action {
        SubsAction::Add {
            market,
            exchange: e,
        } => {
            let request = wire::CreateSubscriptionRequest {
                exchange: exchange(e)?,
                market: market.clone(),
            };
            let reply = client
                .create_subscription(args.server.request(request)?)
                .await
                .map_err(explain)?;
            println!("subscribed:");
            reply.into_inner().subscriptions
        }
        SubsAction::Rm {
            market,
            exchange: e,
        } => {
            let request = wire::DeleteSubscriptionRequest {
                exchange: exchange(e)?,
                market: market.clone(),
            };
            let reply = client
                .delete_subscription(args.server.request(request)?)
                .await
                .map_err(explain)?;
            println!("removed:");
            reply.into_inner().removed
        }
        SubsAction::Ls { exchange: e } => {
            let request = wire::ListSubscriptionsRequest {
                exchange: exchange(e)?,
            };
            client
                .list_subscriptions(args.server.request(request)?)
                .await
                .map_err(explain)?
                .into_inner()
                .subscriptions
        }
    };
    let mut rows = vec![vec!["EXCHANGE".into(), "MARKET".into(), "SINCE".into()]];
    rows.extend(subscriptions.iter().map(|s| {
        vec![
            exchange_name(s.exchange),
            market_name(s.market.as_ref()),
            time_text(s.created_time.as_ref()),
        ]
    }));
    print_table(&rows);
    Ok(())
}
