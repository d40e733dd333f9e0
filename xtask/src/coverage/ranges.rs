//! [`LineRanges`]: a set of source lines stored as sorted, merged `[start, end]` pairs (both
//! inclusive, lines from 1), the compact form the coverage map keeps on disk.

use serde::{Deserialize, Serialize};

/// A set of line numbers as sorted, disjoint, non-adjacent inclusive ranges.
///
/// Serialized as `[[start, end], ...]`; reading one back checks that shape, so a damaged map is
/// refused instead of answering wrongly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<[u32; 2]>", into = "Vec<[u32; 2]>")]
pub(crate) struct LineRanges(Vec<[u32; 2]>);

impl LineRanges {
    /// The set of `lines` (any order, repeats allowed; line 0 does not exist and is dropped).
    pub(crate) fn from_lines(lines: impl IntoIterator<Item = u32>) -> LineRanges {
        let mut lines: Vec<u32> = lines.into_iter().filter(|line| *line > 0).collect();
        lines.sort_unstable();
        lines.dedup();
        let mut ranges: Vec<[u32; 2]> = Vec::new();
        for line in lines {
            match ranges.last_mut() {
                Some(last) if last[1] + 1 == line => last[1] = line,
                _ => ranges.push([line, line]),
            }
        }
        LineRanges(ranges)
    }

    /// The lines of `ranges` (inclusive pairs in any order, overlapping or not; empty pairs and
    /// line 0 are dropped).
    pub(crate) fn from_ranges(ranges: impl IntoIterator<Item = [u32; 2]>) -> LineRanges {
        let mut all: Vec<[u32; 2]> = ranges
            .into_iter()
            .map(|[start, end]| [start.max(1), end])
            .filter(|[start, end]| start <= end)
            .collect();
        all.sort_unstable();
        let mut merged: Vec<[u32; 2]> = Vec::with_capacity(all.len());
        for [start, end] in all {
            match merged.last_mut() {
                Some(last) if start <= last[1].saturating_add(1) => last[1] = last[1].max(end),
                _ => merged.push([start, end]),
            }
        }
        LineRanges(merged)
    }

    /// The union of `self` and `other`.
    pub(crate) fn union(&self, other: &LineRanges) -> LineRanges {
        LineRanges::from_ranges(self.0.iter().chain(&other.0).copied())
    }

    /// Whether `line` is in the set.
    pub(crate) fn contains(&self, line: u32) -> bool {
        self.range_at(line).is_some()
    }

    /// Whether no line is in the set.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many lines the set holds.
    pub(crate) fn line_count(&self) -> u64 {
        self.0
            .iter()
            .map(|[start, end]| u64::from(end - start) + 1)
            .sum()
    }

    /// Whether every line from `start` to `end` (inclusive) is in the set, that is, one range
    /// holds them all. An empty span (`end < start`) is not held.
    pub(crate) fn contains_all(&self, start: u32, end: u32) -> bool {
        if end < start {
            return false;
        }
        self.range_at(start)
            .is_some_and(|[_, range_end]| range_end >= end)
    }

    /// Whether any line from `start` to `end` (inclusive) is in the set.
    pub(crate) fn overlaps(&self, start: u32, end: u32) -> bool {
        if end < start {
            return false;
        }
        // The first range that ends at or after `start` is the only candidate.
        let index = self.0.partition_point(|[_, range_end]| *range_end < start);
        self.0
            .get(index)
            .is_some_and(|[range_start, _]| *range_start <= end)
    }

    /// The ranges, sorted.
    pub(crate) fn ranges(&self) -> &[[u32; 2]] {
        &self.0
    }

    /// The range holding `line`, if one does.
    fn range_at(&self, line: u32) -> Option<[u32; 2]> {
        let index = self.0.partition_point(|[_, end]| *end < line);
        self.0
            .get(index)
            .copied()
            .filter(|[start, _]| *start <= line)
    }
}

impl TryFrom<Vec<[u32; 2]>> for LineRanges {
    type Error = String;

