//! The client commands for scripts and for people, against `tickmesh up --simulate` with a
//! day of ADA/KRW history seeded into its database (a market the simulators do not trade, so
//! the answers hold still): every command's JSON against the gRPC answer it came from, the
//! table formats, exit statuses and shell completions. Exports are checked in
//! `client_export.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use rust_decimal::Decimal;
use sea_orm::Database;
use serde_json::Value as Json;
use support::cli::{json, run};
use support::process::Proc;
use support::seed::{DAY, seed_a_day_of_ada};
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;
use tickmesh_proto::subscription::v1 as subscription;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;

fn rfc3339(t: Option<&prost_types::Timestamp>) -> Json {
    t.map_or(Json::Null, |t| {
        let micros = t.seconds * 1_000_000 + i64::from(t.nanos) / 1000;
        let d = chrono::DateTime::from_timestamp_micros(micros).unwrap();
        Json::String(d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    })
}

fn wire_time(micros: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    })
}

fn text_or_null(s: &str) -> Json {
    if s.is_empty() {
        Json::Null
    } else {
        Json::String(s.to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_print_what_the_server_answered_for_scripts_and_for_people() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let env = vec![("TICKMESH__DATABASE__URL".to_owned(), url.clone())];
    let up = Proc::start("up", &["up", "--simulate", "--simulate-rate", "20"], &env);
    let server = format!("http://{}", up.grpc);
    let db = Database::connect(url.as_str()).await.unwrap();
    seed_a_day_of_ada(&db).await;
    let channel = tonic::transport::Endpoint::from_shared(server.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = HistoryServiceClient::new(channel.clone());
    let (from, to) = ("2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z");

    // trades: every field of every trade of an hour, against ListTrades page by page.
    let cli = json(
        &server,
        &["trades", "ADA", "--from", from, "--to", to, "--limit", "0"],
    );
    let mut answered = Vec::new();
    let mut token = String::new();
    loop {
        let page = grpc
            .list_trades(history::ListTradesRequest {
                exchange: 1,
                market: "ADA/KRW".into(),
                start_time: wire_time(DAY),
                end_time: wire_time(DAY + 3_600_000_000),
                page_size: 1000,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        answered.extend(page.trades);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(answered.len(), 3600);
    let cli = cli.as_array().unwrap();
    assert_eq!(cli.len(), answered.len());
    for (c, a) in cli.iter().zip(&answered) {
        let trade = a.trade.as_ref().unwrap();
        let side = if trade.side == 1 { "buy" } else { "sell" };
        let expected = serde_json::json!({
            "time": rfc3339(a.exchange_time.as_ref()),
            "exchange": "upbit",
            "market": "ADA/KRW",
            "trade_id": trade.trade_id.to_string(),
            "price": trade.price,
            "size": trade.size,
            "side": side,
            "received_time": rfc3339(a.received_time.as_ref()),
        });
        assert_eq!(c, &expected);
    }

    // history: 5-minute candles of the day, against ListCandles.
    let cli = json(
        &server,
        &[
            "history",
            "ADA",
            "--interval",
            "5m",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-02",
            "--utc",
        ],
    );
    let candles = grpc
        .list_candles(history::ListCandlesRequest {
            exchange: 1,
            market: "ADA".into(),
            interval: history::CandleInterval::CandleInterval5m as i32,
            start_time: wire_time(DAY),
            end_time: wire_time(DAY + 86_400_000_000),
        })
        .await
        .unwrap()
        .into_inner()
        .candles;
    assert_eq!(candles.len(), 288);
    let cli = cli.as_array().unwrap();
    assert_eq!(cli.len(), 288);
    for (c, a) in cli.iter().zip(&candles) {
        assert_eq!(c["open_time"], rfc3339(a.open_time.as_ref()));
        for (field, value) in [
            ("open", &a.open),
            ("high", &a.high),
            ("low", &a.low),
            ("close", &a.close),
            ("volume", &a.volume),
            ("quote_volume", &a.quote_volume),
        ] {
            assert_eq!(c[field], Json::String(value.clone()), "{field}");
        }
        assert_eq!(c["trade_count"], Json::from(a.trade_count));
        assert_eq!(
            (c["interval"].as_str(), c["market"].as_str()),
            (Some("5m"), Some("ADA/KRW"))
        );
    }

    // spread: hourly closes of Upbit against Bithumb, against GetSpreadHistory.
    let cli = json(
        &server,
        &[
            "spread",
            "ADA",
            "--base",
            "upbit",
            "--other",
            "bithumb",
            "--interval",
            "1h",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-02",
            "--utc",
        ],
    );
    let points = grpc
        .get_spread_history(history::GetSpreadHistoryRequest {
            market: "ADA".into(),
            base_exchange: 1,
            other_exchange: 2,
            interval: history::CandleInterval::CandleInterval1h as i32,
            start_time: wire_time(DAY),
            end_time: wire_time(DAY + 86_400_000_000),
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    assert_eq!(points.len(), 24);
    let expected: Vec<Json> = points
        .iter()
        .map(|p| {
            serde_json::json!({
                "time": rfc3339(p.time.as_ref()), "market": "ADA/KRW", "base": "upbit",
                "other": "bithumb", "base_close": p.base_close, "other_close": p.other_close,
                "spread": p.spread, "spread_percent": p.spread_percent,
            })
        })
        .collect();
    assert_eq!(cli, Json::Array(expected));

    // compare: the latest tickers, Upbit's bid and ask from its latest book.
    let cli = json(&server, &["compare", "ADA"]);
    let latest = grpc
        .get_latest_tickers(history::GetLatestTickersRequest {
            market: "ADA".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let tickers: Vec<Json> = latest
        .tickers
        .iter()
        .map(|t| {
            let ticker = t.ticker.as_ref().unwrap();
            let exchange = ["", "upbit", "bithumb", "korbit"][t.exchange as usize];
            serde_json::json!({
                "exchange": exchange, "market": "ADA/KRW", "last": ticker.last,
                "bid": text_or_null(&ticker.best_bid), "ask": text_or_null(&ticker.best_ask),
                "volume_24h": text_or_null(&ticker.volume_24h),
                "time": rfc3339(t.exchange_time.as_ref()), "book_time": rfc3339(t.book_time.as_ref()),
            })
        })
        .collect();
    assert_eq!(cli["tickers"], Json::Array(tickers));
    assert_eq!(cli["tickers"][0]["bid"], "1049.5", "{cli}");
    assert_eq!(cli["spread"], Json::String(latest.spread.clone()));
    assert_eq!(
        cli["spread_percent"],
        Json::String(latest.spread_percent.clone())
    );
    assert_eq!(
        (cli["highest"].as_str(), cli["lowest"].as_str()),
        (Some("korbit"), Some("upbit"))
    );

    // subs ls, against ListSubscriptions.
    let cli = json(&server, &["subs", "ls"]);
    let subs = SubscriptionServiceClient::new(channel.clone())
        .list_subscriptions(subscription::ListSubscriptionsRequest { exchange: 0 })
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    let expected: Vec<Json> = subs
        .iter()
        .map(|s| {
            let m = s.market.as_ref().unwrap();
            let exchange = ["", "upbit", "bithumb", "korbit"][s.exchange as usize];
            serde_json::json!({
                "exchange": exchange, "market": format!("{}/{}", m.base, m.quote),
                "since": rfc3339(s.created_time.as_ref()),
            })
        })
        .collect();
    assert_eq!(cli, Json::Array(expected));

    // feeds: one object, the feeds and the bridge's figures.
    let cli = json(&server, &["feeds"]);
    let feeds = cli["feeds"].as_array().unwrap();
    let exchanges: Vec<&str> = feeds
        .iter()
        .map(|f| f["exchange"].as_str().unwrap())
        .collect();
    assert_eq!(exchanges, ["upbit", "bithumb", "korbit"]);
    assert!(
        feeds
            .iter()
            .all(|f| f["markets"].as_array().unwrap().len() == 5),
        "{cli}"
    );
    assert!(cli["bridge"]["forwarded"].is_u64(), "{cli}");

    // watch: every streamed event as one JSON line.
    let (code, out, err) = run(
        &server,
        &["watch", "BTC", "--for", "3s", "--output", "ndjson"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let events: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.len() > 10, "{out}");
    for e in &events {
        assert_eq!(e["market"], "BTC/KRW");
        match e["kind"].as_str().unwrap() {
            "trade" => {
                e["price"].as_str().unwrap().parse::<Decimal>().unwrap();
                e["trade_id"].as_str().unwrap().parse::<u64>().unwrap();
            }
            "ticker" => assert!(e["last"].is_string(), "{e}"),
            "order_book" => assert!(e["bids"][0][0].is_string(), "{e}"),
            other => panic!("unexpected kind {other}: {e}"),
        }
    }

    // subs add and rm print the pairs they changed.
    let removed = json(&server, &["subs", "rm", "DOGE"]);
    let mut removed: Vec<(&str, &str)> = removed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["exchange"].as_str().unwrap(),
                s["market"].as_str().unwrap(),
            )
        })
        .collect();
    removed.sort_unstable();
    assert_eq!(
        removed,
        [
            ("bithumb", "DOGE/KRW"),
            ("korbit", "DOGE/KRW"),
            ("upbit", "DOGE/KRW")
        ]
    );
    let added = json(
        &server,
        &["subs", "add", "doge_krw", "--exchange", "korbit"],
    );
    assert_eq!(added.as_array().unwrap().len(), 1, "{added}");
    assert_eq!(
        (added[0]["exchange"].as_str(), added[0]["market"].as_str()),
        (Some("korbit"), Some("DOGE/KRW"))
    );
    assert!(
        added[0]["since"].as_str().unwrap().ends_with('Z'),
        "{added}"
    );

    people_read_tables(&server);
    scripts_read_exit_statuses(&server);
    up.terminate();
}

/// Tables: ISO 8601 times in the machine's zone (or UTC), grouped decimals, ages.
fn people_read_tables(server: &str) {
    let seoul = [("TZ", "Asia/Seoul")];
    let args = [
        "trades",
        "ADA",
        "--from",
        "2025-01-01T00:00:00Z",
        "--to",
        "2025-01-01T00:00:03Z",
    ];
    let (code, out, err) = run(server, &args, &seoul);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("TIME "), "{out}");
    assert!(
        lines[1].starts_with("2025-01-01T09:00:00+09:00  upbit"),
        "{out}"
    );
    // Prices at one scale per column: the seeded prices have one place.
    assert!(
        lines[1].contains(" 1,000.0 ") && lines[2].contains(" 1,001.1 "),
        "{out}"
    );
    let mut utc = args.to_vec();
    utc.push("--utc");
    let (_, out, _) = run(server, &utc, &seoul);
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("2025-01-01T00:00:00Z  "),
        "{out}"
    );

    let (_, out, _) = run(server, &["compare", "ADA"], &seoul);
    let upbit = out.lines().find(|l| l.starts_with("upbit")).unwrap();
    assert!(
        upbit.contains("1,049.5") && upbit.contains("1,050.5"),
        "{out}"
    );
    assert!(
        out.contains("spread: 150.5 (+14.33%), highest korbit, lowest upbit"),
        "{out}"
    );

    let (_, out, _) = run(server, &["feeds"], &seoul);
    let upbit = out.lines().find(|l| l.starts_with("upbit")).unwrap();
    assert!(upbit.ends_with(" ago") || upbit.ends_with(" now"), "{out}");
    let (_, out, _) = run(server, &["subs", "ls"], &seoul);
    assert!(!out.contains("µs") && out.contains("+09:00"), "{out}");
}

/// Exit statuses scripts can tell apart.
fn scripts_read_exit_statuses(server: &str) {
    let status = |args: &[&str]| run(server, args, &[]).0;
    assert_eq!(status(&["trades", "ADA", "--exchange", "nope"]), 2);
    assert_eq!(status(&["trades", "ADA", "--from", "1h", "--to", "2h"]), 2);
    assert_eq!(status(&["trades", "ADA", "--from", "yesterday"]), 2);
    assert_eq!(status(&["export", "ADA", "--out", "x.txt"]), 2);
    // Six years of minutes is more than the server reads in one call.
    let too_long = [
        "spread",
        "ADA",
        "--base",
        "upbit",
        "--other",
        "bithumb",
        "--from",
        "2019-01-01",
        "--to",
        "2025-01-01",
    ];
    assert_eq!(status(&too_long), 5);
    assert_eq!(status(&["subs", "add", "NOPE"]), 5);
    for (shell, marker) in [
        ("bash", "_tickmesh()"),
        ("zsh", "#compdef tickmesh"),
        ("fish", "complete -c tickmesh"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains(marker) && script.contains("export"),
            "{shell}"
        );
        if shell == "bash" {
            let check = Command::new("bash")
                .args(["-n", "-c", &script])
                .status()
                .unwrap();
            assert!(check.success(), "the bash completion script does not parse");
        }
    }
}
