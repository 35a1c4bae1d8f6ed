//! Output for people and for scripts, shared by every client command.
//!
//! A command describes its records once, as [`Column`]s and rows of [`Value`]s, and a
//! [`Printer`] writes them in the format asked for:
//!
//! * `table`: aligned columns for people ([`table`]), with times in the local zone, ages and
//!   grouped decimals; some columns exist only for scripts;
//! * `json`: one JSON document (an array of objects, or one object for commands whose answer
//!   is one), written as the rows arrive;
//! * `ndjson`: one JSON object per line, flushed per line, for streams such as `watch`;
//! * `csv`: a header line of the field names, then one line per record.
//!
//! Field names are the same in JSON, NDJSON and CSV, and stable: scripts may rely on them.

pub mod table;

use std::io::{self, Write};

use serde_json::Value as Json;
use tickmesh_domain::{Decimal, UtcMicros, format_decimal};

use crate::render::{Zone, machine_time};

/// `--output` and `--utc`, on every client command.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format: a table for people, or JSON, NDJSON or CSV for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Show times in UTC instead of this machine's time zone (tables only; JSON and CSV are
    /// always UTC).
    #[arg(long, global = true)]
    pub utc: bool,
}

impl OutputArgs {
    /// The zone tables show times in.
    pub fn zone(&self) -> Zone {
        if self.utc { Zone::Utc } else { Zone::Local }
    }
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header line.
    Csv,
}

/// One field of a record.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The field's name in JSON and CSV.
    pub name: &'static str,
    /// Its heading in a table; `None` for fields only scripts get.
    pub heading: Option<&'static str>,
}

/// A field shown in tables under `heading`.
pub const fn shown(name: &'static str, heading: &'static str) -> Column {
    Column {
        name,
        heading: Some(heading),
    }
}

/// A field only in JSON and CSV.
pub const fn machine(name: &'static str) -> Column {
    Column {
        name,
        heading: None,
    }
}

/// One value of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A count: a JSON number.
    Count(u64),
    /// An identifier such as an exchange's trade id: a JSON string (ids may exceed 2^53,
    /// which JSON numbers do not hold exactly in most languages), plain digits elsewhere.
    Id(u64),
    /// A measured rate such as events per second (never a price): a JSON number.
    Rate(f64),
    /// An exact decimal: a JSON string as stored; grouped at the column's scale in tables.
    Decimal(Decimal),
    /// A percentage as an exact decimal: a JSON string; `+0.12%` in tables.
    Percent(Decimal),
    /// A point in time: RFC 3339 UTC for scripts, ISO 8601 in the chosen zone for people.
    Time(UtcMicros),
    /// A point in time people read as an age ("3 s ago"); scripts get the time.
    Age(UtcMicros),
    /// Several texts: a JSON array, space-separated in CSV, comma-separated in tables.
    List(Vec<String>),
    /// Order-book levels, best first: `[["price","size"], ...]` in JSON, `price:size`
    /// space-separated in CSV and tables.
    Levels(Vec<(Decimal, Decimal)>),
    /// No value: JSON null, an empty CSV field, `-` in tables.
    Null,
}

impl Value {
    /// `Decimal(d)`, or `Null` without a value.
    pub fn decimal(d: Option<Decimal>) -> Value {
        d.map_or(Value::Null, Value::Decimal)
    }

    /// `Time(t)`, or `Null` without a value.
    pub fn time(t: Option<UtcMicros>) -> Value {
        t.map_or(Value::Null, Value::Time)
    }

    /// The value as JSON for scripts.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Text(s) => Json::String(s.clone()),
            Value::Count(n) => Json::from(*n),
            Value::Id(n) => Json::String(n.to_string()),
            Value::Rate(r) => serde_json::Number::from_f64(*r).map_or(Json::Null, Json::Number),
            Value::Decimal(d) | Value::Percent(d) => Json::String(format_decimal(*d)),
            Value::Time(t) | Value::Age(t) => Json::String(machine_time(*t)),
            Value::List(items) => Json::Array(items.iter().cloned().map(Json::String).collect()),
            Value::Levels(levels) => Json::Array(
                levels
                    .iter()
                    .map(|(p, s)| {
                        Json::Array(vec![
                            Json::String(format_decimal(*p)),
                            Json::String(format_decimal(*s)),
                        ])
                    })
                    .collect(),
            ),
            Value::Null => Json::Null,
        }
    }

    /// The value as one CSV field for scripts.
    pub fn to_csv(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Count(n) | Value::Id(n) => n.to_string(),
            Value::Rate(r) => r.to_string(),
            Value::Decimal(d) | Value::Percent(d) => format_decimal(*d),
            Value::Time(t) | Value::Age(t) => machine_time(*t),
            Value::List(items) => items.join(" "),
            Value::Levels(levels) => levels_text(levels),
            Value::Null => String::new(),
        }
    }
}

