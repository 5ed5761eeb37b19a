//! The process's resident memory (RSS), as the run record reports it: the
//! largest RSS seen while each model ran, and the process's peak for the
//! whole run. This is what a pod's memory limit is held against, so it
//! shows what DataFusion's memory pool does not count (decoded batches
//! between operators, Parquet write buffers, the allocator's free pages).
//!
//! Read from `/proc/self/status` (Linux); `None` where that file does not
//! exist.

use std::future::Future;
use std::time::Duration;

/// How often a running model's RSS is sampled.
const EVERY: Duration = Duration::from_millis(100);

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_field(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_field(&text, name)
}

fn parse_status_field(text: &str, name: &str) -> Option<u64> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The resident set size now.
pub(crate) fn current() -> Option<u64> {
    status_field("VmRSS")
}

/// The largest resident set size of the process so far (the kernel's
/// high-water mark).
pub(crate) fn process_peak() -> Option<u64> {
    status_field("VmHWM")
}

/// Runs `work` and samples the RSS every 100 ms while it runs: returns its
/// output and the largest sample (`None` when RSS cannot be read). With
/// models running side by side, the figure is the whole process's, so it
/// includes what the other models held at that moment.
pub(crate) async fn largest_while<F: Future>(work: F) -> (F::Output, Option<u64>) {
    // None < Some: stays None only when RSS cannot be read
    let mut largest = None;
    let mut sample = || largest = largest.max(current());
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut work = std::pin::pin!(work);
    let out = loop {
        tokio::select! {
            out = &mut work => break out,
            _ = tick.tick() => sample(),
        }
    };
    sample();
    (out, largest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kb_fields_as_bytes() {
        let text = "Name:\tshoal\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        // 102,400 kB × 1024 = 104,857,600 bytes (100 MiB)
        assert_eq!(parse_status_field(text, "VmRSS"), Some(104_857_600));
        assert_eq!(parse_status_field(text, "VmHWM"), Some(209_715_200));
        assert_eq!(parse_status_field(text, "VmSwap"), None);
        assert_eq!(parse_status_field("VmRSS:\tlots kB\n", "VmRSS"), None);
    }

    #[tokio::test]
    async fn sees_memory_held_while_the_work_runs() {
        let before = current().expect("Linux has /proc/self/status");
        let (len, largest) = largest_while(async {
            // 256 MiB touched and held across two samples
            let v = vec![1u8; 256 << 20];
            tokio::time::sleep(EVERY * 3).await;
            v.iter().map(|&b| b as usize).sum::<usize>()
        })
        .await;
        assert_eq!(len, 256 << 20);
        let largest = largest.expect("sampled");
        assert!(
            largest >= before + (200 << 20),
            "largest {largest} should exceed {before} by the 256 MiB held"
        );
    }
}
