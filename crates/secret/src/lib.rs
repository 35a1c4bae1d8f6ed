//! Credentials in configuration, and the one rule for showing them: never.
//!
//! A [`Secret`] holds a password, a URL that may carry one (`postgres://user:pw@host`,
//! `redis://:pw@host`, `...?password=pw`) or an option string that may (`sasl.password=pw,...`).
//! Its `Debug` and `Display` show a redacted form, so a secret that ends up in an error message,
//! a log line or a `{:?}` of a config struct shows what helps (the host, the user, the option
//! names) and never the credential. The value itself leaves only through
//! [`Secret::expose`], at the one place that hands it to a client library.
//!
//! [`redact_url`] and [`redact_options`] are the same redactions for text that was never
//! wrapped (configuration values echoed in a config error), and [`split_options`] is the one
//! parser of the `key=value,key=value` form, so that what is redacted is what is parsed.

mod options;
mod url;

#[cfg(test)]
mod tests;

use std::fmt;

pub use options::{OptionsError, redact_options, split_options};
pub use url::redact_url;

/// What is masked in a secret's shown form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// All of it: a password or a token.
    Opaque,
    /// The password in the user info and credential query parameters of a URL.
    Url,
    /// The values of credential options in a `key=value,key=value` string.
    Options,
}

/// A configured value that must never be printed whole.
///
/// `Debug` and `Display` show `***` for a password ([`Secret::new`]), the URL with its password
/// masked for [`Secret::url`], and the options with credential values masked for
/// [`Secret::options`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    form: Form,
}

impl Secret {
    /// A password or token: shown as `***`.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            form: Form::Opaque,
        }
    }

    /// A URL that may carry a password: shown with the password and the values of
    /// credential query parameters (`password=`, `sslpassword=`, ...) as `***`.
    pub fn url(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            form: Form::Url,
        }
    }

    /// A `key=value,key=value` option string: shown with the values of credential options
    /// (`sasl.password`, `sasl.jaas.config`, `ssl.key.password`, ...) as `***`.
    pub fn options(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            form: Form::Options,
        }
    }

    /// The value itself; keep it out of logs and error messages.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// What `Display` shows: the value with its credentials masked.
    pub fn redacted(&self) -> String {
        match self.form {
            Form::Opaque => "***".to_owned(),
            Form::Url => redact_url(&self.value),
            Form::Options => redact_options(&self.value),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.form {
            Form::Opaque => f.write_str("***"),
            _ => write!(f, "{:?}", self.redacted()),
        }
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl From<String> for Secret {
    /// A password (shown as `***`).
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    /// A password (shown as `***`).
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

/// Whether an option or query parameter named `name` holds a credential: its name speaks of
/// a password, secret, token or credential, or it is a SASL JAAS or OAUTHBEARER
/// configuration or a private key in PEM form (each may embed one).
pub fn is_credential_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "credential",
        "jaas",
        "oauthbearer.config",
        "key.pem",
        "apikey",
        "api_key",
    ]
    .iter()
    .any(|word| name.contains(word))
        || name == "pass"
}
