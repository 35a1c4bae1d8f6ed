//! `tickmesh up --simulate` followed by the client commands, as the README shows them (issue 5).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::process::Proc;

/// Runs `tickmesh <args> --server http://ADDR` and returns (exit code, stdout, stderr).
fn tickmesh(server: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(args)
        .args(["--server", &format!("http://{server}")])
        .env_remove("TICKMESH_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Retries `args` until `accept` likes the output (data takes a moment to flow).
fn eventually(server: &str, args: &[&str], accept: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, out, err) = tickmesh(server, args);
        if code == 0 && accept(&out) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "`tickmesh {}` never gave what was expected:\n{out}\n{err}",
            args.join(" ")
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn up_simulate_then_the_client_commands_work_as_the_readme_shows() {
    let data = tempfile::tempdir().unwrap();
    let env = vec![(
        "TICKMESH__DATABASE__URL".to_owned(),
        format!("sqlite://{}", data.path().join("tickmesh.db").display()),
    )];
    let up = Proc::start("up", &["up", "--simulate", "--simulate-rate", "40"], &env);
    let server = up.grpc.clone();

    // The simulated markets are subscribed on all three exchanges.
    let ls = eventually(&server, &["subs", "ls"], |out| out.lines().count() == 16);
    assert!(ls.starts_with("EXCHANGE"), "{ls}");
    assert!(ls.contains("korbit") && ls.contains("DOGE/KRW"), "{ls}");

    let (code, out, _) = tickmesh(&server, &["subs", "rm", "DOGE"]);
    assert_eq!(code, 0);
    assert_eq!(out.matches("DOGE/KRW").count(), 3, "{out}");
    let (_, out, _) = tickmesh(
        &server,
        &["subs", "add", "doge_krw", "--exchange", "korbit"],
    );
    assert!(out.contains("korbit") && out.contains("DOGE/KRW"), "{out}");
    let (code, _, err) = tickmesh(&server, &["subs", "add", "NOPE"]);
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");
    let (code, _, err) = tickmesh(&server, &["subs", "add", "???"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("invalid argument") && err.contains("market"),
        "{err}"
    );

    let feeds = eventually(&server, &["feeds"], |out| {
        out.matches("connected").count() == 3
    });
    assert!(feeds.contains("bridge:"), "{feeds}");

    let (code, watch, err) = tickmesh(&server, &["watch", "BTC", "--for", "3s"]);
    assert_eq!(code, 0, "{err}");
    for exchange in ["upbit", "bithumb", "korbit"] {
        assert!(watch.contains(exchange), "{watch}");
    }
    assert!(watch.contains("spread:"), "{watch}");

    let compare = eventually(&server, &["compare", "BTC"], |out| {
        out.contains("spread: ") && !out.contains("needs tickers")
    });
    assert!(compare.contains("%"), "{compare}");
    let history = eventually(
        &server,
        &["history", "BTC", "--exchange", "bithumb", "--since", "10m"],
        |out| out.lines().count() >= 2,
    );
    assert!(history.starts_with("OPEN TIME"), "{history}");
    up.terminate();
}

#[test]
fn client_commands_say_what_to_do_when_the_server_is_unreachable() {
    for args in [
        &["subs", "ls"][..],
        &["feeds"],
        &["watch", "BTC"],
        &["history", "BTC"],
        &["compare", "BTC"],
    ] {
        let (code, _, err) = tickmesh("127.0.0.1:1", args);
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.contains("cannot reach tickmesh at http://127.0.0.1:1")
                && err.contains("tickmesh up"),
            "{err}"
        );
    }
}
