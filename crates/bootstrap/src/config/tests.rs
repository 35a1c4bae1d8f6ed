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
