//! What a workload is, as a person types it and as the engine runs it.
//!
//! [`WorkloadSpec`] is the text form, parsed once at the edge (`FromStr`) and
//! displayed as a row's label (`rotate-root ck1 all`, `unwrap-all cold`,
//! `shred tenant 0`): roles by name or by owner, role and extent optional so a
//! suite can fill them in ([`WorkloadSpec::expand`]). [`Workload`] is what
//! [`run`](super::run) executes, built against one design
//! ([`WorkloadSpec::resolve`]): its role is that design's [`RoleId`]. Nothing
//! here touches keys, and nothing here knows any design's role names.

use core::fmt;
use core::str::FromStr;

use crate::error::{Error, Result};
use crate::graph::design::{Controller, Design, Owner, RoleId, Scope};
use crate::graph::reach::Extent;

/// What a workload does, without its arguments: the `kind` of a row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Generate and wrap every key.
    #[default]
    Provision,
    /// Recover every leaf from the roots.
    UnwrapAll,
    /// Routine rotation of a root role.
    RotateRoot,
    /// Compromise of a root role.
    Revoke,
    /// Crypto-shred one tenant.
    Shred,
    /// The documented data purge path of one tenant.
    Purge,
    /// A new DEP for one tenant: the tenant's key under its customer roots
    /// (SharePoint's TIK) is rolled.
    NewDep,
}

impl WorkloadKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [WorkloadKind; 7] = [
        WorkloadKind::Provision,
        WorkloadKind::UnwrapAll,
        WorkloadKind::RotateRoot,
        WorkloadKind::Revoke,
        WorkloadKind::Shred,
        WorkloadKind::Purge,
        WorkloadKind::NewDep,
    ];

    /// Its name, as typed and as in reports.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Provision => "provision",
            WorkloadKind::UnwrapAll => "unwrap-all",
            WorkloadKind::RotateRoot => "rotate-root",
            WorkloadKind::Revoke => "revoke",
            WorkloadKind::Shred => "shred",
            WorkloadKind::Purge => "purge",
            WorkloadKind::NewDep => "new-dep",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl clap::ValueEnum for WorkloadKind {
    fn value_variants<'a>() -> &'a [Self] {
        &WorkloadKind::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// Which root role a workload names, before it meets a design.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolePick {
    /// A role by its name in the design (`ck1`).
    Named(String),
    /// The design's first root role held by this owner, in role order
    /// (typed `customer` or `provider`).
    FirstOf(Owner),
}

impl RolePick {
    /// The pair a bare `rotate-root` or `revoke` stands for: the design's
    /// first customer root, then its first provider root.
    pub const DEFAULTS: [RolePick; 2] = [
        RolePick::FirstOf(Owner::Customer),
        RolePick::FirstOf(Owner::Provider),
    ];

    /// The root role this pick names in `design`, or [`Error::UnknownRole`]
    /// naming the design and its roots.
    pub fn resolve(&self, design: &Design) -> Result<RoleId> {
        let found = match self {
            RolePick::Named(name) => design
                .role_by_name(name)
                .filter(|&r| design.roles[usize::from(r)].is_root()),
            RolePick::FirstOf(owner) => design.roots_of(*owner).first().copied(),
        };
        found.ok_or_else(|| unknown_role(design, self.to_string()))
    }
}

/// [`Error::UnknownRole`]: `role` is no root role of `design`.
pub fn unknown_role(design: &Design, role: String) -> Error {
    Error::UnknownRole {
        design: design.name.clone(),
        role,
        roots: design
            .root_roles()
            .iter()
            .map(|&r| design.roles[usize::from(r)].name.clone())
            .collect(),
    }
}

impl fmt::Display for RolePick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolePick::Named(name) => f.write_str(name),
            RolePick::FirstOf(owner) => f.write_str(owner.name()),
        }
    }
}

