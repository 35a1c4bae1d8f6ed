//! Exact decimals in and out of the database: [`StoredDecimal`].
//!
//! Prices must come back from the database with the value *and* the scale they went in with
//! (`0.00079276`, `0.00000000` from `0E-8`, `95078733694.3792000000000000`). sea-orm's own
//! `Decimal` support cannot promise that:
//!
//! * **SQLite**: sea-orm binds a `Decimal` as text but reads a SQLite decimal back as `f64`
//!   (sea-orm 1.1 `impl TryGetable for Decimal`), and a column declared `DECIMAL`, `NUMERIC`
//!   or `REAL` has numeric affinity and turns the text into a float on insert. So the
//!   migrations declare SQLite decimal columns `TEXT`, and this type reads them as text and
//!   parses the digits with [`parse_decimal`].
//! * **PostgreSQL**: columns are `NUMERIC`, which keeps value and scale. sqlx transfers a
//!   `Decimal` exactly except zero, whose scale it drops both ways (`0.00000000` becomes `0`).
//!   So the writer sends every decimal as text cast to `numeric` ([`StoredDecimal::to_expr`])
//!   and the readers select decimal columns cast to text ([`select_exact`](crate::entity::select_exact)).
//!
//! Reading falls back to sqlx's binary `NUMERIC` decoding when a query did not cast, which is
//! exact except for the scale of zeros.

use sea_orm::sea_query::{
    Alias, ArrayType, ColumnType, Expr, Nullable, SimpleExpr, Value, ValueType, ValueTypeErr,
};
use sea_orm::{ColIdx, DbBackend, QueryResult, TryGetError, TryGetable};
use tickmesh_domain::{Decimal, parse_decimal};

/// A [`Decimal`] stored exactly on PostgreSQL (`NUMERIC`) and SQLite (`TEXT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StoredDecimal(pub Decimal);

impl StoredDecimal {
    /// The expression that writes this value exactly on `backend`: text cast to `numeric` on
    /// PostgreSQL, plain text on SQLite.
    pub fn to_expr(self, backend: DbBackend) -> SimpleExpr {
        let text = Expr::val(tickmesh_domain::format_decimal(self.0));
        match backend {
            DbBackend::Postgres => text.cast_as(Alias::new("numeric")),
            DbBackend::Sqlite | DbBackend::MySql => text.into(),
        }
    }

    /// As [`StoredDecimal::to_expr`] for an optional value (`NULL` when absent).
    pub fn option_expr(value: Option<Decimal>, backend: DbBackend) -> SimpleExpr {
        match value {
            Some(d) => StoredDecimal(d).to_expr(backend),
            None => SimpleExpr::Value(Value::Decimal(None)),
        }
    }
}

impl From<Decimal> for StoredDecimal {
    fn from(value: Decimal) -> StoredDecimal {
        StoredDecimal(value)
    }
}

impl From<StoredDecimal> for Decimal {
    fn from(value: StoredDecimal) -> Decimal {
        value.0
    }
}

impl TryGetable for StoredDecimal {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        match String::try_get_by(res, idx) {
            Ok(text) => parse_decimal(&text).map(StoredDecimal).map_err(|e| {
                TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                    "stored decimal {idx:?} is not exact decimal text: {e}"
                )))
            }),
            Err(TryGetError::Null(column)) => Err(TryGetError::Null(column)),
            // Not text: a PostgreSQL NUMERIC selected without the cast.
            Err(TryGetError::DbErr(_)) => Decimal::try_get_by(res, idx).map(StoredDecimal),
        }
    }
}

impl ValueType for StoredDecimal {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Decimal(Some(d)) => Ok(StoredDecimal(*d)),
            Value::String(Some(s)) => parse_decimal(&s)
                .map(StoredDecimal)
                .map_err(|_| ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "StoredDecimal".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::Decimal
    }

    fn column_type() -> ColumnType {
        ColumnType::Decimal(None)
    }
}

impl Nullable for StoredDecimal {
    fn null() -> Value {
        Value::Decimal(None)
    }
}

/// Binds as sea-orm binds any `Decimal` (numeric on PostgreSQL, text on SQLite); exact except
/// the scale of zeros on PostgreSQL, which [`StoredDecimal::to_expr`] keeps.
impl From<StoredDecimal> for Value {
    fn from(value: StoredDecimal) -> Value {
        Value::Decimal(Some(Box::new(value.0)))
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};

    use super::*;

    fn d(text: &str) -> Decimal {
        parse_decimal(text).unwrap()
    }

    #[test]
    fn writes_text_cast_to_numeric_on_postgres_and_text_on_sqlite() {
        let value = StoredDecimal(d("0E-8"));
        let select = |backend| Query::select().expr(value.to_expr(backend)).to_owned();
        assert_eq!(
            select(DbBackend::Postgres).to_string(PostgresQueryBuilder),
            "SELECT CAST('0.00000000' AS numeric)"
        );
        assert_eq!(
            select(DbBackend::Sqlite).to_string(SqliteQueryBuilder),
            "SELECT '0.00000000'"
        );
    }

    #[test]
    fn converts_from_values_exactly() {
        let text = Value::String(Some(Box::new("95078733694.3792000000000000".to_owned())));
        let value = <StoredDecimal as ValueType>::try_from(text).unwrap();
        assert_eq!(value.0.to_string(), "95078733694.3792000000000000");
        let decimal = Value::from(StoredDecimal(d("7.9276E-4")));
        assert_eq!(
            <StoredDecimal as ValueType>::try_from(decimal)
                .unwrap()
                .0
                .to_string(),
            "0.00079276"
        );
        assert!(<StoredDecimal as ValueType>::try_from(Value::Int(Some(1))).is_err());
        assert_eq!(
            StoredDecimal::option_expr(None, DbBackend::Postgres),
            SimpleExpr::Value(Value::Decimal(None))
        );
    }
}
