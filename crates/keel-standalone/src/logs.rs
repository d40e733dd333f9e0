//! Module logs: the last records in memory, appended to a JSON-lines file so they survive
//! restarts. Logs are written outside the reducer's transaction, so the message of a call that
//! failed and rolled back is kept.
//!
//! Both are bounded: memory keeps at most [`KEPT_RECORDS`] records and [`KEPT_BYTES`] bytes;
//! when the file grows past twice that, it is rewritten with what memory keeps.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use keel_api::http::LogRecord;

/// How many records are kept (and served) per database.
const KEPT_RECORDS: usize = 1_000;
/// How many bytes of records (as JSON lines) are kept per database.
const KEPT_BYTES: usize = 4 << 20;

/// The log of one database.
pub(crate) struct LogStore {
    path: PathBuf,
    /// Loaded on first use: the kept records, each with its size as a JSON line.
    kept: Option<Kept>,
}

#[derive(Default)]
struct Kept {
    records: VecDeque<(LogRecord, usize)>,
    bytes: usize,
    file_bytes: u64,
}

impl LogStore {
    pub(crate) fn new(path: PathBuf) -> LogStore {
        LogStore { path, kept: None }
    }

    /// Appends records to memory and to the file.
    pub(crate) fn append(&mut self, new_records: Vec<LogRecord>) -> std::io::Result<()> {
        if new_records.is_empty() {
            return Ok(());
        }
        // Load what the file holds before appending to it, or the new records would be read
        // back from the file and then kept a second time.
        self.kept()?;
        let mut lines = Vec::new();
        let mut sized = Vec::with_capacity(new_records.len());
        for record in new_records {
            let start = lines.len();
            serde_json::to_writer(&mut lines, &record).expect("log records serialize");
            lines.push(b'\n');
            sized.push((record, lines.len() - start));
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(&lines)?;
        let kept = self.kept.as_mut().expect("loaded above");
        kept.file_bytes += lines.len() as u64;
        for (record, size) in sized {
            kept.push(record, size);
        }
        if kept.file_bytes > 2 * KEPT_BYTES as u64 {
            self.compact()?;
        }
        Ok(())
    }

    /// The last `n` records, oldest first.
    pub(crate) fn last(&mut self, n: usize) -> std::io::Result<Vec<LogRecord>> {
        let records = &self.kept()?.records;
        Ok(records
            .iter()
            .skip(records.len().saturating_sub(n))
            .map(|(record, _)| record.clone())
            .collect())
    }

    /// Forgets every record and removes the file.
    pub(crate) fn clear(&mut self) -> std::io::Result<()> {
        self.kept = Some(Kept::default());
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// Rewrites the file with the kept records only.
    fn compact(&mut self) -> std::io::Result<()> {
        let kept = self.kept.as_mut().expect("loaded before compacting");
        let mut lines = Vec::with_capacity(kept.bytes);
        for (record, _) in &kept.records {
            serde_json::to_writer(&mut lines, record).expect("log records serialize");
            lines.push(b'\n');
        }
        let dir = self.path.parent().expect("log files live in a directory");
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(&lines)?;
        file.persist(&self.path).map_err(|error| error.error)?;
        kept.file_bytes = lines.len() as u64;
        Ok(())
    }

    fn kept(&mut self) -> std::io::Result<&mut Kept> {
        if self.kept.is_none() {
            let mut kept = Kept::default();
            match std::fs::File::open(&self.path) {
                Ok(file) => {
                    kept.file_bytes = file.metadata()?.len();
                    for line in std::io::BufReader::new(file).lines() {
                        let line = line?;
                        // A torn last line (crash mid-write) is skipped, not fatal.
                        if let Ok(record) = serde_json::from_str::<LogRecord>(&line) {
                            kept.push(record, line.len() + 1);
                        }
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
            self.kept = Some(kept);
        }
        Ok(self.kept.as_mut().expect("loaded above"))
    }
}

impl Kept {
    fn push(&mut self, record: LogRecord, size: usize) {
        self.records.push_back((record, size));
        self.bytes += size;
        while self.records.len() > KEPT_RECORDS || self.bytes > KEPT_BYTES {
            let Some((_, size)) = self.records.pop_front() else {
                break;
            };
            self.bytes -= size;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_api::http::LogLevel;

    fn record(message: &str) -> LogRecord {
        LogRecord {
            ts_micros: 1,
            level: LogLevel::Info,
            message: message.to_owned(),
            reducer: None,
        }
    }

    #[test]
    fn records_survive_a_reload_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut store = LogStore::new(path.clone());
        store.append(vec![record("a"), record("b")]).unwrap();
        let mut reloaded = LogStore::new(path);
        reloaded.append(vec![record("c")]).unwrap();
        let messages: Vec<String> = reloaded
            .last(10)
            .unwrap()
            .into_iter()
            .map(|record| record.message)
            .collect();
        assert_eq!(messages, ["a", "b", "c"]);
    }

    #[test]
    fn memory_and_file_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut store = LogStore::new(path.clone());
        let big = "x".repeat(60 << 10);
        for _ in 0..400 {
            store.append(vec![record(&big)]).unwrap();
        }
        let kept = store.last(usize::MAX).unwrap();
        assert!(kept.len() < 100, "kept {} records of 60 KiB", kept.len());
        let file_bytes = std::fs::metadata(&path).unwrap().len();
        assert!(
            file_bytes <= 2 * KEPT_BYTES as u64 + (64 << 10),
            "the file grew to {file_bytes} bytes"
        );
        for index in 0..2_000 {
            store.append(vec![record(&index.to_string())]).unwrap();
        }
        let kept = store.last(usize::MAX).unwrap();
        assert_eq!(kept.len(), KEPT_RECORDS);
        assert_eq!(kept.last().unwrap().message, "1999");
    }
}
