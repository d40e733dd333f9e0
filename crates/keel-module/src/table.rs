//! Declaring tables: the [`Table`] and [`Column`] builders and the [`ColumnValue`] trait that
//! maps Rust types to column types.
//!
//! The builders check nothing: the host validates the schema at publish time, so a module can
//! also describe an invalid one on purpose (tests do).

use keel_api::schema::{ColumnSchema, ColumnType, IndexSchema, TableSchema};
use serde::Serialize;

/// A table declaration; turns into a [`TableSchema`].
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    schema: TableSchema,
}

/// A column declaration, made with [`col`] or [`Column::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    schema: ColumnSchema,
}

/// Rust types that can be stored in a column: integers (`Integer`), floats (`Real`), `String`
/// (`Text`), `bool` (`Boolean`), `Vec<u8>` (`Blob`), and `Option<T>` of those (nullable).
pub trait ColumnValue {
    /// The storage type.
    fn column_type() -> ColumnType;

    /// Whether the column accepts NULL.
    fn nullable() -> bool {
        false
    }
}

/// A column named `name` whose type and nullability come from `T`:
/// `col::<i64>("id")`, `col::<Option<String>>("nickname")`.
pub fn col<T: ColumnValue>(name: impl Into<String>) -> Column {
    let mut column = Column::new(name, T::column_type());
    column.schema.nullable = T::nullable();
    column
}

impl Table {
    /// A table every identity can read.
    pub fn public(name: impl Into<String>) -> Table {
        Table::new(name, true)
    }

    /// A table only the database owner can read.
    pub fn private(name: impl Into<String>) -> Table {
        Table::new(name, false)
    }

    fn new(name: impl Into<String>, public: bool) -> Table {
        Table {
            schema: TableSchema {
                name: name.into(),
                public,
                columns: Vec::new(),
                indexes: Vec::new(),
            },
        }
    }

    /// Adds a column (columns keep declaration order).
    pub fn column(mut self, column: Column) -> Table {
        self.schema.columns.push(column.schema);
        self
    }

    /// Adds a secondary index over `columns`.
    pub fn index(self, name: impl Into<String>, columns: &[&str]) -> Table {
        self.push_index(name.into(), columns, false)
    }

    /// Adds a unique index over `columns` (a multi-column uniqueness constraint).
    pub fn unique_index(self, name: impl Into<String>, columns: &[&str]) -> Table {
        self.push_index(name.into(), columns, true)
    }

    fn push_index(mut self, name: String, columns: &[&str], unique: bool) -> Table {
        let columns = columns.iter().map(|column| (*column).to_owned()).collect();
        self.schema.indexes.push(IndexSchema {
            name,
            columns,
            unique,
        });
        self
    }

    /// The schema declared so far.
    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }
}

impl From<Table> for TableSchema {
    fn from(table: Table) -> TableSchema {
        table.schema
    }
}

impl Column {
    /// A non-null column of an explicit storage type.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Column {
        Column {
            schema: ColumnSchema {
                name: name.into(),
                ty,
                nullable: false,
                primary_key: false,
                auto_increment: false,
                unique: false,
                default: None,
            },
        }
    }

    /// Makes the column (part of) the primary key.
    pub fn primary_key(mut self) -> Column {
        self.schema.primary_key = true;
        self
    }

    /// Lets the database assign increasing values (a lone integer primary key only).
    pub fn auto_increment(mut self) -> Column {
        self.schema.auto_increment = true;
        self
    }

    /// Requires values to be unique across rows.
    pub fn unique(mut self) -> Column {
        self.schema.unique = true;
        self
    }

    /// Allows NULL, whatever the Rust type said.
    pub fn nullable(mut self) -> Column {
        self.schema.nullable = true;
        self
    }

    /// The value of rows that do not set the column (needed to add a non-null column to a
    /// table that has rows). `value` is serialized to JSON; a value that does not serialize
    /// becomes `null`.
    pub fn default(mut self, value: impl Serialize) -> Column {
        self.schema.default = Some(serde_json::to_value(value).unwrap_or(serde_json::Value::Null));
        self
    }

    /// The schema declared so far.
    pub fn schema(&self) -> &ColumnSchema {
        &self.schema
    }
}

impl From<Column> for ColumnSchema {
    fn from(column: Column) -> ColumnSchema {
        column.schema
    }
}

macro_rules! column_value {
    ($ty:expr => $($rust:ty),*) => {
        $(impl ColumnValue for $rust {
            fn column_type() -> ColumnType {
                $ty
            }
        })*
    };
}

column_value!(ColumnType::Integer => i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
column_value!(ColumnType::Real => f32, f64);
column_value!(ColumnType::Text => String, &str);
column_value!(ColumnType::Boolean => bool);
column_value!(ColumnType::Blob => Vec<u8>, &[u8]);

impl<T: ColumnValue> ColumnValue for Option<T> {
    fn column_type() -> ColumnType {
        T::column_type()
    }

    fn nullable() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_take_type_and_nullability_from_rust_types() {
        let cases = [
            (col::<i64>("a"), ColumnType::Integer, false),
            (col::<u8>("a"), ColumnType::Integer, false),
            (col::<f32>("a"), ColumnType::Real, false),
            (col::<String>("a"), ColumnType::Text, false),
            (col::<bool>("a"), ColumnType::Boolean, false),
            (col::<Vec<u8>>("a"), ColumnType::Blob, false),
            (col::<Option<i64>>("a"), ColumnType::Integer, true),
            (col::<Option<Vec<u8>>>("a"), ColumnType::Blob, true),
        ];
        for (column, ty, nullable) in cases {
            assert_eq!(
                (column.schema().ty, column.schema().nullable),
                (ty, nullable)
            );
        }
    }

    #[test]
    fn table_builder_produces_the_schema() {
        let table: TableSchema = Table::private("secret")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name").unique())
            .column(col::<i64>("value").default(0))
            .index("secret_by_value", &["value"])
            .unique_index("secret_by_name_value", &["name", "value"])
            .into();
        let expected = json!({
            "name": "secret",
            "public": false,
            "columns": [
                {"name": "id", "type": "integer", "nullable": false, "primary_key": true, "auto_increment": true, "unique": false},
                {"name": "name", "type": "text", "nullable": false, "primary_key": false, "auto_increment": false, "unique": true},
                {"name": "value", "type": "integer", "nullable": false, "primary_key": false, "auto_increment": false, "unique": false, "default": 0},
            ],
            "indexes": [
                {"name": "secret_by_value", "columns": ["value"], "unique": false},
                {"name": "secret_by_name_value", "columns": ["name", "value"], "unique": true},
            ],
        });
        assert_eq!(serde_json::to_value(&table).unwrap(), expected);
    }
}
