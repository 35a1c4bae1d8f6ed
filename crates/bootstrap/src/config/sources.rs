//! Where configuration values come from: a TOML file and `TICKMESH__` environment variables,
//! flattened into dotted keys.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::{ConfigError, ConfigReader, TomlSyntax, shown_value};

/// Environment variables with this prefix are configuration; `__` separates the path.
pub const ENV_PREFIX: &str = "TICKMESH__";

/// Where a value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The TOML file at this path.
    File(PathBuf),
    /// The environment variable of this name.
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "file {}", p.display()),
            Self::Env(name) => write!(f, "env {name}"),
        }
    }
}

/// Every configured value as text, by dotted key, with its origin; later layers win.
///
/// `Debug` shows `***` for the values of secret keys (such as `server.api_token`), and URLs and
/// option strings with their credentials masked.
#[derive(Clone, Default)]
pub struct ConfigSources {
    values: BTreeMap<String, (String, Origin)>,
}

impl fmt::Debug for ConfigSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.values
                    .iter()
                    .map(|(key, (value, origin))| (key, (shown_value(key, value), origin))),
            )
            .finish()
    }
}

impl ConfigSources {
    /// Loads the optional file, then overlays the `TICKMESH__` variables among `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut sources = Self::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            sources.add_toml(path, &text)?;
        }
        sources.add_env(env);
        Ok(sources)
    }

    /// Adds a TOML document; nested tables become dotted keys.
    pub fn add_toml(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let table: toml::Table = text.parse().map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            source: TomlSyntax::new(&e, text),
        })?;
        let origin = Origin::File(path.to_owned());
        flatten("", &table, &mut |key, value| {
            self.values.insert(key, (value, origin.clone()));
        });
        Ok(())
    }

    /// Adds the variables whose names start with [`ENV_PREFIX`]; others are ignored.
    pub fn add_env(&mut self, env: impl IntoIterator<Item = (String, String)>) {
        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = path
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
                .join(".");
            self.values.insert(key, (value, Origin::Env(name)));
        }
    }

    /// A reader over these values.
    pub fn reader(&self) -> ConfigReader<'_> {
        ConfigReader::new(self)
    }

    pub(crate) fn value(&self, key: &str) -> Option<(&str, &Origin)> {
        self.values.get(key).map(|(v, o)| (v.as_str(), o))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = (&str, &Origin)> {
        self.values.iter().map(|(k, (_, o))| (k.as_str(), o))
    }
}

/// Walks a TOML table; arrays become comma-separated text so list-valued keys read the same
/// from a file as from an environment variable.
fn flatten(prefix: &str, table: &toml::Table, put: &mut impl FnMut(String, String)) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, put),
            other => put(key, scalar_text(other)),
        }
    }
}

fn scalar_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
