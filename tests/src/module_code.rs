//! Modules compiled at test time, for what precompiled fixtures cannot show: compiler
//! diagnostics, and modules that must be refused at publish because of what they link.

use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, SmoketestError, smoketest};

use crate::support::{expect_contains, expect_error};

smoketest! {
    /// A type error fails the build with the compiler's diagnostics in the error; the
    /// published module keeps working.
    #[tags("module_code")]
    fn type_error_reports_compiler_diagnostics() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let source = r#"
use keel_module::prelude::*;

keel_module::module! {
    reducer broken(_ctx) {
        let answer: i64 = "forty-two";
        info!("{answer}");
        Ok(())
    }
}
"#;
        let error = t.use_module_code(source).unwrap_err();
        anyhow::ensure!(matches!(error, SmoketestError::ModuleBuild { .. }), "{error:#}");
        let text = error.to_string();
        expect_contains(&text, "mismatched types")?;
        expect_contains(&text, "forty-two")?;
        t.call("increment", serde_json::json!([2]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n2")?;
        Ok(())
    }
}

smoketest! {
    /// A module that pulls in wasm-bindgen builds, but publishing it is refused naming wasm-bindgen.
    #[tags("module_code")]
    fn wasm_bindgen_dependency_is_refused_at_publish() {
        let source = r#"
use keel_module::prelude::*;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn shout(text: &str) -> String {
    text.to_uppercase()
}

keel_module::module! {
    reducer ok(_ctx) { Ok(()) }
}
"#;
        let mut t = Smoketest::builder().module_code(source).module_dependencies("wasm-bindgen = \"0.2\"").autopublish(false).build()?;
        let db = t.new_database();
        let message = expect_error(t.publish_to(&db, false), ErrorKind::InvalidModule)?;
        expect_contains(&message, "wasm-bindgen")?;
        expect_error(t.client().describe(&db), ErrorKind::NotFound)?;
        Ok(())
    }
}

smoketest! {
    /// A module importing a host function that does not exist is refused at publish.
    #[tags("module_code")]
    fn unknown_host_import_is_refused_at_publish() {
        let source = r#"
use keel_module::prelude::*;

#[link(wasm_import_module = "keel")]
unsafe extern "C" {
    fn definitely_missing(x: i32) -> i32;
}

keel_module::module! {
    reducer call_it(_ctx) {
        // SAFETY: never runs; the host refuses the module first.
        let value = unsafe { definitely_missing(1) };
        info!("{value}");
        Ok(())
    }
}
"#;
        let mut t = Smoketest::builder().module_code(source).autopublish(false).build()?;
        let db = t.new_database();
        let message = expect_error(t.publish_to(&db, false), ErrorKind::InvalidModule)?;
        expect_contains(&message, "keel.definitely_missing")?;
        expect_error(t.client().describe(&db), ErrorKind::NotFound)?;
        Ok(())
    }
}
