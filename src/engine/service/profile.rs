//! Key-service profiles as data: the quotas each service enforces, what each
//! kind of root operation is charged against them, and the retry policy a
//! client follows when it is throttled. One constructor per service family;
//! [`builtin_profiles`] is the list every run is costed against. Nothing here
//! simulates anything (that is [`super::sim`]).
//!
//! Every figure below was read on 2026-12-02 from keyhier's stored copies of
//! the vendors' pages (the `search` tool's `docs` and `pages` corpora), not
//! from the live pages: check the current pages before you quote them.
//!
//! - **Azure Key Vault**, learn.microsoft.com, "Azure Key Vault service
//!   limits" (resource type vault): key transactions, maximum allowed in 10
//!   seconds, per vault per region. HSM-protected keys: RSA 2,048-bit CREATE
//!   key 10, all other transactions 2,000; RSA 3,072-bit 10 / 500; RSA
//!   4,096-bit 10 / 250. Software-protected keys: RSA 2,048-bit 20 / 4,000;
//!   RSA 3,072-bit 20 / 1,000; RSA 4,096-bit 20 / 500. "The throttling
//!   thresholds are weighted, and enforcement is on their sum" (so one CREATE
//!   of an HSM RSA-2048 key costs 2,000 / 10 = 200 other transactions' worth),
//!   and "a subscription-wide limit for all transaction types is five times
//!   per key vault limit". Throttled requests get HTTP 429; "failed requests
//!   that return a 429 do not count towards the throttle limits" (current
//!   "Azure Key Vault throttling guidance"; an older copy said they did).
//!   Retry policy from the same guidance: "Wait 1 second, retry request; if
//!   still throttled wait 2 seconds, ... 4 ... 8 ... 16 seconds". The guidance
//!   names no jitter; keyhier adds ±250 ms (the Google API client's default
//!   delta, below) so that workers do not retry in lock-step, and stops
//!   doubling at 16 s. The same guidance notes that "encrypt, wrap, and verify
//!   public-key operations" can be done without Key Vault once the public key
//!   is cached: with an RSA customer key a wrap needs no vault transaction
//!   ([`ServiceProfile::public_key_wraps`]; off unless asked, see
//!   [`super::sim::SimOptions::local_public_wraps`]).
//! - **AWS KMS**, docs.aws.amazon.com, "AWS KMS request quotas": quotas per
//!   second per account and Region; cryptographic operations (Encrypt,
//!   Decrypt, ReEncrypt, GenerateDataKey, ...) share one quota per key type:
//!   "10,000 (shared)" for symmetric keys by default (20,000 in some Regions,
//!   a list we only read in part), "500 (shared) for RSA KMS keys"; "each
//!   request quota is calculated independently", and in "each one-second
//!   interval". CreateKey 5 per second and ScheduleKeyDeletion 5 per second
//!   (the table of an older revision of the page, awsdocs/aws-kms-developer-guide
//!   on GitHub; the current page's table did not survive in our copy). A new
//!   root version is a CreateKey (a compromised key is replaced, not rotated in
//!   place). Retry policy: the AWS SDKs' "exponential backoff with full jitter"
//!   (AWS SDK retry strategy pages); the 1 s base and 20 s cap are keyhier's
//!   choice, as we know the SDKs' standard mode, not read in our copy.
//! - **Google Cloud KMS**, cloud.google.com, "Cloud KMS quotas": cryptographic
//!   requests (encrypt, decrypt, asymmetricDecrypt, ...) are limited per
//!   calling project; the limit, 60,000 queries per minute, is from the Cloud
//!   KMS release notes of 2019-08-22 ("increased from 600 QPM to 60,000 QPM"):
//!   the quotas page's own table did not survive in our copy, nor did the
//!   figures of the HSM quotas (`hsm_symmetric_requests`,
//!   `hsm_asymmetric_requests`, per hosting project per region, enforced per
//!   second), which are therefore not modelled: this profile is a software
//!   key's. Since 2026-02-16 every Cloud KMS quota is measured per region
//!   (the page's copy at documentation.s3ns.fr). Creating or destroying a key
//!   version is a write request: 60 per minute, a figure we found only in a
//!   Cloud KMS 429 error body quoted in a public issue
//!   (`WriteRequestsPerMinutePerProject`, `quota_limit_value: 60`), labelled as
//!   such. A throttled request gets RESOURCE_EXHAUSTED (HTTP 429). Retry
//!   policy: the Google API client's `ExponentialBackOff`, 1, 2, 4, 8, 16 s
//!   each ±250 ms (cloud.google.com, .NET reference of Google.Apis.Util); the
//!   32 s cap is keyhier's choice.
//! - **Your own rate** (`--root-ops-per-s R`): one quota of R operations per
//!   second, shared by every kind of request, with the AWS-style retry policy.
//!
//! A quota here is a token bucket refilled to its limit at the start of each
//! window (the services state their limits as counts per interval, not as
//! refill rates; a sliding window would differ by at most one window's burst).

