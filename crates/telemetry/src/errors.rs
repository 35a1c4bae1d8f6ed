//! Errors as logs and messages show them: with every cause.

use std::fmt;

/// Displays an error with its sources, `outer: inner: innermost`, for log lines, dead-letter
/// reasons and status messages. tickmesh's errors say what failed at each level and keep the
/// level below as their source, so the chain reads as one sentence from the operation down to
/// the root cause.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn shows_every_cause_in_order() {
        let error = Layer(
            "cannot store the batch",
            Some(Box::new(Layer(
                "database operation failed",
                Some(Box::new(Layer("connection refused", None))),
            ))),
        );
        assert_eq!(
            ErrorChain(&error).to_string(),
            "cannot store the batch: database operation failed: connection refused"
        );
    }
}
