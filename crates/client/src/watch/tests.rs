use clap::Parser as _;
use tickmesh_domain::{Decimal, Exchange, Market, MarketEvent, Payload, Trade, TradeId};
use tickmesh_proto::convert::{event_to_wire, time_to_wire};
use tickmesh_proto::stream::v1::{Gap, GapCause, Lagged, StreamTicksResponse};

use super::resume::{Progress, resume_command};
use super::table::View;
use super::*;
use crate::output::Value;
use crate::render::Zone;

#[derive(Debug, clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: WatchArgs,
}

fn parse(args: &[&str]) -> Result<WatchArgs, String> {
    Cli::try_parse_from(["watch"].iter().chain(args))
        .map(|c| c.args)
        .map_err(|e| e.to_string())
}

const NOW: UtcMicros = UtcMicros(1_765_000_000_123_000);

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn since_asks_for_a_replay_from_that_long_ago() {
    let args = parse(&["BTC", "--since", "10m"]).unwrap();
    let request = request(&args, NOW).unwrap();
    let start = UtcMicros(NOW.as_micros() - 600_000_000);
    assert_eq!(request.start_time, Some(time_to_wire(start)));
    assert_eq!(request.resume_after, "");
    assert_eq!(request.markets, ["BTC"]);

    let live = request_of(&["BTC"]);
    assert_eq!((live.start_time, live.resume_after), (None, String::new()));
}

fn request_of(words: &[&str]) -> wire::StreamTicksRequest {
    request(&parse(words).unwrap(), NOW).unwrap()
}

#[test]
fn since_refuses_what_is_not_a_duration_and_says_what_is() {
    for bad in ["10", "10x", "ten minutes", "-5m", "1.5h", "7d"] {
        let error = parse(&["BTC", &format!("--since={bad}")]).unwrap_err();
        assert!(error.contains("ms, s, m or h (e.g. 30s)"), "{bad}: {error}");
    }
    let zero = parse(&["BTC", "--since", "0"]).unwrap_err();
    assert!(zero.contains("must be more than 0"), "{zero}");
    // Further back than 1970 is a usage error when the request is built.
    let args = parse(&["BTC", "--since", "500000h"]).unwrap();
    let error = request(&args, NOW).unwrap_err();
    assert_eq!(
        crate::server::exit_status(&error),
        crate::server::Exit::Usage
    );
    assert!(error.to_string().contains("before 1970"), "{error}");
}

#[test]
fn resume_takes_a_cursor_and_refuses_anything_else() {
    let request = request_of(&["BTC", "--resume", "1765000000123-7"]);
    assert_eq!(request.resume_after, "1765000000123-7");
    assert_eq!(request.start_time, None);
    assert_eq!(request_of(&["BTC", "--resume=0-0"]).resume_after, "0-0");
    for bad in [
        "abc",
        "1765000000123",
        "1765000000123-",
        "-7",
        "1-2-3",
        "1.5-2",
        "+1-2",
        " 1-2",
        "99999999999999999999999-1",
        "",
    ] {
        let error = parse(&["BTC", &format!("--resume={bad}")]).unwrap_err();
        assert!(
            error.contains("expected a cursor such as 1765000000123-7"),
            "{bad:?}: {error}"
        );
    }
}

#[test]
fn since_and_resume_exclude_each_other() {
    let error = parse(&["BTC", "--since", "10m", "--resume", "1-2"]).unwrap_err();
    assert!(error.contains("cannot be used with"), "{error}");
}

fn response(item: Item, cursor: &str, replayed: bool) -> StreamTicksResponse {
    StreamTicksResponse {
        item: Some(item),
        cursor: cursor.to_owned(),
        replayed,
    }
}

fn trade(id: u64) -> Item {
    Item::Event(event_to_wire(&MarketEvent {
        exchange: Exchange::Upbit,
        market: Market::parse("BTC").unwrap(),
        exchange_time: NOW,
        received_time: NOW,
        payload: Payload::Trade(Trade {
            trade_id: TradeId(id),
            price: Decimal::new(1_165_000_005, 1),
            size: Decimal::new(25, 3),
            side: tickmesh_domain::Side::Buy,
        }),
        raw: None,
    }))
}

fn not_retained() -> Item {
    Item::Gap(Gap {
        from_time: Some(time_to_wire(UtcMicros(1_765_000_000_000_000))),
        to_time: Some(time_to_wire(UtcMicros(1_765_000_600_000_000))),
        cause: GapCause::NotRetained as i32,
        after_cursor: "1764999999999-0".to_owned(),
        before_cursor: "1765000600000-0".to_owned(),
        ..Default::default()
    })
}

#[test]
fn the_exit_lines_name_the_last_cursor_and_the_command_to_resume() {
    let mut progress = Progress::new(None);
    assert_eq!(
        progress.exit_lines(&argv(&["tickmesh", "watch", "BTC"])),
        ["last cursor: none (no event received)"]
    );
    progress.note(&response(not_retained(), "1764999999999-0", true));
    progress.note(&response(trade(1), "1765000600000-0", true));
    progress.note(&response(trade(2), "1765000600000-1", false));
    // A marker's cursor is that of the event before it; an item without one changes nothing.
    progress.note(&response(
        Item::Lagged(Lagged::default()),
        "1765000600000-1",
        false,
    ));
    progress.note(&response(trade(3), "", false));
    assert_eq!(progress.cursor(), Some("1765000600000-1"));
    assert_eq!(progress.events(), (3, 1));
    let command = argv(&["tickmesh", "watch", "BTC", "--since", "10m", "-o", "ndjson"]);
    assert_eq!(
        progress.exit_lines(&command),
        [
            "last cursor: 1765000600000-1",
            "resume with: tickmesh watch BTC -o ndjson --resume 1765000600000-1"
        ]
    );
}

