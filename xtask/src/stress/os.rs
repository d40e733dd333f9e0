//! What the scenarios read from the operating system: a process's RSS and open handles from `/proc`,
//! and this process's open-file limit, raised as the server raises its own.

use std::{fs, io};

/// Resident set size of process `pid`, in KiB (`VmRSS` of `/proc/PID/status`).
pub(crate) fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss_kib(&status).ok_or_else(|| io::Error::other("no VmRSS line in /proc/PID/status"))
}

/// The `VmRSS:   1234 kB` line of a `/proc/PID/status` text, in KiB.
pub(crate) fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|it| it.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

/// Open file descriptors of process `pid` (entries of `/proc/PID/fd`).
pub(crate) fn open_handles(pid: u32) -> io::Result<usize> {
    Ok(fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// The soft open-file limit of process `pid` (`Max open files` of `/proc/PID/limits`).
pub(crate) fn open_file_limit(pid: u32) -> io::Result<u64> {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits"))?;
    parse_open_file_limit(&limits)
        .ok_or_else(|| io::Error::other("no `Max open files` line in /proc/PID/limits"))
}

/// The soft limit of the `Max open files` line of a `/proc/PID/limits` text.
pub(crate) fn parse_open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|it| it.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Raises this process's soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force.
pub(crate) fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status =
            "Name:\tkeel-standalone\nVmPeak:\t  900000 kB\nVmRSS:\t    7340 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss_kib(status), Some(7340));
    }

    #[test]
    fn missing_or_odd_vm_rss_is_none() {
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn the_soft_open_file_limit_is_read() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            1024                 20000                files     \n";
        assert_eq!(parse_open_file_limit(limits), Some(1024));
        assert_eq!(
            parse_open_file_limit("Max open files  unlimited  unlimited  files\n"),
            None
        );
    }

    #[test]
    fn this_process_has_rss_and_handles() {
        let pid = std::process::id();
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(open_handles(pid).unwrap() > 0);
        assert!(open_file_limit(pid).unwrap() > 0);
        assert!(raise_open_file_limit() >= 64);
    }
}
