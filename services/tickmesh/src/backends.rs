//! How the data plane reaches Redis, Kafka and the database: addresses, logins and TLS, read
//! from the `bus` and `database` sections. Every URL, password and option string that may hold
//! a credential is read as a [`Secret`], so it shows redacted wherever it is printed.

use std::path::PathBuf;

use tickmesh_bootstrap::{ConfigReader, Secret};
use tickmesh_bus_kafka::{KafkaConfig, KafkaSecurity};
use tickmesh_bus_redis::{RedisConfig, RedisTarget, TlsFiles};

/// `bus.redis_*`: `None` when neither a URL nor sentinels are configured.
pub(crate) fn read_redis(r: &mut ConfigReader<'_>) -> Option<RedisConfig> {
    let url = r.secret_url("bus.redis_url");
    let sentinels: Vec<String> = r
        .get("bus.redis_sentinels", String::new())
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let master = r.get("bus.redis_master", "mymaster".to_owned());
    let username = r.optional::<String>("bus.redis_username", None);
    let password = r.secret("bus.redis_password");
    let sentinel_username = r.optional::<String>("bus.redis_sentinel_username", None);
    let sentinel_password = r.secret("bus.redis_sentinel_password");
    let sentinel_tls = r.get("bus.redis_tls", false);
    let tls = TlsFiles {
        ca: r.optional("bus.redis_ca", None),
        cert: r.optional("bus.redis_cert", None),
        key: r.optional("bus.redis_key", None),
    };
    if tls.cert.is_some() != tls.key.is_some() {
        r.invalid(
            "bus.redis_cert",
            "a client certificate needs both bus.redis_cert and bus.redis_key",
        );
    }
    let stream_maxlen = r.get("bus.stream_maxlen", 1_000_000);
    let reclaim_after = r.duration("bus.reclaim_after", std::time::Duration::from_secs(30));
    let (target, uses_tls) = match (url, sentinels.is_empty()) {
        (Some(url), true) => {
            if sentinel_tls {
                r.invalid(
                    "bus.redis_tls",
                    "with bus.redis_url the scheme says whether to use tls: rediss://",
                );
            }
            let tls = url
                .expose()
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("rediss://");
            (RedisTarget::Url(url), tls)
        }
        (None, false) => (RedisTarget::Sentinel { sentinels, master }, sentinel_tls),
        (Some(_), false) => {
            r.invalid(
                "bus.redis_sentinels",
                "set either bus.redis_url or bus.redis_sentinels, not both",
            );
            return None;
        }
        (None, true) => return None,
    };
    if !matches!(target, RedisTarget::Sentinel { .. }) {
        for (key, set) in [
            ("bus.redis_sentinel_username", sentinel_username.is_some()),
            ("bus.redis_sentinel_password", sentinel_password.is_some()),
        ] {
            if set {
                r.invalid(key, "is used only with bus.redis_sentinels");
            }
        }
    }
    if !uses_tls && !tls.is_default() {
        let key = if tls.ca.is_some() {
            "bus.redis_ca"
        } else {
            "bus.redis_cert"
        };
        r.invalid(
            key,
            "is used only over tls (a rediss:// url, or bus.redis_tls=true with sentinels)",
        );
    }
    Some(RedisConfig {
        target,
        username,
        password,
        sentinel_username,
        sentinel_password,
        sentinel_tls,
        tls,
        stream_maxlen,
        reclaim_after,
        ..RedisConfig::new(String::new())
    })
}

/// `bus.kafka_*`: `None` without brokers.
pub(crate) fn read_kafka(r: &mut ConfigReader<'_>) -> Option<KafkaConfig> {
    let brokers = r
        .optional::<String>("bus.kafka_brokers", None)
        .filter(|b| !b.is_empty());
    let mut kafka = KafkaConfig::new(brokers.clone().unwrap_or_default());
    kafka.partitions = r.get("bus.kafka_partitions", kafka.partitions);
    kafka.replication = r.get("bus.kafka_replication", kafka.replication);
    kafka.security = KafkaSecurity {
        protocol: r.optional("bus.kafka_security_protocol", None),
        mechanism: r.optional("bus.kafka_sasl_mechanism", None),
        username: r.optional("bus.kafka_username", None),
        password: r.secret("bus.kafka_password"),
        ca: r.optional::<PathBuf>("bus.kafka_ca", None),
    };
    for (suffix, problem) in kafka.security.problems() {
        let key = match suffix {
            "protocol" => "bus.kafka_security_protocol".to_owned(),
            other => format!("bus.kafka_{other}"),
        };
        r.invalid(&key, problem);
    }
    kafka.extra = r.secret_options("bus.kafka_options");
    brokers.map(|_| kafka)
}