#[test]
fn the_exit_lines_say_when_nothing_can_be_resumed_from() {
    // A server without cursors.
    let mut progress = Progress::new(None);
    progress.note(&response(trade(1), "", false));
    assert_eq!(
        progress.exit_lines(&argv(&["tickmesh", "watch", "BTC"])),
        ["last cursor: none (the server sent no cursors, so it cannot resume this watch)"]
    );
    // Resumed, and nothing since: the same cursor again.
    let progress = Progress::new(Some("5-1".to_owned()));
    assert_eq!(
        progress.exit_lines(&argv(&["tickmesh", "watch", "BTC", "--resume", "5-1"])),
        [
            "last cursor: 5-1 (no event received)",
            "resume with: tickmesh watch BTC --resume 5-1"
        ]
    );
}

#[test]
fn the_resume_command_drops_replay_flags_and_quotes_for_the_shell() {
    let words = argv(&[
        "target/release/tickmesh",
        "watch",
        "--resume=1-1",
        "KRW-BTC",
        "--since=1h",
        "--server",
        "http://[::1]:50051",
        "--token",
        "it's secret",
        "--for",
        "30s",
    ]);
    assert_eq!(
        resume_command(&words, "9-0"),
        r"target/release/tickmesh watch KRW-BTC --server 'http://[::1]:50051' --token 'it'\''s secret' --for 30s --resume 9-0"
    );
    let after_dashes = argv(&["tickmesh", "watch", "--", "--since"]);
    assert_eq!(
        resume_command(&after_dashes, "9-0"),
        "tickmesh watch --resume 9-0 -- --since"
    );
}

#[test]
fn records_carry_the_cursor_and_whether_they_were_replayed() {
    let field = |row: &[Value], name: &str| {
        let at = COLUMNS.iter().position(|c| c.name == name).unwrap();
        row[at].clone()
    };
    let text = |s: &str| Value::Text(s.to_owned());
    let event = record::record(&response(trade(7), "1765000000123-7", true)).unwrap();
    assert_eq!(field(&event, "kind"), text("trade"));
    assert_eq!(field(&event, "cursor"), text("1765000000123-7"));
    assert_eq!(field(&event, "replayed"), text("true"));
    assert_eq!(field(&event, "gap_cause"), Value::Null);

    let live = record::record(&response(trade(8), "", false)).unwrap();
    assert_eq!(field(&live, "cursor"), Value::Null);
    assert_eq!(field(&live, "replayed"), text("false"));

    let gap = record::record(&response(not_retained(), "1764999999999-0", true)).unwrap();
    assert_eq!(field(&gap, "kind"), text("gap"));
    assert_eq!(field(&gap, "gap_cause"), text("not_retained"));
    assert_eq!(field(&gap, "exchange"), Value::Null);
    assert_eq!(field(&gap, "market"), Value::Null);
    assert_eq!(field(&gap, "after_cursor"), text("1764999999999-0"));
    assert_eq!(field(&gap, "before_cursor"), text("1765000600000-0"));

    let outage = Item::Gap(Gap {
        exchange: 1,
        cause: GapCause::FeedOutage as i32,
        ..Default::default()
    });
    let outage = record::record(&response(outage, "", false)).unwrap();
    assert_eq!(field(&outage, "gap_cause"), text("feed_outage"));
    assert_eq!(field(&outage, "exchange"), text("upbit"));

    let lagged = Item::Lagged(Lagged {
        missed: 4,
        after_cursor: "1-0".to_owned(),
        before_cursor: "2-0".to_owned(),
    });
    let lagged = record::record(&response(lagged, "1-0", false)).unwrap();
    assert_eq!(field(&lagged, "missed"), Value::Count(4));
    assert_eq!(
        (
            field(&lagged, "after_cursor"),
            field(&lagged, "before_cursor")
        ),
        (text("1-0"), text("2-0"))
    );
}

#[test]
fn history_not_retained_is_told_plainly() {
    let Item::Gap(gap) = not_retained() else {
        unreachable!()
    };
    assert_eq!(
        record::not_retained(&gap, Zone::Utc).unwrap(),
        "history not retained from 2025-12-06T05:46:40.000Z to 2025-12-06T05:56:40.000Z: events in that stretch cannot be replayed"
    );
    let outage = Gap {
        cause: GapCause::FeedOutage as i32,
        ..gap.clone()
    };
    assert_eq!(record::not_retained(&outage, Zone::Utc), None);

    let mut view = View::default();
    for i in 0..5 {
        let note = Some(format!("note {i}"));
        view.apply(&response(not_retained(), "", true), note);
    }
    assert!(view.replaying);
    assert_eq!(view.notes, ["note 2", "note 3", "note 4"]);
    view.apply(&response(trade(1), "", false), None);
    assert!(!view.replaying);
    assert_eq!(view.rows[&Exchange::Upbit].events, 1);
}
