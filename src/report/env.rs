//! What a results folder says about where it was made: `env.json` (machine,
//! git revision, rustc, crate versions, command line, the run's own
//! parameters) and today's date for the folder's name. Every call to an
//! outside program (`git`, `rustc`) is here; one that fails gives "unknown"
//! or `null`, never a panic. Crate versions come from Cargo.lock through
//! `build.rs`, at build time.

/// The crates that do the cryptography and the parallelism, whose versions
/// `env.json` records.
const RECORDED_CRATES: [&str; 7] = [
    "aes",
    "aes-kw",
    "aes-gcm",
    "aes-gcm-siv",
    "zeroize",
    "rayon",
    "rand_chacha",
];

/// `name=version` pairs, `;`-separated, of every direct dependency as
/// Cargo.lock locked it (written by `build.rs`).
const LOCKED_VERSIONS: &str = env!("KEYHIER_LOCKED_VERSIONS");

/// The locked version of the direct dependency `name`, if there is one.
fn locked_version(name: &str) -> Option<&'static str> {
    LOCKED_VERSIONS
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Versions of the crates that do the cryptography and the parallelism, as
/// this build's Cargo.lock locked them ("unknown" for one it does not name).
pub fn crate_versions() -> Vec<(&'static str, String)> {
    RECORDED_CRATES
        .into_iter()
        .map(|name| (name, locked_version(name).unwrap_or("unknown").to_string()))
        .collect()
}

/// What `cmd args` printed, trimmed, if it ran and succeeded.
fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The git revision of the working directory, or "unknown".
pub fn git_revision() -> String {
    command_output("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

/// Whether tracked files differ from that revision (false when git cannot say).
pub fn git_dirty() -> bool {
    command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty())
}

/// `rustc --version`, if rustc runs here.
pub fn rustc_version() -> Option<String> {
    command_output("rustc", &["--version"])
}

/// Today's date (UTC) as `YYYY-MM-DD`, for results folder names.
pub fn today_utc() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// The environment of a run, for `env.json`.
pub fn env_json(
    seed: u64,
    threads: usize,
    command: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "command": command,
        "seed": seed,
        "threads": threads,
        "git_revision": git_revision(),
        "git_dirty": git_dirty(),
        "host": crate::sysinfo::host_name(),
        "cpu_model": crate::sysinfo::cpu_model(),
        "cpu_flags": crate::sysinfo::cpu_flags(),
        "cpus": crate::sysinfo::cpus(),
        "keyhier_version": env!("CARGO_PKG_VERSION"),
        "rustc": rustc_version(),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "crates": crate_versions()
            .into_iter()
            .map(|(n, v)| (n.to_string(), serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>(),
        "root_profiles": crate::engine::service::builtin_profiles(),
        "run": extra,
    })
}

#[cfg(test)]
mod tests {
    /// The versions come from this build's Cargo.lock, read as TOML.
    #[test]
    fn crate_versions_are_the_locked_ones() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock");
        for (name, version) in super::crate_versions() {
            assert!(
                lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"\n")),
                "{name} {version}"
            );
        }
    }

    /// Today is the day the system clock says, counted from 1970-01-01.
    #[test]
    fn today_is_the_system_clock_day() {
        let d = super::today_utc();
        let parts: Vec<u16> = d.split('-').filter_map(|p| p.parse().ok()).collect();
        let [y, m, day] = parts[..] else {
            panic!("{d} is not YYYY-MM-DD")
        };
        let month = time::Month::try_from(m as u8).expect("a month");
        let date = time::Date::from_calendar_date(i32::from(y), month, day as u8).expect("a date");
        let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).expect("epoch");
        let days = (date - epoch).whole_days();
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64
            / 86_400;
        // the clock may pass midnight between the two readings
        assert!(
            days == clock || days + 1 == clock,
            "{d}: day {days}, clock day {clock}"
        );
        assert_eq!(d.len(), 10, "{d}");
    }
}
