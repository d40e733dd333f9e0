//! Reading the JSON `llvm-cov export -format=text` prints: per source file, the line figures
//! llvm-cov computed (`summary.lines`) and the regions, counted from the file's segments.
//!
//! A segment is `[line, column, count, has_count, is_region_entry, is_gap_region]`: the point
//! where a count starts to apply. A region entry with a count that is not a gap region (the
//! whitespace llvm-cov gives a count only for line figures) is where a code region starts; it is
//! counted once, covered when its count is above 0, and listed as uncovered when it is 0. Regions
//! that start at the same place share a segment and count once, so these figures are a little
//! lower than `llvm-cov report`'s, which counts every region of every function instance. The
//! counts are those of the merged view of all the binaries and instances, so a region is covered
//! when any process of any test executed it.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::{
    coverage::lcov::relative_to,
    strength::tally::{Position, Tally},
};

/// The `type` of an llvm-cov JSON export.
const EXPORT_TYPE: &str = "llvm.coverage.json.export";

/// One source file's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FileCounts {
    /// Lines with code, and those executed (llvm-cov's `summary.lines`).
    pub(crate) lines: Tally,
    /// Code regions, and those executed.
    pub(crate) regions: Tally,
    /// Where the regions no process executed start, in order.
    pub(crate) uncovered: Vec<Position>,
}

/// The top of the export.
#[derive(Debug, Deserialize)]
struct Export {
    /// [`EXPORT_TYPE`].
    #[serde(rename = "type")]
    kind: String,
    /// The export's format version, for messages.
    version: String,
    /// One entry per export (llvm-cov writes one).
    data: Vec<ExportData>,
}

/// One export: its files (functions and totals are not read).
#[derive(Debug, Deserialize)]
struct ExportData {
    files: Vec<ExportFile>,
}

/// One source file of the export.
#[derive(Debug, Deserialize)]
struct ExportFile {
    /// Absolute, as the compiler was given it.
    filename: PathBuf,
    segments: Vec<Segment>,
    summary: FileSummary,
}

/// What the export sums up per file (only lines are read).
#[derive(Debug, Deserialize)]
struct FileSummary {
    lines: LineSummary,
}

/// `summary.lines` of a file.
#[derive(Debug, Deserialize)]
struct LineSummary {
    count: u64,
    covered: u64,
}

/// `[line, column, count, has_count, is_region_entry, is_gap_region]`.
#[derive(Debug, Deserialize)]
struct Segment(u32, u32, u64, bool, bool, bool);

impl Segment {
    /// Whether a code region starts here (see the module doc).
    fn starts_code_region(&self) -> bool {
        let Segment(_, _, _, has_count, is_region_entry, is_gap_region) = *self;
        has_count && is_region_entry && !is_gap_region
    }
}

/// The files of export `json` that lie below one of `roots` (the workspace root, perhaps spelled
/// two ways), keyed by their path relative to it; files elsewhere are left out.
pub(crate) fn parse(json: &str, roots: &[&Path]) -> anyhow::Result<BTreeMap<PathBuf, FileCounts>> {
    let export: Export = serde_json::from_str(json)
        .context("read llvm-cov's JSON export (`llvm-cov export -format=text`)")?;
    if export.kind != EXPORT_TYPE {
        bail!(
            "llvm-cov's export is of type `{}`, not `{EXPORT_TYPE}`: is the llvm-cov of the toolchain's llvm-tools component in use?",
            export.kind
        );
    }
    let mut files = BTreeMap::new();
    for file in export.data.into_iter().flat_map(|it| it.files) {
        let Some(path) = relative_to(&file.filename, roots) else {
            continue;
        };
        let counts = count(&file);
        if files.insert(path.clone(), counts).is_some() {
            bail!(
                "llvm-cov's export (version {}) lists {} twice",
                export.version,
                path.display()
            );
        }
    }
    Ok(files)
}

