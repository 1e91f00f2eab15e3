//! Designs as data: each design is a list of roles, and each role says where
//! its keys live (global, per tenant, per group, per tree level, per leaf),
//! how many of its slots recover it, and under which roles each slot is
//! wrapped. The generator, the recovery engine, the analyses and every
//! workload read only this table; none of them branches on a design's name.
//!
//! Adding a design is a constructor below and an entry of [`CATALOGUE`],
//! which also states the design's promise (which roots open a leaf); the
//! names, the fuzz targets' picks and the test oracles all read the catalogue.

use crate::error::{Error, Result};

/// Where the keys of a role live, coarsest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Scope {
    /// One key shared by every tenant.
    Global,
    /// One key per forest, shared by the tenants the service hosts in it
    /// (SharePoint Online's availability key): tenant `t` is in forest
    /// `t % forests` ([`Design::forests`]).
    Forest,
    /// One key per tenant.
    Tenant,
    /// One key per group (a DEP, a site).
    Group,
    /// Intermediate tree level `L` (1-based) between the group and the leaves.
    Level(u8),
    /// One key per leaf (mailbox, blob).
    Leaf,
}

impl Scope {
    /// A short name.
    pub fn name(self) -> String {
        match self {
            Scope::Global => "global".into(),
            Scope::Forest => "forest".into(),
            Scope::Tenant => "tenant".into(),
            Scope::Group => "group".into(),
            Scope::Level(l) => format!("level{l}"),
            Scope::Leaf => "leaf".into(),
        }
    }
}

/// Index of a role in [`Design::roles`].
pub type RoleId = u8;

/// One role of a design.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Role {
    /// Name, e.g. `ck1`, `dep`, `mailbox`.
    pub name: String,
    /// Where keys of this role live.
    pub scope: Scope,
    /// How many slots recover a key (1: any one).
    pub threshold: u8,
    /// Whether slots hold shares of the key (k-of-n) rather than the whole key.
    pub shares: bool,
    /// Slots: each a list of wrapping roles, innermost first (more than one: nested).
    pub slots: Vec<Vec<RoleId>>,
    /// Who holds it.
    pub owner: Owner,
    /// For a provider root: the provider's services never use it on their
    /// own, only in a recovery the customer asks for (SharePoint's
    /// availability key). `false` for every other role.
    pub recovery_only: bool,
}

/// Who holds the keys of a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// The customer (its own key vault or HSM): a customer-managed root.
    Customer,
    /// The provider (a provider-managed root, such as an availability key).
    Provider,
    /// Neither directly: a key stored only wrapped under other roles.
    Derived,
}

impl Owner {
    /// Its name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Owner::Customer => "customer",
            Owner::Provider => "provider",
            Owner::Derived => "derived",
        }
    }
}

/// Who can perform an operation on a design: read from the owners of the
/// keys it acts on, never from the design's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Controller {
    /// The customer alone (its own roots).
    Customer,
    /// The provider alone: the customer can neither do it nor ask for it
    /// (the availability key is rolled only by the provider, on its own schedule).
    Provider,
    /// Keys of both owners change, and no documented path lets the
    /// customer do it (shredding a tenant whose data sits under a provider root).
    Joint,
    /// The customer starts it and the provider completes it on the
    /// customer's documented request (the data purge path).
    CustomerRequest,
}

impl Controller {
    /// Its name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Customer => "customer",
            Controller::Provider => "provider",
            Controller::Joint => "joint",
            Controller::CustomerRequest => "customer-request",
        }
    }

    /// Whether the customer can do it alone or by a documented request.
    pub fn open_to_customer(self) -> bool {
        matches!(self, Controller::Customer | Controller::CustomerRequest)
    }

    /// Who controls an operation on keys of these owners: the customer's
    /// alone, the provider's alone, or both.
    pub fn of_owners(owners: impl IntoIterator<Item = Owner>) -> Controller {
        let (mut customer, mut provider) = (false, false);
        for o in owners {
            match o {
                Owner::Customer => customer = true,
                // a derived key is held by the service that stores its wraps
                Owner::Provider | Owner::Derived => provider = true,
            }
        }
        match (customer, provider) {
            (true, false) => Controller::Customer,
            (true, true) => Controller::Joint,
            _ => Controller::Provider,
        }
    }
}

