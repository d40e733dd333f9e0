//! The module schema: tables and reducers, as a module describes them through
//! `keel_describe` (see [`crate::abi`]) and as `GET /v1/databases/{name}/schema` returns them.

use serde::{Deserialize, Serialize};

/// Everything a module declares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModuleSchema {
    /// Tables, in declaration order.
    pub tables: Vec<TableSchema>,
    /// Reducers, in declaration order.
    pub reducers: Vec<ReducerSchema>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableSchema {
    /// Table name: `[A-Za-z_][A-Za-z0-9_]*`, not starting with `sqlite_` or `_keel`.
    pub name: String,
    /// Public tables can be read by every identity; private ones only by the owner.
    pub public: bool,
    /// Columns, in declaration order.
    pub columns: Vec<ColumnSchema>,
    /// Secondary indexes.
    #[serde(default)]
    pub indexes: Vec<IndexSchema>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnSchema {
    /// Column name: `[A-Za-z_][A-Za-z0-9_]*`.
    pub name: String,
    /// Storage type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether NULL is allowed.
    #[serde(default)]
    pub nullable: bool,
    /// Part of the primary key.
    #[serde(default)]
    pub primary_key: bool,
    /// The database assigns increasing values (only on a lone integer primary key).
    #[serde(default)]
    pub auto_increment: bool,
    /// Values must be unique across rows.
    #[serde(default)]
    pub unique: bool,
    /// Value used for rows that do not set the column; required to add a non-null column to a
    /// table that has rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

/// Storage types of columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// 64-bit signed integer.
    Integer,
    /// 64-bit float.
    Real,
    /// UTF-8 text.
    Text,
    /// `true`/`false`, stored as 0/1.
    Boolean,
    /// Bytes; in JSON an array of numbers 0..=255.
    Blob,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexSchema {
    /// Index name, unique within the module.
    pub name: String,
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether the index enforces uniqueness.
    #[serde(default)]
    pub unique: bool,
}

/// One reducer: a function clients call by name with JSON arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReducerSchema {
    /// Reducer name.
    pub name: String,
    /// Public reducers can be called by any identity; private ones only by the owner.
    pub public: bool,
    /// Arguments, in order.
    pub args: Vec<ArgSchema>,
}

/// One reducer argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArgSchema {
    /// Argument name, for messages.
    pub name: String,
    /// Expected JSON shape.
    #[serde(rename = "type")]
    pub ty: ArgType,
}

/// JSON shapes of reducer arguments, checked by the host before a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// The schema refers to itself: its references are not followed again.
#[cfg_attr(feature = "openapi", schema(no_recursion))]
#[serde(rename_all = "snake_case")]
pub enum ArgType {
    /// A JSON integer within `min..=max`.
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: u64,
    },
    /// Any JSON number.
    Real,
    /// A JSON string.
    Text,
    /// `true` or `false`.
    Boolean,
    /// An array of integers 0..=255.
    Bytes,
    /// `null` or the inner type.
    Optional(Box<ArgType>),
    /// An array of the inner type.
    List(Box<ArgType>),
    /// Any JSON value; the module checks it.
    Any,
}

/// Reducers the host calls itself; clients cannot call them.
pub const LIFECYCLE_REDUCERS: &[&str] = &["init"];

impl ModuleSchema {
    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|table| table.name == name)
    }

    /// The reducer called `name`.
    pub fn reducer(&self, name: &str) -> Option<&ReducerSchema> {
        self.reducers.iter().find(|reducer| reducer.name == name)
    }
}

impl TableSchema {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|column| column.name == name)
    }
}

impl ColumnType {
    /// The name used in the schema's JSON and in messages: `integer`, `real`, ...
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Real => "real",
            ColumnType::Text => "text",
            ColumnType::Boolean => "boolean",
            ColumnType::Blob => "blob",
        }
    }
}

