//! Which root serves a request when some roots fail: Microsoft 365's
//! fallback order as data, for the designs whose promise is "any one root
//! opens it" (each customer root in the design's role order, then the
//! provider's availability root).
//!
//! From learn.microsoft.com, "Learn about the availability key for Customer
//! Key" (Microsoft Purview), read on 2026-12-02 from keyhier's stored copies:
//! "If unwrap fails with one Customer Key, the service tries the second. If
//! both fail with system errors, it falls back to the availability key.
//! Access denied errors don't trigger fallback" for user-initiated
//! operations; for operations Microsoft 365 initiates itself (anti-malware
//! scans, eDiscovery, DLP, mailbox migrations, indexing) the availability key
//! is used on both, until it is deleted (issue 14 quotes the same pages). The
//! availability key "provides a high-availability capability ... This rule
//! only applies to Exchange"; SharePoint and OneDrive "never use the
//! availability key unless you explicitly instruct Microsoft to initiate the
//! recovery process" ([`FallbackPolicy::sharepoint`]).
//!
//! How a mixed failure reads (one customer key denied, the other down): the
//! page's "both fail with system errors" is taken literally, so a user
//! request falls back only when every customer root failed with a system
//! error. A customer key the customer deleted counts, like a revoked one, as
//! the customer's action, never as a system error.

use crate::graph::design::{Design, Owner, RoleId};

/// Who asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A user's request (read a mailbox).
    User,
    /// The service's own operation (indexing, migration, malware scan).
    Service,
}

/// The state of one root key, as the service sees it when it asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootState {
    /// Answers.
    Available,
    /// The customer revoked the service's access (an explicit customer action).
    AccessDenied,
    /// Unreachable: an outage or transient error (not the customer's doing).
    SystemError,
    /// Deleted.
    Deleted,
}

impl RootState {
    /// Every state.
    pub const ALL: [RootState; 4] = [
        RootState::Available,
        RootState::AccessDenied,
        RootState::SystemError,
        RootState::Deleted,
    ];
}

/// When the provider's root may stand in for the customer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FallbackPolicy {
    /// The failures of the customer roots on which a user request falls back
    /// (every customer root must have failed with one of these).
    pub user_falls_back_on: &'static [RootState],
    /// The same for the service's own operations.
    pub service_falls_back_on: &'static [RootState],
}

impl FallbackPolicy {
    /// Exchange Online (and multi-workload DEPs): user requests fall back
    /// only on system errors; the service's own operations on every failure,
    /// for as long as the availability key exists.
    pub const fn exchange() -> FallbackPolicy {
        FallbackPolicy {
            user_falls_back_on: &[RootState::SystemError],
            service_falls_back_on: &[
                RootState::SystemError,
                RootState::AccessDenied,
                RootState::Deleted,
            ],
        }
    }

    /// SharePoint Online and OneDrive: no automatic fallback; the
    /// availability key only in a recovery the customer asks for.
    pub const fn sharepoint() -> FallbackPolicy {
        FallbackPolicy {
            user_falls_back_on: &[],
            service_falls_back_on: &[],
        }
    }

