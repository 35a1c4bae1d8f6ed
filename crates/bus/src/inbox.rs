//! A bounded queue for one slow reader among fast writers: when it is full, new items are
//! dropped and counted, and the reader later gets a [`Received::Lagged`] marker with the count
//! at the place the items went missing. Memory stays bounded and the writer never waits, so
//! one slow subscriber cannot slow the others (docs/architecture.md).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// What the reader gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<T> {
    /// The next item.
    Item(T),
    /// This many items were dropped here because the inbox was full.
    Lagged(u64),
}

#[derive(Debug)]
struct State<T> {
    queue: VecDeque<Received<T>>,
    /// Items (not markers) in `queue`.
    items: usize,
    /// Every sender is gone.
    closed: bool,
    /// The reader is gone.
    abandoned: bool,
    /// Items dropped because the inbox was full, since it was made.
    dropped: u64,
}

#[derive(Debug)]
struct Shared<T> {
    capacity: usize,
    state: Mutex<State<T>>,
    /// Wakes the reader.
    notify: Notify,
    /// Wakes senders waiting in [`InboxSender::closed`].
    reader_gone: Notify,
}

/// The reading end.
#[derive(Debug)]
pub struct Inbox<T> {
    shared: Arc<Shared<T>>,
}

/// The writing end; cloneable. The inbox closes when every sender is dropped.
#[derive(Debug)]
pub struct InboxSender<T> {
    shared: Arc<Shared<T>>,
    _alive: Arc<SenderCount<T>>,
}

/// Closes the inbox when the last sender goes.
#[derive(Debug)]
struct SenderCount<T>(Arc<Shared<T>>);

impl<T> Drop for SenderCount<T> {
    fn drop(&mut self) {
        lock(&self.0.state).closed = true;
        self.0.notify.notify_one();
    }
}

impl<T> Clone for InboxSender<T> {
    fn clone(&self) -> Self {
        InboxSender {
            shared: Arc::clone(&self.shared),
            _alive: Arc::clone(&self._alive),
        }
    }
}

/// The state survives a panic elsewhere while holding the lock: every update leaves it
/// consistent, so a poisoned lock is still safe to use.
fn lock<T>(state: &Mutex<State<T>>) -> std::sync::MutexGuard<'_, State<T>> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T> Inbox<T> {
    /// An inbox holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> (InboxSender<T>, Inbox<T>) {
        let shared = Arc::new(Shared {
            capacity: capacity.max(1),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                items: 0,
                closed: false,
                abandoned: false,
                dropped: 0,
            }),
            notify: Notify::new(),
            reader_gone: Notify::new(),
        });
        let sender = InboxSender {
            shared: Arc::clone(&shared),
            _alive: Arc::new(SenderCount(Arc::clone(&shared))),
        };
        (sender, Inbox { shared })
    }

    /// The next item or marker; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Received<T>> {
        loop {
            // Register interest before checking, so a push between the check and the wait
            // is not missed.
            let notified = self.shared.notify.notified();
            {
                let mut state = lock(&self.shared.state);
                if let Some(next) = state.queue.pop_front() {
                    if matches!(next, Received::Item(_)) {
                        state.items -= 1;
                    }
                    return Some(next);
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Items waiting now, and items dropped since the inbox was made (for metrics and tests).
    pub fn stats(&self) -> (usize, u64) {
        let state = lock(&self.shared.state);
        (state.items, state.dropped)
    }

    /// The next item or marker if one is waiting.
    pub fn try_recv(&mut self) -> Option<Received<T>> {
        let mut state = lock(&self.shared.state);
        let next = state.queue.pop_front()?;
        if matches!(next, Received::Item(_)) {
            state.items -= 1;
        }
        Some(next)
    }
}

impl<T> Drop for Inbox<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.abandoned = true;
        state.queue.clear();
        drop(state);
        self.shared.reader_gone.notify_waiters();
    }
}

impl<T> InboxSender<T> {
    /// Whether the reader is gone.
    pub fn is_abandoned(&self) -> bool {
        lock(&self.shared.state).abandoned
    }

    /// Resolves once the reader is gone, so a forwarding task can stop without waiting for
    /// its next item.
    pub async fn closed(&self) {
        loop {
            let gone = self.shared.reader_gone.notified();
            if self.is_abandoned() {
                return;
            }
            gone.await;
        }
    }

    /// Queues `item`, or drops and counts it when the inbox is full. Returns `false` once the
    /// reader is gone, so the writer can forget this inbox.
    pub fn push(&self, item: T) -> bool {
        let mut state = lock(&self.shared.state);
        if state.abandoned {
            return false;
        }
        if state.items >= self.shared.capacity {
            state.dropped += 1;
            match state.queue.back_mut() {
                Some(Received::Lagged(n)) => *n += 1,
                _ => state.queue.push_back(Received::Lagged(1)),
            }
        } else {
            state.queue.push_back(Received::Item(item));
            state.items += 1;
        }
        drop(state);
        self.shared.notify.notify_one();
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_full_inbox_drops_and_marks_where_items_went_missing() {
        let (tx, mut rx) = Inbox::new(2);
        for i in 0..5 {
            assert!(tx.push(i));
        }
        assert_eq!(rx.recv().await, Some(Received::Item(0)));
        tx.push(5);
        assert_eq!(rx.recv().await, Some(Received::Item(1)));
        assert_eq!(rx.recv().await, Some(Received::Lagged(3)));
        assert_eq!(rx.recv().await, Some(Received::Item(5)));
        assert_eq!(rx.try_recv(), None);
        drop(tx);
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn senders_learn_when_the_reader_is_gone() {
        let (tx, rx) = Inbox::<u8>::new(1);
        let other = tx.clone();
        assert!(other.push(1));
        drop(rx);
        assert!(!tx.push(2));
        assert!(!other.push(3));
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_on_push() {
        let (tx, mut rx) = Inbox::new(4);
        let reader = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        tx.push("x");
        assert_eq!(reader.await.unwrap(), Some(Received::Item("x")));
    }
}
