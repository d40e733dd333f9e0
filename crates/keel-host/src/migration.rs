//! Automatic migration: compares the installed schema with a new one and plans the DDL.
//!
//! Accepted without `clear`: adding a table, adding a nullable column or one with a default,
//! adding or removing an index, changing a table's or a reducer's visibility, any change of
//! reducers. Everything else (removing a table or column, changing a column's type or
//! constraints or default, adding a unique or primary-key column) is breaking and refused
//! unless the publish asks to clear the data.

use keel_api::schema::{ColumnSchema, ColumnType, IndexSchema, ModuleSchema, TableSchema};
use serde_json::Value;

/// One schema change the migration applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create a table (and its indexes).
    CreateTable(TableSchema),
    /// Add a column to an existing table.
    AddColumn {
        /// Table name.
        table: String,
        /// The new column.
        column: ColumnSchema,
    },
    /// Create an index.
    CreateIndex {
        /// Table name.
        table: String,
        /// The index.
        index: IndexSchema,
    },
    /// Drop an index.
    DropIndex(String),
    /// Change who may read a table (no DDL).
    SetVisibility {
        /// Table name.
        table: String,
        /// Whether it becomes public.
        public: bool,
    },
}

/// The outcome of comparing two schemas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Changes that will be applied.
    pub steps: Vec<Step>,
    /// Changes that cannot be applied without wiping the data.
    pub breaking: Vec<String>,
}

impl Step {
    /// A one-line description, as returned to the publisher.
    pub fn describe(&self) -> String {
        match self {
            Step::CreateTable(table) => format!("add table {}", table.name),
            Step::AddColumn { table, column } => format!("add column {table}.{}", column.name),
            Step::CreateIndex { table, index } => format!("add index {} on {table}", index.name),
            Step::DropIndex(name) => format!("remove index {name}"),
            Step::SetVisibility { table, public } => format!(
                "make table {table} {}",
                if *public { "public" } else { "private" }
            ),
        }
    }

    /// The SQL statements that apply this step.
    pub fn sql(&self) -> Vec<String> {
        match self {
            Step::CreateTable(table) => create_table_sql(table),
            Step::AddColumn { table, column } => vec![format!(
                "ALTER TABLE {} ADD COLUMN {}",
                quote(table),
                column_sql(column, false)
            )],
            Step::CreateIndex { table, index } => vec![create_index_sql(table, index)],
            Step::DropIndex(name) => vec![format!("DROP INDEX {}", quote(name))],
            Step::SetVisibility { .. } => vec![],
        }
    }
}

/// Plans the migration from `old` to `new`.
pub fn plan(old: &ModuleSchema, new: &ModuleSchema) -> Plan {
    let mut plan = Plan::default();
    for new_table in &new.tables {
        match old
            .tables
            .iter()
            .find(|table| same_name(&table.name, &new_table.name))
        {
            None => plan.steps.push(Step::CreateTable(new_table.clone())),
            Some(old_table) => plan_table(old_table, new_table, &mut plan),
        }
    }
    for old_table in &old.tables {
        if !new
            .tables
            .iter()
            .any(|table| same_name(&table.name, &old_table.name))
        {
            plan.breaking
                .push(format!("remove table {}", old_table.name));
        }
    }
    plan
}

