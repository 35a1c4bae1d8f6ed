//! The web page in headless Chromium against `tickmesh up` and the simulators: the board
//! fills, a trade shows, subscriptions made on the page reach the exchanges, a stopped server
//! shows as disconnected and the page recovers, and the page keeps up with a heavy stream.
//! Screenshots land in `<target>/test-artifacts/web/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use support::browser::{self, Browser};
use support::process::Proc;
use support::sims::Sims;
use tickmesh_domain::Market;

/// `tickmesh up` collecting from `sims` into a SQLite file in `dir`, with `extra` settings.
fn up(sims: &Sims, dir: &std::path::Path, args: &[&str], extra: &[(&str, &str)]) -> Proc {
    let mut env = sims.ingestion_env();
    let url = format!("sqlite://{}", dir.join("tickmesh.db").display());
    env.push(("TICKMESH__DATABASE__URL".to_owned(), url));
    for (k, v) in extra {
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    let mut all = vec!["up"];
    all.extend_from_slice(args);
    Proc::start("up", &all, &env)
}

/// Every market row with a price on every exchange: the cells, or `null` while filling.
const BOARD: &str = r#"
    const rows = [...document.querySelectorAll('#board tr[data-market]')];
    const out = {};
    for (const row of rows) {
        const cells = [...row.querySelectorAll('td[data-exchange]')];
        const prices = {};
        for (const c of cells) if (c.dataset.price) prices[c.dataset.exchange] = {
            price: c.dataset.price, high: c.classList.contains('high'), low: c.classList.contains('low') };
        const spread = row.querySelector('td.spread');
        out[row.dataset.market] = { prices, spread: spread && spread.dataset.spread,
            percent: spread && spread.dataset.spreadPercent };
    }
    const want = arguments[0] || [];
    const full = want.every(m => out[m] && Object.keys(out[m].prices).length === 3 && out[m].spread);
    return full ? out : null;
"#;

async fn board(page: &Browser, markets: &[&str], limit: Duration) -> BTreeMap<String, Value> {
    let script = format!(
        "return (function() {{ {BOARD} }}).apply(null, {});",
        json!([markets])
    );
    let value = page
        .wait_for("a price on every exchange for every market", limit, &script)
        .await;
    serde_json::from_value(value).unwrap()
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_board_fills_within_two_seconds_and_a_trade_shows_within_one() {
    let markets = ["BTC", "ETH", "XRP"];
    let sims = Sims::start(&markets, 20.0).await;
    let dir = tempfile::tempdir().unwrap();
    let up = up(&sims, dir.path(), &[], &[]);
    sims.wait_connected().await;
    sims.resume();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let page = Browser::start(1280, 900).await;
    let opened = Instant::now();
    page.goto(&format!("http://{}/", up.grpc)).await;
    let filled = board(&page, &markets, Duration::from_secs(2)).await;
    let took = opened.elapsed();
    eprintln!("board filled {took:?} after the page was asked for");
    assert!(took <= Duration::from_secs(2), "the board took {took:?}");

    // The spread is exact: highest last minus lowest, with the two exchanges marked.
    for (market, row) in &filled {
        let prices: BTreeMap<String, Decimal> = row["prices"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(e, p)| (e.clone(), p["price"].as_str().unwrap().parse().unwrap()))
            .collect();
        let high = prices.values().max().unwrap();
        let low = prices.values().min().unwrap();
        let shown: Decimal = row["spread"].as_str().unwrap().parse().unwrap();
        assert_eq!(shown, high - low, "{market}: {row}");
        for (exchange, price) in &prices {
            let cell = &row["prices"][exchange];
            if high != low {
                assert_eq!(
                    cell["high"] == true,
                    price == high,
                    "{market} {exchange}: {row}"
                );
                assert_eq!(
                    cell["low"] == true,
                    price == low,
                    "{market} {exchange}: {row}"
                );
            }
        }
    }
    page.screenshot(&browser::artifacts().join("board.png"))
        .await;

    // The market view: a trade made now shows in its recent trades within a second.
    page.eval("location.hash = '#/market/BTC';", json!([]))
        .await;
    page.wait_for(
        "the BTC market view with recent trades",
        Duration::from_secs(10),
        "return document.querySelector('#market[data-market=\"BTC\"]') && document.querySelectorAll('#trades tr[data-trade-id]').length > 0",
    )
    .await;
    sims.pause();
    tokio::time::sleep(Duration::from_millis(500)).await;
    page.eval(
        r"window.__seen = {};
          new MutationObserver(() => {
              for (const row of document.querySelectorAll('#trades tr[data-trade-id]')) {
                  const key = row.dataset.exchange + ':' + row.dataset.tradeId;
                  if (!(key in window.__seen)) window.__seen[key] = Date.now();
              }
          }).observe(document.querySelector('#trades'), {childList: true, subtree: true});",
        json!([]),
    )
    .await;
    let upbit = &sims.all[0];
    let btc = Market::parse("BTC").unwrap();
    // A round trades one market, in turn: step until it is BTC's.
    let before = upbit.emitted_trades(btc).len();
    let mut made_at = now_ms();
    while upbit.emitted_trades(btc).len() == before {
        made_at = now_ms();
        upbit.step();
    }
    let id = *upbit.emitted_trades(btc).last().unwrap();
    let key = format!("upbit:{id}");
    let seen = page
        .wait_for(
            &format!("upbit trade {id}"),
            Duration::from_secs(5),
            &format!("return window.__seen[{key:?}] || null"),
        )
        .await;
    let after = seen.as_i64().unwrap() - made_at;
    eprintln!("trade {id} on the page {after} ms after the simulator made it");
    assert!(after <= 1_000, "the trade took {after} ms to show");

    sims.resume();
    tokio::time::sleep(Duration::from_secs(2)).await;
    page.screenshot(&browser::artifacts().join("market.png"))
        .await;
    page.resize(375, 740).await;
    page.eval("location.hash = '#/';", json!([])).await;
    board(&page, &markets, Duration::from_secs(5)).await;
    let overflow = page
        .eval(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            json!([]),
        )
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the board overflows a phone screen by {overflow} px"
    );
    page.screenshot(&browser::artifacts().join("board-phone.png"))
        .await;
    let errors = page.severe_logs().await;
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    up.terminate();
}

/// Fills and submits the add form, as a person would.
async fn add_on_page(page: &Browser, exchange: &str, market: &str) {
    page.eval(
        "const f = document.querySelector('#sub-add');
         f.querySelector('[name=exchange]').value = arguments[0];
         f.querySelector('[name=market]').value = arguments[1];
         f.requestSubmit();",
        json!([exchange, market]),
    )
    .await;
}

async fn give_token(page: &Browser, token: &str) {
    page.wait_for(
        "the token dialog",
        Duration::from_secs(5),
        "const d = document.querySelector('#token-dialog'); return d && (d.open || !d.hidden) && d.offsetParent !== null",
    )
    .await;
    page.eval(
        "document.querySelector('#token-dialog input[name=token]').value = arguments[0];
         document.querySelector('#token-submit').click();",
        json!([token]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_added_and_removed_on_the_page_reach_the_exchanges() {
    let sims = Sims::start(&["BTC", "ETH", "ADA"], 5.0).await;
    let dir = tempfile::tempdir().unwrap();
    let up = up(
        &sims,
        dir.path(),
        &[],
        &[
            ("TICKMESH__INGESTION__MARKETS", "BTC,ETH"),
            ("TICKMESH__SERVER__API_TOKEN", "page-token-7"),
        ],
    );
    sims.wait_connected().await;
    sims.resume();
    let ada = Market::parse("ADA").unwrap();
    let (upbit, bithumb) = (&sims.all[0], &sims.all[1]);
    assert!(!upbit.subscribed_markets().contains(&ada));

    let page = Browser::start(1280, 900).await;
    page.goto(&format!("http://{}/#/subs", up.grpc)).await;
    page.wait_for(
        "the configured subscriptions",
        Duration::from_secs(10),
        "return document.querySelectorAll('#subs-list tr[data-market=\"BTC\"]').length === 3",
    )
    .await;

    // The server wants a token: the page asks for it; a wrong one is refused and asked again.
    add_on_page(&page, "upbit", "ADA").await;
    give_token(&page, "not-the-token").await;
    give_token(&page, "page-token-7").await;
    page.wait_for(
        "upbit ADA in the list",
        Duration::from_secs(10),
        "return document.querySelector('#subs-list tr[data-exchange=\"upbit\"][data-market=\"ADA\"]')",
    )
    .await;
    support::eventually(
        "upbit to be asked for ADA",
        Duration::from_secs(15),
        || async { upbit.subscribed_markets().contains(&ada).then_some(()) },
    )
    .await;
    assert!(
        !bithumb.subscribed_markets().contains(&ada),
        "only upbit was asked"
    );

    // A market no exchange lists is refused with the server's reason, and nothing changes.
    add_on_page(&page, "bithumb", "NOPE").await;
    let error = page
        .wait_for(
            "the refusal",
            Duration::from_secs(10),
            "const e = document.querySelector('#sub-error'); return e && e.textContent.trim() || null",
        )
        .await;
    assert!(error.as_str().unwrap().contains("NOPE"), "{error}");

    // Removing needs no second prompt: the page kept the token for this tab.
    page.eval(
        "document.querySelector('#subs-list tr[data-exchange=\"upbit\"][data-market=\"ADA\"] button.remove').click()",
        json!([]),
    )
    .await;
    page.wait_for(
        "upbit ADA gone from the list",
        Duration::from_secs(10),
        "return !document.querySelector('#subs-list tr[data-exchange=\"upbit\"][data-market=\"ADA\"]')",
    )
    .await;
    support::eventually(
        "upbit to stop sending ADA",
        Duration::from_secs(15),
        || async { (!upbit.subscribed_markets().contains(&ada)).then_some(()) },
    )
    .await;
    page.screenshot(&browser::artifacts().join("subscriptions.png"))
        .await;
    up.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_shows_as_disconnected_and_the_page_recovers() {
    let markets = ["BTC", "ETH"];
    let sims = Sims::start(&markets, 20.0).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let first = up(&sims, dir.path(), &["--listen", &listen], &[]);
    sims.wait_connected().await;
    sims.resume();
    let page = Browser::start(1280, 900).await;
    page.goto(&format!("http://{listen}/")).await;
    board(&page, &markets, Duration::from_secs(10)).await;
    page.wait_for(
        "the live state",
        Duration::from_secs(5),
        "return document.body.dataset.conn === 'live'",
    )
    .await;

    first.terminate();
    let banner = page
        .wait_for(
            "the disconnected state",
            Duration::from_secs(10),
            "return document.body.dataset.conn === 'disconnected' && document.querySelector('#conn').textContent.trim()",
        )
        .await;
    eprintln!("while stopped the page says: {banner}");
    page.screenshot(&browser::artifacts().join("disconnected.png"))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stuck = page
        .eval("return document.body.dataset.conn", json!([]))
        .await;
    assert_ne!(stuck, "live", "live with no server");

    let second = up(&sims, dir.path(), &["--listen", &listen], &[]);
    page.wait_for(
        "the live state again",
        Duration::from_secs(20),
        "return document.body.dataset.conn === 'live'",
    )
    .await;
    let before = page.eval("return window.tickmesh.events", json!([])).await;
    page.wait_for(
        "new events after the restart",
        Duration::from_secs(15),
        &format!("return window.tickmesh.events > {before}"),
    )
    .await;
    board(&page, &markets, Duration::from_secs(5)).await;
    second.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_stays_responsive_at_ten_thousand_events_a_second() {
    // Each simulated trade also moves the ticker (and every third the book): 1,700 trades/s
    // on each of three exchanges is about 11,900 events/s into the mesh, 10,200/s of them
    // tickers and trades, which the board streams.
    let markets = ["BTC", "ETH", "XRP", "SOL", "DOGE"];
    let sims = Sims::start(&markets, 1_700.0).await;
    let dir = tempfile::tempdir().unwrap();
    // Storage keeps one ticker a second per market (the live stream still carries all of
    // them): the page is what is measured, and this leaves the two cores more of it.
    let up = up(
        &sims,
        dir.path(),
        &[],
        &[("TICKMESH__STORAGE__TICKER_INTERVAL", "1s")],
    );
    sims.wait_connected().await;
    sims.resume();
    let page = Browser::start(1280, 900).await;
    page.goto(&format!("http://{}/", up.grpc)).await;
    board(&page, &markets, Duration::from_secs(10)).await;
    page.eval(
        "window.__long = [];
         new PerformanceObserver(list => {
             for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]);
         }).observe({type: 'longtask'});",
        json!([]),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sample = "return {t: performance.now(), events: window.tickmesh.events, frames: window.tickmesh.frames}";
    // What the simulators generated over the same window: on a busy machine the generator in
    // this process can fall behind its rate too, and the page is judged on what it was sent.
    let trades = || -> u64 {
        sims.all
            .iter()
            .flat_map(|sim| sims.markets.iter().map(|m| sim.generated(*m).trades))
            .sum()
    };
    let (generated_from, since) = (trades(), Instant::now());
    let start = page.eval(sample, json!([])).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let end = page.eval(sample, json!([])).await;
    // Every trade also moves its ticker: two streamed events a trade.
    let generated = (trades() - generated_from) as f64 * 2.0 / since.elapsed().as_secs_f64();
    let long: Vec<(f64, f64)> =
        serde_json::from_value(page.eval("return window.__long", json!([])).await).unwrap();
    let (t0, t1) = (start["t"].as_f64().unwrap(), end["t"].as_f64().unwrap());
    let seconds = (t1 - t0) / 1_000.0;
    let events = (end["events"].as_f64().unwrap() - start["events"].as_f64().unwrap()) / seconds;
    let frames = (end["frames"].as_f64().unwrap() - start["frames"].as_f64().unwrap()) / seconds;
    let window: Vec<f64> = long
        .iter()
        .filter(|(at, _)| *at >= t0 && *at <= t1)
        .map(|(_, d)| *d)
        .collect();
    let blocked = window.iter().fold(0.0, |sum, d| sum + d);
    let longest = window.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "over {seconds:.1} s: {generated:.0} tickers and trades/s generated, {events:.0} events/s received, {frames:.1} frames/s, {} long tasks, {blocked:.0} ms blocked, longest {longest:.0} ms",
        window.len()
    );
    assert!(
        generated >= 8_000.0,
        "the simulators generated only {generated:.0} tickers and trades a second: the machine was too busy to load the page"
    );
    assert!(
        events >= generated * 0.9,
        "the page received {events:.0} events/s of the {generated:.0} generated"
    );
    assert!(frames >= 20.0, "only {frames:.1} frames/s were drawn");
    assert!(
        longest < 200.0,
        "a task blocked the page for {longest:.0} ms"
    );
    assert!(
        blocked < seconds * 1_000.0 * 0.1,
        "long tasks blocked the page for {blocked:.0} ms of {seconds:.1} s"
    );
    // Still answering: switching to a market view renders it promptly.
    let asked = Instant::now();
    page.eval("location.hash = '#/market/ETH';", json!([]))
        .await;
    page.wait_for(
        "the ETH market view",
        Duration::from_secs(2),
        "return document.querySelector('#market[data-market=\"ETH\"]') && document.querySelector('#market').offsetParent !== null",
    )
    .await;
    eprintln!("market view shown {:?} after asking", asked.elapsed());
    up.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn web_listen_and_web_enabled_choose_where_the_page_is() {
    let sims = Sims::start(&["BTC"], 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let get = |url: String| async move {
        let client = reqwest::Client::builder().http1_only().build().unwrap();
        client.get(url).send().await.map(|r| r.status().as_u16())
    };

    // On an address of its own: the page is there, and the gRPC port speaks gRPC only.
    let apart = up(
        &sims,
        dir.path(),
        &[],
        &[("TICKMESH__WEB__LISTEN", "127.0.0.1:0")],
    );
    let logged = apart.logged("web page at");
    let web = logged[0]["web_addr"].as_str().unwrap().to_owned();
    assert_ne!(web, apart.grpc);
    assert_eq!(get(format!("http://{web}/")).await.unwrap(), 200);
    assert!(get(format!("http://{}/", apart.grpc)).await.is_err());
    apart.terminate();

    // Off: neither the page nor HTTP/1.1, and nothing says there is a page.
    let off = up(
        &sims,
        dir.path(),
        &[],
        &[("TICKMESH__WEB__ENABLED", "false")],
    );
    assert!(off.logged("web page at").is_empty());
    assert!(get(format!("http://{}/", off.grpc)).await.is_err());
    off.terminate();
}
