//! Live tick streaming (TickStreamService).