/// Whether the provider purges a tenant's data on the customer's request
/// (the customer revokes its roots, the provider deletes its keys of the
/// tenant), and if not, why: a fact of the service the design models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Purge {
    /// The data purge path exists for this kind of key.
    Supported,
    /// It does not; the reason, as the service documents it.
    Unsupported(&'static str),
}

impl Role {
    /// A root: held in a keyring, never wrapped.
    pub fn is_root(&self) -> bool {
        self.slots.is_empty()
    }
}

/// A design: roles plus the fan-outs of extra tree levels.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Design {
    /// The name as typed (`m365`, `tree:4,4`, ...).
    pub name: String,
    /// One line on what it models.
    pub summary: &'static str,
    /// Roles, in generation order (a role's slots name only earlier roles).
    pub roles: Vec<Role>,
    /// Fan-outs of tree levels 1..=d (empty for designs without extra levels).
    pub fanouts: Vec<u32>,
    /// Most groups a tenant may have (Exchange Online: 50 DEPs per tenant).
    pub max_groups_per_tenant: Option<u32>,
    /// Whether the provider purges a tenant's data on request.
    pub purge: Purge,
    /// Forests the tenants are spread over (tenant `t` in forest `t %
    /// forests`): one key of each forest-scoped role per forest. 1 for every
    /// design without a forest-scoped role.
    pub forests: u32,
}

fn root(name: &str, scope: Scope, owner: Owner) -> Role {
    Role {
        name: name.into(),
        scope,
        threshold: 1,
        shares: false,
        slots: vec![],
        owner,
        recovery_only: false,
    }
}

fn wrapped(name: &str, scope: Scope, slots: Vec<Vec<RoleId>>) -> Role {
    Role {
        name: name.into(),
        scope,
        threshold: 1,
        shares: false,
        slots,
        owner: Owner::Derived,
        recovery_only: false,
    }
}

/// Which roots open a leaf, as a design's definition says: at least `need`
/// of the roots of the roles `of` above the leaf (for each role its one key
/// over that leaf: the global key, the leaf's tenant's, or the leaf's group's,
/// by the role's scope). Written from the design's description, never from its
/// slots: it is what the engine's recovery and reach are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Promise {
    /// How many of the roles' keys are needed.
    pub need: u8,
    /// Root roles, by name.
    pub of: &'static [&'static str],
}

impl Promise {
    /// Any one of `roles`.
    pub const fn any_of(roles: &'static [&'static str]) -> Promise {
        Promise { need: 1, of: roles }
    }

    /// Every one of `roles`.
    pub const fn all_of(roles: &'static [&'static str]) -> Promise {
        Promise {
            need: roles.len() as u8,
            of: roles,
        }
    }

    /// At least `need` of `roles`.
    pub const fn at_least(need: u8, roles: &'static [&'static str]) -> Promise {
        Promise { need, of: roles }
    }

    /// Whether a leaf of `design` opens; `held(role)` says whether the key of
    /// `role` above the leaf is available. A name `design` lacks is never held.
    pub fn opens(&self, design: &Design, held: &dyn Fn(RoleId) -> bool) -> bool {
        let held = self
            .of
            .iter()
            .filter(|name| design.role_by_name(name).is_some_and(held))
            .count();
        held >= usize::from(self.need)
    }
}

/// How a catalogue entry builds its design.
#[derive(Clone, Copy, Debug)]
pub enum Build {
    /// A design without parameters.
    Fixed(fn() -> Design),
    /// A family taking fan-outs after a `:` (`tree:4,4`).
    Fanouts(fn(&[u32]) -> Design),
    /// A design with a forest-scoped role, optionally `:forests=N` (`sharepoint:forests=8`).
    Forests(fn() -> Design),
}

/// One built-in design: its name, its constructor and its promise.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The name; for a family, the part before the `:` (`tree`).
    pub name: &'static str,
    /// The constructor.
    pub build: Build,
    /// The instance listed for `--help`, `compare` and the tests ([`DESIGN_NAMES`]).
    pub listed: &'static str,
    /// The tiny instance the fuzz targets generate.
    pub fuzzed: &'static str,
    /// Which roots open a leaf.
    pub promise: Promise,
}

