use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn environment_overrides_file_which_overrides_defaults() {
    let mut sources = ConfigSources::default();
    sources
        .add_toml(
            Path::new("t.toml"),
            "[server]\nlisten = \"0.0.0.0:1\"\nrequest_timeout = \"5s\"\n",
        )
        .unwrap();
    sources.add_env(env(&[
        ("TICKMESH__SERVER__LISTEN", "127.0.0.1:2"),
        ("PATH", "/bin"),
    ]));
    let mut r = sources.reader();
    let listen: SocketAddr = r.get("server.listen", "127.0.0.1:3".parse().unwrap());
    let timeout = r.duration("server.request_timeout", Duration::from_secs(30));
    let grace = r.duration("server.shutdown_grace", Duration::from_secs(10));
    r.finish().unwrap();
    assert_eq!(listen, "127.0.0.1:2".parse().unwrap());
    assert_eq!(timeout, Duration::from_secs(5));
    assert_eq!(grace, Duration::from_secs(10));
}

#[test]
fn every_invalid_and_unknown_key_is_reported_at_once_with_its_origin() {
    let mut sources = ConfigSources::default();
    sources
        .add_toml(
            Path::new("t.toml"),
            "[server]\nconcurrency_limit = -4\ntypo = 1\n",
        )
        .unwrap();
    sources.add_env(env(&[
        ("TICKMESH__SERVER__LISTEN", "nowhere"),
        ("TICKMESH__METRICS__LISTEN", "also nowhere"),
    ]));
    let mut r = sources.reader();
    let _: SocketAddr = r.get("server.listen", "127.0.0.1:3".parse().unwrap());
    let _: usize = r.get("server.concurrency_limit", 1);
    let _: Option<SocketAddr> = r.optional("metrics.listen", None);
    let err = r.finish().unwrap_err();
    let ConfigError::Invalid(problems) = &err else {
        panic!("{err}")
    };
    let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "metrics.listen",
            "server.concurrency_limit",
            "server.listen",
            "server.typo"
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with("invalid configuration (4 problems):"),
        "{text}"
    );
    assert!(
        text.contains("`server.listen` (from env TICKMESH__SERVER__LISTEN): `nowhere` is invalid"),
        "{text}"
    );
    assert!(
        text.contains("`server.typo` (from file t.toml): unknown key"),
        "{text}"
    );
    assert!(text.contains("(or `off`)"), "{text}");
}

#[test]
fn toml_arrays_read_like_comma_separated_env_values() {
    let mut sources = ConfigSources::default();
    sources
        .add_toml(
            Path::new("t.toml"),
            "[kafka]\nbrokers = [\"a:1\", \"b:2\"]\n",
        )
        .unwrap();
    let mut r = sources.reader();
    let brokers: String = r.get("kafka.brokers", String::new());
    r.finish().unwrap();
    assert_eq!(brokers, "a:1,b:2");
}

