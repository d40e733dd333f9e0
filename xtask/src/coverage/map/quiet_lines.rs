//! Blank lines and `//` comments inside a function body: the compiler instruments no line that
//! holds no code, yet such a line is not an edit that shifts meaning without executing, as a
//! struct field or a `use` line is. The map counts it as instrumented, and as executed by the
//! tests that executed the lines on both sides of it (they ran through it), so a changed comment
//! or a statement added on a blank line selects the tests that ran there, not the whole file.
//!
//! Only gaps of such lines between two instrumented lines qualify, and not when the line after
//! the gap starts a function or a closure: blank lines and doc comments between two functions
//! lie outside both, where a new item (an `impl Drop`, a const) changes meaning without executing.
//! Lines with anything else (a match arm's pattern, an attribute) are never bridged.

use crate::coverage::ranges::LineRanges;

/// The gaps in `instrumented` that are blank or `//` comment lines of `text` inside one function
/// (`functions`: the lines where functions and closures start), as inclusive line pairs.
pub(crate) fn quiet_gaps(
    text: &str,
    instrumented: &LineRanges,
    functions: &LineRanges,
) -> Vec<[u32; 2]> {
    let lines: Vec<&str> = text.lines().collect();
    let is_quiet = |line: u32| {
        usize::try_from(line - 1)
            .ok()
            .and_then(|index| lines.get(index))
            .is_some_and(|text| {
                let text = text.trim();
                text.is_empty() || text.starts_with("//")
            })
    };
    instrumented
        .ranges()
        .windows(2)
        .filter_map(|pair| {
            let (before, after) = (pair[0][1], pair[1][0]);
            let gap = [before + 1, after - 1];
            let quiet = (gap[0]..=gap[1]).all(is_quiet);
            (quiet && !functions.contains(after)).then_some(gap)
        })
        .collect()
}

/// `executed` with every gap of `gaps` whose neighbours it both executed.
pub(crate) fn bridge(executed: &LineRanges, gaps: &[[u32; 2]]) -> LineRanges {
    let through = gaps
        .iter()
        .filter(|[start, end]| executed.contains(start - 1) && executed.contains(end + 1))
        .copied();
    LineRanges::from_ranges(executed.ranges().iter().copied().chain(through))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines 1-13: `fn a` starts at 1, a closure at 8, `fn b` at 13.
    const TEXT: &str = "\
fn a(x: u32) -> u32 {
    let y = x + 1;

    // Doubled on purpose.
    if y > 3 {
        return y;
    }
    let f = |z| z * 2;
    f(y)
}

/// Docs of b.
fn b() {}
";

    fn ranges(lines: &[u32]) -> LineRanges {
        LineRanges::from_lines(lines.iter().copied())
    }

    #[test]
    fn blank_and_comment_lines_inside_a_body_are_gaps_and_those_between_items_are_not() {
        // Instrumented: 1-2, 5-10 (the closure starts at 8), 13; 3-4 are blank and comment.
        let instrumented = ranges(&[1, 2, 5, 6, 7, 8, 9, 10, 13]);
        let functions = ranges(&[1, 8, 13]);
        assert_eq!(quiet_gaps(TEXT, &instrumented, &functions), [[3, 4]]);
        // Without the FN at 13, lines 11-12 (blank, a doc comment) would count as inside a body.
        assert_eq!(
            quiet_gaps(TEXT, &instrumented, &ranges(&[1, 8])),
            [[3, 4], [11, 12]]
        );
    }

    #[test]
    fn a_gap_with_code_or_before_a_closure_is_not_bridged() {
        // Line 6 (`return y;`) left out as if not instrumented: it holds code.
        let instrumented = ranges(&[5, 7]);
        assert!(quiet_gaps(TEXT, &instrumented, &ranges(&[])).is_empty());
        // A blank line 3 before a closure starting on line 4 (as if it did).
        let instrumented = ranges(&[2, 4]);
        assert!(quiet_gaps(TEXT, &instrumented, &ranges(&[4])).is_empty());
        assert_eq!(quiet_gaps(TEXT, &instrumented, &ranges(&[])), [[3, 3]]);
    }

    #[test]
    fn a_test_runs_through_a_gap_only_when_it_executed_both_sides() {
        let gaps = [[3, 4]];
        assert_eq!(bridge(&ranges(&[1, 2, 5, 6]), &gaps).ranges(), [[1, 6]]);
        // Returned before line 5.
        assert_eq!(bridge(&ranges(&[1, 2]), &gaps).ranges(), [[1, 2]]);
        assert_eq!(bridge(&ranges(&[5, 6]), &gaps).ranges(), [[5, 6]]);
    }
}
