//! Records to Parquet through Arrow, a batch per page, in row groups of bounded size.
//!
//! Prices, sizes and volumes are `DECIMAL(38, 18)`: one type for every market, so files of
//! different markets and exchanges concatenate, and exact for every value an exchange quotes
//! (at most 18 places after the point, at most 20 before). A value beyond that is refused
//! with its field named, never rounded. Times are `TIMESTAMP(MICROS, UTC)`, ids `UINT64`.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use anyhow::Context as _;
use arrow_array::builder::{
    Decimal128Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tickmesh_domain::Decimal;

use crate::output::{Column, Value};

/// Places after the point of every decimal column.
pub const DECIMAL_SCALE: u32 = 18;
/// Digits of every decimal column: the most a 128-bit decimal holds.
const DECIMAL_PRECISION: u8 = 38;
/// Rows per row group: bounds what the writer holds before it writes a group out.
const ROW_GROUP_ROWS: usize = 65_536;

/// The Parquet type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// UTF-8 text.
    Text,
    /// An unsigned 64-bit integer (ids, counts).
    UInt64,
    /// `DECIMAL(38, 18)`.
    Decimal,
    /// Microseconds since the epoch, UTC.
    Time,
}

/// Writes records of `columns` (typed by `types`) to a Parquet file.
#[derive(Debug)]
pub struct ParquetSink {
    writer: ArrowWriter<BufWriter<File>>,
    schema: Arc<Schema>,
    columns: &'static [Column],
    types: &'static [Type],
}

impl ParquetSink {
    /// A sink writing to `file`.
    pub fn new(
        file: File,
        columns: &'static [Column],
        types: &'static [Type],
    ) -> anyhow::Result<ParquetSink> {
        let fields: Vec<Field> = columns
            .iter()
            .zip(types)
            .map(|(c, t)| Field::new(c.name, data_type(*t), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("tickmesh {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(BufWriter::new(file), schema.clone(), Some(properties))
            .context("cannot start the parquet file")?;
        Ok(ParquetSink {
            writer,
            schema,
            columns,
            types,
        })
    }

    /// Writes `rows` as one batch.
    pub fn write(&mut self, rows: &[Vec<Value>]) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let arrays = self
            .columns
            .iter()
            .zip(self.types)
            .enumerate()
            .map(|(i, (column, ty))| array(column.name, *ty, rows.iter().map(|r| &r[i])))
            .collect::<anyhow::Result<Vec<ArrayRef>>>()?;
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .context("cannot make a parquet batch")?;
        self.writer.write(&batch).context("cannot write parquet")
    }

    /// Writes the footer; the file is complete after this.
    pub fn finish(self) -> anyhow::Result<()> {
        self.writer
            .close()
            .context("cannot finish the parquet file")?;
        Ok(())
    }
}

fn data_type(t: Type) -> DataType {
    match t {
        Type::Text => DataType::Utf8,
        Type::UInt64 => DataType::UInt64,
        Type::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE as i8),
        Type::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

fn array<'a>(
    name: &str,
    ty: Type,
    values: impl Iterator<Item = &'a Value>,
) -> anyhow::Result<ArrayRef> {
    let wrong = |v: &Value| anyhow::anyhow!("field {name} holds {v:?}, not a {ty:?} value");
    Ok(match ty {
        Type::Text => {
            let mut b = StringBuilder::new();
            for v in values {
                match v {
                    Value::Text(s) => b.append_value(s),
                    Value::Null => b.append_null(),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
        Type::UInt64 => {
            let mut b = UInt64Builder::new();
            for v in values {
                match v {
                    Value::Count(n) | Value::Id(n) => b.append_value(*n),
                    Value::Null => b.append_null(),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
        Type::Decimal => {
            let mut b = Decimal128Builder::new()
                .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE as i8)?;
            for v in values {
                match v {
                    Value::Decimal(d) => b.append_value(unscaled(*d).with_context(|| {
                        format!(
                            "{name} {d} has more than {DECIMAL_SCALE} places after the point or 20 before; export it with --format csv, which keeps any decimal"
                        )
                    })?),
                    Value::Null => b.append_null(),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
        Type::Time => {
            let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            for v in values {
                match v {
                    Value::Time(t) => b.append_value(t.as_micros()),
                    Value::Null => b.append_null(),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
    })
}

/// `d` as an integer count of 10^-18, exactly, within 38 digits; `None` when it cannot be.
pub fn unscaled(d: Decimal) -> Option<i128> {
    let d = if d.scale() > DECIMAL_SCALE {
        d.normalize()
    } else {
        d
    };
    let shift = DECIMAL_SCALE.checked_sub(d.scale())?;
    let value = d.mantissa().checked_mul(10i128.checked_pow(shift)?)?;
    (value.unsigned_abs() < 10u128.pow(u32::from(DECIMAL_PRECISION))).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_become_exact_integers_at_scale_18_or_are_refused() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(unscaled(d("1")), Some(10i128.pow(18)));
        assert_eq!(unscaled(d("0.00079276")), Some(792_760_000_000_000));
        assert_eq!(
            unscaled(d("-116489000.5")),
            Some(-116_489_000_500_000_000_000_000_000)
        );
        // Trailing zeros beyond 18 places are not a loss.
        assert_eq!(
            unscaled(d("1.0000000000000000000000")),
            Some(10i128.pow(18))
        );
        assert_eq!(unscaled(d("0.0000000000000000001")), None);
        assert_eq!(unscaled(d("100000000000000000000")), None);
        assert_eq!(
            unscaled(d("12345678901234567890.12345678")),
            Some(12_345_678_901_234_567_890_123_456_780_000_000_000)
        );
    }
}