impl From<&str> for RolePick {
    /// `customer` and `provider` pick by owner; any other text is a role name.
    fn from(s: &str) -> Self {
        match s {
            "customer" => RolePick::FirstOf(Owner::Customer),
            "provider" => RolePick::FirstOf(Owner::Provider),
            name => RolePick::Named(name.to_owned()),
        }
    }
}

/// A workload as typed, independent of any design.
///
/// Parsed from `NAME`, `NAME:ROLE` or `NAME:ROLE:EXTENT` (NAME one of
/// provision, unwrap-all, unwrap-all-cold, rotate-root, rotate-root-lazy,
/// revoke, shred, purge) or from a row label (`rotate-root ck1 all lazy`,
/// `unwrap-all cold`, `shred tenant 3`, `purge tenant 0`); displayed as the row label, which
/// parses back to the same spec. ROLE is a root role's name, or `customer` /
/// `provider` for the design's first root of that owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkloadSpec {
    /// Generate and wrap every key.
    Provision,
    /// Recover every leaf from the roots.
    UnwrapAll {
        /// Open the whole path for every leaf (no cache).
        cold: bool,
    },
    /// Routine rotation of a root role.
    RotateRoot {
        /// The role (none: [`RolePick::DEFAULTS`]).
        role: Option<RolePick>,
        /// How much of it (none: every extent).
        extent: Option<Extent>,
        /// Rewrap on access instead of at once.
        lazy: bool,
    },
    /// Compromise of a root role.
    Revoke {
        /// The role (none: [`RolePick::DEFAULTS`]).
        role: Option<RolePick>,
        /// How much of it (none: every extent).
        extent: Option<Extent>,
    },
    /// Crypto-shred one tenant.
    Shred {
        /// The tenant (0 is the largest).
        tenant: u32,
    },
    /// The data purge path of one tenant.
    Purge {
        /// The tenant (0 is the largest).
        tenant: u32,
    },
    /// A new DEP for one tenant: new customer keys, and the tenant's key
    /// under them rolled (SharePoint's TIK; the multi-workload DEP key).
    NewDep {
        /// The tenant (0 is the largest).
        tenant: u32,
    },
}

impl WorkloadSpec {
    /// Whether it names a role by name (not by owner, not by default).
    pub fn names_a_role(&self) -> bool {
        matches!(
            self,
            WorkloadSpec::RotateRoot {
                role: Some(RolePick::Named(_)),
                ..
            } | WorkloadSpec::Revoke {
                role: Some(RolePick::Named(_)),
                ..
            }
        )
    }

    /// Its kind.
    pub fn kind(&self) -> WorkloadKind {
        match self {
            WorkloadSpec::Provision => WorkloadKind::Provision,
            WorkloadSpec::UnwrapAll { .. } => WorkloadKind::UnwrapAll,
            WorkloadSpec::RotateRoot { .. } => WorkloadKind::RotateRoot,
            WorkloadSpec::Revoke { .. } => WorkloadKind::Revoke,
            WorkloadSpec::Shred { .. } => WorkloadKind::Shred,
            WorkloadSpec::Purge { .. } => WorkloadKind::Purge,
            WorkloadSpec::NewDep { .. } => WorkloadKind::NewDep,
        }
    }

    /// The specs this one stands for, each with its role and extent given: a
    /// missing role is [`RolePick::DEFAULTS`] (outer loop), a missing extent
    /// every extent, narrowest first (inner loop).
    pub fn expand(&self) -> Vec<WorkloadSpec> {
        let (role, extent) = match self {
            WorkloadSpec::RotateRoot { role, extent, .. }
            | WorkloadSpec::Revoke { role, extent } => (role, extent),
            other => return vec![other.clone()],
        };
        let roles = match role {
            Some(r) => vec![r.clone()],
            None => RolePick::DEFAULTS.to_vec(),
        };
        let extents = match extent {
            Some(e) => vec![*e],
            None => Extent::ALL.to_vec(),
        };
        let mut out = Vec::with_capacity(roles.len() * extents.len());
        for role in roles {
            for &extent in &extents {
                out.push(match self {
                    WorkloadSpec::RotateRoot { lazy, .. } => WorkloadSpec::RotateRoot {
                        role: Some(role.clone()),
                        extent: Some(extent),
                        lazy: *lazy,
                    },
                    _ => WorkloadSpec::Revoke {
                        role: Some(role.clone()),
                        extent: Some(extent),
                    },
                });
            }
        }
        out
    }

