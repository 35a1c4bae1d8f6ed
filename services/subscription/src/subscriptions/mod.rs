//! Subscription management (SubscriptionService).