impl Entry {
    const fn fixed(name: &'static str, make: fn() -> Design, promise: Promise) -> Entry {
        Entry {
            name,
            build: Build::Fixed(make),
            listed: name,
            fuzzed: name,
            promise,
        }
    }

    /// Whether `name` is an instance of this entry, and then its parameters
    /// (the text after a family's `:`; empty for a fixed design).
    fn params<'n>(&self, name: &'n str) -> Option<&'n str> {
        match self.build {
            Build::Fixed(_) => (name == self.name).then_some(""),
            Build::Fanouts(_) => name.strip_prefix(self.name)?.strip_prefix(':'),
            Build::Forests(_) => {
                let rest = name.strip_prefix(self.name)?;
                if rest.is_empty() {
                    Some("")
                } else {
                    rest.strip_prefix(':')
                }
            }
        }
    }

    /// How its name is written (`m365`, `tree:F1,F2,...`).
    fn syntax(&self) -> String {
        match self.build {
            Build::Fixed(_) => self.name.into(),
            Build::Fanouts(_) => format!("{}:F1,F2,...", self.name),
            Build::Forests(_) => format!("{}[:forests=N]", self.name),
        }
    }

    /// The entry `name` is an instance of.
    pub fn of(name: &str) -> Option<&'static Entry> {
        CATALOGUE.iter().find(|e| e.params(name).is_some())
    }
}

/// Every built-in design, in the order `compare`, the reports and the fuzz
/// targets' inputs list them. Adding a design is a constructor below and an
/// entry here, at the end. The fuzz inputs pick a design among the first
/// [`FUZZED`] entries as `(x * len) >> 32` of a `u32` `x`: reordering those
/// entries, or fuzzing more of them, changes the design most committed corpus
/// inputs pick (they still replay, but test other designs than they were kept
/// for; regenerate and re-minimise the corpus then). Entries after them are
/// checked by the tests' exhaustive oracles, not fuzzed.
pub const CATALOGUE: [Entry; 8] = [
    Entry::fixed("m365", Design::m365, Promise::any_of(&["ck1", "ck2", "ak"])),
    Entry::fixed("flat", Design::flat, Promise::any_of(&["ck1", "ck2", "ak"])),
    Entry::fixed("dke", Design::dke, Promise::all_of(&["ck1", "ak"])),
    Entry::fixed(
        "threshold",
        Design::threshold,
        Promise::at_least(2, &["ck1", "ck2", "ak"]),
    ),
    Entry {
        name: "sharepoint",
        build: Build::Forests(Design::sharepoint),
        listed: "sharepoint",
        fuzzed: "sharepoint",
        promise: Promise::any_of(&["ck1", "ck2", "ak"]),
    },
    Entry {
        name: "tree",
        build: Build::Fanouts(Design::tree),
        listed: "tree:4,4",
        fuzzed: "tree:2,2",
        promise: Promise::any_of(&["ck1", "ck2", "ak"]),
    },
    Entry::fixed("provider", Design::provider, Promise::any_of(&["pk"])),
    Entry::fixed(
        "multi",
        Design::multi,
        Promise::any_of(&["ck1", "ck2", "ak"]),
    ),
];

/// The entries the fuzz targets pick from: the first six, in the order the
/// committed corpus was kept for (see [`CATALOGUE`]).
pub const FUZZED: &[Entry] = CATALOGUE.split_at(6).0;

/// Names of the built-in designs, for `--help` and `compare` (each entry's listed instance).
pub const DESIGN_NAMES: [&str; CATALOGUE.len()] = {
    let mut names = [""; CATALOGUE.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = CATALOGUE[i].listed;
        i += 1;
    }
    names
};

/// Most forests a design's tenants are spread over.
pub const MAX_FORESTS: u32 = 4096;

/// Reads fan-outs `F1,F2,...`: 1 to 8 of them, each 1 to 1024.
fn parse_fanouts(spec: &str) -> Option<Vec<u32>> {
    spec.split(',')
        .map(|f| {
            f.trim()
                .parse::<u32>()
                .ok()
                .filter(|f| (1..=1024).contains(f))
        })
        .collect::<Option<Vec<u32>>>()
        .filter(|v| !v.is_empty() && v.len() <= 8)
}

