//! The rows of one stretch of one table, as SQLite stores them: the values of
//! [`super::super::sql`]'s statements, made here. Decimals are exact text (`format_decimal`
//! of a [`Decimal`] of the pair's scale), as storage writes them.

use sea_orm::Value;
use tickmesh_domain::{Decimal, format_decimal};

use super::{COLUMNS, MAX_BINDS};
use crate::history::shape::{DAY_US, MINUTE_US, Pair, Series, Shape};

/// The rows of `table` (an index of [`COLUMNS`]) for every pair in `[c0, c1)`, cut into
/// statements: each element is the values of whole rows, at most [`MAX_BINDS`] of them.
pub(super) fn make(shape: &Shape, table: usize, s: Series, c0: i64, c1: i64) -> Vec<Vec<Value>> {
    let width = COLUMNS[table].split(',').count();
    let per_statement = (MAX_BINDS / width).max(1) * width;
    let mut statements = Vec::new();
    let mut values = Vec::with_capacity(per_statement);
    for pair in &shape.pairs {
        for (t, i) in times(s, pair.k, c0, c1) {
            match table {
                0 => candle(pair, t, &mut values),
                1 => trade(pair, t, i, &mut values),
                2 => ticker(pair, t, i, &mut values),
                _ => book(pair, t, i, &mut values),
            }
            if values.len() >= per_statement {
                statements.push(std::mem::replace(
                    &mut values,
                    Vec::with_capacity(per_statement),
                ));
            }
        }
    }
    if !values.is_empty() {
        statements.push(values);
    }
    statements
}

/// The events of pair `k` in `[c0, c1)` as (time, index from the series' start), on the grid
/// `sql::times` uses.
fn times(s: Series, k: i64, c0: i64, c1: i64) -> impl Iterator<Item = (i64, i64)> {
    let origin = s.from + s.offset(k);
    let step = s.step.max(1);
    let first = origin + ((c0 - origin + step - 1).div_euclid(step)).max(0) * step;
    let end = c1.min(s.to);
    (0..)
        .map(move |n| first + n * step)
        .take_while(move |t| *t < end)
        .map(move |t| (t, (t - origin) / step))
}

/// The pair's price at `t`: the walk of `sql::price`, rounded to the pair's scale.
fn price(pair: &Pair, t: i64) -> Decimal {
    let (t, k, x) = (t as f64, pair.k as f64, pair.x as f64);
    let walk = pair.base
        * (1.0 + 0.08 * (t / 3.0e11 + k).sin() + 0.01 * (t / 7.0e8 + 2.0 * k).sin())
        * (1.0 + 0.001 * x);
    let units = (walk * 10f64.powi(pair.scale as i32)).round() as i64;
    Decimal::new(units, pair.scale)
}

/// The smallest price step of the pair.
fn tick(pair: &Pair) -> Decimal {
    Decimal::new(1, pair.scale)
}

fn text(d: Decimal) -> Value {
    Value::from(format_decimal(d))
}

fn candle(pair: &Pair, t: i64, out: &mut Vec<Value>) {
    let (o, c) = (price(pair, t), price(pair, t + 59_000_000));
    let h = (t / MINUTE_US * 48_271 + pair.k * 7_919) % 1_000_003;
    let v = Decimal::new((t / MINUTE_US * 16_807 + pair.k) % 50_000_000 + 1, 8);
    out.extend([
        Value::from(pair.id),
        Value::from(t),
        text(o),
        text(o.max(c) + tick(pair) * Decimal::from(h % 5)),
        text(o.min(c) - tick(pair) * Decimal::from(h % 3)),
        text(c),
        text(v),
        text(v * c),
        Value::from(1 + h % 40),
        Value::from(t + (h % 1000) * 1000),
        Value::from(t / 1000),
        Value::from(t + 59_000_000 - (h % 500) * 1000),
        Value::from(t / 1000 + h % 40),
    ]);
}

fn trade(pair: &Pair, t: i64, i: i64, out: &mut Vec<Value>) {
    let received = t + 20_000 + (i % 50) * 1000;
    let side = if (i * 2_654_435_761 / 128) % 2 == 0 {
        "b"
    } else {
        "s"
    };
    out.extend([
        Value::from(pair.id),
        Value::from(1_000_000 + i),
        text(price(pair, t)),
        text(Decimal::new((i * 48_271 + pair.k * 7) % 99_999_989 + 1, 8)),
        Value::from(side),
        Value::from(t),
        Value::from(received),
        Value::from(received / 1000 * 1_000_000 + pair.k),
    ]);
}

