//! In-process live channels.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::{BusError, Inbox, InboxSender, LiveBus, LiveMessage, channel_matches};

/// In-process live publish/subscribe.
#[derive(Debug, Default)]
pub struct MemoryLive {
    subscribers: Mutex<Vec<Subscriber>>,
}

#[derive(Debug)]
struct Subscriber {
    patterns: Vec<String>,
    inbox: InboxSender<LiveMessage>,
}

impl MemoryLive {
    /// Publishes at once (delivery to an inbox never waits).
    pub(crate) fn publish_now(&self, messages: &[LiveMessage]) {
        // A poisoned lock only means a publisher panicked mid-loop; the list is still valid.
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for message in messages {
            subscribers.retain(|s| {
                if s.patterns
                    .iter()
                    .any(|p| channel_matches(p, &message.channel))
                {
                    s.inbox.push(message.clone())
                } else {
                    true
                }
            });
        }
    }
}

#[async_trait]
impl LiveBus for MemoryLive {
    async fn publish(&self, messages: &[LiveMessage]) -> Result<(), BusError> {
        self.publish_now(messages);
        Ok(())
    }

    async fn subscribe(
        &self,
        patterns: &[String],
        capacity: usize,
    ) -> Result<Inbox<LiveMessage>, BusError> {
        let (inbox, reader) = Inbox::new(capacity);
        self.subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Subscriber {
                patterns: patterns.to_vec(),
                inbox,
            });
        Ok(reader)
    }
}
