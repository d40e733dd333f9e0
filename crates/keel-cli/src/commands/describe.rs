//! `keel describe <db>`: the schema in a readable form.

use keel_api::http::DatabaseInfo;
use keel_api::schema::{ColumnSchema, IndexSchema, ReducerSchema, TableSchema};

use crate::commands::{Doing, database_name};
use crate::output::Output;
use crate::session::Session;

pub(crate) fn run(session: &Session, out: &Output, db: &str) -> anyhow::Result<()> {
    let db = database_name(db)?;
    let client = session.authed_client()?;
    let info = client
        .describe(db.as_str())
        .doing(|| format!("describe database `{db}`"))?;
    out.either(&info, format_info)?;
    Ok(())
}

/// ```text
/// database counter
/// owner    5f3a...
/// module   9c1e...
/// tables:
///   counter (public)
///     id     integer  primary key, auto increment
///     value  integer  default 0
///     index by_value (value)
/// reducers:
///   increment(amount: integer) public
/// ```
fn format_info(info: &DatabaseInfo) -> String {
    let mut lines = vec![
        format!("database {}", info.name),
        format!("owner    {}", info.owner),
        format!("module   {}", info.module_hash.as_deref().unwrap_or("none")),
    ];
    let Some(schema) = &info.schema else {
        return lines.join("\n");
    };
    lines.push("tables:".to_owned());
    if schema.tables.is_empty() {
        lines.push("  (none)".to_owned());
    }
    for table in &schema.tables {
        format_table(table, &mut lines);
    }
    lines.push("reducers:".to_owned());
    if schema.reducers.is_empty() {
        lines.push("  (none)".to_owned());
    }
    lines.extend(schema.reducers.iter().map(format_reducer));
    lines.join("\n")
}

fn format_table(table: &TableSchema, lines: &mut Vec<String>) {
    lines.push(format!("  {} ({})", table.name, visibility(table.public)));
    let name_width = table
        .columns
        .iter()
        .map(|column| column.name.len())
        .max()
        .unwrap_or(0);
    for column in &table.columns {
        let line = format!(
            "    {:<name_width$}  {:<7}  {}",
            column.name,
            column.ty.name(),
            column_traits(column)
        );
        lines.push(line.trim_end().to_owned());
    }
    lines.extend(table.indexes.iter().map(format_index));
}

fn column_traits(column: &ColumnSchema) -> String {
    let mut traits = Vec::new();
    if column.primary_key {
        traits.push("primary key".to_owned());
    }
    if column.auto_increment {
        traits.push("auto increment".to_owned());
    }
    if column.unique {
        traits.push("unique".to_owned());
    }
    if column.nullable {
        traits.push("nullable".to_owned());
    }
    if let Some(default) = &column.default {
        traits.push(format!("default {default}"));
    }
    traits.join(", ")
}

fn format_index(index: &IndexSchema) -> String {
    let unique = if index.unique { " unique" } else { "" };
    format!(
        "    index {} ({}){unique}",
        index.name,
        index.columns.join(", ")
    )
}

fn format_reducer(reducer: &ReducerSchema) -> String {
    let args: Vec<String> = reducer
        .args
        .iter()
        .map(|arg| format!("{}: {}", arg.name, arg.ty.describe()))
        .collect();
    format!(
        "  {}({}) {}",
        reducer.name,
        args.join(", "),
        visibility(reducer.public)
    )
}

fn visibility(public: bool) -> &'static str {
    if public { "public" } else { "private" }
}

#[cfg(test)]
mod tests {
    use keel_api::schema::{ArgSchema, ArgType, ColumnType, ModuleSchema};
    use serde_json::json;

    use super::*;

    fn column(name: &str, ty: ColumnType) -> ColumnSchema {
        ColumnSchema::new(name, ty)
    }

    #[test]
    fn schema_is_readable() {
        let schema = ModuleSchema {
            tables: vec![TableSchema {
                name: "counter".into(),
                public: true,
                columns: vec![
                    ColumnSchema {
                        primary_key: true,
                        auto_increment: true,
                        ..column("id", ColumnType::Integer)
                    },
                    ColumnSchema {
                        default: Some(json!(0)),
                        ..column("value", ColumnType::Integer)
                    },
                    ColumnSchema {
                        nullable: true,
                        unique: true,
                        ..column("label", ColumnType::Text)
                    },
                ],
                indexes: vec![IndexSchema {
                    name: "by_value".into(),
                    columns: vec!["value".into()],
                    unique: false,
                }],
            }],
            reducers: vec![ReducerSchema {
                name: "increment".into(),
                public: false,
                args: vec![ArgSchema {
                    name: "amount".into(),
                    ty: ArgType::Integer { min: 0, max: 10 },
                }],
            }],
        };
        let info = DatabaseInfo {
            name: "counter".into(),
            owner: "abc".into(),
            module_hash: Some("h1".into()),
            schema: Some(schema),
        };
        let expected = "\
database counter
owner    abc
module   h1
tables:
  counter (public)
    id     integer  primary key, auto increment
    value  integer  default 0
    label  text     unique, nullable
    index by_value (value)
reducers:
  increment(amount: integer 0..=10) private";
        assert_eq!(format_info(&info), expected);
    }

    #[test]
    fn databases_without_module_show_none() {
        let info = DatabaseInfo {
            name: "empty".into(),
            owner: "abc".into(),
            module_hash: None,
            schema: None,
        };
        assert_eq!(
            format_info(&info),
            "database empty\nowner    abc\nmodule   none"
        );
    }
}