fn plan_table(old: &TableSchema, new: &TableSchema, plan: &mut Plan) {
    if old.public != new.public {
        plan.steps.push(Step::SetVisibility {
            table: new.name.clone(),
            public: new.public,
        });
    }
    for column in &new.columns {
        match old
            .columns
            .iter()
            .find(|old_column| same_name(&old_column.name, &column.name))
        {
            None if column.primary_key || column.unique => {
                plan.breaking.push(format!(
                    "add {} column {}.{}",
                    if column.primary_key {
                        "primary-key"
                    } else {
                        "unique"
                    },
                    new.name,
                    column.name
                ));
            }
            None if !column.nullable && column.default.is_none() => {
                plan.breaking.push(format!(
                    "add column {}.{} that is neither nullable nor has a default",
                    new.name, column.name
                ));
            }
            None => plan.steps.push(Step::AddColumn {
                table: new.name.clone(),
                column: column.clone(),
            }),
            Some(old_column) => {
                if let Some(change) = column_change(old_column, column) {
                    plan.breaking.push(format!(
                        "change column {}.{} ({change})",
                        new.name, column.name
                    ));
                }
            }
        }
    }
    for old_column in &old.columns {
        if !new
            .columns
            .iter()
            .any(|column| same_name(&column.name, &old_column.name))
        {
            plan.breaking
                .push(format!("remove column {}.{}", old.name, old_column.name));
        }
    }
    for old_index in &old.indexes {
        match new
            .indexes
            .iter()
            .find(|index| same_name(&index.name, &old_index.name))
        {
            Some(index) if index == old_index => {}
            _ => plan.steps.push(Step::DropIndex(old_index.name.clone())),
        }
    }
    for index in &new.indexes {
        if !old.indexes.contains(index) {
            plan.steps.push(Step::CreateIndex {
                table: new.name.clone(),
                index: index.clone(),
            });
        }
    }
}

fn column_change(old: &ColumnSchema, new: &ColumnSchema) -> Option<String> {
    let mut changes = Vec::new();
    if old.ty != new.ty {
        changes.push(format!("type {} -> {}", old.ty.name(), new.ty.name()));
    }
    for (what, before, after) in [
        ("nullable", old.nullable, new.nullable),
        ("primary key", old.primary_key, new.primary_key),
        ("auto-increment", old.auto_increment, new.auto_increment),
        ("unique", old.unique, new.unique),
    ] {
        if before != after {
            changes.push(format!("{what} {before} -> {after}"));
        }
    }
    if old.default != new.default {
        changes.push("default value".to_owned());
    }
    (!changes.is_empty()).then(|| changes.join(", "))
}

/// The statements that create `table` and its indexes.
pub fn create_table_sql(table: &TableSchema) -> Vec<String> {
    let primary_keys: Vec<&ColumnSchema> = table
        .columns
        .iter()
        .filter(|column| column.primary_key)
        .collect();
    let inline_primary_key = primary_keys.len() == 1;
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .map(|column| column_sql(column, inline_primary_key))
        .collect();
    if primary_keys.len() > 1 {
        let names: Vec<String> = primary_keys
            .iter()
            .map(|column| quote(&column.name))
            .collect();
        parts.push(format!("PRIMARY KEY ({})", names.join(", ")));
    }
    let mut statements = vec![format!(
        "CREATE TABLE {} ({}) STRICT",
        quote(&table.name),
        parts.join(", ")
    )];
    statements.extend(
        table
            .indexes
            .iter()
            .map(|index| create_index_sql(&table.name, index)),
    );
    statements
}

fn create_index_sql(table: &str, index: &IndexSchema) -> String {
    let columns: Vec<String> = index.columns.iter().map(|column| quote(column)).collect();
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        quote(&index.name),
        quote(table),
        columns.join(", ")
    )
}

fn column_sql(column: &ColumnSchema, inline_primary_key: bool) -> String {
    let mut sql = format!("{} {}", quote(&column.name), storage_type(column.ty));
    if column.primary_key && inline_primary_key {
        sql.push_str(" PRIMARY KEY");
        if column.auto_increment {
            sql.push_str(" AUTOINCREMENT");
        }
    }
    if !column.nullable {
        sql.push_str(" NOT NULL");
    }
    if column.unique {
        sql.push_str(" UNIQUE");
    }
    if let Some(default) = &column.default {
        sql.push_str(" DEFAULT ");
        sql.push_str(&literal(default));
    }
    if column.ty == ColumnType::Boolean {
        sql.push_str(&format!(" CHECK ({} IN (0, 1))", quote(&column.name)));
    }
    sql
}

fn storage_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Integer | ColumnType::Boolean => "INTEGER",
        ColumnType::Real => "REAL",
        ColumnType::Text => "TEXT",
        ColumnType::Blob => "BLOB",
    }
}

/// A SQL literal for a default value (validated against the column type at publish).
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(flag) => i64::from(*flag).to_string(),
        Value::Number(number) => format!("({number})"),
        Value::String(text) => format!("'{}'", text.replace('\'', "''")),
        Value::Array(items) => {
            let hex: String = items
                .iter()
                .filter_map(Value::as_u64)
                .map(|byte| format!("{byte:02x}"))
                .collect();
            format!("X'{hex}'")
        }
        Value::Object(_) => "NULL".to_owned(),
    }
}