fn ticker(pair: &Pair, t: i64, i: i64, out: &mut Vec<Value>) {
    let (l, o) = (price(pair, t), price(pair, t - DAY_US));
    let v = Decimal::new((i * 48_271 + pair.k) % 900_000_000_000 + 1, 8);
    // Korbit's tickers carry a best bid and ask; Upbit's and Bithumb's do not.
    let quote = |d: Decimal| {
        if pair.x == 2 {
            text(d)
        } else {
            Value::String(None)
        }
    };
    out.extend([
        Value::from(pair.id),
        Value::from(t),
        Value::from(t + 20_000),
        text(l),
        text(o),
        text(l.max(o) + tick(pair) * Decimal::from(i % 7)),
        text(l.min(o) - tick(pair) * Decimal::from(i % 5)),
        text(o),
        text(v),
        text(v * l),
        quote(l - tick(pair)),
        quote(l + tick(pair)),
        Value::from((t + 20_000) / 1000 * 1_000_000 + 500 + pair.k),
    ]);
}

fn book(pair: &Pair, t: i64, i: i64, out: &mut Vec<Value>) {
    let mid = price(pair, t);
    let side = |sign: Decimal| {
        let levels: Vec<String> = (1..=5i64)
            .map(|j| {
                let price = mid + sign * tick(pair) * Decimal::from(j);
                let size = Decimal::new(j * 7 + i % 13 + 1, 4);
                format!(
                    "[\"{}\",\"{}\"]",
                    format_decimal(price),
                    format_decimal(size)
                )
            })
            .collect();
        format!("[{}]", levels.join(","))
    };
    out.extend([
        Value::from(pair.id),
        Value::from(t),
        Value::from(t + 20_000),
        Value::from(side(Decimal::NEGATIVE_ONE)),
        Value::from(side(Decimal::ONE)),
    ]);
}

#[cfg(test)]
mod tests {
    use tickmesh_domain::Market;

    use super::*;

    #[test]
    fn events_follow_the_grid_of_the_sql_fill() {
        let s = Series {
            from: 1_000,
            to: 2_000,
            step: 100,
            staggered: true,
        };
        // Pair 1 is offset by 19: 1019, 1119, ...; from 1_150, the first is 1219 (index 2).
        let got: Vec<_> = times(s, 1, 1_150, 1_500).collect();
        assert_eq!(got, [(1_219, 2), (1_319, 3), (1_419, 4)]);
        assert_eq!(times(s, 1, 0, 10_000).count() as u64, s.count(1, 0, 10_000));
    }

    #[test]
    fn rows_hold_exact_decimals_of_the_pairs_scale_and_fill_whole_statements() {
        let markets = [Market::parse("BTC").unwrap(), Market::parse("XRP").unwrap()];
        // A trade every 100 s: 864 a day for each of the 6 pairs, two statements' worth.
        let mut shape = Shape::new(&markets, 10 * DAY_US, 2, 1, 0.01, 0.2, 1);
        for (n, pair) in shape.pairs.iter_mut().enumerate() {
            pair.id = n as i32 + 1;
        }
        let s = shape.trades;
        let statements = make(&shape, 1, s, s.from, s.to);
        let values: usize = statements.iter().map(Vec::len).sum();
        let expected: u64 = shape.pairs.iter().map(|p| s.count(p.k, s.from, s.to)).sum();
        assert_eq!(values as u64, expected * 8);
        assert_eq!(statements.len(), 2);
        assert!(
            statements
                .iter()
                .all(|v| v.len() % 8 == 0 && v.len() <= MAX_BINDS)
        );
        // The first BTC trade: an integer price near 158,000,000, a size of 8 places.
        let first = &statements[0];
        let Value::String(Some(text)) = &first[2] else {
            panic!("price is not text: {:?}", first[2]);
        };
        assert!(!text.contains('.'), "{text}");
        let p: i64 = text.parse().unwrap();
        assert!((140_000_000..180_000_000).contains(&p), "{p}");
        let Value::String(Some(size)) = &first[3] else {
            panic!("size is not text: {:?}", first[3]);
        };
        assert_eq!(size.split('.').nth(1).map(str::len), Some(8), "{size}");
        // Every price has its pair's decimal places, no more and no fewer.
        for pair in &shape.pairs {
            let p = format_decimal(price(pair, s.from));
            assert_eq!(
                p.split('.').nth(1).map_or(0, str::len),
                pair.scale as usize,
                "{p}"
            );
        }
    }
}
