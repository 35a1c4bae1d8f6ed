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

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use sources::{ConfigSources, ENV_PREFIX, Origin};
pub use values::{parse_duration, parse_optional};

pub use tickmesh_secret::Secret;

/// How the value of `key` may be shown in `Debug` output and config errors: `***` for a
/// password, token or secret (by its last segment's name), the URL with its password masked
/// for a `*url` key, the options with credential values masked for an `*options` key, and as
/// it is otherwise.
pub(crate) fn shown_value<'v>(key: &str, value: &'v str) -> Cow<'v, str> {
    let last = key.rsplit('.').next().unwrap_or(key);
    if tickmesh_secret::is_credential_name(last) {
        Cow::Borrowed("***")
    } else if last.ends_with("url") || last.ends_with("urls") {
        Cow::Owned(tickmesh_secret::redact_url(value))
    } else if last.ends_with("options") {
        Cow::Owned(tickmesh_secret::redact_options(value))
    } else {
        Cow::Borrowed(value)
    }
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
        /// Where and why the parser stopped.
        #[source]
        source: TomlSyntax,
    },
    /// Some keys were invalid or unknown; all of them are listed.
    #[error("invalid configuration ({} problem{}):\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, ProblemList(.0))]
    Invalid(Vec<ConfigProblem>),
}

/// A TOML syntax error by line and column. The parser's own message quotes the offending
/// line, which may hold a password, so only its position and complaint are kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TomlSyntax {
    /// 1-based line of the error.
    pub line: usize,
    /// 1-based column (in characters) of the error.
    pub column: usize,
    /// The parser's complaint, without the quoted line.
    pub message: String,
}

impl TomlSyntax {
    pub(crate) fn new(error: &toml::de::Error, text: &str) -> Self {
        let offset = error.span().map_or(0, |span| span.start).min(text.len());
        let before = text.get(..offset).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        TomlSyntax {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: error.message().trim().to_owned(),
        }
    }
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

    /// A duration that may be switched off with `off` (`None`); zero is refused, since it
    /// would mean off without saying so.
    pub fn optional_duration(&mut self, key: &str, default: Option<Duration>) -> Option<Duration> {
        self.get_with(key, default, |text| {
            if text.eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            match parse_duration(text)? {
                d if d.is_zero() => Err("must be longer than 0 (or `off`)".to_owned()),
                d => Ok(Some(d)),
            }
        })
    }

    /// A value that may be switched off with `off`; `None` means off.
    pub fn optional<T>(&mut self, key: &str, default: Option<T>) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.get_with(key, default, parse_optional)
    }

    /// A password or token (`Secret::new`); unset or empty is `None`.
    pub fn secret(&mut self, key: &str) -> Option<Secret> {
        self.text(key).map(Secret::new)
    }

    /// A URL that may carry a password (`Secret::url`); unset, empty or `off` is `None`.
    pub fn secret_url(&mut self, key: &str) -> Option<Secret> {
        self.text(key)
            .filter(|t| !t.eq_ignore_ascii_case("off"))
            .map(Secret::url)
    }

    /// A `key=value,...` option string that may carry a credential, parsed with
    /// [`tickmesh_secret::split_options`]; problems name the option by position only.
    pub fn secret_options(&mut self, key: &str) -> Vec<(String, Secret)> {
        let Some(text) = self.text(key) else {
            return Vec::new();
        };
        match tickmesh_secret::split_options(&text) {
            Ok(pairs) => pairs
                .into_iter()
                .map(|(k, v)| (k, Secret::new(v)))
                .collect(),
            Err(e) => {
                self.invalid(
                    key,
                    format!(
                        "`{}` is invalid: {e}",
                        tickmesh_secret::redact_options(&text)
                    ),
                );
                Vec::new()
            }
        }
    }

    /// The trimmed text of `key` when set and not empty.
    fn text(&mut self, key: &str) -> Option<String> {
        self.read.insert(key.to_owned());
        self.sources
            .value(key)
            .map(|(text, _)| text.trim().to_owned())
            .filter(|t| !t.is_empty())
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
                let shown = shown_value(key, text);
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
