//! Under GitHub Actions (`GITHUB_ACTIONS=true`): the job summary (`$GITHUB_STEP_SUMMARY`) and at most
//! [`MAX_ANNOTATIONS`] `::error` annotations, each at the failing test's registration.

use std::{fmt::Write as _, fs::OpenOptions, io::Write as _, path::PathBuf};

use anyhow::Context;

use crate::smoketest::{
    shard::ShardTime,
    summary::{Summary, TestStatus, headline},
};

/// GitHub's limit is 10 error annotations per step; more would be dropped silently.
pub(crate) const MAX_ANNOTATIONS: usize = 10;

/// Whether the run is a GitHub Actions step.
pub(crate) fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|it| it == "true")
}

/// Appends the job summary to `$GITHUB_STEP_SUMMARY` (when set) and prints the annotations.
pub(crate) fn publish(summary: &Summary, shards: &[ShardTime]) -> anyhow::Result<()> {
    for line in annotations(summary) {
        println!("{line}");
    }
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from) else {
        return Ok(());
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("open the job summary {}", path.display()))?;
    file.write_all(step_summary(summary, shards).as_bytes())
        .with_context(|| format!("write the job summary {}", path.display()))
}

/// The `::error` lines of the failing tests, at most [`MAX_ANNOTATIONS`].
pub(crate) fn annotations(summary: &Summary) -> Vec<String> {
    summary
        .failing()
        .take(MAX_ANNOTATIONS)
        .map(|outcome| {
            let mut location = String::new();
            if let Some(file) = &outcome.file {
                let _ = write!(location, " file={}", escape_property(file));
                if let Some(line) = outcome.line {
                    let _ = write!(location, ",line={line}");
                }
                location.push(',');
            } else {
                location.push(' ');
            }
            format!(
                "::error{location}title={}::{}",
                escape_property(&outcome.name),
                escape_data(&headline(outcome.detail.as_deref().unwrap_or("failed")))
            )
        })
        .collect()
}

/// The Markdown job summary: counts, failures, flaky tests, the slowest tests and the shard times.
pub(crate) fn step_summary(summary: &Summary, shards: &[ShardTime]) -> String {
    let count = |status| summary.with_status(status).count();
    let mut out = String::from("## Smoketests\n\n");
    let _ = writeln!(
        out,
        "| passed | failed | flaky | skipped |\n| ---: | ---: | ---: | ---: |\n| {} | {} | {} | {} |\n",
        count(TestStatus::Passed),
        count(TestStatus::Failed),
        count(TestStatus::Flaky),
        count(TestStatus::Skipped)
    );
    let failing: Vec<_> = summary.failing().collect();
    if !failing.is_empty() {
        out.push_str("### Failures\n\n");
        for outcome in failing {
            let _ = writeln!(
                out,
                "- `{}`: {}",
                outcome.name,
                headline(outcome.detail.as_deref().unwrap_or("")).replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    let flaky: Vec<_> = summary.with_status(TestStatus::Flaky).collect();
    if !flaky.is_empty() {
        out.push_str("### Flaky (failed, then passed at a retry)\n\n");
        for outcome in flaky {
            let _ = writeln!(
                out,
                "- `{}` after {} attempts",
                outcome.name,
                outcome.attempts.len()
            );
        }
        out.push('\n');
    }
    let slowest = summary.slowest();
    if !slowest.is_empty() {
        out.push_str("### Slowest tests\n\n| test | seconds |\n| --- | ---: |\n");
        for outcome in slowest.iter().take(10) {
            let _ = writeln!(
                out,
                "| `{}` | {:.2} |",
                outcome.name,
                outcome.duration_ms.unwrap_or(0.0) / 1000.0
            );
        }
        out.push('\n');
    }
    if !shards.is_empty() {
        out.push_str(
            "### Shards\n\n| shard | tests | predicted (s) | ran (s) |\n| --- | ---: | ---: | ---: |\n",
        );
        for shard in shards {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} |",
                shard.label,
                shard.n_tests,
                shard
                    .predicted_ms
                    .map_or("-".to_owned(), |it| format!("{:.1}", it / 1000.0)),
                shard.wall_ms / 1000.0
            );
        }
        out.push('\n');
    }
    out
}

/// Workflow-command data escaping: `%`, CR and LF.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command property escaping: the data escapes plus `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smoketest::summary::{Attempt, Outcome};

    fn outcome(name: &str, status: TestStatus, line: u32) -> Outcome {
        Outcome {
            name: name.to_owned(),
            status,
            duration_ms: Some(f64::from(line)),
            detail: (status != TestStatus::Passed).then(|| "expected 1,\ngot 2".to_owned()),
            attempts: vec![Attempt {
                attempt: 1,
                duration_ms: f64::from(line),
                failure: None,
            }],
            file: Some("tests/src/sql.rs".to_owned()),
            line: Some(line),
        }
    }

    #[test]
    fn at_most_ten_annotations_point_at_the_registration() {
        let mut outcomes: Vec<Outcome> = (1..=12)
            .map(|it| outcome(&format!("sql::t{it:02}"), TestStatus::Failed, it))
            .collect();
        outcomes.push(outcome("sql::ok", TestStatus::Passed, 99));
        let summary = Summary {
            outcomes,
            ..Summary::default()
        };
        let lines = annotations(&summary);
        assert_eq!(lines.len(), MAX_ANNOTATIONS);
        assert_eq!(
            lines[0],
            "::error file=tests/src/sql.rs,line=1,title=sql%3A%3At01::expected 1,"
        );
    }

    #[test]
    fn the_job_summary_has_counts_failures_slowest_and_shards() {
        let summary = Summary {
            outcomes: vec![
                outcome("sql::a", TestStatus::Failed, 3),
                outcome("sql::b", TestStatus::Passed, 5),
                outcome("sql::c", TestStatus::Flaky, 4),
            ],
            ..Summary::default()
        };
        let shards = [ShardTime {
            label: "duration:1/2".to_owned(),
            n_tests: 3,
            predicted_ms: Some(1500.0),
            wall_ms: 1700.0,
        }];
        let text = step_summary(&summary, &shards);
        assert!(text.contains("| 1 | 1 | 1 | 0 |"), "{text}");
        assert!(text.contains("- `sql::a`: expected 1,"), "{text}");
        assert!(text.contains("- `sql::c` after 1 attempts"), "{text}");
        assert!(text.contains("| `sql::b` | 0.01 |"), "{text}");
        assert!(text.contains("| duration:1/2 | 3 | 1.5 | 1.7 |"), "{text}");
    }
}
