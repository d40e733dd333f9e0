//! Which tests a run selects, as the test binary itself decides: `smoketests --list --format terse ...`.
//!
//! The xtask never re-implements libtest's filtering (`--exact`, `--skip`, `--ignored`, filters after
//! `--`): it asks the binary with the run's own arguments. libtest-mimic takes one filter, so several
//! filters mean one listing each and the union of the names, as the `cargo test` fallback runs once per
//! filter. Words after `--` that are not flags are filters too (nextest reads them that way).

use std::collections::BTreeMap;
#[cfg(test)]
use std::collections::BTreeSet;

/// Test-binary flags that take a value as the next argument.
const FLAGS_WITH_VALUE: &[&str] = &[
    "--skip",
    "--test-threads",
    "--format",
    "--color",
    "--logfile",
    "-Z",
];

/// The argument lists of the listings (without the program), one per filter, or one without filters.
///
/// `filters` are the xtask's positional filters, `extra_args` the words after `--`; a `--format` or
/// `--list` among them is dropped because the listing sets its own.
pub(crate) fn list_invocations(filters: &[String], extra_args: &[String]) -> Vec<Vec<String>> {
    let mut positional = Vec::new();
    let mut flags = Vec::new();
    let mut args = extra_args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--format" => {
                args.next();
            }
            "--list" => {}
            _ if arg.starts_with("--format=") => {}
            _ if arg.starts_with('-') => {
                flags.push(arg.clone());
                if FLAGS_WITH_VALUE.contains(&arg.as_str()) {
                    flags.extend(args.next().cloned());
                }
            }
            _ => positional.push(arg.clone()),
        }
    }
    let all_filters: Vec<&String> = filters.iter().chain(&positional).collect();
    let listing = |filter: Option<&String>| {
        let mut args: Vec<String> = ["--list", "--format", "terse"]
            .iter()
            .map(|it| (*it).to_owned())
            .collect();
        args.extend(filter.cloned());
        args.extend(flags.iter().cloned());
        args
    };
    if all_filters.is_empty() {
        vec![listing(None)]
    } else {
        all_filters
            .into_iter()
            .map(|it| listing(Some(it)))
            .collect()
    }
}

/// The test names in the output of `--list --format terse`: `name: test` lines, each perhaps
/// prefixed by libtest-mimic's `[kind] `; benchmarks and other lines are left out.
#[cfg(test)]
pub(crate) fn parse_list(output: &str) -> BTreeSet<String> {
    parse_listed(output).into_keys().collect()
}

/// Each test name of the listing with the name as listed, `[kind] ` prefix included: nextest knows
/// a test by the listed name (its partitions hash it, its filtersets match it).
pub(crate) fn parse_listed(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.trim().strip_suffix(": test"))
        .map(|listed| {
            let name = match listed.strip_prefix('[') {
                Some(rest) => rest.split_once("] ").map_or(listed, |(_, name)| name),
                None => listed,
            };
            (name.to_owned(), listed.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(items: &[&str]) -> Vec<String> {
        items.iter().map(|it| (*it).to_owned()).collect()
    }

    #[test]
    fn words_after_the_separator_are_filters_for_the_listing() {
        // The README example: `cargo xtask smoketest -- --exact basics::counter_increments`.
        assert_eq!(
            list_invocations(&[], &owned(&["--exact", "basics::counter_increments"])),
            vec![owned(&[
                "--list",
                "--format",
                "terse",
                "basics::counter_increments",
                "--exact"
            ])]
        );
    }

    #[test]
    fn one_listing_per_filter_and_flag_values_stay_flags() {
        assert_eq!(
            list_invocations(
                &owned(&["sql::", "cli::"]),
                &owned(&["--skip", "cli::slow", "--format", "json", "--ignored"])
            ),
            vec![
                owned(&[
                    "--list",
                    "--format",
                    "terse",
                    "sql::",
                    "--skip",
                    "cli::slow",
                    "--ignored"
                ]),
                owned(&[
                    "--list",
                    "--format",
                    "terse",
                    "cli::",
                    "--skip",
                    "cli::slow",
                    "--ignored"
                ]),
            ]
        );
        assert_eq!(
            list_invocations(&[], &[]),
            vec![owned(&["--list", "--format", "terse"])]
        );
    }

    #[test]
    fn terse_listing_is_parsed_with_and_without_kinds() {
        let output =
            "basics::counter_increments: test\n[cli] cli::publish_works: test\nperf::x: bench\n\n";
        assert_eq!(
            parse_list(output).into_iter().collect::<Vec<_>>(),
            ["basics::counter_increments", "cli::publish_works"]
        );
        assert_eq!(
            parse_listed(output)
                .get("cli::publish_works")
                .map(String::as_str),
            Some("[cli] cli::publish_works")
        );
    }
}