impl Design {
    /// Parses a design name: an entry of [`CATALOGUE`] (`m365`, `flat`, `dke`,
    /// `threshold`, `sharepoint`, `tree:F1,F2,...`, `provider`, `multi`).
    pub fn by_name(name: &str) -> Result<Design> {
        let Some((entry, params)) = CATALOGUE.iter().find_map(|e| Some((e, e.params(name)?)))
        else {
            let expected: Vec<String> = CATALOGUE.iter().map(Entry::syntax).collect();
            return Err(Error::InvalidShape(format!(
                "unknown design {name:?}; expected one of {}",
                expected.join(", ")
            )));
        };
        let d = match entry.build {
            Build::Fixed(make) => make(),
            Build::Fanouts(make) => {
                let fanouts = parse_fanouts(params).ok_or_else(|| {
                    Error::InvalidShape(format!(
                        "design {name:?}: expected {} with 1 to 8 fan-outs, each 1 to 1024",
                        entry.syntax()
                    ))
                })?;
                make(&fanouts)
            }
            Build::Forests(make) => {
                let d = make();
                if params.is_empty() {
                    d
                } else {
                    let n = params
                        .strip_prefix("forests=")
                        .and_then(|n| n.parse::<u32>().ok())
                        .ok_or_else(|| {
                            Error::InvalidShape(format!(
                                "design {name:?}: expected {} with N from 1 to {MAX_FORESTS}",
                                entry.syntax()
                            ))
                        })?;
                    d.with_forests(n)?
                }
            }
        };
        d.validate()?;
        Ok(d)
    }

    /// Whether some key of this design is held per forest.
    pub fn has_forest_roles(&self) -> bool {
        self.roles.iter().any(|r| r.scope == Scope::Forest)
    }

    /// This design with its tenants spread over `n` forests (1 to
    /// [`MAX_FORESTS`]), named `NAME:forests=N` (plain `NAME` for one).
    /// Fails for a design without a forest-scoped role.
    pub fn with_forests(mut self, n: u32) -> Result<Design> {
        if !self.has_forest_roles() {
            return Err(Error::InvalidShape(format!(
                "design {}: no key is held per forest, so forests do not apply (sharepoint has one)",
                self.name
            )));
        }
        if !(1..=MAX_FORESTS).contains(&n) {
            return Err(Error::InvalidShape(format!(
                "design {}: forests must be 1 to {MAX_FORESTS}, not {n}",
                self.name
            )));
        }
        let base = self.name.split(':').next().unwrap_or_default().to_owned();
        self.name = if n == 1 {
            base
        } else {
            format!("{base}:forests={n}")
        };
        self.forests = n;
        Ok(self)
    }

    /// The forest of tenant `t`.
    pub fn forest_of(&self, t: u32) -> u32 {
        t % self.forests.max(1)
    }

    /// What this design promises (its catalogue entry's), if it is a built-in one.
    pub fn promise(&self) -> Option<Promise> {
        Entry::of(&self.name).map(|e| e.promise)
    }

    /// Exchange Online Customer Key: per tenant `ck1`, `ck2`; per DEP an
    /// availability key `ak`; the DEP key under any one of the three; mailbox
    /// keys under the DEP key.
    pub fn m365() -> Design {
        Design {
            name: "m365".into(),
            summary: "Exchange Online Customer Key: DEP key under any of ck1, ck2, ak; mailboxes under the DEP",
            roles: vec![
                root("ck1", Scope::Tenant, Owner::Customer),
                root("ck2", Scope::Tenant, Owner::Customer),
                root("ak", Scope::Group, Owner::Provider),
                wrapped("dep", Scope::Group, vec![vec![0], vec![1], vec![2]]),
                wrapped("mailbox", Scope::Leaf, vec![vec![3]]),
            ],
            fanouts: vec![],
            forests: 1,
            max_groups_per_tenant: Some(50),
            purge: Purge::Supported,
        }
    }

