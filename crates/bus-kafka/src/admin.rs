//! The admin client (topic creation) and what it learns about the connection.
//!
//! librdkafka retries a refused login or a certificate it cannot verify on its own, and an
//! admin request waiting for a broker only fails when its request timeout runs out. When
//! librdkafka reports such a refusal (a SASL authentication error, a TLS error), the context
//! below passes it on, so [`create_topics`] answers at once with the reason. A broker that
//! just drops the connection instead (the test broker does, after a wrong SCRAM password)
//! gives nothing to report, and the call fails when [`REQUEST_TIMEOUT`] runs out, 40 s rather
//! than librdkafka's default minute.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic};
use rdkafka::client::ClientContext;
use rdkafka::config::FromClientConfigAndContext as _;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio::sync::watch;

/// How long the broker may take to create a topic.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a whole admin call may take, finding a broker included. librdkafka's default is
/// `socket.timeout.ms` (60 s); this bounds a call against a silent broker well below that.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);

/// Keeps the latest connection error that no retry will cure on its own.
pub(crate) struct AdminContext {
    refused: watch::Sender<Option<String>>,
}

impl ClientContext for AdminContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::error!(%error, reason, "kafka admin client");
        if is_refusal(&error) {
            self.refused
                .send_replace(Some(format!("{error}: {reason}")));
        }
    }
}

/// A refused login or TLS handshake: the broker answered, and will answer the same way until
/// the credentials or the certificates change.
fn is_refusal(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL)
    )
}

pub(crate) type Admin = AdminClient<AdminContext>;

pub(crate) fn admin(config: &ClientConfig) -> Result<Admin, KafkaError> {
    let (refused, _) = watch::channel(None);
    AdminClient::from_config_and_context(config, AdminContext { refused })
}

/// Why a topic could not be created.
pub(crate) enum CreateError {
    /// The request failed as a whole.
    Request(KafkaError),
    /// The broker refused the connection while the request waited (the reason as reported).
    Refused(String),
    /// The broker answered for each topic; these are the failures.
    Topics(Vec<(String, RDKafkaErrorCode)>),
}

/// Creates `topics`; a topic that already exists counts as created.
pub(crate) async fn create_topics(
    admin: &Admin,
    topics: &[NewTopic<'_>],
) -> Result<(), CreateError> {
    // Only refusals reported from now on count: an old one may have been cured since.
    let mut refused = admin.inner().context().refused.subscribe();
    refused.mark_unchanged();
    let options = AdminOptions::new()
        .operation_timeout(Some(OPERATION_TIMEOUT))
        .request_timeout(Some(REQUEST_TIMEOUT));
    let results = tokio::select! {
        results = admin.create_topics(topics, &options) => results.map_err(CreateError::Request)?,
        Ok(()) = refused.changed() => {
            let reason = refused.borrow().clone().unwrap_or_default();
            return Err(CreateError::Refused(reason));
        }
    };
    let failed: Vec<_> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => None,
            Err(failure) => Some(failure),
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CreateError::Topics(failed))
    }
}

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateError::Request(e) => write!(f, "cannot create topics: {e}"),
            CreateError::Refused(reason) => write!(
                f,
                "the broker refused the connection ({reason}); check the credentials and the CA"
            ),
            CreateError::Topics(failed) => {
                if let Some((topic, code)) = failed.first() {
                    write!(f, "cannot create topic {topic}: {code}")?;
                }
                if failed.len() > 1 {
                    write!(f, " (and {} more)", failed.len() - 1)?;
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Debug for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for CreateError {}
