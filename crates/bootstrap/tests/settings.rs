//! The `server` section's token and TLS keys, and that the token never shows in output.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tickmesh_bootstrap::config::ConfigProblem;
use tickmesh_bootstrap::{ConfigError, ConfigSources, ProcessConfig, ServerSettings, TlsFiles};

const TOKEN: &str = "do-not-print-me-4711";

fn sources(toml: &str, env: &[(&str, &str)]) -> ConfigSources {
    let mut sources = ConfigSources::default();
    sources.add_toml(Path::new("t.toml"), toml).unwrap();
    sources.add_env(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    sources
}

fn read(sources: &ConfigSources) -> (ServerSettings, Result<(), ConfigError>) {
    let mut r = sources.reader();
    let settings = ServerSettings::read(&mut r);
    (settings, r.finish())
}

fn problems(result: Result<(), ConfigError>) -> Vec<ConfigProblem> {
    match result {
        Err(ConfigError::Invalid(problems)) => problems,
        other => panic!("expected invalid configuration, got {other:?}"),
    }
}

#[test]
fn tls_needs_both_cert_and_key() {
    let s = sources(
        "[server]\ntls_cert = \"/etc/tickmesh/cert.pem\"\ntls_key = \"/etc/tickmesh/key.pem\"\n",
        &[],
    );
    let (settings, result) = read(&s);
    result.unwrap();
    assert_eq!(
        settings.tls,
        Some(TlsFiles {
            cert: PathBuf::from("/etc/tickmesh/cert.pem"),
            key: PathBuf::from("/etc/tickmesh/key.pem"),
        })
    );

    let (settings, result) = read(&sources("", &[]));
    result.unwrap();
    assert_eq!(settings.tls, None);
    assert_eq!(settings.api_token, None);
}

#[test]
fn a_tls_cert_alone_is_reported_naming_the_missing_key() {
    let (_, result) = read(&sources("[server]\ntls_cert = \"cert.pem\"\n", &[]));
    let problems = problems(result);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "server.tls_cert");
    assert!(
        problems[0].message.contains("`server.tls_key`"),
        "{problems:?}"
    );
    assert!(problems[0].origin.is_some());
}

#[test]
fn a_tls_key_alone_is_reported_naming_the_missing_cert() {
    let (_, result) = read(&sources("", &[("TICKMESH__SERVER__TLS_KEY", "key.pem")]));
    let err = problems(result);
    assert_eq!(err.len(), 1, "{err:?}");
    assert_eq!(err[0].key, "server.tls_key");
    assert!(err[0].message.contains("`server.tls_cert`"), "{err:?}");
    assert!(err[0].to_string().contains("TICKMESH__SERVER__TLS_KEY"));
}