/// `price:size` pairs, space-separated.
pub fn levels_text(levels: &[(Decimal, Decimal)]) -> String {
    levels
        .iter()
        .map(|(p, s)| format!("{}:{}", format_decimal(*p), format_decimal(*s)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A record as the text of a JSON object, its fields in column order (a JSON map would
/// sort them).
pub fn object_text(columns: &[Column], row: &[Value]) -> String {
    let fields: Vec<(&str, Json)> = columns
        .iter()
        .zip(row)
        .map(|(c, v)| (c.name, v.to_json()))
        .collect();
    fields_text(&fields)
}

/// `fields` as the text of a JSON object, in the order given.
pub fn fields_text(fields: &[(&str, Json)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Json::String((*name).to_owned()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// What a command's JSON document is.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// An array of records.
    List,
    /// One object: the records under this key, beside [`Printer::finish`]'s extra fields.
    Object(&'static str),
}

/// Writes a command's records in the chosen format, as they arrive where the format allows.
#[derive(Debug)]
pub struct Printer<W: Write = io::Stdout> {
    format: Format,
    zone: Zone,
    columns: &'static [Column],
    shape: Shape,
    out: W,
    /// Rows kept for a table (which needs every width) or for a one-line NDJSON object.
    kept: Vec<Vec<Value>>,
    rows: u64,
}

impl Printer<io::Stdout> {
    /// A printer to standard output.
    pub fn stdout(args: &OutputArgs, columns: &'static [Column], shape: Shape) -> Printer {
        Printer::new(io::stdout(), args, columns, shape)
    }
}

impl<W: Write> Printer<W> {
    /// A printer of records with `columns` to `out`.
    pub fn new(out: W, args: &OutputArgs, columns: &'static [Column], shape: Shape) -> Self {
        Printer {
            format: args.output,
            zone: args.zone(),
            columns,
            shape,
            out,
            kept: Vec::new(),
            rows: 0,
        }
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Records written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one record (`row` holds a value per column).
    pub fn row(&mut self, row: Vec<Value>) -> io::Result<()> {
        debug_assert_eq!(row.len(), self.columns.len());
        let first = self.rows == 0;
        self.rows += 1;
        match (self.format, self.shape) {
            (Format::Table, _) | (Format::Ndjson, Shape::Object(_)) => self.kept.push(row),
            (Format::Json, shape) => {
                if first {
                    match shape {
                        Shape::List => self.out.write_all(b"[\n")?,
                        Shape::Object(key) => writeln!(self.out, "{{\"{key}\":[")?,
                    }
                } else {
                    self.out.write_all(b",\n")?;
                }
                self.out
                    .write_all(object_text(self.columns, &row).as_bytes())?;
            }
            (Format::Ndjson, Shape::List) => {
                self.out
                    .write_all(object_text(self.columns, &row).as_bytes())?;
                self.out.write_all(b"\n")?;
                self.out.flush()?;
            }
            (Format::Csv, _) => {
                if first {
                    self.csv_line(self.columns.iter().map(|c| c.name.to_owned()))?;
                }
                self.csv_line(row.iter().map(Value::to_csv))?;
            }
        }
        Ok(())
    }

    fn csv_line(&mut self, fields: impl Iterator<Item = String>) -> io::Result<()> {
        let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
        writer.write_record(fields.collect::<Vec<_>>())?;
        let line = writer.into_inner().map_err(|e| e.into_error())?;
        self.out.write_all(&line)?;
        self.out.flush()
    }

    /// Ends the output. `extra` are the fields an [`Shape::Object`] document has beside its
    /// records; `notes` are lines a table ends with.
    pub fn finish(mut self, extra: Vec<(&'static str, Json)>, notes: &[String]) -> io::Result<W> {
        match (self.format, self.shape) {
            (Format::Table, _) => {
                table::write(&mut self.out, self.columns, &self.kept, self.zone)?;
                for note in notes {
                    writeln!(self.out, "{note}")?;
                }
            }
            (Format::Json, Shape::List) => {
                if self.rows == 0 {
                    self.out.write_all(b"[")?;
                }
                self.out.write_all(b"\n]\n")?;
            }
            (Format::Json, Shape::Object(key)) => {
                if self.rows == 0 {
                    write!(self.out, "{{\"{key}\":[")?;
                }
                self.out.write_all(b"\n]")?;
                for (name, value) in extra {
                    write!(self.out, ",\"{name}\":")?;
                    serde_json::to_writer(&mut self.out, &value)?;
                }
                self.out.write_all(b"}\n")?;
            }
            (Format::Ndjson, Shape::Object(key)) => {
                let records: Vec<String> = self
                    .kept
                    .iter()
                    .map(|r| object_text(self.columns, r))
                    .collect();
                write!(self.out, "{{\"{key}\":[{}]", records.join(","))?;
                for (name, value) in extra {
                    write!(self.out, ",\"{name}\":{value}")?;
                }
                self.out.write_all(b"}\n")?;
            }
            (Format::Ndjson, Shape::List) => {}
            (Format::Csv, _) => {
                if self.rows == 0 {
                    self.csv_line(self.columns.iter().map(|c| c.name.to_owned()))?;
                }
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests;
