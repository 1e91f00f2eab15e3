//! The multi-tenant shape every design is generated on: tenants, groups per
//! tenant, leaves per group, and the named presets.
//!
//! Counts follow rank-based distributions so that a few giant tenants sit
//! beside many small ones, as in real multi-tenant services: tenant `t` (rank
//! `t`, 0 = largest) has `groups.at(t)` groups, and its `j`-th group has
//! `leaves.at(t + j)` leaves.

use crate::error::{Error, Result};

/// A count as a function of rank.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Dist {
    /// The same count everywhere.
    Fixed(u32),
    /// Uniform in `min..=max`, drawn per rank from the seed.
    Uniform {
        /// Smallest count.
        min: u32,
        /// Largest count.
        max: u32,
    },
    /// Zipf-like by rank: `max(1, round(max / (rank + 1)^s))`, capped at `max`.
    Zipf {
        /// The exponent.
        s: f64,
        /// The count at rank 0 (the cap).
        max: u32,
    },
}

impl Dist {
    /// Parses `N`, `uniform:MIN-MAX` or `zipf:S:MAX`.
    pub fn parse(spec: &str) -> Result<Dist> {
        let bad = || {
            Error::InvalidShape(format!(
                "distribution {spec:?}: expected N, uniform:MIN-MAX or zipf:S:MAX (counts >= 1, S in 0..=4)"
            ))
        };
        if let Some(rest) = spec.strip_prefix("uniform:") {
            let (a, b) = rest.split_once('-').ok_or_else(bad)?;
            let (min, max) = (
                a.parse::<u32>().map_err(|_| bad())?,
                b.parse::<u32>().map_err(|_| bad())?,
            );
            if min == 0 || min > max {
                return Err(bad());
            }
            Ok(Dist::Uniform { min, max })
        } else if let Some(rest) = spec.strip_prefix("zipf:") {
            let (s, max) = rest.split_once(':').ok_or_else(bad)?;
            let s = s.parse::<f64>().map_err(|_| bad())?;
            let max = max.parse::<u32>().map_err(|_| bad())?;
            if !(0.0..=4.0).contains(&s) || max == 0 {
                return Err(bad());
            }
            Ok(Dist::Zipf { s, max })
        } else {
            let n = spec.parse::<u32>().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            Ok(Dist::Fixed(n))
        }
    }

    /// The count at `rank`; `salt` and `seed` pick the uniform draw.
    pub fn at(&self, rank: u64, seed: u64, salt: u64) -> u32 {
        match *self {
            Dist::Fixed(n) => n,
            Dist::Uniform { min, max } => {
                let span = u64::from(max - min) + 1;
                min + (splitmix(seed ^ splitmix(salt ^ splitmix(rank))) % span) as u32
            }
            Dist::Zipf { s, max } => {
                let v = f64::from(max) / ((rank + 1) as f64).powf(s);
                (v.round() as u32).clamp(1, max)
            }
        }
    }

    /// The largest value the distribution can give.
    pub fn max(&self) -> u32 {
        match *self {
            Dist::Fixed(n) => n,
            Dist::Uniform { max, .. } | Dist::Zipf { max, .. } => max,
        }
    }
}

impl Dist {
    /// About `Σ at(r)` over ranks `0..k` without visiting them: exact for
    /// fixed counts, the mean for uniform ones; for zipf, the first 1,024
    /// terms exactly and the rest as the integral of `max / x^s` (with the
    /// clamp to 1 beyond the rank where the count falls below 1).
    pub fn prefix_sum(&self, k: u64) -> f64 {
        const EXACT: u64 = 1024;
        match *self {
            Dist::Fixed(n) => k as f64 * f64::from(n),
            Dist::Uniform { min, max } => k as f64 * (f64::from(min) + f64::from(max)) / 2.0,
            Dist::Zipf { s, max } => {
                let head = k.min(EXACT);
                let mut sum: f64 = (0..head).map(|r| f64::from(self.at(r, 0, 0))).sum();
                if k > EXACT {
                    // Ranks r with max / (r+1)^s >= 1 keep falling; the rest are 1.
                    let knee = if s > 0.0 {
                        f64::from(max).powf(1.0 / s)
                    } else {
                        f64::INFINITY
                    };
                    let (a, b) = (
                        EXACT as f64 + 0.5,
                        (k as f64 + 0.5).min(knee.max(EXACT as f64 + 0.5)),
                    );
                    let integral = if (s - 1.0).abs() < 1e-9 {
                        (b / a).ln()
                    } else {
                        (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
                    };
                    sum += f64::from(max) * integral + (k as f64 + 0.5 - b).max(0.0);
                }
                sum
            }
        }
    }
}

impl core::fmt::Display for Dist {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Dist::Fixed(n) => write!(f, "{n}"),
            Dist::Uniform { min, max } => write!(f, "uniform:{min}-{max}"),
            Dist::Zipf { s, max } => write!(f, "zipf:{s}:{max}"),
        }
    }
}