    /// The multi-keyring pattern: each leaf wrapped under each of the tenant's
    /// `ck1`, `ck2`, `ak`; no intermediate key.
    pub fn flat() -> Design {
        Design {
            name: "flat".into(),
            summary: "multi-keyring: every leaf wrapped under each of ck1, ck2, ak",
            roles: vec![
                root("ck1", Scope::Tenant, Owner::Customer),
                root("ck2", Scope::Tenant, Owner::Customer),
                root("ak", Scope::Tenant, Owner::Provider),
                wrapped("mailbox", Scope::Leaf, vec![vec![0], vec![1], vec![2]]),
            ],
            fanouts: vec![],
            forests: 1,
            max_groups_per_tenant: None,
            purge: Purge::Supported,
        }
    }

    /// Double key encryption: the DEP key nested under the customer's `ck1`,
    /// then the provider's `ak`; both needed, no availability path.
    pub fn dke() -> Design {
        Design {
            name: "dke".into(),
            summary: "double key: DEP key nested under ck1 then ak, both needed",
            roles: vec![
                root("ck1", Scope::Tenant, Owner::Customer),
                root("ak", Scope::Group, Owner::Provider),
                wrapped("dep", Scope::Group, vec![vec![0, 1]]),
                wrapped("mailbox", Scope::Leaf, vec![vec![2]]),
            ],
            fanouts: vec![],
            forests: 1,
            max_groups_per_tenant: Some(50),
            purge: Purge::Supported,
        }
    }

    /// 2-of-3: the DEP key split into three Shamir shares under `ck1`, `ck2`, `ak`.
    pub fn threshold() -> Design {
        let mut d = Design::m365();
        d.name = "threshold".into();
        d.summary = "2-of-3 Shamir shares of the DEP key under ck1, ck2, ak";
        d.roles[3].threshold = 2;
        d.roles[3].shares = true;
        d
    }

    /// SharePoint Online Customer Key: per tenant an intermediate key (`tik`)
    /// under `ck1`, `ck2` and one global availability key; sites under the
    /// TIK; blobs under sites. The availability key is used only in a
    /// recovery the customer asks for ("SharePoint and OneDrive only use the
    /// availability key during an explicit recovery you request": Microsoft
    /// Learn, "Learn about the availability key for Customer Key"), and the
    /// data purge path does not cover SharePoint DEPs.
    ///
    /// The availability key is held per forest and shared by every tenant of
    /// the forest ("SharePoint Online and OneDrive for Business: the
    /// availability key is at the forest level": Microsoft Learn, "Learn
    /// about the availability key"). By default the run's tenants share one
    /// forest (a forest hosts many tenants); `sharepoint:forests=N` (or
    /// `--forests N`) spreads them round-robin over N.
    pub fn sharepoint() -> Design {
        let mut ak = root("ak", Scope::Forest, Owner::Provider);
        ak.recovery_only = true;
        Design {
            name: "sharepoint".into(),
            summary: "SharePoint Online: TIK under ck1, ck2 and the forest's ak; sites under the TIK; blobs under sites",
            roles: vec![
                ak,
                root("ck1", Scope::Tenant, Owner::Customer),
                root("ck2", Scope::Tenant, Owner::Customer),
                wrapped("tik", Scope::Tenant, vec![vec![1], vec![2], vec![0]]),
                wrapped("site", Scope::Group, vec![vec![3]]),
                wrapped("blob", Scope::Leaf, vec![vec![4]]),
            ],
            fanouts: vec![],
            forests: 1,
            max_groups_per_tenant: None,
            purge: Purge::Unsupported(
                "the data purge path does not cover SharePoint Online and OneDrive DEPs (Microsoft Learn, Customer Key: data purge)",
            ),
        }
    }

    /// The m365 roots and DEP, then intermediate levels with the given fan-outs
    /// between the DEP and the leaves.
    pub fn tree(fanouts: &[u32]) -> Design {
        let mut roles = Design::m365().roles;
        roles.pop(); // the leaf role comes last
        let mut parent: RoleId = 3; // dep
        for (i, _) in fanouts.iter().enumerate() {
            let level = (i + 1) as u8;
            roles.push(wrapped(
                &format!("l{level}"),
                Scope::Level(level),
                vec![vec![parent]],
            ));
            parent = (roles.len() - 1) as RoleId;
        }
        roles.push(wrapped("mailbox", Scope::Leaf, vec![vec![parent]]));
        let list: Vec<String> = fanouts.iter().map(u32::to_string).collect();
        Design {
            name: format!("tree:{}", list.join(",")),
            summary: "m365 roots and DEP, then extra tree levels above the leaves",
            roles,
            fanouts: fanouts.to_vec(),
            forests: 1,
            max_groups_per_tenant: Some(50),
            purge: Purge::Supported,
        }
    }