    /// The workload this spec names on `design`. A rotation or revocation
    /// needs its role and extent (see [`WorkloadSpec::expand`]); a role the
    /// design lacks is [`Error::UnknownRole`].
    pub fn resolve(&self, design: &Design) -> Result<Workload> {
        let role_and_extent = |role: &Option<RolePick>, extent: &Option<Extent>| {
            let (Some(role), Some(extent)) = (role, extent) else {
                return Err(Error::invalid(
                    "workload",
                    format!("{self} on {} needs a root role and an extent", design.name),
                ));
            };
            Ok((role.resolve(design)?, *extent))
        };
        Ok(match self {
            WorkloadSpec::Provision => Workload::Provision,
            WorkloadSpec::UnwrapAll { cold } => Workload::UnwrapAll { cold: *cold },
            WorkloadSpec::RotateRoot { role, extent, lazy } => {
                let (role, extent) = role_and_extent(role, extent)?;
                Workload::RotateRoot {
                    role,
                    extent,
                    lazy: *lazy,
                }
            }
            WorkloadSpec::Revoke { role, extent } => {
                let (role, extent) = role_and_extent(role, extent)?;
                Workload::Revoke { role, extent }
            }
            WorkloadSpec::Shred { tenant } => Workload::Shred { tenant: *tenant },
            WorkloadSpec::Purge { tenant } => Workload::Purge { tenant: *tenant },
            WorkloadSpec::NewDep { tenant } => {
                if design.rolled_on_new_dep().is_empty() {
                    return Err(Error::invalid(
                        "workload",
                        format!(
                            "new-dep on {}: no key of a tenant sits under its customer roots, so a new DEP rolls nothing (each DEP is its own key: a new one adds a group and changes no existing key); it applies where a tenant key is shared by the tenant's DEPs, as SharePoint's TIK",
                            design.name
                        ),
                    ));
                }
                Workload::NewDep { tenant: *tenant }
            }
        })
    }
}

impl fmt::Display for WorkloadSpec {
    /// The row label: `provision`, `unwrap-all cold`, `rotate-root ck1 all lazy`,
    /// `revoke ak one`, `shred tenant 0` (a missing role or extent is left out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind().name())?;
        match self {
            WorkloadSpec::Provision | WorkloadSpec::UnwrapAll { cold: false } => Ok(()),
            WorkloadSpec::UnwrapAll { cold: true } => f.write_str(" cold"),
            WorkloadSpec::RotateRoot { role, extent, .. }
            | WorkloadSpec::Revoke { role, extent } => {
                if let Some(role) = role {
                    write!(f, " {role}")?;
                }
                if let Some(extent) = extent {
                    write!(f, " {}", extent.name())?;
                }
                if let WorkloadSpec::RotateRoot { lazy: true, .. } = self {
                    f.write_str(" lazy")?;
                }
                Ok(())
            }
            WorkloadSpec::Shred { tenant }
            | WorkloadSpec::Purge { tenant }
            | WorkloadSpec::NewDep { tenant } => write!(f, " tenant {tenant}"),
        }
    }
}