    fn try_from(ranges: Vec<[u32; 2]>) -> Result<LineRanges, String> {
        let mut previous_end: Option<u32> = None;
        for [start, end] in &ranges {
            if *start == 0 || end < start {
                return Err(format!(
                    "[{start}, {end}] is not a line range (lines count from 1, start <= end)"
                ));
            }
            if let Some(previous_end) = previous_end
                && *start <= previous_end.saturating_add(1)
            {
                return Err(format!(
                    "[{start}, {end}] is not sorted after, and apart from, a range ending at {previous_end}"
                ));
            }
            previous_end = Some(*end);
        }
        Ok(LineRanges(ranges))
    }
}

impl From<LineRanges> for Vec<[u32; 2]> {
    fn from(ranges: LineRanges) -> Vec<[u32; 2]> {
        ranges.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_sorted_merged_ranges() {
        let ranges = LineRanges::from_lines([9, 3, 4, 5, 12, 10, 4, 0, 20]);
        assert_eq!(ranges.ranges(), [[3, 5], [9, 10], [12, 12], [20, 20]]);
        assert_eq!(ranges.line_count(), 7);
        assert!(LineRanges::from_lines([]).is_empty());
    }

    #[test]
    fn ranges_in_any_order_are_merged() {
        let ranges = LineRanges::from_ranges([[9, 12], [1, 3], [4, 4], [10, 20], [0, 0], [7, 6]]);
        assert_eq!(ranges.ranges(), [[1, 4], [9, 20]]);
        assert!(ranges.contains(4) && ranges.contains(9) && !ranges.contains(5));
        assert_eq!(LineRanges::from_ranges([[0, 2]]).ranges(), [[1, 2]]);
    }

    #[test]
    fn union_merges_overlapping_and_adjacent_ranges() {
        let left = LineRanges::from_lines([1, 2, 3, 10, 11]);
        let right = LineRanges::from_lines([4, 5, 9, 20]);
        assert_eq!(left.union(&right).ranges(), [[1, 5], [9, 11], [20, 20]]);
        assert_eq!(left.union(&LineRanges::default()), left);
    }

    #[test]
    fn contains_all_needs_one_range_to_hold_the_whole_span() {
        let ranges = LineRanges::from_lines([3, 4, 5, 7, 8]);
        assert!(ranges.contains_all(3, 5));
        assert!(ranges.contains_all(4, 4));
        assert!(ranges.contains_all(7, 8));
        // Line 6 is missing, so 5..=7 is not held although both ends are.
        assert!(!ranges.contains_all(5, 7));
        assert!(!ranges.contains_all(2, 3));
        assert!(!ranges.contains_all(8, 9));
        assert!(!ranges.contains_all(5, 4));
    }

    #[test]
    fn overlaps_finds_any_shared_line() {
        let ranges = LineRanges::from_lines([3, 4, 5, 10]);
        assert!(ranges.overlaps(1, 3));
        assert!(ranges.overlaps(5, 9));
        assert!(ranges.overlaps(6, 12));
        assert!(ranges.overlaps(4, 4));
        assert!(!ranges.overlaps(6, 9));
        assert!(!ranges.overlaps(1, 2));
        assert!(!ranges.overlaps(11, 100));
        assert!(!ranges.overlaps(5, 4));
    }

    #[test]
    fn serialized_as_pairs_and_checked_when_read() {
        let ranges = LineRanges::from_lines([1, 2, 7]);
        let json = serde_json::to_string(&ranges).unwrap();
        assert_eq!(json, "[[1,2],[7,7]]");
        assert_eq!(serde_json::from_str::<LineRanges>(&json).unwrap(), ranges);
        for bad in [
            "[[0,2]]",
            "[[5,3]]",
            "[[5,9],[2,3]]",
            "[[1,4],[5,6]]",
            "[[1,4],[3,6]]",
        ] {
            assert!(
                serde_json::from_str::<LineRanges>(bad).is_err(),
                "{bad} was accepted"
            );
        }
    }
}
