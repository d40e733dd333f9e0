//! Checks a compiled module and its described schema before anything runs against data.

use std::collections::HashSet;

use keel_api::abi::IMPORT_MODULE;
use keel_api::schema::{ColumnType, ModuleSchema};
use serde_json::Value;
use wasmi::{ExternType, Module};

use crate::errors::ModuleError;

/// Host functions a module may import from [`IMPORT_MODULE`].
pub(crate) const HOST_FUNCTIONS: &[&str] = &[
    "return_bytes",
    "sql",
    "read_result",
    "caller_identity",
    "timestamp_micros",
    "log",
    "panic",
];

/// Refuses modules that import anything but the host functions, naming wasm-bindgen when it is
/// the cause, and modules that lack the exports the host calls.
pub(crate) fn check_imports_and_exports(module: &Module) -> Result<(), ModuleError> {
    let imports: Vec<(String, String)> = module
        .imports()
        .map(|import| (import.module().to_owned(), import.name().to_owned()))
        .collect();
    if let Some((module_name, name)) = imports.iter().find(|(module_name, name)| {
        module_name.contains("wbindgen") || module_name == "wbg" || name.starts_with("__wbindgen")
    }) {
        return Err(ModuleError::WasmBindgen {
            import: format!("{module_name}.{name}"),
        });
    }
    for (module_name, name) in &imports {
        if module_name != IMPORT_MODULE || !HOST_FUNCTIONS.contains(&name.as_str()) {
            return Err(ModuleError::UnknownImport {
                module: module_name.clone(),
                name: name.clone(),
            });
        }
    }
    let expect_func = |name: &str, params: usize, results: usize, signature: &str| match module
        .get_export(name)
    {
        Some(ExternType::Func(func))
            if func.params().len() == params && func.results().len() == results =>
        {
            Ok(())
        }
        _ => Err(ModuleError::MissingExport {
            name: name.to_owned(),
            expected: format!("a function {signature}"),
        }),
    };
    if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
        return Err(ModuleError::MissingExport {
            name: "memory".to_owned(),
            expected: "a memory".to_owned(),
        });
    }
    expect_func("keel_abi_version", 0, 1, "() -> i32")?;
    expect_func("keel_alloc", 1, 1, "(i32) -> i32")?;
    expect_func("keel_describe", 0, 1, "() -> i32")?;
    expect_func("keel_call", 4, 1, "(i32, i32, i32, i32) -> i32")?;
    Ok(())
}

/// Checks names, types, defaults and references of a described schema.
pub(crate) fn check_schema(schema: &ModuleSchema) -> Result<(), ModuleError> {
    let invalid = |message: String| Err(ModuleError::InvalidSchema(message));
    let mut object_names = HashSet::new();
    for table in &schema.tables {
        check_identifier("table", &table.name)?;
        if !object_names.insert(table.name.to_ascii_lowercase()) {
            return invalid(format!("table `{}` is declared twice", table.name));
        }
        if table.columns.is_empty() {
            return invalid(format!("table `{}` has no columns", table.name));
        }
        let mut column_names = HashSet::new();
        for column in &table.columns {
            check_identifier("column", &column.name)?;
            if !column_names.insert(column.name.to_ascii_lowercase()) {
                return invalid(format!(
                    "column `{}.{}` is declared twice",
                    table.name, column.name
                ));
            }
            if let Some(default) = &column.default
                && !default_matches(column.ty, column.nullable, default)
            {
                return invalid(format!(
                    "the default of `{}.{}` does not match its type",
                    table.name, column.name
                ));
            }
        }
        let primary_keys = table
            .columns
            .iter()
            .filter(|column| column.primary_key)
            .count();
        for column in table.columns.iter().filter(|column| column.auto_increment) {
            if !(column.primary_key && primary_keys == 1 && column.ty == ColumnType::Integer) {
                return invalid(format!(
                    "`{}.{}` is auto-increment but not the table's only integer primary key",
                    table.name, column.name
                ));
            }
        }
        for index in &table.indexes {
            check_identifier("index", &index.name)?;
            if !object_names.insert(index.name.to_ascii_lowercase()) {
                return invalid(format!(
                    "index `{}` clashes with another table or index",
                    index.name
                ));
            }
            if index.columns.is_empty() {
                return invalid(format!("index `{}` has no columns", index.name));
            }
            if let Some(missing) = index
                .columns
                .iter()
                .find(|column| table.column(column).is_none())
            {
                return invalid(format!(
                    "index `{}` names column `{missing}`, which `{}` does not have",
                    index.name, table.name
                ));
            }
        }
    }
    let mut reducer_names = HashSet::new();
    for reducer in &schema.reducers {
        check_identifier("reducer", &reducer.name)?;
        if !reducer_names.insert(reducer.name.as_str()) {
            return invalid(format!("reducer `{}` is declared twice", reducer.name));
        }
    }
    Ok(())
}

fn check_identifier(what: &str, name: &str) -> Result<(), ModuleError> {
    let mut chars = name.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64;
    let lower = name.to_ascii_lowercase();
    if !well_formed {
        Err(ModuleError::InvalidSchema(format!(
            "{what} name `{name}` must match [A-Za-z_][A-Za-z0-9_]* (at most 64 characters)"
        )))
    } else if lower.starts_with("sqlite_") || lower.starts_with("_keel") {
        Err(ModuleError::InvalidSchema(format!(
            "{what} name `{name}` is reserved (names may not start with `sqlite_` or `_keel`)"
        )))
    } else {
        Ok(())
    }
}

fn default_matches(ty: ColumnType, nullable: bool, value: &Value) -> bool {
    match (ty, value) {
        (_, Value::Null) => nullable,
        (ColumnType::Integer, Value::Number(number)) => number.is_i64(),
        (ColumnType::Real, Value::Number(_)) => true,
        (ColumnType::Text, Value::String(_)) => true,
        (ColumnType::Boolean, Value::Bool(_)) => true,
        (ColumnType::Blob, Value::Array(items)) => items
            .iter()
            .all(|item| item.as_u64().is_some_and(|byte| byte <= 255)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_api::schema::{ColumnSchema, TableSchema};
    use serde_json::json;

    fn one_table(name: &str, column: &str, default: Option<Value>) -> ModuleSchema {
        ModuleSchema {
            tables: vec![TableSchema {
                name: name.into(),
                public: true,
                columns: vec![ColumnSchema {
                    name: column.into(),
                    ty: ColumnType::Integer,
                    nullable: false,
                    primary_key: false,
                    auto_increment: false,
                    unique: false,
                    default,
                }],
                indexes: vec![],
            }],
            reducers: vec![],
        }
    }

    #[test]
    fn reserved_and_malformed_names_are_refused() {
        for name in ["sqlite_evil", "_keel_meta", "has space", "1abc", ""] {
            assert!(check_schema(&one_table(name, "c", None)).is_err(), "{name}");
        }
        assert!(check_schema(&one_table("ok_name", "c", None)).is_ok());
    }

    #[test]
    fn defaults_must_match_types() {
        assert!(check_schema(&one_table("t", "c", Some(json!("text")))).is_err());
        assert!(check_schema(&one_table("t", "c", Some(json!(3)))).is_ok());
    }
}
