//! Tables for people: the shown columns, aligned, with values rendered for reading.
//!
//! Decimals take one scale per column, the smallest that shows every value of the column
//! exactly, so a column of prices reads `116,489,000` / `116,517,000` and not
//! `116489000.00000000` next to `116517000`. Numbers are right-aligned, text left-aligned.
//! Times carry milliseconds only in a column where some value has them.

use std::io::{self, Write};

use tickmesh_domain::UtcMicros;

use super::{Column, Value, levels_text};
use crate::render::{Zone, age, column_scale, grouped, human_time, percent};

/// Writes the shown columns of `rows` as an aligned table, the headings first.
pub fn write(
    out: &mut impl Write,
    columns: &[Column],
    rows: &[Vec<Value>],
    zone: Zone,
) -> io::Result<()> {
    let now = UtcMicros::now();
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut right: Vec<bool> = Vec::new();
    let mut headings = Vec::new();
    for (index, column) in columns.iter().enumerate() {
        let Some(heading) = column.heading else {
            continue;
        };
        headings.push(heading.to_owned());
        let values: Vec<&Value> = rows.iter().filter_map(|r| r.get(index)).collect();
        right.push(values.iter().any(|v| is_number(v)));
        cells.push(render_column(&values, zone, now));
    }
    let widths: Vec<usize> = headings
        .iter()
        .zip(&cells)
        .map(|(h, column)| {
            column
                .iter()
                .map(|c| c.chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |texts: Vec<&str>, out: &mut dyn Write| -> io::Result<()> {
        let padded: Vec<String> = texts
            .iter()
            .zip(&widths)
            .zip(&right)
            .map(|((text, &width), &right)| {
                if right {
                    format!("{text:>width$}")
                } else {
                    format!("{text:<width$}")
                }
            })
            .collect();
        writeln!(out, "{}", padded.join("  ").trim_end())
    };
    line(headings.iter().map(String::as_str).collect(), out)?;
    for row in 0..rows.len() {
        line(cells.iter().map(|c| c[row].as_str()).collect(), out)?;
    }
    Ok(())
}

fn is_number(value: &Value) -> bool {
    matches!(
        value,
        Value::Count(_) | Value::Id(_) | Value::Rate(_) | Value::Decimal(_) | Value::Percent(_)
    )
}

/// One column's cells, rendered with what the whole column has in common.
fn render_column(values: &[&Value], zone: Zone, now: UtcMicros) -> Vec<String> {
    let scale = column_scale(values.iter().filter_map(|v| match v {
        Value::Decimal(d) => Some(d),
        _ => None,
    }));
    let millis = values
        .iter()
        .any(|v| matches!(v, Value::Time(t) if t.as_micros() % 1_000_000 != 0));
    values
        .iter()
        .map(|value| match value {
            Value::Text(s) => s.clone(),
            Value::Count(n) => grouped((*n).into(), 0),
            Value::Id(n) => n.to_string(),
            Value::Rate(r) => format!("{r:.1}"),
            Value::Decimal(d) => grouped(*d, scale),
            Value::Percent(p) => percent(*p),
            Value::Time(t) => human_time(*t, zone, millis),
            Value::Age(t) => age(*t, now),
            Value::List(items) => items.join(","),
            Value::Levels(levels) => levels_text(levels),
            Value::Null => "-".to_owned(),
        })
        .collect()
}
