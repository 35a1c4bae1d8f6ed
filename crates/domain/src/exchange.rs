//! The exchanges tickmesh collects from.

use std::fmt;
use std::str::FromStr;

/// A Korean spot exchange with a public market-data WebSocket.
///
/// Korbit rebranded as Digital X in 2026; the protocol is unchanged, so one variant covers both
/// names and both spellings parse to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exchange {
    /// Upbit (`api.upbit.com`).
    Upbit,
    /// Bithumb (`ws-api.bithumb.com`).
    Bithumb,
    /// Korbit, now Digital X (`ws-api.digitalx.miraeasset.com`).
    Korbit,
}

impl Exchange {
    /// Every exchange, in a stable order (used when a request names none).
    pub const ALL: [Exchange; 3] = [Exchange::Upbit, Exchange::Bithumb, Exchange::Korbit];

    /// Returns the lower-case identifier used in config, Redis channels and Kafka keys.
    pub const fn as_str(self) -> &'static str {
        match self {
            Exchange::Upbit => "upbit",
            Exchange::Bithumb => "bithumb",
            Exchange::Korbit => "korbit",
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string names no known exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown exchange {0:?}: expected upbit, bithumb or korbit")]
pub struct UnknownExchange(pub String);

impl FromStr for Exchange {
    type Err = UnknownExchange;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "upbit" => Ok(Exchange::Upbit),
            "bithumb" => Ok(Exchange::Bithumb),
            "korbit" | "digitalx" | "digital-x" | "digital_x" => Ok(Exchange::Korbit),
            _ => Err(UnknownExchange(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_identifier() {
        for exchange in Exchange::ALL {
            assert_eq!(exchange.as_str().parse::<Exchange>(), Ok(exchange));
        }
    }

    #[test]
    fn accepts_case_and_the_digital_x_brand() {
        assert_eq!("UPBIT".parse::<Exchange>(), Ok(Exchange::Upbit));
        assert_eq!("Digital-X".parse::<Exchange>(), Ok(Exchange::Korbit));
        assert_eq!("digitalx".parse::<Exchange>(), Ok(Exchange::Korbit));
    }

    #[test]
    fn rejects_unknown_names_with_the_choices() {
        let err = "binance".parse::<Exchange>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown exchange \"binance\": expected upbit, bithumb or korbit"
        );
    }
}
