//! Lost, revoked by the customer, leaked: who still decrypts, on `tiny`.
//! The documented cases (Customer Key: once both customer keys are revoked,
//! users are refused but the provider's services go on through the
//! availability key; SharePoint uses its availability key only on request),
//! the customer's real control under threshold and dke, and agreement with
//! the exposure and availability tables where both answer the same question.

use keyhier::SchemeId;
use keyhier::internal::analysis::exposure::blast;
use keyhier::internal::analysis::states::{KeyState, StateRow, states};
use keyhier::internal::graph::design::{DESIGN_NAMES, Design, Owner, Scope};
use keyhier::internal::graph::hierarchy::Hierarchy;
use keyhier::internal::graph::reach::Extent;
use keyhier::internal::graph::shape::Shape;
use keyhier::internal::graph::skeleton::skeleton;

fn tiny(design: &str) -> Hierarchy {
    let d = Design::by_name(design).unwrap();
    skeleton(&d, &Shape::preset("tiny").unwrap(), SchemeId::Kw, 1).unwrap()
}

fn row<'a>(rows: &'a [StateRow], roles: &str, state: KeyState) -> &'a StateRow {
    rows.iter()
        .find(|r| r.roles == roles && r.state == state)
        .unwrap_or_else(|| panic!("no row {roles} {}", state.name()))
}

/// (users, provider services, provider on request, attacker)
fn shares(r: &StateRow) -> (f64, f64, f64, f64) {
    (
        r.users.unwrap(),
        r.provider_services.unwrap(),
        r.provider_on_request.unwrap(),
        r.attacker.unwrap(),
    )
}

#[test]
fn m365_revoked_is_not_lost_the_provider_decrypts_until_ak_is_deleted() {
    let rows = states(&tiny("m365"));
    let revoked = row(&rows, "ck1+ck2", KeyState::Revoked);
    assert_eq!(shares(revoked), (0.0, 1.0, 1.0, 0.0));
    assert!(
        revoked
            .note
            .contains("through ak until the provider deletes it"),
        "{}",
        revoked.note
    );
    let lost = row(&rows, "ck1+ck2", KeyState::Lost);
    assert_eq!(shares(lost), (1.0, 1.0, 1.0, 0.0));
    // one customer key revoked: the other still serves users
    assert_eq!(
        shares(row(&rows, "ck1", KeyState::Revoked)),
        (1.0, 1.0, 1.0, 0.0)
    );
    // leaked: everyone as before, and the attacker too
    assert_eq!(
        shares(row(&rows, "ck2", KeyState::Leaked)),
        (1.0, 1.0, 1.0, 1.0)
    );
}

#[test]
fn sharepoint_uses_its_availability_key_only_on_request() {
    let rows = states(&tiny("sharepoint"));
    for state in [KeyState::Lost, KeyState::Revoked] {
        assert_eq!(
            shares(row(&rows, "ck1+ck2", state)),
            (0.0, 0.0, 1.0, 0.0),
            "{}",
            state.name()
        );
    }
}

#[test]
fn threshold_and_dke_give_the_customer_real_control() {
    let rows = states(&tiny("threshold"));
    assert_eq!(
        shares(row(&rows, "ck1+ck2", KeyState::Revoked)),
        (0.0, 0.0, 0.0, 0.0)
    );
    // one of ck1, ck2 is one share: users go on with the other and ak
    assert_eq!(
        shares(row(&rows, "ck1", KeyState::Revoked)),
        (1.0, 1.0, 1.0, 0.0)
    );
    let rows = states(&tiny("dke"));
    assert_eq!(
        shares(row(&rows, "ck1", KeyState::Revoked)),
        (0.0, 0.0, 0.0, 0.0)
    );
    assert_eq!(row(&rows, "ck1", KeyState::Leaked).attacker, Some(0.0));
}

#[test]
fn only_the_customers_own_roots_can_be_revoked_by_it() {
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let h = tiny(name);
        for r in states(&h) {
            let roles: Vec<&str> = r.roles.split('+').collect();
            let all_customer = roles.iter().all(|n| {
                let id = h.design.role_by_name(n).unwrap();
                h.design.roles[usize::from(id)].owner == Owner::Customer
            });
            if r.state == KeyState::Revoked {
                assert_eq!(r.applies, all_customer, "{name} {}", r.roles);
                assert_eq!(r.users.is_some(), all_customer, "{name} {}", r.roles);
            } else {
                assert!(r.applies);
            }
        }
    }
}

/// Where no root is global and none is recovery-only, the attacker's share
/// of a leak and the users' share after a loss are blast's, at extent tenant.
#[test]
fn leaks_and_losses_agree_with_the_exposure_and_availability_tables() {
    for name in DESIGN_NAMES.iter().chain(&["sharepoint:forests=3"]) {
        let h = tiny(name);
        if h.design
            .roles
            .iter()
            .any(|r| r.scope == Scope::Global || r.recovery_only)
        {
            continue;
        }
        let b = blast(&h);
        for r in &b.states {
            let tenant_rows = |x: &&keyhier::internal::analysis::exposure::ExposureRow| {
                x.roles == r.roles && x.extent == Extent::Tenant
            };
            let leaves = r.tenant_leaves as f64;
            match r.state {
                KeyState::Leaked => {
                    let e = b.exposure.iter().find(tenant_rows).unwrap();
                    assert_eq!(
                        r.attacker.unwrap() * leaves,
                        e.leaves_exposed as f64,
                        "{name} {}",
                        r.roles
                    );
                }
                KeyState::Lost => {
                    let a = b
                        .availability
                        .iter()
                        .find(|x| x.roles == r.roles && x.extent == Extent::Tenant)
                        .unwrap();
                    assert_eq!(
                        leaves - r.users.unwrap() * leaves,
                        a.leaves_lost as f64,
                        "{name} {}",
                        r.roles
                    );
                }
                KeyState::Revoked => {}
            }
        }
    }
}
