//! `storage.partition_interval`, `storage.partitions_ahead`, `storage.partition_maintenance`
//! and `storage.retention.*`: how storage keeps its tables for months.

use tickmesh_bootstrap::ConfigReader;
use tickmesh_storage::maintenance::{MaintenanceConfig, parse_retention, parse_span};

/// Reads the keys over `config`'s defaults; problems are collected by `r`.
pub(super) fn read_maintenance(r: &mut ConfigReader<'_>, config: &mut MaintenanceConfig) {
    config.partition_interval = r.get_with(
        "storage.partition_interval",
        config.partition_interval,
        |t| parse_span(t, false),
    );
    config.partitions_ahead =
        r.get_with("storage.partitions_ahead", config.partitions_ahead, |t| {
            parse_span(t, true)
        });
    config.interval = r.duration("storage.partition_maintenance", config.interval);
    if config.interval.is_zero() {
        r.invalid(
            "storage.partition_maintenance",
            "must be more than 0s (e.g. 1h)",
        );
    }
    let retention = &mut config.retention;
    for (key, value) in [
        ("storage.retention.trades", &mut retention.trades),
        ("storage.retention.tickers", &mut retention.tickers),
        ("storage.retention.books", &mut retention.books),
    ] {
        *value = r.get_with(key, *value, parse_retention);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use tickmesh_bootstrap::ConfigSources;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> (MaintenanceConfig, Vec<String>) {
        let mut sources = ConfigSources::default();
        sources.add_env(
            pairs
                .iter()
                .map(|(k, v)| (format!("TICKMESH__{k}"), (*v).to_owned())),
        );
        let mut r = sources.reader();
        let mut config = MaintenanceConfig::default();
        read_maintenance(&mut r, &mut config);
        let problems = match r.finish() {
            Ok(()) => Vec::new(),
            Err(tickmesh_bootstrap::ConfigError::Invalid(problems)) => {
                problems.into_iter().map(|p| p.key).collect()
            }
            Err(e) => panic!("{e}"),
        };
        (config, problems)
    }

    #[test]
    fn partitions_and_retention_are_read_and_checked() {
        let (config, problems) = read(&[]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config, MaintenanceConfig::default());
        assert_eq!(
            config.retention.trades,
            Some(Duration::from_secs(90 * 86_400))
        );

        let (config, problems) = read(&[
            ("STORAGE__PARTITION_INTERVAL", "6h"),
            ("STORAGE__PARTITIONS_AHEAD", "0d"),
            ("STORAGE__PARTITION_MAINTENANCE", "15m"),
            ("STORAGE__RETENTION__TRADES", "off"),
            ("STORAGE__RETENTION__TICKERS", "36h"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.partition_interval, Duration::from_secs(6 * 3600));
        assert_eq!(config.partitions_ahead, Duration::ZERO);
        assert_eq!(config.interval, Duration::from_secs(900));
        assert_eq!(config.retention.trades, None);
        assert_eq!(
            config.retention.tickers,
            Some(Duration::from_secs(36 * 3600))
        );

        let (_, problems) = read(&[
            ("STORAGE__PARTITION_INTERVAL", "30m"),
            ("STORAGE__PARTITION_MAINTENANCE", "0s"),
            ("STORAGE__RETENTION__BOOKS", "0d"),
        ]);
        assert_eq!(
            problems,
            [
                "storage.partition_interval",
                "storage.partition_maintenance",
                "storage.retention.books"
            ]
        );
    }
}
