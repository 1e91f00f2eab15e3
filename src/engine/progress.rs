//! Progress of long work, as the library reports it: named phases, each with
//! its amount of work when known, and the units done. The library never
//! prints: a caller that wants to show progress passes a [`Progress`] (the
//! CLI's draws on a terminal), through [`RunOptions::progress`] for a run
//! (a [`Reporter`]) or as an argument where a function has a long loop of
//! its own. Nothing here measures or decides anything.
//!
//! [`RunOptions::progress`]: crate::engine::workload::RunOptions::progress

use std::sync::Arc;

/// Receives the progress of long work, from any thread.
pub trait Progress: Send + Sync {
    /// A phase begins: its name (`verify: audit every slot`) and, when known,
    /// the units of work it has (then [`Progress::advance`] counts them).
    fn phase(&self, name: &str, total: Option<u64>);
    /// `n` more units of the current phase are done.
    fn advance(&self, n: u64);
    /// What the current phase is doing now (a run's label), without starting
    /// a new phase.
    fn doing(&self, what: &str) {
        let _ = what;
    }
}

/// A [`Progress`] that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
}

/// An optional [`Progress`] that options can carry (cloned with them, and
/// shown by `Debug` only as whether one is set); the default reports nothing.
#[derive(Clone, Default)]
pub struct Reporter(Option<Arc<dyn Progress>>);

impl Reporter {
    /// Reports to `p`.
    pub fn new(p: Arc<dyn Progress>) -> Reporter {
        Reporter(Some(p))
    }

    /// See [`Progress::phase`].
    pub fn phase(&self, name: &str, total: Option<u64>) {
        if let Some(p) = &self.0 {
            p.phase(name, total);
        }
    }

    /// See [`Progress::advance`].
    pub fn advance(&self, n: u64) {
        if let Some(p) = &self.0 {
            p.advance(n);
        }
    }
}

impl Progress for Reporter {
    fn phase(&self, name: &str, total: Option<u64>) {
        Reporter::phase(self, name, total);
    }
    fn advance(&self, n: u64) {
        Reporter::advance(self, n);
    }
    fn doing(&self, what: &str) {
        if let Some(p) = &self.0 {
            p.doing(what);
        }
    }
}

impl core::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Reporter(set)"
        } else {
            "Reporter(none)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Progress for Log {
        fn phase(&self, name: &str, total: Option<u64>) {
            self.0.lock().unwrap().push(format!("{name} {total:?}"));
        }
        fn advance(&self, n: u64) {
            self.0.lock().unwrap().push(format!("+{n}"));
        }
    }

    #[test]
    fn a_reporter_passes_everything_on_and_the_default_nothing() {
        let log = Arc::new(Log::default());
        let r = Reporter::new(log.clone());
        r.phase("audit", Some(3));
        r.advance(2);
        Reporter::default().phase("lost", None);
        assert_eq!(*log.0.lock().unwrap(), ["audit Some(3)", "+2"]);
        assert_eq!(format!("{r:?}"), "Reporter(set)");
        assert_eq!(format!("{:?}", Reporter::default()), "Reporter(none)");
    }
}
