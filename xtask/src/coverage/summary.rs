//! What a map build prints at the end: what the map holds, what it cost, what was left out.

use std::{fs, path::Path};

use crate::coverage::map::CoverageMap;

/// Prints what the map holds and what it cost.
pub(crate) fn print_summary(root: &Path, map: &CoverageMap, path: &Path, jobs: u32) {
    let size = fs::metadata(path).map_or(0, |it| it.len());
    let (files, lines) = map.file_totals();
    let timings = map.timings();
    let per_test = map.test_timings();
    let runs: Vec<f64> = per_test.values().map(|it| it.run_ms).collect();
    let exports: Vec<f64> = per_test.values().map(|it| it.export_ms).collect();
    let shown = path.strip_prefix(root).unwrap_or(path).display();
    eprintln!();
    eprintln!(
        "coverage map: {shown}, {:.2} MiB, revision {}",
        size as f64 / (1024.0 * 1024.0),
        map.revision()
    );
    eprintln!(
        "    {} test(s) mapped, {} left out; {files} source file(s), {lines} instrumented line(s)",
        map.tests().len(),
        map.left_out().len()
    );
    eprintln!(
        "    wall: instrumented build {:.1}s, warmup {:.1}s, tests {:.1}s at -j {jobs}",
        timings.build_ms / 1000.0,
        timings.warmup_ms / 1000.0,
        timings.tests_ms / 1000.0
    );
    eprintln!(
        "    per test: run {} (sum {:.1}s), export {} (sum {:.1}s)",
        spread(&runs),
        runs.iter().sum::<f64>() / 1000.0,
        spread(&exports),
        exports.iter().sum::<f64>() / 1000.0
    );
    print_left_out(map);
}

/// Lists the tests left out of `map`, with the reasons.
pub(crate) fn print_left_out(map: &CoverageMap) {
    if map.left_out().is_empty() {
        return;
    }
    eprintln!("left out of the map:");
    for it in map.left_out() {
        eprintln!("    {}: {}", it.name, it.reason);
    }
}

/// `median 1.2s, max 3.4s` of millisecond samples.
fn spread(samples_ms: &[f64]) -> String {
    let mut sorted = samples_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.last() {
        None => "none".to_owned(),
        Some(max) => format!(
            "median {:.2}s, max {:.2}s",
            sorted[sorted.len() / 2] / 1000.0,
            max / 1000.0
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_show_median_and_max() {
        assert_eq!(spread(&[]), "none");
        assert_eq!(spread(&[3000.0, 1000.0, 2000.0]), "median 2.00s, max 3.00s");
    }
}