use crate::error::{Error, Result};

/// What a request to the key service does: the root operations of
/// [`crate::graph::counts::Counts::root_ops`] by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    /// Create a root key, or a new version of one.
    Create,
    /// Unwrap (decrypt) under a root key.
    Unwrap,
    /// Wrap (encrypt) under a root key.
    Wrap,
    /// Destroy a root key (shred).
    Destroy,
}

impl RequestKind {
    /// Every kind, in the order a root's requests are sent (a new version
    /// first, then the unwraps of the old wraps, then the new wraps).
    pub const ALL: [RequestKind; 4] = [
        RequestKind::Create,
        RequestKind::Unwrap,
        RequestKind::Wrap,
        RequestKind::Destroy,
    ];

    /// Its index in [`RequestKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Create => "create",
            RequestKind::Unwrap => "unwrap",
            RequestKind::Wrap => "wrap",
            RequestKind::Destroy => "destroy",
        }
    }
}

/// What a quota is counted against (every built-in one also per region).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaScope {
    /// An Azure key vault.
    Vault,
    /// An AWS account.
    Account,
    /// A Google Cloud project.
    Project,
}

impl QuotaScope {
    /// Its name, as in reports and `--help`.
    pub fn name(self) -> &'static str {
        match self {
            QuotaScope::Vault => "vault",
            QuotaScope::Account => "account",
            QuotaScope::Project => "project",
        }
    }
}

/// One quota: at most `limit` units in each window of `window_ms`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Quota {
    /// What the vendor calls it.
    pub name: &'static str,
    /// Units allowed per window.
    pub limit: u64,
    /// The window, milliseconds.
    pub window_ms: u64,
}

/// What one request of a kind costs: `units` of quota `quota` (an index
/// into [`ServiceProfile::quotas`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Charge {
    /// Index of the quota.
    pub quota: usize,
    /// Units taken.
    pub units: u64,
}

/// How the randomised part of a retry delay is drawn.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Jitter {
    /// The delay as scheduled.
    None,
    /// Uniform between 0 and the scheduled delay ("full jitter").
    Full,
    /// The scheduled delay plus or minus up to `ms`, uniformly.
    PlusMinus {
        /// Largest change, milliseconds.
        ms: u64,
    },
}

/// Exponential backoff: after the `n`-th 429 in a row (1-based) a request
/// waits `min(base · 2^(n−1), cap)`, jittered, then is sent again, until it
/// succeeds.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Backoff {
    /// First delay, milliseconds.
    pub base_ms: u64,
    /// Largest delay before jitter, milliseconds.
    pub cap_ms: u64,
    /// The random part.
    pub jitter: Jitter,
}

/// A key service as it enforces its limits.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ServiceProfile {
    /// Short name: the `root_seconds_<name>` column of reports, `--profile NAME`.
    pub name: String,
    /// The service and key type, in words.
    pub about: String,
    /// What one quota scope is: the unit that "vaults per tenant" counts.
    pub scope: QuotaScope,
    /// The quotas of one scope.
    pub quotas: Vec<Quota>,
    /// What each [`RequestKind`] costs, by [`RequestKind::index`].
    pub charges: [Charge; 4],
    /// A cap over all the scopes of one tenant (Azure: the subscription,
    /// five times one vault's limits), as a multiple of each quota's limit.
    pub tenant_cap_factor: Option<u64>,
    /// The retry policy of a throttled client.
    pub backoff: Backoff,
    /// Whether a wrap is an RSA public-key operation a client can do without
    /// the service (once it holds the public key).
    pub public_key_wraps: bool,
    /// Where the figures come from, and when they were read.
    pub source: String,
}

