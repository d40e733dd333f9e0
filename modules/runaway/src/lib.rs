//! Fixture `runaway`: table `ran`; `spin` loops forever (fuel), `hog` allocates until memory runs out, `burn(iterations)` loops then succeeds, `ok` succeeds.

use std::hint::black_box;

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("ran")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("what")),
    ];
    /// Inserts a row and succeeds: the module still works after a runaway call.
    reducer ok(ctx) {
        ctx.execute("INSERT INTO ran (what) VALUES ('ok')", ())?;
        Ok(())
    }
    /// Inserts a row, then never returns: only the fuel limit ends it.
    reducer spin(ctx) {
        ctx.execute("INSERT INTO ran (what) VALUES ('spin')", ())?;
        let mut n_iterations: u64 = 0;
        loop {
            n_iterations = black_box(n_iterations.wrapping_add(1));
        }
    }
    /// Inserts a row, then allocates 1 MiB chunks until memory runs out (a trap).
    reducer hog(ctx) {
        ctx.execute("INSERT INTO ran (what) VALUES ('hog')", ())?;
        let mut chunks = Vec::new();
        loop {
            chunks.push(black_box(vec![1u8; 1 << 20]));
        }
    }
    /// Loops `iterations` times, then inserts a row: fuel used grows with the argument.
    reducer burn(ctx, iterations: u64) {
        let mut sum: u64 = 0;
        for i in 0..iterations {
            sum = black_box(sum.wrapping_add(i));
        }
        ctx.execute("INSERT INTO ran (what) VALUES ('burn')", ())?;
        debug!("sum {sum}");
        Ok(())
    }
}
