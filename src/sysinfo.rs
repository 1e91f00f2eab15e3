//! Facts about the machine and process, for reports: peak memory, CPU model
//! and flags, host name. Linux `/proc` where available; `None` elsewhere.

/// Peak resident set size of this process so far, in bytes (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak resident set size to the current one (Linux: writing 5 to
/// `/proc/self/clear_refs`). Best effort: returns whether the kernel took it.
///
/// The peak after a reset still starts from the current resident size, which
/// holds whatever the allocator kept of memory freed earlier: it is the peak
/// of a run only when the run has the process to itself (as `keyhier run`
/// does), not of one run among many in the same process.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Current resident set size, in bytes (`VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU model name.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// The CPU flags relevant to AES work that this CPU has.
pub fn cpu_flags() -> Vec<&'static str> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("aes") {
            out.push("aes");
        }
        if std::arch::is_x86_feature_detected!("pclmulqdq") {
            out.push("pclmulqdq");
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            out.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("vaes") {
            out.push("vaes");
        }
        if std::arch::is_x86_feature_detected!("vpclmulqdq") {
            out.push("vpclmulqdq");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            out.push("avx512f");
        }
    }
    out
}

/// Host name (short).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Number of CPUs available to this process.
pub fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reset_brings_the_peak_down_to_the_current_size() {
        // 64 MiB touched, then freed (an allocation that large goes back to
        // the kernel on free): the peak stays up until it is reset
        let mut v = vec![0u8; 64 << 20];
        v.iter_mut().step_by(4096).for_each(|b| *b = 1);
        std::hint::black_box(&v);
        drop(v);
        let Some(before) = super::peak_rss_bytes() else {
            return; // no /proc: nothing to reset
        };
        if !super::reset_peak_rss() {
            return; // a kernel without clear_refs 5
        }
        let after = super::peak_rss_bytes().unwrap_or(u64::MAX);
        assert!(
            after + (32 << 20) <= before,
            "peak {after} after the reset, {before} before"
        );
    }
}