/// Names of the built-in profiles, as in reports (and [`ProfileId::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProfileId {
    /// Azure Key Vault, HSM-protected RSA-4096.
    AkvRsa4096,
    /// Azure Key Vault, HSM-protected RSA-3072.
    AkvRsa3072,
    /// Azure Key Vault, HSM-protected RSA-2048.
    AkvRsa2048,
    /// Azure Key Vault, software-protected RSA-4096.
    AkvRsa4096Sw,
    /// Azure Key Vault, software-protected RSA-3072.
    AkvRsa3072Sw,
    /// Azure Key Vault, software-protected RSA-2048.
    AkvRsa2048Sw,
    /// AWS KMS, RSA keys.
    AwsKmsRsa,
    /// Google Cloud KMS, software keys.
    GcpKms,
    /// AWS KMS, symmetric keys.
    AwsKms,
    /// The user's own rate (`--root-ops-per-s`).
    User,
}

impl ProfileId {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ProfileId::AkvRsa4096 => "akv-rsa4096",
            ProfileId::AkvRsa3072 => "akv-rsa3072",
            ProfileId::AkvRsa2048 => "akv-rsa2048",
            ProfileId::AkvRsa4096Sw => "akv-rsa4096-sw",
            ProfileId::AkvRsa3072Sw => "akv-rsa3072-sw",
            ProfileId::AkvRsa2048Sw => "akv-rsa2048-sw",
            ProfileId::AwsKmsRsa => "aws-kms-rsa",
            ProfileId::GcpKms => "gcp-kms",
            ProfileId::AwsKms => "aws-kms",
            ProfileId::User => "user",
        }
    }
}

const AKV_SOURCE: &str = "learn.microsoft.com, Azure Key Vault service limits (per vault per region per 10 s; weighted, enforced on their sum; subscription 5x) and throttling guidance (backoff 1, 2, 4, 8, 16 s); read 2026-12-02 from a stored copy";
const AWS_SOURCE: &str = "docs.aws.amazon.com, AWS KMS request quotas (per account per Region per second, cryptographic operations shared; CreateKey and ScheduleKeyDeletion 5/s from an older revision on GitHub); backoff: full jitter as the AWS SDKs, 1 s base and 20 s cap keyhier's choice; read 2026-12-02 from a stored copy";
const GCP_SOURCE: &str = "cloud.google.com, Cloud KMS quotas (cryptographic requests per project per region; 60,000 per minute from the release notes of 2019-08-22; write requests 60 per minute from a quoted 429 error body); backoff: Google API client 1, 2, 4, ... s +-250 ms, 32 s cap keyhier's choice; read 2026-12-02 from a stored copy";

fn seconds(s: u64) -> u64 {
    s * 1000
}

/// An Azure Key Vault key: `create` CREATE-key and `other` other transactions
/// per 10 seconds per vault.
fn akv(id: ProfileId, about: &str, create: u64, other: u64) -> ServiceProfile {
    let per_request = Charge { quota: 0, units: 1 };
    ServiceProfile {
        name: id.name().into(),
        about: format!(
            "Azure Key Vault, {about}: {create} CREATE key or {other} other transactions per 10 s per vault (weighted, on their sum)"
        ),
        scope: QuotaScope::Vault,
        quotas: vec![Quota {
            name: "key transactions",
            limit: other,
            window_ms: seconds(10),
        }],
        charges: [
            Charge {
                quota: 0,
                units: other / create,
            },
            per_request,
            per_request,
            per_request,
        ],
        tenant_cap_factor: Some(5),
        backoff: Backoff {
            base_ms: seconds(1),
            cap_ms: seconds(16),
            jitter: Jitter::PlusMinus { ms: 250 },
        },
        public_key_wraps: true,
        source: AKV_SOURCE.into(),
    }
}

