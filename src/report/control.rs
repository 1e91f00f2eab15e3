//! Text of what the customer controls: who controls a run, and the steps,
//! window and residue of a purge. Rows in, text out.

use std::fmt::Write;

use crate::engine::workload::RunRow;
use crate::engine::workload::purge::PurgeOutcome;

/// The lines `run` prints about control: the controller and, for a purge,
/// its steps, the provider's window and what remains decryptable.
pub fn control_text(r: &RunRow) -> String {
    let mut s = String::new();
    if let Some(c) = r.controller {
        let _ = writeln!(s, "controller: {}", c.name());
    }
    if let Some(p) = &r.purge {
        s.push_str(&purge_text(p));
    }
    s
}

/// A purge: supported or why not; its steps; the window; the residue.
pub fn purge_text(p: &PurgeOutcome) -> String {
    let mut s = String::new();
    if !p.supported {
        let _ = writeln!(
            s,
            "\npurge of tenant {}: not supported. {}",
            p.tenant,
            p.reason.as_deref().unwrap_or_default()
        );
        return s;
    }
    let _ = writeln!(s, "\npurge of tenant {}, step by step:", p.tenant);
    for (i, step) in p.steps.iter().enumerate() {
        let by = serde_json::to_value(step.by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(s, "  {}. {by} {}", i + 1, step.action);
    }
    let _ = writeln!(
        s,
        "the provider can decrypt {} leaves for {} hours after the revocation; afterwards {} leaves recover from what is left ({})",
        p.provider_leaves_in_window,
        p.window_hours,
        p.leaves_left,
        if p.leaves_left == 0 {
            "cryptographic"
        } else {
            "not cryptographic"
        }
    );
    let _ = writeln!(s, "what remains decryptable, and by whom:");
    for r in &p.residue {
        let _ = writeln!(
            s,
            "  - {}: {} leaves, through {}, until {}",
            r.holder, r.leaves, r.through, r.until
        );
    }
    s
}