#[test]
fn a_missing_or_malformed_file_names_the_file() {
    let err =
        ConfigSources::load(Some(Path::new("/nonexistent/tickmesh.toml")), env(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read config file /nonexistent/tickmesh.toml"
    );
    let mut sources = ConfigSources::default();
    let err = sources
        .add_toml(Path::new("bad.toml"), "[server\n")
        .unwrap_err();
    assert_eq!(err.to_string(), "config file bad.toml is not valid toml");
}

#[test]
fn durations_take_units_and_reject_bare_numbers() {
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    for bad in ["30", "s", "1.5s", "-1s", "3d"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn off_switches_an_optional_value_off() {
    assert_eq!(parse_optional::<u16>("off"), Ok(None));
    assert_eq!(parse_optional::<u16>("OFF"), Ok(None));
    assert_eq!(parse_optional::<u16>("9"), Ok(Some(9)));
    assert!(parse_optional::<u16>("x").is_err());
}

const PW: &str = "pw-Sekrit,42";

/// Everything a config error or `{:?}` shows, with its whole chain of sources.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    text
}

#[test]
fn credentials_never_show_in_debug_of_the_sources() {
    let mut sources = ConfigSources::default();
    sources.add_env(env(&[
        ("TICKMESH__SERVER__API_TOKEN", PW),
        (
            "TICKMESH__DATABASE__URL",
            &format!("postgres://u:{PW}@db/tm?password={PW}"),
        ),
        (
            "TICKMESH__BUS__REDIS_URL",
            &format!("rediss://:{PW}@redis:6380"),
        ),
        ("TICKMESH__BUS__REDIS_PASSWORD", PW),
        (
            "TICKMESH__BUS__KAFKA_OPTIONS",
            &format!("sasl.password={PW},linger.ms=5"),
        ),
    ]));
    let shown = format!("{sources:?}");
    assert!(!shown.contains("Sekrit"), "{shown}");
    assert!(
        shown.contains("postgres://u:***@db/tm?password=***"),
        "{shown}"
    );
    assert!(shown.contains("rediss://:***@redis:6380"), "{shown}");
    assert!(shown.contains("sasl.password=***,linger.ms=5"), "{shown}");
}

#[test]
fn invalid_credential_values_are_reported_without_the_credential() {
    let mut sources = ConfigSources::default();
    sources.add_env(env(&[
        (
            "TICKMESH__BUS__KAFKA_OPTIONS",
            &format!("acks,linger.ms=5,sasl.password={PW}"),
        ),
        (
            "TICKMESH__BUS__REDIS_URL",
            &format!("redis://u:{PW}@h:notaport"),
        ),
        ("TICKMESH__BUS__REDIS_PASSWORD", PW),
    ]));
    let mut r = sources.reader();
    let options = r.secret_options("bus.kafka_options");
    assert!(options.is_empty());
    let _: u16 = r.get_with("bus.redis_url", 0, |_| Err("no port".to_owned()));
    let _: u16 = r.get_with("bus.redis_password", 0, |_| Err("not a number".to_owned()));
    let err = r.finish().unwrap_err();
    let text = chain(&err);
    assert!(!text.contains("Sekrit"), "{text}");
    assert!(text.contains("option 1 is not key=value"), "{text}");
    assert!(
        text.contains("`***,linger.ms=5,sasl.password=***` is invalid"),
        "{text}"
    );
    assert!(text.contains("redis://u:***@h:notaport"), "{text}");
    assert!(text.contains("`***` is invalid: not a number"), "{text}");
}

#[test]
fn secret_getters_wrap_what_they_read() {
    let mut sources = ConfigSources::default();
    sources.add_env(env(&[
        (
            "TICKMESH__BUS__KAFKA_OPTIONS",
            &format!("sasl.password={PW}, acks=all"),
        ),
        (
            "TICKMESH__DATABASE__URL",
            &format!("postgres://u:{PW}@db/tm"),
        ),
        ("TICKMESH__BUS__REDIS_PASSWORD", PW),
        ("TICKMESH__BUS__REDIS_URL", "off"),
    ]));
    let mut r = sources.reader();
    let options = r.secret_options("bus.kafka_options");
    let url = r.secret_url("database.url").unwrap();
    let password = r.secret("bus.redis_password").unwrap();
    assert_eq!(r.secret_url("bus.redis_url"), None);
    assert_eq!(r.secret("bus.unset_password"), None);
    r.finish().unwrap();
    // The comma inside the password stays in the password.
    assert_eq!(options[0].0, "sasl.password");
    assert_eq!(options[0].1.expose(), PW);
    assert_eq!(options[1].0, "acks");
    assert_eq!(url.expose(), format!("postgres://u:{PW}@db/tm"));
    assert_eq!(url.to_string(), "postgres://u:***@db/tm");
    assert_eq!(password.expose(), PW);
    assert!(!format!("{options:?} {url:?} {password:?}").contains("Sekrit"));
}

#[test]
fn a_toml_syntax_error_gives_its_position_but_not_the_line() {
    let mut sources = ConfigSources::default();
    let text = format!("[bus]\nstream = \"s\"\nredis_password = \"{PW}\nx = 1\n");
    let err = sources.add_toml(Path::new("t.toml"), &text).unwrap_err();
    let shown = chain(&err);
    assert!(!shown.contains("Sekrit"), "{shown}");
    assert!(
        shown.starts_with("config file t.toml is not valid toml: line 3"),
        "{shown}"
    );
}
