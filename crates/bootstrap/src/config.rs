//! Layered, typed configuration.
//!
//! Values come from, in rising precedence: the defaults in the code that reads them, an
//! optional TOML file, and environment variables named `TICKMESH__SECTION__KEY` (so
//! `TICKMESH__SERVER__REQUEST_TIMEOUT` sets `server.request_timeout`). Sections read their keys
//! through a [`ConfigReader`], which keeps going past bad values so that [`ConfigReader::finish`]
//! can report every invalid and every unknown key at once, each with where it came from.
//!
//! The environment is passed in, never read here, so tests need not mutate the process's own.

mod sources;
mod values;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use sources::{ConfigSources, ENV_PREFIX, Origin};
pub use values::{parse_duration, parse_optional};

/// A configured value that must never be printed, such as an api token.
///
/// Its `Debug` shows `***`, and it has no `Display`: the value leaves only through
/// [`expose`](Self::expose), at the one place that compares or sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself; keep it out of logs and error messages.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Whether the value of `key` is a secret that `Debug` output must hide (its last segment names
/// a token, a secret or a password).
pub(crate) fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    ["token", "secret", "password"]
        .iter()
        .any(|word| last.contains(word))
}

/// One key that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The dotted key, such as `server.listen`.
    pub key: String,
    /// Where the value came from, when it came from somewhere.
    pub origin: Option<Origin>,
    /// What is wrong, lowercase, saying what would be accepted.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.key)?;
        if let Some(origin) = &self.origin {
            write!(f, " (from {origin})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {} is not valid toml", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's complaint.
        #[source]
        source: toml::de::Error,
    },
    /// Some keys were invalid or unknown; all of them are listed.
    #[error("invalid configuration ({} problem{}):\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, ProblemList(.0))]
    Invalid(Vec<ConfigProblem>),
}

struct ProblemList<'a>(&'a [ConfigProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n  ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Reads typed values out of [`ConfigSources`], collecting problems instead of stopping.
#[derive(Debug)]
pub struct ConfigReader<'a> {
    sources: &'a ConfigSources,
    read: BTreeSet<String>,
    problems: Vec<ConfigProblem>,
}

impl<'a> ConfigReader<'a> {
    pub(crate) fn new(sources: &'a ConfigSources) -> Self {
        Self {
            sources,
            read: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// The value of `key` parsed with [`FromStr`], or `default` when unset or invalid (the
    /// problem is recorded for [`finish`](Self::finish)).
    pub fn get<T>(&mut self, key: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.get_with(key, default, |s| s.parse::<T>().map_err(|e| e.to_string()))
    }

    /// A duration such as `250ms`, `30s`, `5m` or `1h`.
    pub fn duration(&mut self, key: &str, default: Duration) -> Duration {
        self.get_with(key, default, parse_duration)
    }

    /// A value that may be switched off with `off`; `None` means off.
    pub fn optional<T>(&mut self, key: &str, default: Option<T>) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.get_with(key, default, parse_optional)
    }

    /// The value of `key` parsed by `parse`, which says what it expected when it fails.
    pub fn get_with<T>(
        &mut self,
        key: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        self.read.insert(key.to_owned());
        let Some((text, origin)) = self.sources.value(key) else {
            return default;
        };
        match parse(text.trim()) {
            Ok(v) => v,
            Err(message) => {
                let shown = if is_secret_key(key) { "***" } else { text };
                self.problems.push(ConfigProblem {
                    key: key.to_owned(),
                    origin: Some(origin.clone()),
                    message: format!("`{shown}` is invalid: {message}"),
                });
                default
            }
        }
    }

    /// Records a problem found by validation across keys (for example a range that is empty).
    pub fn invalid(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            key: key.to_owned(),
            origin: self.sources.value(key).map(|(_, o)| o.clone()),
            message: message.into(),
        });
    }

    /// Every invalid value and every key that no section read, or `Ok` when there are none.
    pub fn finish(mut self) -> Result<(), ConfigError> {
        for (key, origin) in self.sources.keys() {
            if !self.read.contains(key) {
                self.problems.push(ConfigProblem {
                    key: key.to_owned(),
                    origin: Some(origin.clone()),
                    message: "unknown key".to_owned(),
                });
            }
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            self.problems.sort_by(|a, b| a.key.cmp(&b.key));
            Err(ConfigError::Invalid(self.problems))
        }
    }
}