    fn falls_back_on(&self, origin: Origin) -> &'static [RootState] {
        match origin {
            Origin::User => self.user_falls_back_on,
            Origin::Service => self.service_falls_back_on,
        }
    }

    /// The root that serves a request of `origin` on `design` when each root
    /// role is in `state(role)`, or `None`: the design's customer roots in
    /// role order, the first available one; failing all of them, the first
    /// available provider root, if every customer root's failure is one this
    /// policy falls back on.
    pub fn serving_root(
        &self,
        design: &Design,
        origin: Origin,
        state: &dyn Fn(RoleId) -> RootState,
    ) -> Option<RoleId> {
        let customer = design.roots_of(Owner::Customer);
        if let Some(&r) = customer.iter().find(|&&r| state(r) == RootState::Available) {
            return Some(r);
        }
        let allowed = self.falls_back_on(origin);
        if !customer.iter().all(|&r| allowed.contains(&state(r))) {
            return None;
        }
        design
            .roots_of(Owner::Provider)
            .into_iter()
            .find(|&r| state(r) == RootState::Available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RootState::*;

    /// The serving root's name for m365 with ck1, ck2, ak in the given states.
    fn serves(policy: FallbackPolicy, origin: Origin, states: [RootState; 3]) -> Option<String> {
        let d = Design::m365();
        let names = ["ck1", "ck2", "ak"];
        let state = |r: RoleId| {
            let name = &d.roles[usize::from(r)].name;
            names
                .iter()
                .position(|n| n == name)
                .map_or(Available, |i| states[i])
        };
        policy
            .serving_root(&d, origin, &state)
            .map(|r| d.roles[usize::from(r)].name.clone())
    }

    #[test]
    fn exchange_tries_ck1_then_ck2_then_falls_back_only_as_documented() {
        let ex = FallbackPolicy::exchange();
        let s = |o, st| serves(ex, o, st);
        for o in [Origin::User, Origin::Service] {
            assert_eq!(s(o, [Available; 3]).as_deref(), Some("ck1"));
            assert_eq!(
                s(o, [SystemError, Available, Available]).as_deref(),
                Some("ck2")
            );
            assert_eq!(
                s(o, [AccessDenied, Available, Deleted]).as_deref(),
                Some("ck2")
            );
            // both customer keys down: the availability key, for both origins
            assert_eq!(
                s(o, [SystemError, SystemError, Available]).as_deref(),
                Some("ak")
            );
            // ... unless it is gone too
            assert_eq!(s(o, [SystemError, SystemError, Deleted]), None);
            assert_eq!(s(o, [SystemError, SystemError, SystemError]), None);
        }
        // the customer revoked both: users are refused, the service carries on
        assert_eq!(
            s(Origin::User, [AccessDenied, AccessDenied, Available]),
            None
        );
        assert_eq!(
            s(Origin::Service, [AccessDenied, AccessDenied, Available]).as_deref(),
            Some("ak")
        );
        // ... until the availability key is deleted
        assert_eq!(
            s(Origin::Service, [AccessDenied, AccessDenied, Deleted]),
            None
        );
        // one revoked, one down: not "both fail with system errors"
        assert_eq!(
            s(Origin::User, [AccessDenied, SystemError, Available]),
            None
        );
        assert_eq!(
            s(Origin::Service, [AccessDenied, SystemError, Available]).as_deref(),
            Some("ak")
        );
        assert_eq!(s(Origin::User, [Deleted, Deleted, Available]), None);
        assert_eq!(
            s(Origin::Service, [Deleted, Deleted, Available]).as_deref(),
            Some("ak")
        );
    }

    #[test]
    fn sharepoint_never_falls_back_on_its_own() {
        for o in [Origin::User, Origin::Service] {
            for a in RootState::ALL {
                for b in RootState::ALL {
                    let got = serves(FallbackPolicy::sharepoint(), o, [a, b, Available]);
                    let want = [(a, "ck1"), (b, "ck2")]
                        .iter()
                        .find(|(st, _)| *st == Available)
                        .map(|(_, n)| n.to_string());
                    assert_eq!(got, want, "{o:?} {a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn every_state_combination_serves_a_root_that_is_available() {
        let d = Design::m365();
        for policy in [FallbackPolicy::exchange(), FallbackPolicy::sharepoint()] {
            for o in [Origin::User, Origin::Service] {
                for a in RootState::ALL {
                    for b in RootState::ALL {
                        for c in RootState::ALL {
                            let st = [a, b, c];
                            if let Some(name) = serves(policy, o, st) {
                                let i = ["ck1", "ck2", "ak"].iter().position(|n| *n == name);
                                assert_eq!(i.map(|i| st[i]), Some(Available), "{o:?} {st:?}");
                            }
                        }
                    }
                }
            }
        }
        // a design without a provider root never falls back
        let mut only_customer = d.clone();
        only_customer.roles[2].owner = Owner::Customer;
        let ex = FallbackPolicy::exchange();
        assert_eq!(
            ex.serving_root(&only_customer, Origin::Service, &|_| SystemError),
            None
        );
    }
}