    /// Provider-managed keys, the baseline Customer Key is bought to improve
    /// on: one provider root (`pk`) above each DEP, the DEP key under it,
    /// mailbox keys under the DEP. The customer holds no key.
    pub fn provider() -> Design {
        Design {
            name: "provider".into(),
            summary: "provider-managed keys only: the DEP key under one provider root pk; mailboxes under the DEP",
            roles: vec![
                root("pk", Scope::Group, Owner::Provider),
                wrapped("dep", Scope::Group, vec![vec![0]]),
                wrapped("mailbox", Scope::Leaf, vec![vec![1]]),
            ],
            fanouts: vec![],
            forests: 1,
            max_groups_per_tenant: Some(50),
            purge: Purge::Unsupported(
                "the data purge path is a Customer Key feature: with provider-managed keys the customer holds no root to revoke",
            ),
        }
    }

    /// A Microsoft 365 multi-workload DEP: one DEP per tenant, under the
    /// tenant's `ck1`, `ck2` and a per-tenant availability key `ak`; every
    /// workload's items (groups: Teams, Purview, ...) under it. Not purgeable.
    pub fn multi() -> Design {
        Design {
            name: "multi".into(),
            summary: "multi-workload DEP: one DEP per tenant under ck1, ck2, ak; every workload's items under it; not purgeable",
            roles: vec![
                root("ck1", Scope::Tenant, Owner::Customer),
                root("ck2", Scope::Tenant, Owner::Customer),
                root("ak", Scope::Tenant, Owner::Provider),
                wrapped("dep", Scope::Tenant, vec![vec![0], vec![1], vec![2]]),
                wrapped("item", Scope::Leaf, vec![vec![3]]),
            ],
            fanouts: vec![],
            forests: 1,
            max_groups_per_tenant: None,
            purge: Purge::Unsupported(
                "the data purge path does not cover multi-workload DEPs (Microsoft Learn, Customer Key: data purge)",
            ),
        }
    }

    /// The built-in design whose every root is the provider's: what the
    /// service offers without customer keys, the baseline `risk` and
    /// `compare` set each design against.
    pub fn baseline() -> Option<Design> {
        DESIGN_NAMES
            .iter()
            .filter_map(|n| Design::by_name(n).ok())
            .find(|d| !d.root_roles().is_empty() && d.roots_of(Owner::Customer).is_empty())
    }