/// Quotes an identifier (already validated to be `[A-Za-z_][A-Za-z0-9_]*`).
pub(crate) fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn column(name: &str, ty: ColumnType) -> ColumnSchema {
        ColumnSchema::new(name, ty)
    }

    fn table(name: &str, columns: Vec<ColumnSchema>) -> TableSchema {
        TableSchema {
            name: name.into(),
            public: true,
            columns,
            indexes: vec![],
        }
    }

    fn schema(tables: Vec<TableSchema>) -> ModuleSchema {
        ModuleSchema {
            tables,
            reducers: vec![],
        }
    }

    fn id() -> ColumnSchema {
        ColumnSchema {
            primary_key: true,
            auto_increment: true,
            ..column("id", ColumnType::Integer)
        }
    }

    #[test]
    fn adding_a_table_is_accepted() {
        let old = schema(vec![table("a", vec![id()])]);
        let new = schema(vec![table("a", vec![id()]), table("b", vec![id()])]);
        let plan = plan(&old, &new);
        assert!(plan.breaking.is_empty());
        assert_eq!(
            plan.steps.iter().map(Step::describe).collect::<Vec<_>>(),
            ["add table b"]
        );
    }

    #[test]
    fn adding_nullable_or_defaulted_columns_is_accepted() {
        let old = schema(vec![table("a", vec![id()])]);
        let nullable = ColumnSchema {
            nullable: true,
            ..column("note", ColumnType::Text)
        };
        let defaulted = ColumnSchema {
            default: Some(json!(0)),
            ..column("score", ColumnType::Integer)
        };
        let new = schema(vec![table("a", vec![id(), nullable, defaulted])]);
        let plan = plan(&old, &new);
        assert!(plan.breaking.is_empty(), "{:?}", plan.breaking);
        assert_eq!(
            plan.steps[1].sql(),
            [r#"ALTER TABLE "a" ADD COLUMN "score" INTEGER NOT NULL DEFAULT (0)"#]
        );
    }

    #[test]
    fn breaking_changes_are_listed() {
        let old = schema(vec![
            table("a", vec![id(), column("x", ColumnType::Integer)]),
            table("gone", vec![id()]),
        ]);
        let new = schema(vec![table(
            "a",
            vec![
                id(),
                column("x", ColumnType::Text),
                column("y", ColumnType::Integer),
            ],
        )]);
        let plan = plan(&old, &new);
        assert_eq!(
            plan.breaking,
            [
                "change column a.x (type integer -> text)",
                "add column a.y that is neither nullable nor has a default",
                "remove table gone"
            ]
        );
    }

    #[test]
    fn indexes_are_added_and_removed() {
        let index = |name: &str| IndexSchema {
            name: name.into(),
            columns: vec!["id".into()],
            unique: false,
        };
        let mut old_table = table("a", vec![id()]);
        old_table.indexes = vec![index("old_idx")];
        let mut new_table = table("a", vec![id()]);
        new_table.indexes = vec![index("new_idx")];
        let plan = plan(&schema(vec![old_table]), &schema(vec![new_table]));
        assert!(plan.breaking.is_empty());
        assert_eq!(
            plan.steps.iter().map(Step::describe).collect::<Vec<_>>(),
            ["remove index old_idx", "add index new_idx on a"]
        );
    }

    #[test]
    fn create_table_sql_is_strict_with_constraints() {
        let mut flag = column("ok", ColumnType::Boolean);
        flag.default = Some(json!(true));
        let name = ColumnSchema {
            unique: true,
            ..column("name", ColumnType::Text)
        };
        let sql = create_table_sql(&table("t", vec![id(), name, flag]));
        assert_eq!(
            sql,
            [
                r#"CREATE TABLE "t" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "name" TEXT NOT NULL UNIQUE, "ok" INTEGER NOT NULL DEFAULT 1 CHECK ("ok" IN (0, 1))) STRICT"#
            ]
        );
    }
}
