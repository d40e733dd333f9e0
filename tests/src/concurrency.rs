//! Concurrent clients: calls to one database are serialised (no lost updates), databases are
//! independent, and invariants hold under concurrent transfers.

use anyhow::ensure;
use keel_client::{Client, ErrorKind};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

/// A client of its own for a worker thread, acting as the test's identity.
fn own_client(t: &Smoketest) -> anyhow::Result<Client> {
    Ok(Client::new(t.server_url())?.with_token(t.client().token().expect("the test has a token")))
}

smoketest! {
    /// 24 threads, each with its own client, increment one key 20 times with a guest-side
    /// read-modify-write: the final count is exactly 480.
    #[serial = "24 client threads load the machine's cores"]
    fn concurrent_increments_are_not_lost() {
        let t = Smoketest::builder().precompiled_module("kv").build()?;
        const THREADS: usize = 24;
        const CALLS: usize = 20;
        let db = t.db();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    let client = own_client(&t);
                    scope.spawn(move || -> anyhow::Result<()> {
                        let client = client?;
                        for _ in 0..CALLS {
                            client.call(db, "incr", &json!(["hits"]))?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for worker in workers {
                worker.join().map_err(|_| anyhow::anyhow!("a worker panicked"))??;
            }
            Ok(())
        })?;
        t.assert_sql("SELECT value FROM kv WHERE key = 'hits'", &format!("value\n-----\n{}", THREADS * CALLS))?;
        Ok(())
    }
}

smoketest! {
    /// Four databases driven in parallel end with exactly their own counts.
    #[serial = "drives four databases from parallel threads"]
    fn parallel_databases_stay_independent() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let mut databases = vec![t.db().to_owned()];
        for _ in 0..3 {
            let db = t.new_database();
            t.publish_to(&db, false)?;
            databases.push(db);
        }
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let mut workers = Vec::new();
            for (db_idx, db) in databases.iter().enumerate() {
                for _ in 0..4 {
                    let client = own_client(&t)?;
                    workers.push(scope.spawn(move || -> anyhow::Result<()> {
                        for _ in 0..10 {
                            client.call(db, "increment", &json!([db_idx + 1]))?;
                        }
                        Ok(())
                    }));
                }
            }
            for worker in workers {
                worker.join().map_err(|_| anyhow::anyhow!("a worker panicked"))??;
            }
            Ok(())
        })?;
        for (db_idx, db) in databases.iter().enumerate() {
            let value = t.client().sql(db, "SELECT value FROM counter")?.rows;
            assert_eq!(value, vec![vec![json!(40 * (db_idx + 1))]], "database {db}");
        }
        Ok(())
    }
}

smoketest! {
    /// Concurrent transfers, some failing for lack of funds, never change the total, and
    /// concurrent readers always see it whole.
    #[serial = "concurrent client threads load the machine's cores"]
    fn concurrent_transfers_keep_the_total() {
        let t = Smoketest::builder().precompiled_module("bank").build()?;
        let names = ["a", "b", "c", "d"];
        for name in names {
            t.call("open", json!([name, 100]))?;
        }
        let db = t.db();
        let (n_ok, n_refused) = std::thread::scope(|scope| -> anyhow::Result<(usize, usize)> {
            let mut workers = Vec::new();
            for worker_idx in 0..8usize {
                let client = own_client(&t)?;
                workers.push(scope.spawn(move || -> anyhow::Result<(usize, usize)> {
                    let (mut n_ok, mut n_refused) = (0, 0);
                    for round in 0..15usize {
                        let from = names[(worker_idx + round) % 4];
                        let to = names[(worker_idx + round + 1) % 4];
                        let amount = 30 + 10 * ((worker_idx * 7 + round) % 5);
                        match client.call(db, "transfer", &json!([from, to, amount])) {
                            Ok(_) => n_ok += 1,
                            Err(error) if error.kind() == Some(ErrorKind::ReducerError) => n_refused += 1,
                            Err(error) => return Err(error.into()),
                        }
                    }
                    Ok((n_ok, n_refused))
                }));
            }
            let reader = own_client(&t)?;
            workers.push(scope.spawn(move || -> anyhow::Result<(usize, usize)> {
                for _ in 0..30 {
                    let total = reader.sql(db, "SELECT sum(balance) FROM account")?.rows;
                    ensure!(total == vec![vec![json!(400)]], "a reader saw {total:?}");
                }
                Ok((0, 0))
            }));
            let mut totals = (0, 0);
            for worker in workers {
                let (n_ok, n_refused) = worker.join().map_err(|_| anyhow::anyhow!("a worker panicked"))??;
                totals = (totals.0 + n_ok, totals.1 + n_refused);
            }
            Ok(totals)
        })?;
        assert_eq!(n_ok + n_refused, 8 * 15);
        t.assert_sql("SELECT sum(balance) AS total, min(balance) >= 0 AS solvent FROM account", "total | solvent\n------+--------\n400   | 1")?;
        Ok(())
    }
}
