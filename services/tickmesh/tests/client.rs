//! `tickmesh up --simulate` followed by the client commands, as the README shows them.

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
    let ls = eventually(&server, &["subs", "ls"], |out| {
        out.lines().count() == 17 && out.ends_with("15 pairs collected\n")
    });
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
    // Refused requests exit 5, so scripts can tell them from an unreachable server (3).
    let (code, _, err) = tickmesh(&server, &["subs", "add", "NOPE"]);
    assert_eq!(code, 5);
    assert!(err.contains("not found"), "{err}");
    let (code, _, err) = tickmesh(&server, &["subs", "add", "???"]);
    assert_eq!(code, 5);
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
        &["trades", "BTC"],
        &["spread", "BTC", "--base", "upbit", "--other", "korbit"],
        &["compare", "BTC"],
        &["export", "BTC", "--out", "never.csv"],
    ] {
        let (code, _, err) = tickmesh("127.0.0.1:1", args);
        assert_eq!(code, 3, "{args:?}");
        assert!(
            err.contains("cannot reach tickmesh at http://127.0.0.1:1")
                && err.contains("tickmesh up"),
            "{err}"
        );
    }
}

#[test]
fn with_an_api_token_changes_need_it_and_reads_do_not() {
    let data = tempfile::tempdir().unwrap();
    let env = vec![
        (
            "TICKMESH__DATABASE__URL".to_owned(),
            format!("sqlite://{}", data.path().join("tickmesh.db").display()),
        ),
        (
            "TICKMESH__SERVER__API_TOKEN".to_owned(),
            "s3cret-token".to_owned(),
        ),
    ];
    let up = Proc::start("up", &["up", "--simulate", "--simulate-rate", "5"], &env);
    let server = up.grpc.clone();

    let (code, _, err) = tickmesh(&server, &["subs", "rm", "BTC"]);
    assert_eq!(code, 4);
    assert!(
        err.contains("unauthenticated") && err.contains("--token"),
        "{err}"
    );
    let (code, _, err) = tickmesh(&server, &["subs", "rm", "BTC", "--token", "wrong"]);
    assert_eq!(code, 4);
    assert!(err.contains("not valid"), "{err}");
    let (code, out, err) = tickmesh(&server, &["subs", "rm", "BTC", "--token", "s3cret-token"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("BTC/KRW").count(), 3, "{out}");
    // Reads need no token, and the token never shows in the log.
    let (code, out, _) = tickmesh(&server, &["subs", "ls"]);
    assert_eq!(code, 0);
    assert!(!out.contains("BTC/KRW"), "{out}");
    assert!(up.logged("s3cret-token").is_empty());
    up.terminate();
}

/// A test CA and a server certificate for localhost and 127.0.0.1, made with `openssl`.
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run openssl ({e}); install it to run this test"));
        assert!(status.success(), "openssl {args:?} failed");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=tickmesh test ca",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
    ]);
}

#[test]
fn up_serves_tls_and_the_client_trusts_the_given_ca() {
    let data = tempfile::tempdir().unwrap();
    make_certificates(data.path());
    let path = |f: &str| data.path().join(f).display().to_string();
    let env = vec![
        (
            "TICKMESH__DATABASE__URL".to_owned(),
            format!("sqlite://{}", path("tickmesh.db")),
        ),
        ("TICKMESH__SERVER__TLS_CERT".to_owned(), path("cert.pem")),
        ("TICKMESH__SERVER__TLS_KEY".to_owned(), path("key.pem")),
    ];
    let up = Proc::start("up", &["up", "--simulate", "--simulate-rate", "5"], &env);
    let port = up.grpc.rsplit(':').next().unwrap().to_owned();
    let https = format!("https://localhost:{port}");
    let client = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tickmesh"))
            .args(["subs", "ls", "--server", &https])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = client(&["--tls-ca", &path("ca.pem")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("BTC/KRW"), "{stdout}");
    // Without the CA the client refuses to guess, and says what to pass.
    let out = client(&[]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ca"), "{stderr}");
    // Ingestion follows the subscriptions in-process, so TLS does not get in its way: the
    // feeds connect to the simulators.
    let feeds = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(["feeds", "--server", &https, "--tls-ca", &path("ca.pem")])
        .output()
        .unwrap();
    assert!(feeds.status.success());
    up.terminate();
}