impl FromStr for WorkloadSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: String| Error::invalid("workload", format!("{s:?}: {why}"));
        let mut words: Vec<&str> = if s.contains(':') {
            s.split(':').collect()
        } else {
            s.split_whitespace().collect()
        };
        if words.iter().any(|w| w.is_empty()) {
            return Err(bad("an empty part".into()));
        }
        let Some((&name, _)) = words.split_first() else {
            return Err(bad("no workload named".into()));
        };
        let mut lazy = name == "rotate-root-lazy";
        if name == "rotate-root" && words.len() > 1 && words.last() == Some(&"lazy") {
            lazy = true;
            words.pop();
        }
        let rest = &words[1..];
        let nothing_more = |spec: WorkloadSpec| {
            if rest.is_empty() {
                Ok(spec)
            } else {
                Err(bad(format!("{name} takes nothing after it")))
            }
        };
        match name {
            "provision" => nothing_more(WorkloadSpec::Provision),
            "unwrap-all-cold" => nothing_more(WorkloadSpec::UnwrapAll { cold: true }),
            "unwrap-all" => match rest {
                [] => Ok(WorkloadSpec::UnwrapAll { cold: false }),
                ["cold"] => Ok(WorkloadSpec::UnwrapAll { cold: true }),
                _ => Err(bad("unwrap-all takes only `cold` after it".into())),
            },
            "shred" | "purge" | "new-dep" => {
                let tenant = match rest {
                    [] => 0,
                    ["tenant", t] => t
                        .parse()
                        .map_err(|_| bad(format!("tenant {t:?} is not a number")))?,
                    _ => return Err(bad(format!("{name} takes only `tenant N` after it"))),
                };
                Ok(match name {
                    "shred" => WorkloadSpec::Shred { tenant },
                    "purge" => WorkloadSpec::Purge { tenant },
                    _ => WorkloadSpec::NewDep { tenant },
                })
            }
            "rotate-root" | "rotate-root-lazy" | "revoke" => {
                if rest.len() > 2 {
                    return Err(bad(format!("{name} takes at most a role and an extent")));
                }
                let role = rest.first().map(|&r| RolePick::from(r));
                let extent = match rest.get(1) {
                    None => None,
                    Some(e) => Some(
                        Extent::from_name(e)
                            .ok_or_else(|| bad("extent must be one, tenant or all".into()))?,
                    ),
                };
                Ok(if name == "revoke" {
                    WorkloadSpec::Revoke { role, extent }
                } else {
                    WorkloadSpec::RotateRoot { role, extent, lazy }
                })
            }
            other => Err(bad(format!(
                "unknown workload {other:?}; expected provision, unwrap-all, unwrap-all-cold, rotate-root, rotate-root-lazy, revoke, shred, purge or new-dep"
            ))),
        }
    }
}

/// A workload built against one design: what [`run`](super::run) executes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Generate and wrap every key.
    Provision,
    /// Recover every leaf from the roots.
    UnwrapAll {
        /// Open the whole path for every leaf (no cache).
        cold: bool,
    },
    /// Routine rotation of a root role.
    RotateRoot {
        /// The root role, in the design it was built against.
        role: RoleId,
        /// How much of it.
        extent: Extent,
        /// Rewrap on access instead of at once.
        lazy: bool,
    },
    /// Compromise of a root role.
    Revoke {
        /// The root role, in the design it was built against.
        role: RoleId,
        /// How much of it.
        extent: Extent,
    },
    /// Crypto-shred one tenant.
    Shred {
        /// The tenant.
        tenant: u32,
    },
    /// The data purge path of one tenant.
    Purge {
        /// The tenant.
        tenant: u32,
    },
    /// A new DEP for one tenant (see [`WorkloadSpec::NewDep`]).
    NewDep {
        /// The tenant.
        tenant: u32,
    },
}

impl Workload {
    /// Its kind.
    pub fn kind(&self) -> WorkloadKind {
        match self {
            Workload::Provision => WorkloadKind::Provision,
            Workload::UnwrapAll { .. } => WorkloadKind::UnwrapAll,
            Workload::RotateRoot { .. } => WorkloadKind::RotateRoot,
            Workload::Revoke { .. } => WorkloadKind::Revoke,
            Workload::Shred { .. } => WorkloadKind::Shred,
            Workload::Purge { .. } => WorkloadKind::Purge,
            Workload::NewDep { .. } => WorkloadKind::NewDep,
        }
    }

