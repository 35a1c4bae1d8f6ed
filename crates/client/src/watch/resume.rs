//! Resuming `tickmesh watch`: `--since` and `--resume` as the request's replay fields, the
//! cursor of the last item received, and the lines on exit that say how to go on from it.

use std::time::Duration;

use prost_types::Timestamp;
use tickmesh_domain::UtcMicros;
use tickmesh_proto::convert::time_to_wire;
use tickmesh_proto::stream::v1::StreamTicksResponse;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;

use crate::server::Failure;

/// What `--resume` accepts, for its error.
const CURSOR_FORM: &str = "expected a cursor such as 1765000000123-7 (milliseconds-sequence), \
     as watch prints it in the cursor field and on exit";

/// Reads `--resume`: a stream cursor, `{milliseconds}-{sequence}` in decimal digits.
pub fn parse_cursor(text: &str) -> Result<String, String> {
    let number =
        |part: &str| part.bytes().all(|b| b.is_ascii_digit()) && part.parse::<u64>().is_ok();
    match text.split_once('-') {
        Some((ms, seq)) if number(ms) && number(seq) => Ok(text.to_owned()),
        _ => Err(CURSOR_FORM.to_owned()),
    }
}

/// Reads `--since`: a duration as configuration writes them (`90s`, `10m`, `2h`), more than 0.
pub fn parse_since(text: &str) -> Result<Duration, String> {
    let since = tickmesh_bootstrap::config::parse_duration(text)?;
    if since.is_zero() {
        return Err(
            "must be more than 0, such as 10m (leave --since out to watch live only)".to_owned(),
        );
    }
    Ok(since)
}

/// The `start_time` of a replay `since` before `now`.
pub fn start_time(now: UtcMicros, since: Duration) -> anyhow::Result<Timestamp> {
    i64::try_from(since.as_micros())
        .ok()
        .and_then(|micros| now.as_micros().checked_sub(micros))
        .filter(|&start| start >= 0)
        .map(|start| time_to_wire(UtcMicros(start)))
        .ok_or_else(|| {
            Failure::usage(format!(
                "--since {since:?} reaches back before 1970: ask for less, such as 24h"
            ))
        })
}

/// What a watch received, for the lines it ends with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// The latest cursor received (from any item: a marker's is that of the event before it,
    /// so resuming after it is as safe), else the `--resume` cursor this watch started from.
    cursor: Option<String>,
    /// Whether `cursor` came from this watch's stream.
    cursor_received: bool,
    /// Events received.
    events: u64,
    /// Of them, replayed from history.
    replayed: u64,
}

impl Progress {
    /// Nothing received yet, started after `resume` when given.
    pub fn new(resume: Option<String>) -> Self {
        Self {
            cursor: resume,
            ..Self::default()
        }
    }

    /// Notes an item the watch has handed on (printed or shown).
    pub fn note(&mut self, response: &StreamTicksResponse) {
        if matches!(response.item, Some(Item::Event(_))) {
            self.events += 1;
            self.replayed += u64::from(response.replayed);
        }
        if !response.cursor.is_empty() {
            self.cursor = Some(response.cursor.clone());
            self.cursor_received = true;
        }
    }

    /// The cursor to resume after, if any.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Events received, and how many of them were replayed.
    pub fn events(&self) -> (u64, u64) {
        (self.events, self.replayed)
    }

    /// The lines a watch ends with on standard error: `last cursor: CURSOR` (or `last cursor:
    /// none (...)`), then, with a cursor, `resume with: COMMAND` where the command is `argv`
    /// without its `--since` and `--resume`, plus `--resume CURSOR`.
    pub fn exit_lines(&self, argv: &[String]) -> Vec<String> {
        let Some(cursor) = &self.cursor else {
            return vec![if self.events == 0 {
                "last cursor: none (no event received)".to_owned()
            } else {
                "last cursor: none (the server sent no cursors, so it cannot resume this watch)"
                    .to_owned()
            }];
        };
        let first = if self.events == 0 {
            format!("last cursor: {cursor} (no event received)")
        } else if !self.cursor_received {
            format!("last cursor: {cursor} (the server sent no cursors)")
        } else {
            format!("last cursor: {cursor}")
        };
        vec![
            first,
            format!("resume with: {}", resume_command(argv, cursor)),
        ]
    }
}

/// `argv` as a shell command line without `--since` and `--resume`, then `--resume cursor`.
pub fn resume_command(argv: &[String], cursor: &str) -> String {
    let mut words = Vec::with_capacity(argv.len() + 2);
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            words.push(arg.as_str());
            words.extend(args.by_ref().map(String::as_str));
            break;
        }
        if arg == "--since" || arg == "--resume" {
            args.next();
            continue;
        }
        if arg.starts_with("--since=") || arg.starts_with("--resume=") {
            continue;
        }
        words.push(arg.as_str());
    }
    // After `--` every word is positional: the flag goes before it.
    let at = words.iter().position(|w| *w == "--").unwrap_or(words.len());
    words.splice(at..at, ["--resume", cursor]);
    words
        .into_iter()
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell reads it back: as is when it holds only safe characters, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
