//! Column definitions shared by the migrations, chosen per backend where the backends differ.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// A non-null exact decimal: `NUMERIC` on PostgreSQL, `TEXT` on SQLite (see the crate docs for
/// why SQLite must not see a numeric type name).
pub(crate) fn decimal<T: IntoIden>(manager: &SchemaManager<'_>, name: T) -> ColumnDef {
    let mut def = decimal_null(manager, name);
    def.not_null();
    def
}

/// A nullable exact decimal, typed as [`decimal`].
pub(crate) fn decimal_null<T: IntoIden>(manager: &SchemaManager<'_>, name: T) -> ColumnDef {
    let mut def = ColumnDef::new(name);
    match manager.get_database_backend() {
        DbBackend::Sqlite => def.text(),
        DbBackend::Postgres | DbBackend::MySql => def.decimal(),
    };
    def
}

/// A non-null text column.
pub(crate) fn text<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

/// A non-null 64-bit integer column (microsecond times, trade ids, counts).
pub(crate) fn big<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}