    /// Who can perform it on `design`, from the owners of the keys it acts
    /// on: a rotation or revocation is its root's owner's; a shred destroys
    /// the tenant's own roots (not global ones), so it is the customer's only
    /// when the customer holds every one of them; a purge is the customer's
    /// request that the provider completes; provision and unwrap-all are the
    /// service's own work.
    pub fn controller(&self, design: &Design) -> Controller {
        match *self {
            Workload::Provision | Workload::UnwrapAll { .. } => Controller::Provider,
            Workload::RotateRoot { role, .. } | Workload::Revoke { role, .. } => {
                Controller::of_owners(design.roles.get(usize::from(role)).map(|r| r.owner))
            }
            Workload::Shred { .. } => Controller::of_owners(
                design
                    .roles
                    .iter()
                    .filter(|r| r.is_root() && !matches!(r.scope, Scope::Global | Scope::Forest))
                    .map(|r| r.owner),
            ),
            // the customer creates the DEP (its keys in its vaults); the
            // service rolls the tenant key on its own
            Workload::Purge { .. } | Workload::NewDep { .. } => Controller::CustomerRequest,
        }
    }

    /// The root role it acts on, if any.
    pub fn role(&self) -> Option<RoleId> {
        match self {
            Workload::RotateRoot { role, .. } | Workload::Revoke { role, .. } => Some(*role),
            _ => None,
        }
    }

    /// The spec that names it on `design` (its role by name).
    pub fn spec(&self, design: &Design) -> WorkloadSpec {
        let name = |r: RoleId| {
            RolePick::Named(
                design
                    .roles
                    .get(usize::from(r))
                    .map_or_else(|| format!("role{r}"), |role| role.name.clone()),
            )
        };
        match *self {
            Workload::Provision => WorkloadSpec::Provision,
            Workload::UnwrapAll { cold } => WorkloadSpec::UnwrapAll { cold },
            Workload::RotateRoot { role, extent, lazy } => WorkloadSpec::RotateRoot {
                role: Some(name(role)),
                extent: Some(extent),
                lazy,
            },
            Workload::Revoke { role, extent } => WorkloadSpec::Revoke {
                role: Some(name(role)),
                extent: Some(extent),
            },
            Workload::Shred { tenant } => WorkloadSpec::Shred { tenant },
            Workload::Purge { tenant } => WorkloadSpec::Purge { tenant },
            Workload::NewDep { tenant } => WorkloadSpec::NewDep { tenant },
        }
    }