/// The figures of one file: its line summary, and its regions from its segments.
fn count(file: &ExportFile) -> FileCounts {
    let mut counts = FileCounts {
        lines: Tally::new(file.summary.lines.count, file.summary.lines.covered),
        ..FileCounts::default()
    };
    for segment in file.segments.iter().filter(|it| it.starts_code_region()) {
        let Segment(line, column, executions, ..) = *segment;
        counts.regions.record(executions > 0);
        if executions == 0 {
            counts.uncovered.push(Position { line, column });
        }
    }
    counts.uncovered.sort();
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real `llvm-cov export -format=text -skip-functions` of the instrumented
    /// keel-standalone and keel (functions, branches, expansions and most segments removed,
    /// totals kept). Added by hand, as this export had none: the gap region at 60:1, the
    /// skipped region (no count) at 70:5, and the file of the standard library.
    const EXPORT: &str = r#"{"data":[{"files":[
{"branches":[],"expansions":[],"filename":"/work/keel/crates/keel-host/src/guard.rs","mcdc_records":[],
 "segments":[[50,5,164,true,true,false],[50,33,0,false,false,false],[51,9,164,true,true,false],
  [52,20,164,true,true,false],[52,28,164,true,false,false],[52,29,164,true,true,false],
  [52,39,164,true,false,false],[58,10,0,false,false,false],[60,1,0,true,true,true],
  [70,5,0,false,true,false],[71,1,0,false,false,false],
  [119,14,26663,true,true,false],[119,28,0,false,false,false],[119,40,0,true,true,false],
  [119,48,0,false,false,false],[119,49,0,true,true,false],[119,59,0,false,false,false],
  [136,20,0,true,true,false],[136,68,0,false,false,false],[138,32,509,true,true,false]],
 "summary":{"branches":{"count":0,"covered":0,"notcovered":0,"percent":0},
  "functions":{"count":20,"covered":19,"percent":95},"instantiations":{"count":20,"covered":19,"percent":95},
  "lines":{"count":131,"covered":124,"percent":94.65648854961832},
  "mcdc":{"count":0,"covered":0,"notcovered":0,"percent":0},
  "regions":{"count":178,"covered":170,"notcovered":8,"percent":95.50561797752809}}},
{"branches":[],"expansions":[],"filename":"/work/keel/crates/keel-cli/src/output.rs","mcdc_records":[],
 "segments":[[14,5,45,true,true,false],[14,44,0,false,false,false],[15,9,45,true,true,false],
  [15,24,0,false,false,false]],
 "summary":{"branches":{"count":0,"covered":0,"notcovered":0,"percent":0},
  "functions":{"count":6,"covered":6,"percent":100},"instantiations":{"count":22,"covered":17,"percent":77.27272727272727},
  "lines":{"count":26,"covered":26,"percent":100},
  "mcdc":{"count":0,"covered":0,"notcovered":0,"percent":0},
  "regions":{"count":36,"covered":36,"notcovered":0,"percent":100}}},
{"branches":[],"expansions":[],"filename":"/rustc/59807616e/library/core/src/option.rs","mcdc_records":[],
 "segments":[[1,1,0,true,true,false]],
 "summary":{"lines":{"count":1,"covered":0,"percent":0}}}
],"totals":{"lines":{"count":5505,"covered":3872,"percent":70.33605812897366},
 "regions":{"count":8569,"covered":6017,"notcovered":2552,"percent":70.21822849807445}}}],
"type":"llvm.coverage.json.export","version":"3.1.0"}"#;

    fn parsed() -> BTreeMap<PathBuf, FileCounts> {
        parse(EXPORT, &[Path::new("/elsewhere"), Path::new("/work/keel")]).unwrap()
    }

    #[test]
    fn files_below_the_roots_are_read_with_their_line_summary() {
        let files = parsed();
        let paths: Vec<&Path> = files.keys().map(PathBuf::as_path).collect();
        assert_eq!(
            paths,
            [
                Path::new("crates/keel-cli/src/output.rs"),
                Path::new("crates/keel-host/src/guard.rs")
            ]
        );
        let guard = &files[Path::new("crates/keel-host/src/guard.rs")];
        assert_eq!(guard.lines, Tally::new(131, 124));
        let output = &files[Path::new("crates/keel-cli/src/output.rs")];
        assert_eq!(output.lines, Tally::new(26, 26));
        assert_eq!(output.regions, Tally::new(2, 2));
        assert!(output.uncovered.is_empty());
    }

    #[test]
    fn regions_are_the_code_region_entries_of_the_segments() {
        let guard = &parsed()[Path::new("crates/keel-host/src/guard.rs")];
        // 50:5, 51:9, 52:20, 52:29, 119:14, 138:32 executed; 119:40, 119:49, 136:20 not. Not counted:
        // where an enclosing region resumes (52:28), where a region ends (no count), the gap
        // region and the skipped one.
        assert_eq!(guard.regions, Tally::new(9, 6));
    }

    #[test]
    fn uncovered_regions_are_the_unexecuted_entries_in_source_order() {
        let guard = &parsed()[Path::new("crates/keel-host/src/guard.rs")];
        let at = |line, column| Position { line, column };
        assert_eq!(guard.uncovered, [at(119, 40), at(119, 49), at(136, 20)]);
    }

    #[test]
    fn other_documents_are_refused_with_what_they_are() {
        let error = parse(
            r#"{"type":"llvm.coverage.json.other","version":"1","data":[]}"#,
            &[Path::new("/")],
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("of type `llvm.coverage.json.other`"),
            "{error}"
        );
        let error = parse("DA:1,0\n", &[Path::new("/")]).unwrap_err();
        assert!(error.to_string().contains("JSON export"), "{error}");
        let twice = format!(
            r#"{{"type":"{EXPORT_TYPE}","version":"3.1.0","data":[{{"files":[{file},{file}]}}]}}"#,
            file = r#"{"filename":"/r/a.rs","segments":[],"summary":{"lines":{"count":0,"covered":0}}}"#
        );
        let error = parse(&twice, &[Path::new("/r")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "llvm-cov's export (version 3.1.0) lists a.rs twice"
        );
    }
}