/// AWS KMS with a shared cryptographic quota of `crypto` requests per second.
fn aws(id: ProfileId, about: &str, crypto: u64, public_key_wraps: bool) -> ServiceProfile {
    ServiceProfile {
        name: id.name().into(),
        about: format!(
            "AWS KMS, {about}: {crypto} cryptographic requests per s per account (shared), CreateKey 5 per s"
        ),
        scope: QuotaScope::Account,
        quotas: vec![
            Quota {
                name: "cryptographic operations (shared)",
                limit: crypto,
                window_ms: seconds(1),
            },
            Quota {
                name: "CreateKey",
                limit: 5,
                window_ms: seconds(1),
            },
            Quota {
                name: "ScheduleKeyDeletion",
                limit: 5,
                window_ms: seconds(1),
            },
        ],
        charges: [
            Charge { quota: 1, units: 1 },
            Charge { quota: 0, units: 1 },
            Charge { quota: 0, units: 1 },
            Charge { quota: 2, units: 1 },
        ],
        tenant_cap_factor: None,
        backoff: Backoff {
            base_ms: seconds(1),
            cap_ms: seconds(20),
            jitter: Jitter::Full,
        },
        public_key_wraps,
        source: AWS_SOURCE.into(),
    }
}

/// Google Cloud KMS, software keys.
fn gcp() -> ServiceProfile {
    ServiceProfile {
        name: ProfileId::GcpKms.name().into(),
        about: "Google Cloud KMS, software keys: 60,000 cryptographic requests per minute per project, 60 write requests (new versions) per minute".into(),
        scope: QuotaScope::Project,
        quotas: vec![
            Quota {
                name: "cryptographic requests",
                limit: 60_000,
                window_ms: seconds(60),
            },
            Quota {
                name: "write requests",
                limit: 60,
                window_ms: seconds(60),
            },
        ],
        charges: [
            Charge { quota: 1, units: 1 },
            Charge { quota: 0, units: 1 },
            Charge { quota: 0, units: 1 },
            Charge { quota: 1, units: 1 },
        ],
        tenant_cap_factor: None,
        backoff: Backoff {
            base_ms: seconds(1),
            cap_ms: seconds(32),
            jitter: Jitter::PlusMinus { ms: 250 },
        },
        public_key_wraps: false,
        source: GCP_SOURCE.into(),
    }
}

/// The built-in profiles, slowest first.
pub fn builtin_profiles() -> Vec<ServiceProfile> {
    use ProfileId::*;
    vec![
        akv(AkvRsa4096, "HSM-protected RSA 4,096-bit", 10, 250),
        akv(AkvRsa3072, "HSM-protected RSA 3,072-bit", 10, 500),
        akv(AkvRsa4096Sw, "software-protected RSA 4,096-bit", 20, 500),
        akv(AkvRsa3072Sw, "software-protected RSA 3,072-bit", 20, 1000),
        akv(AkvRsa2048, "HSM-protected RSA 2,048-bit", 10, 2000),
        akv(AkvRsa2048Sw, "software-protected RSA 2,048-bit", 20, 4000),
        aws(AwsKmsRsa, "RSA keys", 500, true),
        gcp(),
        aws(AwsKms, "symmetric keys", 10_000, false),
    ]
}

/// A profile of the user's own rate: `ops_per_s` requests of any kind per
/// second (a fractional rate as `ceil(rate)` per `ceil(rate) / rate` s).
pub fn user_profile(ops_per_s: f64) -> Result<ServiceProfile> {
    if !(ops_per_s.is_finite() && ops_per_s > 0.0 && ops_per_s <= 1e9) {
        return Err(Error::InvalidArgument(format!(
            "a root-operation rate must be above 0 and at most 1e9 per second, not {ops_per_s}"
        )));
    }
    let limit = ops_per_s.ceil();
    let window_ms = ((limit / ops_per_s) * 1000.0).round().max(1.0) as u64;
    let one = Charge { quota: 0, units: 1 };
    Ok(ServiceProfile {
        name: ProfileId::User.name().into(),
        about: format!("your rate: {ops_per_s} root operations per second"),
        scope: QuotaScope::Vault,
        quotas: vec![Quota {
            name: "--root-ops-per-s",
            limit: limit as u64,
            window_ms,
        }],
        charges: [one; 4],
        tenant_cap_factor: None,
        backoff: Backoff {
            base_ms: seconds(1),
            cap_ms: seconds(20),
            jitter: Jitter::Full,
        },
        public_key_wraps: false,
        source: "--root-ops-per-s; backoff keyhier's choice (AWS-style full jitter)".into(),
    })
}

