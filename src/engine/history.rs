//! Incident histories: one state, a sequence of events, and after each event
//! what the attacker who keeps everything knows (see
//! [`crate::engine::adversary`]) and what the step cost.
//!
//! Events:
//!
//! - `leak ROLE[:EXTENT]`: the attacker obtains the role's current keys at
//!   the extent (default `all`) and copies the store;
//! - `copy`: a stolen backup: a copy of the store, no key;
//! - `revoke ROLE[:EXTENT]`: the owner's response, the run's remedy
//!   ([`crate::engine::plan::Remedy`]), executed and verified, then the
//!   one-more-compromise check against the attacker as it stands;
//! - `rotate ROLE[:EXTENT]`: a routine rotation (old versions retained);
//! - `destroy-retired [ROLE]`: retained root versions destroyed (of one
//!   role, or all);
//! - `leak-retired ROLE[:EXTENT]`: retained versions that were never
//!   destroyed leak (keys only).
//!
//! Every revoke and rotate is a real workload run ([`super::workload::run_against`]):
//! the cost is measured, compared with the model and verified.

use core::fmt;
use core::fmt::Write as _;
use core::str::FromStr;

use crate::engine::adversary::{Adversary, OneMore, Snapshot};
use crate::engine::workload::{RunOptions, RunRow, State, Workload, run_against};
use crate::error::{Error, Result};
use crate::graph::counts::Counts;
use crate::graph::design::{Design, RoleId};
use crate::graph::reach::{Extent, leaves_below, select_keys};

/// An event as typed, before it meets a design.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// What happens.
    pub kind: EventKind,
    /// The root role, by name (none: `copy`, or `destroy-retired` of every role).
    pub role: Option<String>,
    /// The extent (default `all`).
    pub extent: Extent,
}

/// What happens in an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// The role's current keys leak, with a copy of the store.
    Leak,
    /// A copy of the store leaks (a backup).
    Copy,
    /// The owner revokes the role (its remedy).
    Revoke,
    /// The owner rotates the role (routine).
    Rotate,
    /// Retained versions are destroyed.
    DestroyRetired,
    /// Retained versions leak.
    LeakRetired,
}

impl EventKind {
    const ALL: [EventKind; 6] = [
        EventKind::Leak,
        EventKind::Copy,
        EventKind::Revoke,
        EventKind::Rotate,
        EventKind::DestroyRetired,
        EventKind::LeakRetired,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Leak => "leak",
            EventKind::Copy => "copy",
            EventKind::Revoke => "revoke",
            EventKind::Rotate => "rotate",
            EventKind::DestroyRetired => "destroy-retired",
            EventKind::LeakRetired => "leak-retired",
        }
    }

    fn role_rule(self) -> (bool, bool) {
        // (takes a role, needs one)
        match self {
            EventKind::Copy => (false, false),
            EventKind::DestroyRetired => (true, false),
            _ => (true, true),
        }
    }
}

impl FromStr for EventSpec {
    type Err = Error;

    /// `leak ck1`, `revoke ak:tenant`, `copy`, `destroy-retired`, `leak-retired ck1`
    /// (a `:` may stand for the space).
    fn from_str(s: &str) -> Result<EventSpec> {
        let bad = |m: String| Error::invalid("event", m);
        let t = s.trim();
        let (verb, rest) = match t.split_once([' ', ':']) {
            Some((v, r)) => (v, r.trim()),
            None => (t, ""),
        };
        let kind = EventKind::ALL
            .into_iter()
            .find(|k| k.name() == verb)
            .ok_or_else(|| {
                let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
                bad(format!(
                    "{s:?}: unknown event {verb:?}; expected one of {}",
                    names.join(", ")
                ))
            })?;
        let (takes, needs) = kind.role_rule();
        let (role, extent) = match rest.split_once(':') {
            Some((r, e)) => (r.trim(), Some(e.trim())),
            None => (rest, None),
        };
        if role.is_empty() && needs {
            return Err(bad(format!(
                "{s:?}: {} needs a root role (e.g. \"{} ck1\" or \"{} ck1:tenant\")",
                kind.name(),
                kind.name(),
                kind.name()
            )));
        }
        if !role.is_empty() && !takes {
            return Err(bad(format!("{s:?}: {} takes no role", kind.name())));
        }
        let extent = match extent {
            None => Extent::All,
            Some(e) => Extent::from_name(e).ok_or_else(|| {
                bad(format!(
                    "{s:?}: unknown extent {e:?}; expected one, tenant or all"
                ))
            })?,
        };
        if extent != Extent::All && kind == EventKind::DestroyRetired {
            return Err(bad(format!(
                "{s:?}: destroy-retired takes a role, not an extent"
            )));
        }
        Ok(EventSpec {
            kind,
            role: (!role.is_empty()).then(|| role.to_string()),
            extent,
        })
    }
}

impl fmt::Display for EventSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(r) = &self.role {
            write!(f, " {r}")?;
            if self.kind != EventKind::DestroyRetired {
                write!(f, ":{}", self.extent.name())?;
            }
        }
        Ok(())
    }
}

impl EventSpec {
    /// The root role it names on `design`, checked.
    fn role_on(&self, design: &Design) -> Result<Option<RoleId>> {
        let Some(name) = &self.role else {
            return Ok(None);
        };
        match design.role_by_name(name) {
            Some(r) if design.roles[usize::from(r)].is_root() => Ok(Some(r)),
            _ => Err(crate::engine::workload::spec::unknown_role(
                design,
                name.clone(),
            )),
        }
    }