/// SplitMix64 finaliser (a mixing function for picking uniform counts; not
/// used for key material).
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The shape: how many tenants, groups and leaves.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Shape {
    /// Number of tenants.
    pub tenants: u32,
    /// Groups per tenant, by tenant rank.
    pub groups: Dist,
    /// Leaves per group, by rank (tenant rank + group index).
    pub leaves: Dist,
}

/// A named preset.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// Its name.
    pub name: &'static str,
    /// Roughly how many leaves (exact count depends on nothing but the shape).
    pub about: &'static str,
    /// The shape.
    pub shape: Shape,
}

/// The presets, smallest first.
pub const PRESETS: [Preset; 5] = [
    Preset {
        name: "tiny",
        about: "98 leaves, 4 tenants: for exhaustive tests",
        shape: Shape {
            tenants: 4,
            groups: Dist::Zipf { s: 1.0, max: 3 },
            leaves: Dist::Zipf { s: 1.0, max: 30 },
        },
    },
    Preset {
        name: "small",
        about: "~98k leaves, 200 tenants",
        shape: Shape {
            tenants: 200,
            groups: Dist::Zipf { s: 0.7, max: 50 },
            leaves: Dist::Zipf { s: 0.9, max: 2600 },
        },
    },
    Preset {
        name: "medium",
        about: "~1.0M leaves, 5,000 tenants",
        shape: Shape {
            tenants: 5000,
            groups: Dist::Zipf { s: 0.6, max: 50 },
            leaves: Dist::Zipf { s: 0.7, max: 9000 },
        },
    },
    Preset {
        name: "large",
        about: "~11M leaves, 40,000 tenants",
        shape: Shape {
            tenants: 40_000,
            groups: Dist::Zipf { s: 0.5, max: 50 },
            leaves: Dist::Zipf {
                s: 0.55,
                max: 25_000,
            },
        },
    },
    Preset {
        name: "huge",
        about: "~102M leaves, 200,000 tenants",
        shape: Shape {
            tenants: 200_000,
            groups: Dist::Zipf { s: 0.35, max: 50 },
            leaves: Dist::Zipf {
                s: 0.5,
                max: 60_000,
            },
        },
    },
];

/// `--preset` on the command line: the names of [`PRESETS`], each with its size.
impl clap::ValueEnum for Preset {
    fn value_variants<'a>() -> &'a [Self] {
        &PRESETS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name).help(self.about))
    }
}

impl Shape {
    /// The shape of a preset by name.
    pub fn preset(name: &str) -> Result<Shape> {
        PRESETS
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.shape)
            .ok_or_else(|| {
                let names: Vec<_> = PRESETS.iter().map(|p| p.name).collect();
                Error::InvalidShape(format!(
                    "unknown preset {name:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }

    /// Groups of tenant `t`.
    pub fn groups_of(&self, t: u32, seed: u64) -> u32 {
        self.groups.at(u64::from(t), seed, 1)
    }

    /// Leaves of group `j` of tenant `t`.
    pub fn leaves_of(&self, t: u32, j: u32, seed: u64) -> u32 {
        self.leaves
            .at(u64::from(t) + u64::from(j), seed, 2 ^ (u64::from(t) << 32))
    }

    /// Checks limits: at least one tenant, and at most 2^32 − 1 nodes overall is
    /// checked by the generator.
    pub fn validate(&self) -> Result<()> {
        if self.tenants == 0 || self.tenants > 10_000_000 {
            return Err(Error::InvalidShape(format!(
                "{} tenants (expected 1 to 10,000,000)",
                self.tenants
            )));
        }
        Ok(())
    }
}

impl core::fmt::Display for Shape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "tenants={} groups={} leaves={}",
            self.tenants, self.groups, self.leaves
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        assert_eq!(Dist::parse("5").unwrap(), Dist::Fixed(5));
        assert_eq!(
            Dist::parse("uniform:2-4").unwrap(),
            Dist::Uniform { min: 2, max: 4 }
        );
        assert_eq!(
            Dist::parse("zipf:1:100").unwrap(),
            Dist::Zipf { s: 1.0, max: 100 }
        );
        for bad in [
            "0",
            "x",
            "uniform:3-2",
            "uniform:0-2",
            "zipf:-1:5",
            "zipf:1:0",
            "zipf:1",
            "",
        ] {
            assert!(Dist::parse(bad).is_err(), "{bad}");
        }
        let z = Dist::Zipf { s: 1.0, max: 100 };
        assert_eq!(
            (
                z.at(0, 0, 0),
                z.at(1, 0, 0),
                z.at(3, 0, 0),
                z.at(10_000, 0, 0)
            ),
            (100, 50, 25, 1)
        );
        let u = Dist::Uniform { min: 2, max: 4 };
        for r in 0..100 {
            assert!((2..=4).contains(&u.at(r, 9, 1)));
        }
    }

    #[test]
    fn preset_tiny_has_98_leaves() {
        let s = Shape::preset("tiny").unwrap();
        let total: u32 = (0..s.tenants)
            .map(|t| {
                (0..s.groups_of(t, 0))
                    .map(|j| s.leaves_of(t, j, 0))
                    .sum::<u32>()
            })
            .sum();
        assert_eq!(total, 98);
    }
}
