//! Module logs: the last records in memory, all of them appended to a JSON-lines file so they
//! survive restarts. Logs are written outside the reducer's transaction, so the message of a
//! call that failed and rolled back is kept.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use keel_api::http::LogRecord;

/// How many records are kept in memory (and served) per database.
const KEPT_RECORDS: usize = 1_000;

/// The log of one database.
pub(crate) struct LogStore {
    path: PathBuf,
    records: Option<VecDeque<LogRecord>>,
}

impl LogStore {
    pub(crate) fn new(path: PathBuf) -> LogStore {
        LogStore {
            path,
            records: None,
        }
    }

    /// Appends records to memory and to the file.
    pub(crate) fn append(&mut self, new_records: Vec<LogRecord>) -> std::io::Result<()> {
        if new_records.is_empty() {
            return Ok(());
        }
        // Load what the file holds before appending to it, or the new records would be read
        // back from the file and then added a second time.
        self.records()?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut lines = Vec::new();
        for record in &new_records {
            serde_json::to_writer(&mut lines, record).expect("log records serialize");
            lines.push(b'\n');
        }
        file.write_all(&lines)?;
        let records = self.records()?;
        records.extend(new_records);
        while records.len() > KEPT_RECORDS {
            records.pop_front();
        }
        Ok(())
    }

    /// The last `n` records, oldest first.
    pub(crate) fn last(&mut self, n: usize) -> std::io::Result<Vec<LogRecord>> {
        let records = self.records()?;
        Ok(records
            .iter()
            .skip(records.len().saturating_sub(n))
            .cloned()
            .collect())
    }

    /// Forgets every record and removes the file.
    pub(crate) fn clear(&mut self) -> std::io::Result<()> {
        self.records = Some(VecDeque::new());
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    fn records(&mut self) -> std::io::Result<&mut VecDeque<LogRecord>> {
        if self.records.is_none() {
            let mut records = VecDeque::new();
            match std::fs::File::open(&self.path) {
                Ok(file) => {
                    for line in std::io::BufReader::new(file).lines() {
                        // A torn last line (crash mid-write) is skipped, not fatal.
                        if let Ok(record) = serde_json::from_str::<LogRecord>(&line?) {
                            records.push_back(record);
                            if records.len() > KEPT_RECORDS {
                                records.pop_front();
                            }
                        }
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
            self.records = Some(records);
        }
        Ok(self.records.as_mut().expect("loaded above"))
    }
}