    /// Checks the event against `design` (before anything runs).
    pub fn check(&self, design: &Design) -> Result<()> {
        self.role_on(design).map(|_| ())
    }
}

/// What a revoke or rotate step cost.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct StepCost {
    /// Measured counts.
    pub measured: Counts,
    /// Whether they equal the model's.
    pub counts_match: bool,
    /// Wall time, seconds (without verification).
    pub seconds: f64,
    /// Whether the run verified (for a revoke: with the one-more-compromise check).
    pub verified: bool,
}

/// The state after one event.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Step {
    /// The event, as read.
    pub event: String,
    /// Leaves whose current key the attacker knows.
    pub exposed_current_leaves: u64,
    /// Leaves of which it ever knew a key (data readable at some time).
    pub exposed_ever_leaves: u64,
    /// Leaf keys (node and version) it knows.
    pub leaf_keys_known: u64,
    /// Copies of the store it holds.
    pub copies_held: usize,
    /// Retired root versions still retained by the owner.
    pub retained_versions: usize,
    /// What the step did, in words.
    pub note: String,
    /// A revoke or rotate: its cost.
    pub cost: Option<StepCost>,
    /// A revoke: the one-more-compromise check against the attacker as it stands.
    pub one_more: Option<OneMore>,
}

/// A whole history.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct History {
    /// The design.
    pub design: String,
    /// The remedy revocations use.
    pub remedy: &'static str,
    /// Leaves of the hierarchy.
    pub leaves: u64,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The revoke and rotate rows, in order.
    #[serde(skip)]
    pub rows: Vec<RunRow>,
}

/// Runs `events` on `st` from an attacker who knows nothing. `progress` is
/// told each event as it starts.
pub fn run_history(
    st: &mut State,
    events: &[EventSpec],
    opts: &RunOptions,
    progress: &dyn Fn(usize, &EventSpec),
) -> Result<History> {
    for e in events {
        e.check(&st.h.design)?;
    }
    let mut adv = Adversary::new();
    let mut out = History {
        design: st.h.design.name.clone(),
        remedy: opts.remedy.name(),
        leaves: st.h.leaves(),
        steps: Vec::with_capacity(events.len()),
        rows: Vec::new(),
    };
    for (i, e) in events.iter().enumerate() {
        progress(i, e);
        let step = step(st, &mut adv, e, opts, &mut out.rows)?;
        out.steps.push(step);
    }
    Ok(out)
}

fn step(
    st: &mut State,
    adv: &mut Adversary,
    e: &EventSpec,
    opts: &RunOptions,
    rows: &mut Vec<RunRow>,
) -> Result<Step> {
    let role = e.role_on(&st.h.design)?;
    let roots = |st: &State, r: RoleId| select_keys(&st.h, &leaves_below(&st.h), r, e.extent);
    let mut cost = None;
    let mut one_more = None;
    let note = match (e.kind, role) {
        (EventKind::Leak, Some(r)) => {
            let keys = roots(st, r);
            adv.leak(&st.h, &keys);
            format!("{} current keys leak with a copy of the store", keys.len())
        }
        (EventKind::Copy, _) => {
            adv.take_copy(Snapshot::of(&st.h));
            adv.close(&st.h);
            "a copy of the store leaks".into()
        }
        (EventKind::Revoke | EventKind::Rotate, Some(r)) => {
            let w = if e.kind == EventKind::Revoke {
                Workload::Revoke {
                    role: r,
                    extent: e.extent,
                }
            } else {
                Workload::RotateRoot {
                    role: r,
                    extent: e.extent,
                    lazy: false,
                }
            };
            let named = roots(st, r).len() as u64;
            let row = run_against(st, &w, opts, adv)?;
            cost = Some(StepCost {
                measured: row.measured,
                counts_match: row.counts_match,
                seconds: row.seconds,
                verified: row.verification.verified,
            });
            one_more = row.verification.one_more.clone();
            let others = row.measured.roots_replaced.saturating_sub(named);
            let what = if e.kind == EventKind::Revoke {
                let mut w = format!("{named} roots replaced (remedy {})", opts.remedy.name());
                if others > 0 {
                    let _ = write!(w, ", {others} other roots rotated, old versions destroyed");
                }
                w
            } else {
                format!("{named} roots rotated, old versions retained")
            };
            rows.push(row);
            what
        }
        (EventKind::DestroyRetired, r) => {
            let d = &st.h;
            let n = st.ring.destroy_retired(&|n| {
                r.is_none_or(|r| (n as usize) < d.role.len() && d.role[n as usize] == r)
            });
            format!("{n} retained versions destroyed")
        }
        (EventKind::LeakRetired, Some(r)) => {
            let keys = roots(st, r);
            let mut n = 0;
            for &k in &keys {
                for (v, _) in st.ring.retained_of(k) {
                    adv.learn(k, v);
                    n += 1;
                }
            }
            adv.close(&st.h);
            format!("{n} retained versions leak")
        }
        _ => {
            return Err(Error::invalid(
                "event",
                format!("\"{e}\" needs a root role"),
            ));
        }
    };
    let x = adv.exposure(&st.h);
    Ok(Step {
        event: e.to_string(),
        exposed_current_leaves: x.current_leaves,
        exposed_ever_leaves: x.ever_leaves,
        leaf_keys_known: x.leaf_keys,
        copies_held: adv.copies(),
        retained_versions: st.ring.retained_len(),
        note,
        cost,
        one_more,
    })
}
