//! The process's own figures for `/metrics`, read from Linux's `/proc` (no dependency): CPU
//! time, resident and virtual memory, open and allowed file descriptors, start time. On
//! another system, or where `/proc` is not readable, there are none and `/metrics` leaves
//! them out.

use std::fs;

/// The unit of the times in `/proc/<pid>/stat` (`USER_HZ`): 100 on every Linux architecture,
/// fixed by the kernel's ABI whatever the kernel's own tick rate (proc(5)). Reading it with
/// `sysconf(_SC_CLK_TCK)` would need unsafe code, which this crate forbids.
const TICKS_PER_SECOND: f64 = 100.0;

/// A reading of the process's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessFigures {
    /// User and system CPU time.
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    /// The soft limit of open files, if there is one.
    pub max_fds: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

/// Reads the figures of this process, or `None` where `/proc` does not tell them.
pub fn read() -> Option<ProcessFigures> {
    let stat = parse_stat(&fs::read_to_string("/proc/self/stat").ok()?)?;
    let boot = boot_time(&fs::read_to_string("/proc/stat").ok()?)?;
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let open_fds = u64::try_from(fs::read_dir("/proc/self/fd").ok()?.count()).ok()?;
    let max_fds = fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| open_files_limit(&l));
    Some(ProcessFigures {
        cpu_seconds: (stat.utime + stat.stime) as f64 / TICKS_PER_SECOND,
        resident_bytes: status_kib(&status, "VmRSS:")? * 1024,
        virtual_bytes: stat.vsize,
        open_fds,
        max_fds,
        start_time_seconds: boot as f64 + stat.starttime as f64 / TICKS_PER_SECOND,
    })
}

/// The fields of `/proc/self/stat` used here.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    /// Clock ticks after boot.
    starttime: u64,
    vsize: u64,
}

/// Fields 14, 15, 22 and 23 (1-based) of proc(5)'s `stat`. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses itself, so the count starts after the last
/// `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let after_name = &text[text.rfind(')')? + 1..];
    // Field 3 (the state) is the first after the name.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
        vsize: field(23)?,
    })
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
fn boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `Vm…:   1234 kB` line of `/proc/self/status`, in KiB.
fn status_kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix(key))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits` (`None` when unlimited).
fn open_files_limit(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_line_is_read_after_a_command_name_with_spaces_and_parentheses() {
        let line = "4242 (foer (de) rakte) S 1 4242 4242 0 -1 4194560 2165 0 0 0 \
                    250 75 0 0 20 0 9 0 123456 987654321 5120 18446744073709551615 1 1 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                utime: 250,
                stime: 75,
                starttime: 123456,
                vsize: 987654321,
            })
        );
        assert_eq!(parse_stat("4242 (x S 1"), None);
    }

    #[test]
    fn boot_time_memory_and_the_fd_limit_are_read_from_their_lines() {
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1733400000\nprocesses 9\n"),
            Some(1_733_400_000)
        );
        let status = "Name:\tfoerderakte\nVmPeak:\t  99999 kB\nVmRSS:\t   24576 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(24576));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(open_files_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(open_files_limit(unlimited), None);
    }

    #[test]
    fn this_process_reads_its_own_figures_on_linux() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let f = read().expect("/proc tells the figures");
        assert!(f.resident_bytes > 0 && f.open_fds > 0, "{f:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(f.start_time_seconds <= now + 1.0, "{f:?}");
        assert!(f.start_time_seconds > now - 86_400.0 * 365.0, "{f:?}");
    }
}