    /// Checks the rules the engine relies on.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidShape(format!("design {}: {m}", self.name)));
        if self.roles.is_empty() || self.roles.len() > 64 {
            return bad("1 to 64 roles".into());
        }
        // Layout arithmetic is in u64 and node ids in u32: a group's bottom level
        // wider than that is no design (tree:1024 x 8 would overflow).
        let width = self.fanouts.iter().try_fold(1u64, |w, &f| {
            w.checked_mul(u64::from(f))
                .filter(|&w| w < u64::from(u32::MAX))
        });
        if width.is_none() {
            return bad("tree levels wider than 2^32 keys".into());
        }
        let leaves: Vec<_> = self
            .roles
            .iter()
            .filter(|r| r.scope == Scope::Leaf)
            .collect();
        if leaves.len() != 1 || self.roles.last().map(|r| r.scope) != Some(Scope::Leaf) {
            return bad("exactly one leaf role, last".into());
        }
        if self.forests == 0
            || self.forests > MAX_FORESTS
            || (!self.has_forest_roles() && self.forests != 1)
        {
            return bad(format!(
                "{} forests (1 to {MAX_FORESTS}, and 1 without a forest-scoped role)",
                self.forests
            ));
        }
        for (i, r) in self.roles.iter().enumerate() {
            if let Scope::Level(l) = r.scope
                && (l == 0 || usize::from(l) > self.fanouts.len())
            {
                return bad(format!("role {} at level {l} without a fan-out", r.name));
            }
            if r.recovery_only && !(r.is_root() && r.owner == Owner::Provider) {
                return bad(format!(
                    "role {}: only a provider root can be used for recovery only",
                    r.name
                ));
            }
            if r.is_root() {
                continue;
            }
            if r.scope == Scope::Forest {
                return bad(format!(
                    "role {}: a forest-scoped key must be a root",
                    r.name
                ));
            }
            if r.threshold == 0 || usize::from(r.threshold) > r.slots.len() {
                return bad(format!(
                    "role {}: threshold {} of {} slots",
                    r.name,
                    r.threshold,
                    r.slots.len()
                ));
            }
            if r.threshold > 1 && !r.shares {
                return bad(format!("role {}: a threshold above 1 needs shares", r.name));
            }
            if r.slots.len() > 255 {
                return bad(format!("role {}: more than 255 slots", r.name));
            }
            for slot in &r.slots {
                if slot.is_empty() || slot.len() > crate::crypto::wire::MAX_LAYERS {
                    return bad(format!(
                        "role {}: a slot needs 1 to {} layers",
                        r.name,
                        crate::crypto::wire::MAX_LAYERS
                    ));
                }
                for &p in slot {
                    let Some(pr) = self.roles.get(usize::from(p)) else {
                        return bad(format!("role {}: slot names an unknown role", r.name));
                    };
                    if usize::from(p) >= i || pr.scope > r.scope || pr.scope == Scope::Leaf {
                        return bad(format!(
                            "role {}: slot under {} which is not an earlier, coarser-or-equal role",
                            r.name, pr.name
                        ));
                    }
                    if pr.scope == r.scope && matches!(r.scope, Scope::Level(_)) {
                        return bad(format!(
                            "role {}: level roles wrap under the level above",
                            r.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Root role sets to analyse: each root role, then each pair.
    pub fn root_role_sets(&self) -> Vec<Vec<RoleId>> {
        let roots = self.root_roles();
        let mut sets: Vec<Vec<RoleId>> = roots.iter().map(|&r| vec![r]).collect();
        for (i, &a) in roots.iter().enumerate() {
            for &b in &roots[i + 1..] {
                sets.push(vec![a, b]);
            }
        }
        sets
    }

    /// The derived roles a new DEP rolls: tenant-scoped keys wrapped directly
    /// under a tenant's customer roots, shared by the tenant's DEPs
    /// (SharePoint's TIK, "rolled when a new DEP is created"; the
    /// multi-workload DEP key). Empty where each DEP is its own key (m365).
    pub fn rolled_on_new_dep(&self) -> Vec<RoleId> {
        (0..self.roles.len() as RoleId)
            .filter(|&r| {
                let role = &self.roles[usize::from(r)];
                !role.is_root()
                    && role.scope == Scope::Tenant
                    && role.slots.iter().flatten().any(|&p| {
                        let parent = &self.roles[usize::from(p)];
                        parent.is_root() && parent.owner == Owner::Customer
                    })
            })
            .collect()
    }

    /// Role ids that are roots.
    pub fn root_roles(&self) -> Vec<RoleId> {
        (0..self.roles.len() as RoleId)
            .filter(|&r| self.roles[usize::from(r)].is_root())
            .collect()
    }

    /// Root roles held by `owner`, in role order.
    pub fn roots_of(&self, owner: Owner) -> Vec<RoleId> {
        self.root_roles()
            .into_iter()
            .filter(|&r| self.roles[usize::from(r)].owner == owner)
            .collect()
    }

    /// The leaf role.
    pub fn leaf_role(&self) -> RoleId {
        (self.roles.len() - 1) as RoleId
    }

    /// Finds a role by name.
    pub fn role_by_name(&self, name: &str) -> Option<RoleId> {
        self.roles
            .iter()
            .position(|r| r.name == name)
            .map(|i| i as RoleId)
    }

    /// Most layers of any slot (the width of the KEK table).
    pub fn max_layers(&self) -> usize {
        self.roles
            .iter()
            .flat_map(|r| r.slots.iter().map(Vec::len))
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// Product of the fan-outs: the number of bottom tree nodes per group.
    pub fn bottom_width(&self) -> u64 {
        self.fanouts.iter().map(|&f| u64::from(f)).product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_design_validates() {
        for name in DESIGN_NAMES.iter().chain(&["tree:2", "tree:3,3,3"]) {
            Design::by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn every_entry_names_its_instances_and_promises_only_its_root_roles() {
        for e in &CATALOGUE {
            for name in [e.listed, e.fuzzed] {
                let d = Design::by_name(name).unwrap_or_else(|err| panic!("{name}: {err}"));
                assert_eq!(d.name, name, "{name} builds a design of another name");
                assert_eq!(Entry::of(name).map(|x| x.name), Some(e.name), "{name}");
                assert_eq!(d.promise(), Some(e.promise), "{name}");
                let roots = d.root_roles();
                for role in e.promise.of {
                    assert!(
                        d.role_by_name(role).is_some_and(|r| roots.contains(&r)),
                        "{name}: the promise names {role}, not a root role"
                    );
                }
                let need = usize::from(e.promise.need);
                assert!((1..=e.promise.of.len()).contains(&need), "{name}");
            }
        }
    }

    /// The fuzz inputs pick a design by its index in the catalogue: the
    /// committed corpus reads as the same designs only in this order.
    #[test]
    fn the_catalogue_keeps_its_order() {
        let fuzzed: Vec<&str> = FUZZED.iter().map(|e| e.fuzzed).collect();
        assert_eq!(
            fuzzed,
            ["m365", "flat", "dke", "threshold", "sharepoint", "tree:2,2"]
        );
        // the fuzzed entries open the catalogue; later designs only follow them
        for (f, c) in FUZZED.iter().zip(&CATALOGUE) {
            assert_eq!(f.name, c.name);
        }
        assert_eq!(
            DESIGN_NAMES,
            [
                "m365",
                "flat",
                "dke",
                "threshold",
                "sharepoint",
                "tree:4,4",
                "provider",
                "multi"
            ]
        );
    }

    #[test]
    fn the_baseline_holds_only_provider_roots_and_controllers_follow_owners() {
        let b = Design::baseline().unwrap();
        assert_eq!(b.name, "provider");
        assert_eq!(b.roots_of(Owner::Customer), Vec::<RoleId>::new());
        assert!(!b.roots_of(Owner::Provider).is_empty());
        use Controller::*;
        assert_eq!(Controller::of_owners([Owner::Customer]), Customer);
        assert_eq!(Controller::of_owners([Owner::Provider]), Provider);
        assert_eq!(
            Controller::of_owners([Owner::Customer, Owner::Provider]),
            Joint
        );
        assert_eq!(Controller::of_owners([]), Provider);
        assert!(Customer.open_to_customer() && CustomerRequest.open_to_customer());
        assert!(!Provider.open_to_customer() && !Joint.open_to_customer());
    }

    #[test]
    fn a_promise_counts_the_roles_held() {
        let d = Design::threshold();
        let two = Promise::at_least(2, &["ck1", "ck2", "ak"]);
        let dd = &d;
        let held = |names: &'static [&'static str]| {
            move |r: RoleId| names.iter().any(|n| dd.role_by_name(n) == Some(r))
        };
        assert!(!two.opens(&d, &held(&["ak"])));
        assert!(two.opens(&d, &held(&["ck2", "ak"])));
        assert!(
            !two.opens(&d, &held(&["ak", "dep"])),
            "dep is not in the promise"
        );
        assert!(Promise::any_of(&["ck2"]).opens(&d, &held(&["ck2"])));
        assert!(!Promise::all_of(&["ck1", "nope"]).opens(&d, &|_| true));
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            "m366",
            "tree:",
            "tree:0",
            "tree:a",
            "tree:1,2,3,4,5,6,7,8,9",
            "tree:5000",
            "tree:1024,1024,1024,1024",
        ] {
            assert!(
                matches!(Design::by_name(bad), Err(Error::InvalidShape(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn validation_catches_forward_references() {
        let mut d = Design::m365();
        d.roles[3].slots.push(vec![4]);
        assert!(d.validate().is_err());
        let mut d = Design::m365();
        d.roles[3].threshold = 2;
        assert!(d.validate().is_err(), "threshold without shares");
    }
}