#[test]
fn the_api_token_is_read_but_never_shown_in_debug_output() {
    let s = sources(
        &format!("[server]\napi_token = \"{TOKEN}\"\n"),
        &[("TICKMESH__METRICS__LISTEN", "off")],
    );
    let mut r = s.reader();
    let process = ProcessConfig::read(&mut r);
    r.finish().unwrap();
    assert_eq!(
        process.server.api_token.as_ref().map(|t| t.expose()),
        Some(TOKEN)
    );

    for shown in [
        format!("{:?}", process.server),
        format!("{:#?}", process.server),
        format!("{process:?}"),
        format!("{s:?}"),
        format!("{:?}", s.reader()),
    ] {
        assert!(!shown.contains(TOKEN), "the token leaked: {shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

#[test]
fn off_switches_a_file_token_off() {
    let s = sources(
        &format!("[server]\napi_token = \"{TOKEN}\"\n"),
        &[("TICKMESH__SERVER__API_TOKEN", "off")],
    );
    let (settings, result) = read(&s);
    result.unwrap();
    assert_eq!(settings.api_token, None);
}

#[test]
fn a_token_a_header_cannot_carry_is_reported_without_quoting_it() {
    let (_, result) = read(&sources("[server]\napi_token = \"\"\n", &[]));
    let p = problems(result);
    assert_eq!(p[0].key, "server.api_token");
    assert!(p[0].message.contains("empty"), "{p:?}");

    let secret = "half of do-not-print-me";
    let (_, result) = read(&sources(
        &format!("[server]\napi_token = \"{secret}\"\n"),
        &[],
    ));
    let err = result.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("server.api_token"), "{shown}");
    assert!(shown.contains("visible ascii"), "{shown}");
    assert!(
        !shown.contains("do-not-print-me"),
        "the token leaked: {shown}"
    );
}

#[test]
fn connection_limits_have_safe_defaults_and_can_be_switched_off() {
    let (settings, result) = read(&sources("", &[]));
    result.unwrap();
    let c = settings.connections;
    assert_eq!(c.max_concurrent_streams, 200);
    assert_eq!(c.keepalive_interval, Some(Duration::from_secs(30)));
    assert_eq!(c.keepalive_timeout, Duration::from_secs(10));
    assert_eq!(c.tcp_keepalive, Some(Duration::from_secs(60)));
    assert_eq!(c.max_connection_age, None);
    assert_eq!(c.tls_handshake_timeout, Duration::from_secs(10));
    assert_eq!(c.preface_timeout, Duration::from_secs(10));

    let s = sources(
        "[server]\nmax_concurrent_streams = 8\nkeepalive_interval = \"off\"\n\
         tcp_keepalive = \"off\"\nmax_connection_age = \"30m\"\nmax_connection_age_grace = \"1m\"\n",
        &[("TICKMESH__SERVER__TLS_HANDSHAKE_TIMEOUT", "3s")],
    );
    let (settings, result) = read(&s);
    result.unwrap();
    let c = settings.connections;
    assert_eq!(c.max_concurrent_streams, 8);
    assert_eq!(c.keepalive_interval, None);
    assert_eq!(c.tcp_keepalive, None);
    assert_eq!(c.max_connection_age, Some(Duration::from_secs(1800)));
    assert_eq!(c.max_connection_age_grace, Duration::from_secs(60));
    assert_eq!(c.tls_handshake_timeout, Duration::from_secs(3));
}

#[test]
fn connection_limits_of_zero_are_refused() {
    let s = sources(
        "[server]\nmax_concurrent_streams = 0\nkeepalive_interval = \"0s\"\ntls_handshake_timeout = \"0s\"\npreface_timeout = \"0s\"\n",
        &[],
    );
    let (_, result) = read(&s);
    let keys: Vec<String> = problems(result).into_iter().map(|p| p.key).collect();
    for key in [
        "server.max_concurrent_streams",
        "server.keepalive_interval",
        "server.tls_handshake_timeout",
        "server.preface_timeout",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
    }
}

#[test]
fn the_token_for_reads_needs_a_token() {
    let (_, result) = read(&sources("[server]\ntoken_for_reads = true\n", &[]));
    let problems = problems(result);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "server.token_for_reads");

    let s = sources(
        "[server]\ntoken_for_reads = true\n",
        &[("TICKMESH__SERVER__API_TOKEN", TOKEN)],
    );
    let (settings, result) = read(&s);
    result.unwrap();
    assert!(settings.token_for_reads);
}

#[test]
fn call_limits_have_safe_defaults_and_a_ceiling() {
    let (settings, result) = read(&sources("", &[]));
    result.unwrap();
    assert_eq!(settings.calls.max_in_flight, 8192);
    assert_eq!(settings.calls.max_in_flight_per_method, 4096);
    assert_eq!(settings.calls.max_request_bytes, 1024 * 1024);

    let s = sources(
        "[server]\nmax_calls_in_flight = 10\nmax_calls_per_method = 5\n",
        &[("TICKMESH__SERVER__MAX_REQUEST_BYTES", "65536")],
    );
    let (settings, result) = read(&s);
    result.unwrap();
    assert_eq!(settings.calls.max_in_flight, 10);
    assert_eq!(settings.calls.max_in_flight_per_method, 5);
    assert_eq!(settings.calls.max_request_bytes, 65536);

    let s = sources(
        "[server]\nmax_calls_in_flight = 0\nmax_calls_per_method = 0\nmax_request_bytes = 4194305\n",
        &[],
    );
    let (_, result) = read(&s);
    let problems = problems(result);
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "server.max_calls_in_flight",
            "server.max_calls_per_method",
            "server.max_request_bytes"
        ],
        "{problems:?}"
    );
    assert!(
        problems[2].to_string().contains("at most 4194304"),
        "{}",
        problems[2]
    );
}

#[test]
fn the_web_section_defaults_to_the_grpc_listener_and_reads_its_keys() {
    let (settings, result) = read(&sources("", &[]));
    result.unwrap();
    assert!(settings.web.enabled);
    assert_eq!(settings.web.listen, None);
    assert_eq!(settings.web.assets_dir, None);

    let (settings, result) = read(&sources(
        "[web]\nlisten = \"0.0.0.0:8080\"\n",
        &[("TICKMESH__WEB__ASSETS_DIR", "/srv/page")],
    ));
    result.unwrap();
    assert_eq!(settings.web.listen, Some("0.0.0.0:8080".parse().unwrap()));
    assert_eq!(settings.web.assets_dir, Some(PathBuf::from("/srv/page")));
}

#[test]
fn a_web_listener_with_the_web_off_is_reported() {
    let (settings, result) = read(&sources(
        "[web]\nenabled = false\nlisten = \"127.0.0.1:8080\"\n",
        &[],
    ));
    assert!(!settings.web.enabled);
    let problems = problems(result);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "web.listen");
    assert!(problems[0].message.contains("web.enabled"), "{problems:?}");
}