/// The built-in profiles plus a user's rate, if given (an invalid rate is
/// left out: the CLI refuses it before it gets here).
pub fn profiles(user_ops_per_s: Option<f64>) -> Vec<ServiceProfile> {
    let mut p = builtin_profiles();
    if let Some(u) = user_ops_per_s.and_then(|r| user_profile(r).ok()) {
        p.push(u);
    }
    p
}

/// The built-in profile named `name`.
pub fn profile_by_name(name: &str) -> Result<ServiceProfile> {
    builtin_profiles()
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            let names: Vec<String> = builtin_profiles().into_iter().map(|p| p.name).collect();
            Error::InvalidArgument(format!(
                "unknown key-service profile {name:?}; expected one of {}",
                names.join(", ")
            ))
        })
}

impl ServiceProfile {
    /// Requests of `kind` one scope can serve per second at most, alone.
    pub fn rate(&self, kind: RequestKind) -> f64 {
        let c = self.charges[kind.index()];
        let q = &self.quotas[c.quota];
        (q.limit / c.units.max(1)) as f64 / (q.window_ms as f64 / 1000.0)
    }

    /// Checks the rules the simulator relies on.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::InvalidArgument(format!(
                "profile {}: {m}",
                self.name
            )))
        };
        if self.quotas.is_empty() {
            return bad("no quota".into());
        }
        for q in &self.quotas {
            if q.limit == 0 || q.window_ms == 0 {
                return bad(format!(
                    "quota {} needs a limit and a window above 0",
                    q.name
                ));
            }
        }
        for (k, c) in RequestKind::ALL.iter().zip(&self.charges) {
            let Some(q) = self.quotas.get(c.quota) else {
                return bad(format!("{} is charged to a missing quota", k.name()));
            };
            if c.units == 0 || c.units > q.limit {
                return bad(format!(
                    "{} costs {} units of a quota of {}",
                    k.name(),
                    c.units,
                    q.limit
                ));
            }
        }
        if self.backoff.base_ms == 0 || self.backoff.cap_ms < self.backoff.base_ms {
            return bad("a backoff needs a base above 0 and a cap at or above it".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_validates_and_has_a_unique_name() {
        let ps = profiles(Some(12.5));
        for p in &ps {
            p.validate().unwrap_or_else(|e| panic!("{e}"));
        }
        let mut names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ps.len());
    }

    #[test]
    fn the_published_figures_give_the_published_rates() {
        let rate = |id: ProfileId, k| profile_by_name(id.name()).unwrap().rate(k);
        // 2,000 other transactions per 10 s; a CREATE weighs 200 of them.
        assert_eq!(rate(ProfileId::AkvRsa2048, RequestKind::Unwrap), 200.0);
        assert_eq!(rate(ProfileId::AkvRsa2048, RequestKind::Create), 1.0);
        assert_eq!(rate(ProfileId::AkvRsa4096, RequestKind::Wrap), 25.0);
        assert_eq!(rate(ProfileId::AkvRsa2048Sw, RequestKind::Create), 2.0);
        assert_eq!(rate(ProfileId::AwsKms, RequestKind::Wrap), 10_000.0);
        assert_eq!(rate(ProfileId::AwsKms, RequestKind::Create), 5.0);
        assert_eq!(rate(ProfileId::GcpKms, RequestKind::Unwrap), 1000.0);
        assert_eq!(rate(ProfileId::GcpKms, RequestKind::Create), 1.0);
    }

    #[test]
    fn a_user_rate_keeps_its_average_and_refuses_nonsense() {
        let p = user_profile(12.5).unwrap();
        assert!((p.rate(RequestKind::Wrap) - 12.5).abs() < 1e-9, "{p:?}");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(user_profile(bad), Err(Error::InvalidArgument(_))));
        }
        assert_eq!(profiles(Some(f64::NAN)).len(), builtin_profiles().len());
        assert!(profile_by_name("nope").is_err());
    }
}
