//! TLS and SASL to the brokers: the settings most deployments need, typed, so that they are
//! checked at start-up and the password never travels inside an option string.
//!
//! This build's librdkafka has OpenSSL, so `ssl` and `sasl_ssl` work, with SASL `PLAIN`,
//! `SCRAM-SHA-256` and `SCRAM-SHA-512` (not GSSAPI/Kerberos). The broker's certificate is
//! checked against `ca` (or the system's roots) and its host name (librdkafka's default
//! `ssl.endpoint.identification.algorithm=https`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rdkafka::ClientConfig;
use tickmesh_secret::Secret;

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// No TLS, no SASL (librdkafka's default).
    Plaintext,
    /// TLS, no SASL.
    Ssl,
    /// SASL without TLS: the password crosses the network in the clear with `PLAIN`.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The librdkafka spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    /// Whether it logs in with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// Whether it uses TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

impl FromStr for SecurityProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "plaintext" => Ok(SecurityProtocol::Plaintext),
            "ssl" => Ok(SecurityProtocol::Ssl),
            "sasl_plaintext" => Ok(SecurityProtocol::SaslPlaintext),
            "sasl_ssl" => Ok(SecurityProtocol::SaslSsl),
            _ => Err("expected plaintext, ssl, sasl_plaintext or sasl_ssl".to_owned()),
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sasl.mechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// The password itself, so only over TLS in practice.
    Plain,
    /// SCRAM with SHA-256.
    ScramSha256,
    /// SCRAM with SHA-512.
    ScramSha512,
}

impl SaslMechanism {
    /// The librdkafka spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl FromStr for SaslMechanism {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().replace('_', "-").as_str() {
            "PLAIN" => Ok(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(SaslMechanism::ScramSha512),
            _ => Err(
                "expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (GSSAPI is not built)".to_owned(),
            ),
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TLS and SASL settings; unset fields leave librdkafka's defaults (or `extra`'s values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaSecurity {
    /// `security.protocol`.
    pub protocol: Option<SecurityProtocol>,
    /// `sasl.mechanism`.
    pub mechanism: Option<SaslMechanism>,
    /// `sasl.username`.
    pub username: Option<String>,
    /// `sasl.password`.
    pub password: Option<Secret>,
    /// `ssl.ca.location`: PEM CA certificate(s) to trust instead of the system's.
    pub ca: Option<PathBuf>,
}

impl KafkaSecurity {
    /// Sets the configured properties on `config`.
    pub(crate) fn apply(&self, config: &mut ClientConfig) {
        if let Some(protocol) = self.protocol {
            config.set("security.protocol", protocol.as_str());
        }
        if let Some(mechanism) = self.mechanism {
            config.set("sasl.mechanism", mechanism.as_str());
        }
        if let Some(username) = &self.username {
            config.set("sasl.username", username);
        }
        if let Some(password) = &self.password {
            config.set("sasl.password", password.expose());
        }
        if let Some(ca) = &self.ca {
            config.set("ssl.ca.location", ca.display().to_string());
        }
    }

    /// What is inconsistent, as `(key suffix, problem)` pairs for the configuration reader
    /// (`protocol` is `bus.kafka_security_protocol`, and so on).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let sasl = self.protocol.is_some_and(SecurityProtocol::uses_sasl);
        let tls = self.protocol.is_some_and(SecurityProtocol::uses_tls);
        if sasl {
            if self.mechanism.is_none() {
                out.push((
                    "sasl_mechanism",
                    "sasl needs a mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512".to_owned(),
                ));
            }
            if self.username.is_none() {
                out.push(("username", "sasl needs a username".to_owned()));
            }
            if self.password.is_none() {
                out.push(("password", "sasl needs a password".to_owned()));
            }
        } else {
            for (key, set) in [
                ("sasl_mechanism", self.mechanism.is_some()),
                ("username", self.username.is_some()),
                ("password", self.password.is_some()),
            ] {
                if set {
                    out.push((
                        key,
                        "is used only with security protocol sasl_ssl or sasl_plaintext".to_owned(),
                    ));
                }
            }
        }
        if self.ca.is_some() && !tls {
            out.push((
                "ca",
                "is used only with security protocol ssl or sasl_ssl".to_owned(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn typed_settings_become_librdkafka_properties() {
        let security = KafkaSecurity {
            protocol: Some("SASL_SSL".parse().unwrap()),
            mechanism: Some("scram-sha-512".parse().unwrap()),
            username: Some("tm".into()),
            password: Some(Secret::new("Sekrit")),
            ca: Some("/etc/kafka/ca.pem".into()),
        };
        assert!(security.problems().is_empty());
        let mut config = ClientConfig::new();
        security.apply(&mut config);
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("tm"));
        assert_eq!(config.get("sasl.password"), Some("Sekrit"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/kafka/ca.pem"));
        assert!(!format!("{security:?}").contains("Sekrit"));
    }

    #[test]
    fn inconsistent_settings_are_named() {
        let sasl = KafkaSecurity {
            protocol: Some(SecurityProtocol::SaslPlaintext),
            ..KafkaSecurity::default()
        };
        let keys: Vec<_> = sasl.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["sasl_mechanism", "username", "password"]);
        let stray = KafkaSecurity {
            password: Some(Secret::new("x")),
            ca: Some("/ca.pem".into()),
            ..KafkaSecurity::default()
        };
        let keys: Vec<_> = stray.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["password", "ca"]);
        assert!("GSSAPI".parse::<SaslMechanism>().is_err());
        assert!("sasl".parse::<SecurityProtocol>().is_err());
    }
}
