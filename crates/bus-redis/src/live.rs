//! Live channels on Redis pub/sub.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt as _;
use tickmesh_bus::{BusError, Inbox, InboxSender, LiveBus, LiveMessage};
use tracing::{debug, warn};

use crate::{RedisBus, RedisConfig, unavailable};

/// Escapes Redis glob metacharacters other than `*`, which is the one wildcard of tickmesh
/// patterns (see [`tickmesh_bus::channel_matches`]).
fn redis_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if matches!(c, '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[async_trait]
impl LiveBus for RedisBus {
    async fn publish(&self, messages: &[LiveMessage]) -> Result<(), BusError> {
        if messages.is_empty() {
            return Ok(());
        }
        // The shared connection, not the publisher's: live messages (gap markers) are sent
        // from their own tasks and should not queue behind a batch of events.
        let mut pipe = redis::pipe();
        for m in messages {
            pipe.cmd("PUBLISH")
                .arg(&m.channel)
                .arg(m.payload.as_ref())
                .ignore();
        }
        self.commands.pipeline::<()>(&pipe).await
    }

    async fn subscribe(
        &self,
        patterns: &[String],
        capacity: usize,
    ) -> Result<Inbox<LiveMessage>, BusError> {
        let patterns: Vec<String> = patterns.iter().map(|p| redis_pattern(p)).collect();
        // The first subscription is made here, so a caller that publishes right after
        // `subscribe` returned is heard; later reconnects happen in the task.
        let pubsub = open(&self.config, &patterns).await?;
        let (sender, inbox) = Inbox::new(capacity);
        tokio::spawn(forward(self.config.clone(), patterns, pubsub, sender));
        Ok(inbox)
    }
}

async fn open(config: &RedisConfig, patterns: &[String]) -> Result<redis::aio::PubSub, BusError> {
    let mut pubsub = config
        .client()
        .await?
        .get_async_pubsub()
        .await
        .map_err(unavailable)?;
    for p in patterns {
        pubsub.psubscribe(p).await.map_err(unavailable)?;
    }
    Ok(pubsub)
}

/// Moves messages into the inbox until its reader is gone, resubscribing after a lost
/// connection (what was published meanwhile is lost, as pub/sub promises nothing more).
async fn forward(
    config: RedisConfig,
    patterns: Vec<String>,
    mut pubsub: redis::aio::PubSub,
    sender: InboxSender<LiveMessage>,
) {
    loop {
        {
            let mut messages = pubsub.on_message();
            loop {
                let msg = tokio::select! {
                    msg = messages.next() => msg,
                    () = sender.closed() => return,
                };
                let Some(msg) = msg else { break };
                let message = LiveMessage {
                    channel: msg.get_channel_name().to_owned(),
                    payload: Bytes::copy_from_slice(msg.get_payload_bytes()),
                };
                if !sender.push(message) {
                    debug!("live subscriber gone; closing its redis subscription");
                    return;
                }
            }
        }
        warn!("redis pub/sub connection lost; resubscribing");
        let mut delay = Duration::from_millis(100);
        pubsub = loop {
            if sender.is_abandoned() {
                return;
            }
            match open(&config, &patterns).await {
                Ok(p) => break p,
                Err(e) => {
                    warn!(error = %e, "redis pub/sub resubscribe failed; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        };
    }
}
