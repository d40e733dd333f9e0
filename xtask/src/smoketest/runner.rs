//! Choosing the test runner and its arguments: `cargo nextest run` when installed, else `cargo test`.

/// What to run and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunOptions<'a> {
    /// Substring filters on test names; empty runs everything.
    pub(crate) filters: &'a [String],
    /// Tests in parallel.
    pub(crate) jobs: u32,
    /// Stop at the first failure.
    pub(crate) fail_fast: bool,
    /// Arguments for the test binary after `--`.
    pub(crate) extra_args: &'a [String],
}

/// The cargo argument lists to run, in order (without the `cargo` program itself).
///
/// nextest takes every filter in one run. libtest-mimic, behind `cargo test`, accepts a single filter,
/// so each filter becomes its own `cargo test` run.
pub(crate) fn test_invocations(
    nextest_available: bool,
    options: &RunOptions<'_>,
) -> Vec<Vec<String>> {
    let jobs = options.jobs.to_string();
    if nextest_available {
        let mut args = strings(&[
            "nextest",
            "run",
            "-p",
            "smoketests",
            "--profile",
            "ci",
            "-j",
            &jobs,
        ]);
        args.push(
            if options.fail_fast {
                "--fail-fast"
            } else {
                "--no-fail-fast"
            }
            .to_owned(),
        );
        args.extend(options.filters.iter().cloned());
        if !options.extra_args.is_empty() {
            args.push("--".to_owned());
            args.extend(options.extra_args.iter().cloned());
        }
        return vec![args];
    }
    let filters: Vec<Option<&String>> = if options.filters.is_empty() {
        vec![None]
    } else {
        options.filters.iter().map(Some).collect()
    };
    filters
        .into_iter()
        .map(|filter| {
            let mut args = strings(&["test", "-p", "smoketests"]);
            if !options.fail_fast {
                args.push("--no-fail-fast".to_owned());
            }
            args.push("--".to_owned());
            args.extend(filter.cloned());
            args.extend(strings(&["--test-threads", &jobs]));
            args.extend(options.extra_args.iter().cloned());
            args
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|it| (*it).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options<'a>(
        filters: &'a [String],
        extra_args: &'a [String],
        fail_fast: bool,
    ) -> RunOptions<'a> {
        RunOptions {
            filters,
            jobs: 16,
            fail_fast,
            extra_args,
        }
    }

    fn owned(items: &[&str]) -> Vec<String> {
        strings(items)
    }

    #[test]
    fn nextest_gets_all_filters_in_one_run() {
        let filters = owned(&["sql::", "cli::"]);
        let extra = owned(&["--exact"]);
        assert_eq!(
            test_invocations(true, &options(&filters, &extra, false)),
            vec![owned(&[
                "nextest",
                "run",
                "-p",
                "smoketests",
                "--profile",
                "ci",
                "-j",
                "16",
                "--no-fail-fast",
                "sql::",
                "cli::",
                "--",
                "--exact"
            ])]
        );
    }

    #[test]
    fn nextest_fail_fast_flips_the_flag() {
        let args = &test_invocations(true, &options(&[], &[], true))[0];
        assert!(
            args.contains(&"--fail-fast".to_owned())
                && !args.contains(&"--no-fail-fast".to_owned())
        );
        assert!(!args.contains(&"--".to_owned()));
    }

    #[test]
    fn cargo_test_without_filters_runs_once() {
        assert_eq!(
            test_invocations(false, &options(&[], &[], false)),
            vec![owned(&[
                "test",
                "-p",
                "smoketests",
                "--no-fail-fast",
                "--",
                "--test-threads",
                "16"
            ])]
        );
    }

    #[test]
    fn cargo_test_runs_once_per_filter() {
        let filters = owned(&["a", "b"]);
        let extra = owned(&["--exact"]);
        assert_eq!(
            test_invocations(false, &options(&filters, &extra, true)),
            vec![
                owned(&[
                    "test",
                    "-p",
                    "smoketests",
                    "--",
                    "a",
                    "--test-threads",
                    "16",
                    "--exact"
                ]),
                owned(&[
                    "test",
                    "-p",
                    "smoketests",
                    "--",
                    "b",
                    "--test-threads",
                    "16",
                    "--exact"
                ]),
            ]
        );
    }
}
