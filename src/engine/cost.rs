//! Root-operation throughput profiles: what a run's root operations alone
//! would take on a real key service.
//!
//! Root keys live in hardware security modules and key vaults, which are slow
//! and rate-limited; in production they, not AES, bound every rotation and
//! recovery. Sources (as published by the vendors; check the current pages
//! before you quote them):
//!
//! - Azure Key Vault service limits, "HSM-protected keys", per vault per
//!   region, cryptographic transactions per 10 seconds: RSA 2048-bit 2,000,
//!   RSA 3072-bit 500, RSA 4096-bit 250
//!   (learn.microsoft.com, "Azure Key Vault service limits").
//! - AWS KMS request quotas: cryptographic operations (symmetric) shared
//!   quota, 10,000 requests per second in most Regions by default
//!   (docs.aws.amazon.com, "AWS KMS request quotas").
//! - A user's own figure: `--root-ops-per-s`.

/// A root-operation profile, by id: the name it carries in reports
/// (`root_seconds_<name>` columns) is [`ProfileId::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProfileId {
    /// Azure Key Vault, HSM-backed RSA-4096.
    AkvRsa4096,
    /// Azure Key Vault, HSM-backed RSA-3072.
    AkvRsa3072,
    /// Azure Key Vault, HSM-backed RSA-2048.
    AkvRsa2048,
    /// AWS KMS, symmetric.
    AwsKms,
    /// The user's own rate (`--root-ops-per-s`).
    User,
}

impl ProfileId {
    /// Every profile, the built-in ones slowest first, then the user's.
    pub const ALL: [ProfileId; 5] = [
        ProfileId::AkvRsa4096,
        ProfileId::AkvRsa3072,
        ProfileId::AkvRsa2048,
        ProfileId::AwsKms,
        ProfileId::User,
    ];

    /// The profile named `name` ([`ProfileId::name`]).
    pub fn by_name(name: &str) -> Option<ProfileId> {
        ProfileId::ALL.into_iter().find(|p| p.name() == name)
    }

    /// What it stands for, as a legend says it (`Azure Key Vault RSA-2048`).
    pub fn title(self) -> &'static str {
        match self {
            ProfileId::AkvRsa4096 => "Azure Key Vault HSM RSA-4096",
            ProfileId::AkvRsa3072 => "Azure Key Vault HSM RSA-3072",
            ProfileId::AkvRsa2048 => "Azure Key Vault HSM RSA-2048",
            ProfileId::AwsKms => "AWS KMS symmetric",
            ProfileId::User => "your rate (--root-ops-per-s)",
        }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ProfileId::AkvRsa4096 => "akv-rsa4096",
            ProfileId::AkvRsa3072 => "akv-rsa3072",
            ProfileId::AkvRsa2048 => "akv-rsa2048",
            ProfileId::AwsKms => "aws-kms",
            ProfileId::User => "user",
        }
    }
}

/// A named root-operation rate.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RootProfile {
    /// Short name, used as a CSV column suffix.
    pub name: String,
    /// Operations per second.
    pub ops_per_s: f64,
    /// Where the figure comes from.
    pub source: &'static str,
}

/// The built-in profiles, slowest first.
pub fn builtin_profiles() -> Vec<RootProfile> {
    vec![
        RootProfile {
            name: ProfileId::AkvRsa4096.name().into(),
            ops_per_s: 25.0,
            source: "Azure Key Vault HSM-backed RSA-4096: 250 per 10 s per vault",
        },
        RootProfile {
            name: ProfileId::AkvRsa3072.name().into(),
            ops_per_s: 50.0,
            source: "Azure Key Vault HSM-backed RSA-3072: 500 per 10 s per vault",
        },
        RootProfile {
            name: ProfileId::AkvRsa2048.name().into(),
            ops_per_s: 200.0,
            source: "Azure Key Vault HSM-backed RSA-2048: 2,000 per 10 s per vault",
        },
        RootProfile {
            name: ProfileId::AwsKms.name().into(),
            ops_per_s: 10_000.0,
            source: "AWS KMS symmetric cryptographic requests: 10,000 per s default regional quota",
        },
    ]
}

/// The built-in profiles plus a user's rate, if given.
pub fn profiles(user_ops_per_s: Option<f64>) -> Vec<RootProfile> {
    let mut p = builtin_profiles();
    if let Some(r) = user_ops_per_s.filter(|r| r.is_finite() && *r > 0.0) {
        p.push(RootProfile {
            name: ProfileId::User.name().into(),
            ops_per_s: r,
            source: "--root-ops-per-s",
        });
    }
    p
}

/// Seconds `ops` root operations take at each profile's rate.
pub fn root_seconds(ops: u64, profiles: &[RootProfile]) -> Vec<(String, f64)> {
    profiles
        .iter()
        .map(|p| (p.name.clone(), ops as f64 / p.ops_per_s))
        .collect()
}
