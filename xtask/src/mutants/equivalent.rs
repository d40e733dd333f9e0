//! The declared equivalent mutants: `.config/equivalent-mutants.toml`, each with the reason no test
//! can tell it from the original. A declared mutant that a test catches after all is reported.

use std::{collections::BTreeMap, fs, io, path::Path};

use anyhow::Context;
use serde::Deserialize;

/// Where the declarations live, relative to the workspace root.
pub(crate) const FILE: &str = ".config/equivalent-mutants.toml";

#[derive(Debug, Deserialize)]
struct Declarations {
    #[serde(default)]
    mutant: Vec<Declaration>,
}

#[derive(Debug, Deserialize)]
struct Declaration {
    name: String,
    reason: String,
}

/// Mutant name → reason; no file declares none.
pub(crate) fn load(root: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let path = root.join(FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(err) => return Err(err).with_context(|| format!("read {}", path.display())),
    };
    parse(&text).with_context(|| {
        format!(
            "parse {} ([[mutant]] tables of name and reason)",
            path.display()
        )
    })
}

fn parse(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let declarations: Declarations = toml::from_str(text)?;
    let mut map = BTreeMap::new();
    for declaration in declarations.mutant {
        anyhow::ensure!(
            !declaration.reason.trim().is_empty(),
            "{}: the reason is empty",
            declaration.name
        );
        anyhow::ensure!(
            map.insert(declaration.name.clone(), declaration.reason)
                .is_none(),
            "{} is declared twice",
            declaration.name
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_need_a_reason_and_a_single_entry() {
        let ok = "[[mutant]]\nname = \"a.rs:1:1: delete match arm\"\nreason = \"the default arm refuses too\"\n";
        assert_eq!(
            parse(ok).unwrap()["a.rs:1:1: delete match arm"],
            "the default arm refuses too"
        );
        assert!(parse("[[mutant]]\nname = \"x\"\nreason = \" \"\n").is_err());
        assert!(
            parse(&format!("{ok}{ok}"))
                .unwrap_err()
                .to_string()
                .contains("declared twice")
        );
        assert!(parse("").unwrap().is_empty());
    }
}
