//! The `key=value,key=value` option form (`bus.kafka_options`): parsing and redaction.
//!
//! A value may contain a comma: a comma separates options only where the text after it (less
//! leading spaces) is empty, another comma, or starts a new `name=`; anywhere else it belongs
//! to the value, so `sasl.password=a,b` is one option. A backslash takes the next character
//! literally (`\,` for a comma that a `name=` follows, `\\` for a backslash).

use std::fmt;

use crate::is_credential_name;

/// Why an option string could not be parsed. It names the option by position, never by
/// content, since the content may be a piece of a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsError {
    /// The 1-based position of the bad option.
    pub position: usize,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option {} {}", self.position, self.problem)
    }
}

impl std::error::Error for OptionsError {}

/// Parses `key=value,key=value` into trimmed pairs (see the module docs for commas inside
/// values); empty options are skipped.
pub fn split_options(text: &str) -> Result<Vec<(String, String)>, OptionsError> {
    items(text)
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            item.ok_or(OptionsError {
                position: i + 1,
                problem: "is not key=value (a comma in a value before `name=` needs a backslash: `\\,`)",
            })
        })
        .collect()
}

/// The options with the values of credential options (and anything that does not parse as
/// an option) replaced by `***`.
pub fn redact_options(text: &str) -> String {
    items(text)
        .into_iter()
        .map(|item| match item {
            Some((name, _)) if is_credential_name(&name) => format!("{name}=***"),
            Some((name, value)) => format!("{name}={value}"),
            None => "***".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Every non-empty option, `None` where one is not `name=value` with a valid name.
fn items(text: &str) -> Vec<Option<(String, String)>> {
    let mut out = Vec::new();
    let mut current = String::new();
    // Where the unescaped `=` of the current option is, if it had one yet.
    let mut equals: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    current.push(next);
                }
            }
            '=' if equals.is_none() => {
                equals = Some(current.len());
                current.push(c);
            }
            ',' if equals.is_none() || separates(&text[i + 1..]) => {
                finish(&mut out, &mut current, equals.take());
            }
            _ => current.push(c),
        }
    }
    finish(&mut out, &mut current, equals);
    out
}

fn finish(out: &mut Vec<Option<(String, String)>>, current: &mut String, equals: Option<usize>) {
    let item = std::mem::take(current);
    if item.trim().is_empty() {
        return;
    }
    out.push(equals.and_then(|at| {
        let name = item[..at].trim();
        let value = item[at + 1..].trim();
        is_name(name).then(|| (name.to_owned(), value.to_owned()))
    }));
}

/// Whether a comma followed by `rest` ends an option.
fn separates(rest: &str) -> bool {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with(',') {
        return true;
    }
    rest.split_once('=')
        .is_some_and(|(name, _)| is_name(name.trim_end()))
}

/// An option name: letters, digits, `.`, `_` and `-`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
