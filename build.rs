//! Reads the versions of keyhier's direct dependencies from Cargo.lock (a
//! TOML parser, not a string search) and hands them to the crate as
//! `KEYHIER_LOCKED_VERSIONS`: `name=version` pairs separated by `;`. The
//! report layer writes them into `env.json`. A missing or unreadable lock
//! file gives an empty list (the report then says "unknown"), not a failed
//! build.

use std::collections::BTreeMap;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let lock = std::path::Path::new(&dir).join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock.display());
    println!("cargo::rerun-if-changed=build.rs");
    let versions = match std::fs::read_to_string(&lock) {
        Ok(text) => direct_versions(&text).unwrap_or_else(|e| {
            println!("cargo::warning=Cargo.lock not understood ({e}); crate versions unknown");
            BTreeMap::new()
        }),
        Err(e) => {
            println!("cargo::warning=no Cargo.lock ({e}); crate versions unknown");
            BTreeMap::new()
        }
    };
    let list: Vec<String> = versions
        .iter()
        .map(|(name, version)| format!("{name}={version}"))
        .collect();
    println!(
        "cargo::rustc-env=KEYHIER_LOCKED_VERSIONS={}",
        list.join(";")
    );
}

/// The locked version of every direct dependency of this package.
fn direct_versions(text: &str) -> Result<BTreeMap<String, String>, String> {
    let lock: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let packages: Vec<(&str, &str, &toml::Table)> = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .ok_or("no [[package]] entries")?
        .iter()
        .filter_map(|p| {
            let p = p.as_table()?;
            Some((p.get("name")?.as_str()?, p.get("version")?.as_str()?, p))
        })
        .collect();
    let me = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "keyhier".into());
    let (_, _, this) = packages
        .iter()
        .find(|(name, _, _)| *name == me)
        .ok_or("this package is not in it")?;
    let mut out = BTreeMap::new();
    for dep in this
        .get("dependencies")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
    {
        // "name" when one version is locked, "name version [(source)]" when several are
        let mut words = dep.split(' ');
        let Some(name) = words.next() else { continue };
        let version = match words.next() {
            Some(v) => Some(v),
            None => packages
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, v, _)| *v),
        };
        if let Some(v) = version {
            out.insert(name.to_string(), v.to_string());
        }
    }
    Ok(out)
}