impl ColumnSchema {
    /// A non-null column without constraints or default.
    pub fn new(name: &str, ty: ColumnType) -> ColumnSchema {
        ColumnSchema {
            name: name.to_owned(),
            ty,
            nullable: false,
            primary_key: false,
            auto_increment: false,
            unique: false,
            default: None,
        }
    }
}

impl ArgType {
    /// Whether `value` has this shape.
    pub fn accepts(&self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (self, value) {
            (ArgType::Any, _) => true,
            (ArgType::Optional(_), Value::Null) => true,
            (ArgType::Optional(inner), value) => inner.accepts(value),
            (ArgType::Integer { min, max }, Value::Number(number)) => {
                match (number.as_i64(), number.as_u64()) {
                    (Some(value), _) => value >= *min && (value < 0 || value as u64 <= *max),
                    (None, Some(value)) => value <= *max,
                    (None, None) => false,
                }
            }
            (ArgType::Real, Value::Number(_)) => true,
            (ArgType::Text, Value::String(_)) => true,
            (ArgType::Boolean, Value::Bool(_)) => true,
            (ArgType::Bytes, Value::Array(items)) => items
                .iter()
                .all(|item| item.as_u64().is_some_and(|byte| byte <= 255)),
            (ArgType::List(inner), Value::Array(items)) => {
                items.iter().all(|item| inner.accepts(item))
            }
            _ => false,
        }
    }

    /// A short human name, for error messages: `integer 0..=255`, `list of text`.
    pub fn describe(&self) -> String {
        match self {
            ArgType::Integer { min, max } if *min == i64::MIN && *max == i64::MAX as u64 => {
                "integer".to_owned()
            }
            ArgType::Integer { min, max } => format!("integer {min}..={max}"),
            ArgType::Real => "number".to_owned(),
            ArgType::Text => "string".to_owned(),
            ArgType::Boolean => "boolean".to_owned(),
            ArgType::Bytes => "bytes (array of 0..=255)".to_owned(),
            ArgType::Optional(inner) => format!("{} or null", inner.describe()),
            ArgType::List(inner) => format!("list of {}", inner.describe()),
            ArgType::Any => "any JSON value".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_ranges_are_checked() {
        let byte = ArgType::Integer { min: 0, max: 255 };
        assert!(byte.accepts(&json!(0)) && byte.accepts(&json!(255)));
        assert!(
            !byte.accepts(&json!(256)) && !byte.accepts(&json!(-1)) && !byte.accepts(&json!(1.5))
        );
        let u64_any = ArgType::Integer {
            min: 0,
            max: u64::MAX,
        };
        assert!(u64_any.accepts(&json!(u64::MAX)));
        let i64_any = ArgType::Integer {
            min: i64::MIN,
            max: i64::MAX as u64,
        };
        assert!(i64_any.accepts(&json!(i64::MIN)) && !i64_any.accepts(&json!(u64::MAX)));
    }

    #[test]
    fn nested_shapes_are_checked() {
        let names = ArgType::List(Box::new(ArgType::Optional(Box::new(ArgType::Text))));
        assert!(names.accepts(&json!(["a", null])));
        assert!(!names.accepts(&json!(["a", 1])));
        assert!(ArgType::Bytes.accepts(&json!([0, 255])) && !ArgType::Bytes.accepts(&json!([256])));
        assert_eq!(names.describe(), "list of string or null");
    }

    #[test]
    fn schema_round_trips_through_json() {
        let schema = ModuleSchema {
            tables: vec![TableSchema {
                name: "t".into(),
                public: true,
                columns: vec![ColumnSchema {
                    name: "id".into(),
                    ty: ColumnType::Integer,
                    nullable: false,
                    primary_key: true,
                    auto_increment: true,
                    unique: false,
                    default: None,
                }],
                indexes: vec![],
            }],
            reducers: vec![ReducerSchema {
                name: "r".into(),
                public: true,
                args: vec![],
            }],
        };
        let text = serde_json::to_string(&schema).unwrap();
        assert_eq!(serde_json::from_str::<ModuleSchema>(&text).unwrap(), schema);
    }
}
