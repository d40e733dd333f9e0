//! Fixture `broken`: does not compile (a type error in a reducer), on purpose.
use keel_module::prelude::*;

keel_module::module! {
    reducer broken(_ctx) {
        let answer: i64 = "forty-two";
        info!("{answer}");
        Ok(())
    }
}