    /// Its row label on `design`: `rotate-root ck1 all`, `unwrap-all cold`, ...
    pub fn label(&self, design: &Design) -> String {
        self.spec(design).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> WorkloadSpec {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_compare_grammar_and_the_row_labels_parse_to_the_same_specs() {
        let ck1 = || Some(RolePick::Named("ck1".into()));
        let cases = [
            ("provision", "provision", WorkloadSpec::Provision),
            (
                "unwrap-all",
                "unwrap-all",
                WorkloadSpec::UnwrapAll { cold: false },
            ),
            (
                "unwrap-all-cold",
                "unwrap-all cold",
                WorkloadSpec::UnwrapAll { cold: true },
            ),
            ("shred", "shred tenant 0", WorkloadSpec::Shred { tenant: 0 }),
            (
                "rotate-root-lazy:ck1:all",
                "rotate-root ck1 all lazy",
                WorkloadSpec::RotateRoot {
                    role: ck1(),
                    extent: Some(Extent::All),
                    lazy: true,
                },
            ),
            (
                "revoke:ak:one",
                "revoke ak one",
                WorkloadSpec::Revoke {
                    role: Some(RolePick::Named("ak".into())),
                    extent: Some(Extent::One),
                },
            ),
            (
                "rotate-root:ck1",
                "rotate-root ck1",
                WorkloadSpec::RotateRoot {
                    role: ck1(),
                    extent: None,
                    lazy: false,
                },
            ),
            (
                "revoke:provider:tenant",
                "revoke provider tenant",
                WorkloadSpec::Revoke {
                    role: Some(RolePick::FirstOf(Owner::Provider)),
                    extent: Some(Extent::Tenant),
                },
            ),
            (
                "revoke",
                "revoke",
                WorkloadSpec::Revoke {
                    role: None,
                    extent: None,
                },
            ),
        ];
        for (typed, label, want) in cases {
            assert_eq!(parse(typed), want, "{typed}");
            assert_eq!(want.to_string(), label, "{typed}");
            assert_eq!(parse(label), want, "{label} parses back");
        }
        assert_eq!(parse("shred tenant 7"), WorkloadSpec::Shred { tenant: 7 });
        assert_eq!(parse("purge"), WorkloadSpec::Purge { tenant: 0 });
        assert_eq!(parse("purge tenant 2").to_string(), "purge tenant 2");
    }

    #[test]
    fn malformed_specs_are_refused() {
        for s in [
            "",
            "rotate",
            "revoke:ak:everywhere",
            "revoke:ak:all:more",
            "revoke::all",
            "provision:ck1",
            "unwrap-all warm",
            "shred tenant x",
            "purge tenant",
            "purge:ck1",
            "revoke ak all lazy",
        ] {
            assert!(
                matches!(s.parse::<WorkloadSpec>(), Err(Error::InvalidField { .. })),
                "{s:?}"
            );
        }
    }

    #[test]
    fn bare_rotations_expand_to_the_customer_and_provider_roots_at_every_extent() {
        let design = Design::m365();
        let labels: Vec<String> = parse("rotate-root")
            .expand()
            .iter()
            .map(|s| s.resolve(&design).unwrap().label(&design))
            .collect();
        assert_eq!(
            labels,
            [
                "rotate-root ck1 one",
                "rotate-root ck1 tenant",
                "rotate-root ck1 all",
                "rotate-root ak one",
                "rotate-root ak tenant",
                "rotate-root ak all",
            ]
        );
        // sharepoint lists its provider root first: owners, not positions, decide
        let sp = Design::sharepoint();
        let ids: Vec<RoleId> = RolePick::DEFAULTS
            .iter()
            .map(|p| p.resolve(&sp).unwrap())
            .collect();
        assert_eq!(ids, [1, 0]);
    }

    #[test]
    fn a_role_the_design_lacks_is_an_error_naming_the_design_and_its_roots() {
        let dke = Design::dke();
        let err = parse("revoke:ck2:all").resolve(&dke).unwrap_err();
        assert_eq!(
            err,
            Error::UnknownRole {
                design: "dke".into(),
                role: "ck2".into(),
                roots: vec!["ck1".into(), "ak".into()],
            }
        );
        // a role that is not a root is no more a workload's role
        assert!(matches!(
            parse("revoke:dep:all").resolve(&dke),
            Err(Error::UnknownRole { .. })
        ));
        // and a rotation without an extent names no single workload
        assert!(matches!(
            parse("rotate-root:ck1").resolve(&dke),
            Err(Error::InvalidField { .. })
        ));
    }

    #[test]
    fn controllers_follow_the_owners_of_the_keys_acted_on() {
        let m365 = Design::m365();
        let on = |d: &Design, s: &str| {
            let w = parse(s).resolve(d).unwrap();
            w.controller(d)
        };
        assert_eq!(on(&m365, "rotate-root:ck1:all"), Controller::Customer);
        assert_eq!(on(&m365, "rotate-root:ak:all"), Controller::Provider);
        assert_eq!(on(&m365, "revoke:provider:one"), Controller::Provider);
        // m365's ak lies in the tenant: shredding it needs the provider too
        assert_eq!(on(&m365, "shred"), Controller::Joint);
        assert_eq!(on(&m365, "purge"), Controller::CustomerRequest);
        assert_eq!(on(&m365, "unwrap-all"), Controller::Provider);
        // sharepoint's ak is global: a shred destroys only the customer's roots
        assert_eq!(on(&Design::sharepoint(), "shred"), Controller::Customer);
        let baseline = Design::provider();
        assert_eq!(on(&baseline, "shred"), Controller::Provider);
        assert_eq!(on(&baseline, "rotate-root:pk:all"), Controller::Provider);
    }
}