/// `database.url` and `database.ca`.
pub(crate) fn read_database(r: &mut ConfigReader<'_>, default: &str) -> (Secret, Option<PathBuf>) {
    let url = r
        .secret_url("database.url")
        .unwrap_or_else(|| Secret::url(default));
    let ca: Option<PathBuf> = r.optional("database.ca", None);
    if ca.is_some() {
        let text = url.expose().to_ascii_lowercase();
        if !text.starts_with("postgres") {
            r.invalid(
                "database.ca",
                "is used only with a postgres:// database.url",
            );
        } else if text.contains("sslrootcert=") {
            r.invalid(
                "database.ca",
                "database.url names a ca already (sslrootcert=): set one or the other",
            );
        }
    }
    (url, ca)
}

/// Reads `database.read_url`: a PostgreSQL read replica that history reads (HistoryService,
/// and the stored events a resuming stream client is replayed from) use instead of `url`.
pub(crate) fn read_replica(r: &mut ConfigReader<'_>, url: &Secret) -> Option<Secret> {
    let replica = r.secret_url("database.read_url")?;
    let postgres = |s: &Secret| s.expose().to_ascii_lowercase().starts_with("postgres");
    if !postgres(url) || !postgres(&replica) {
        r.invalid(
            "database.read_url",
            "is for a postgres:// read replica beside a postgres:// database.url (sqlite's \
             readers share its file); unset it",
        );
        return None;
    }
    Some(replica)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickmesh_bootstrap::ConfigSources;
    use tickmesh_bus_kafka::{SaslMechanism, SecurityProtocol};

    use super::*;

    fn sources(pairs: &[(&str, &str)]) -> ConfigSources {
        let mut sources = ConfigSources::default();
        sources.add_env(
            pairs
                .iter()
                .map(|(k, v)| (format!("TICKMESH__{k}"), (*v).to_owned())),
        );
        sources
    }

    /// The keys with problems after reading every backend.
    fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
        let sources = sources(pairs);
        let mut r = sources.reader();
        read_redis(&mut r);
        read_kafka(&mut r);
        let (url, _) = read_database(&mut r, "sqlite://x.db");
        read_replica(&mut r, &url);
        match r.finish() {
            Ok(()) => Vec::new(),
            Err(tickmesh_bootstrap::ConfigError::Invalid(problems)) => {
                problems.into_iter().map(|p| p.key).collect()
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn sentinel_logins_and_tls_are_read() {
        let sources = sources(&[
            ("BUS__REDIS_SENTINELS", "s1:26379, s2:26379"),
            ("BUS__REDIS_MASTER", "tm"),
            ("BUS__REDIS_USERNAME", "app"),
            ("BUS__REDIS_PASSWORD", "pw1"),
            ("BUS__REDIS_SENTINEL_PASSWORD", "pw2"),
            ("BUS__REDIS_TLS", "true"),
            ("BUS__REDIS_CA", "/ca.pem"),
            ("BUS__REDIS_CERT", "/c.pem"),
            ("BUS__REDIS_KEY", "/c.key"),
        ]);
        let mut r = sources.reader();
        let redis = read_redis(&mut r).unwrap();
        r.finish().unwrap();
        assert_eq!(
            redis.target,
            RedisTarget::Sentinel {
                sentinels: vec!["s1:26379".into(), "s2:26379".into()],
                master: "tm".into()
            }
        );
        assert_eq!(redis.username.as_deref(), Some("app"));
        assert_eq!(redis.password.as_ref().map(Secret::expose), Some("pw1"));
        assert_eq!(
            redis.sentinel_password.as_ref().map(Secret::expose),
            Some("pw2")
        );
        assert!(redis.sentinel_tls);
        assert_eq!(redis.tls.ca, Some("/ca.pem".into()));
        assert_eq!(redis.tls.key, Some("/c.key".into()));
        assert!(!format!("{redis:?}").contains("pw"));
    }

    #[test]
    fn inconsistent_redis_settings_are_named() {
        assert_eq!(
            problems(&[
                ("BUS__REDIS_URL", "redis://h:1"),
                ("BUS__REDIS_CA", "/ca.pem")
            ]),
            ["bus.redis_ca"]
        );
        assert_eq!(
            problems(&[
                ("BUS__REDIS_URL", "rediss://h:1"),
                ("BUS__REDIS_TLS", "true")
            ]),
            ["bus.redis_tls"]
        );
        assert_eq!(
            problems(&[
                ("BUS__REDIS_URL", "rediss://h:1"),
                ("BUS__REDIS_CERT", "/c.pem"),
                ("BUS__REDIS_SENTINEL_PASSWORD", "x"),
            ]),
            ["bus.redis_cert", "bus.redis_sentinel_password"]
        );
        assert!(
            problems(&[
                ("BUS__REDIS_URL", "rediss://h:1"),
                ("BUS__REDIS_CA", "/ca.pem")
            ])
            .is_empty()
        );
    }

    #[test]
    fn kafka_security_keys_are_typed_and_checked() {
        let sources = sources(&[
            ("BUS__KAFKA_BROKERS", "k:9093"),
            ("BUS__KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("BUS__KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
            ("BUS__KAFKA_USERNAME", "tm"),
            ("BUS__KAFKA_PASSWORD", "p,w"),
            ("BUS__KAFKA_CA", "/ca.pem"),
            ("BUS__KAFKA_OPTIONS", "client.id=x,ssl.key.password=a,b"),
        ]);
        let mut r = sources.reader();
        let kafka = read_kafka(&mut r).unwrap();
        r.finish().unwrap();
        assert_eq!(kafka.security.protocol, Some(SecurityProtocol::SaslSsl));
        assert_eq!(kafka.security.mechanism, Some(SaslMechanism::ScramSha256));
        assert_eq!(
            kafka.security.password.as_ref().map(Secret::expose),
            Some("p,w")
        );
        assert_eq!(kafka.extra[1].0, "ssl.key.password");
        assert_eq!(kafka.extra[1].1.expose(), "a,b");
        assert_eq!(
            problems(&[
                ("BUS__KAFKA_BROKERS", "k:9093"),
                ("BUS__KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
                ("BUS__KAFKA_SASL_MECHANISM", "GSSAPI"),
            ]),
            [
                "bus.kafka_password",
                "bus.kafka_sasl_mechanism",
                "bus.kafka_sasl_mechanism",
                "bus.kafka_username"
            ]
        );
    }

    #[test]
    fn the_database_ca_goes_with_a_postgres_url_that_names_none() {
        let sources = sources(&[
            ("DATABASE__URL", "postgres://u:pw@db/tm?sslmode=verify-full"),
            ("DATABASE__CA", "/ca.pem"),
        ]);
        let mut r = sources.reader();
        let (url, ca) = read_database(&mut r, "sqlite://x.db");
        r.finish().unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://u:***@db/tm?sslmode=verify-full"
        );
        assert_eq!(ca, Some("/ca.pem".into()));
        assert_eq!(problems(&[("DATABASE__CA", "/ca.pem")]), ["database.ca"]);
        assert_eq!(
            problems(&[
                ("DATABASE__URL", "postgres://db/tm?sslrootcert=/a.pem"),
                ("DATABASE__CA", "/ca.pem")
            ]),
            ["database.ca"]
        );
    }

    #[test]
    fn a_read_replica_goes_with_a_postgres_database_only() {
        let sources = sources(&[
            ("DATABASE__URL", "postgres://u:pw@primary/tm"),
            ("DATABASE__READ_URL", "postgres://u:pw@replica/tm"),
        ]);
        let mut r = sources.reader();
        let (url, _) = read_database(&mut r, "sqlite://x.db");
        let replica = read_replica(&mut r, &url);
        r.finish().unwrap();
        assert_eq!(
            replica.map(|s| s.to_string()),
            Some("postgres://u:***@replica/tm".to_owned())
        );
        assert_eq!(
            problems(&[("DATABASE__READ_URL", "postgres://replica/tm")]),
            ["database.read_url"]
        );
        assert_eq!(
            problems(&[
                ("DATABASE__URL", "postgres://primary/tm"),
                ("DATABASE__READ_URL", "sqlite://copy.db")
            ]),
            ["database.read_url"]
        );
        assert!(problems(&[("DATABASE__URL", "postgres://primary/tm")]).is_empty());
    }
}
