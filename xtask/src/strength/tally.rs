//! The figures of `cargo xtask strength`: [`Tally`], how many lines or regions there are and how
//! many the suite executed, and [`Position`], where an uncovered region starts.

use serde::{Deserialize, Serialize};

/// How many lines (or regions) there are, and how many of them were executed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "TallyFields", into = "TallyFields")]
pub(crate) struct Tally {
    count: u64,
    covered: u64,
}

/// [`Tally`] as written: the percentage is spelled out for readers of the JSON.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct TallyFields {
    count: u64,
    covered: u64,
    /// `covered / count` in percent; `null` when there is nothing to cover.
    percent: Option<f64>,
}

impl Tally {
    /// `covered` of `count`; `covered` is capped at `count`.
    pub(crate) fn new(count: u64, covered: u64) -> Tally {
        Tally {
            count,
            covered: covered.min(count),
        }
    }

    /// How many there are.
    pub(crate) fn count(self) -> u64 {
        self.count
    }

    /// How many were executed.
    pub(crate) fn covered(self) -> u64 {
        self.covered
    }

    /// `covered / count` in percent; `None` when `count` is 0.
    pub(crate) fn percent(self) -> Option<f64> {
        (self.count > 0).then(|| self.covered as f64 * 100.0 / self.count as f64)
    }

    /// Counts one more item, executed or not.
    pub(crate) fn record(&mut self, executed: bool) {
        self.count += 1;
        if executed {
            self.covered += 1;
        }
    }

    /// The sum of `self` and `other`.
    pub(crate) fn plus(self, other: Tally) -> Tally {
        Tally::new(self.count + other.count, self.covered + other.covered)
    }
}

impl From<TallyFields> for Tally {
    fn from(fields: TallyFields) -> Tally {
        Tally::new(fields.count, fields.covered)
    }
}

impl From<Tally> for TallyFields {
    fn from(tally: Tally) -> TallyFields {
        TallyFields {
            count: tally.count,
            covered: tally.covered,
            percent: tally.percent(),
        }
    }
}

/// Where a region starts in its source file, as llvm-cov counts: lines and columns from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Position {
    /// The line.
    pub(crate) line: u32,
    /// The column.
    pub(crate) column: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_of_the_count_and_absent_without_one() {
        assert_eq!(Tally::new(8, 6).percent(), Some(75.0));
        assert_eq!(Tally::new(0, 0).percent(), None);
        let mut tally = Tally::default();
        tally.record(true);
        tally.record(false);
        tally.record(true);
        assert_eq!((tally.count(), tally.covered()), (3, 2));
        assert_eq!(tally.plus(Tally::new(1, 1)), Tally::new(4, 3));
        assert_eq!(Tally::new(2, 5), Tally::new(2, 2));
    }

    #[test]
    fn the_json_spells_out_the_percentage_and_reads_back() {
        let json = serde_json::to_string(&Tally::new(4, 1)).unwrap();
        assert_eq!(json, r#"{"count":4,"covered":1,"percent":25.0}"#);
        assert_eq!(
            serde_json::from_str::<Tally>(&json).unwrap(),
            Tally::new(4, 1)
        );
        assert_eq!(
            serde_json::to_string(&Tally::default()).unwrap(),
            r#"{"count":0,"covered":0,"percent":null}"#
        );
    }
}
