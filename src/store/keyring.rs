//! The keyring: root key material, held in process (software keys standing
//! in for a key vault or HSM). Roots are the only keys not recovered through
//! stored wraps.
//!
//! The keyring file is the only file keyhier writes that holds secrets. Its
//! format (all integers big-endian):
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | magic `"KHKR"` |
//! | 4 | 1 | format version `02` |
//! | 5 | 4 | number of entries N |
//! | 9 | 40·N | per root: node id (u32), version (u32), key (32 bytes), sorted by node id, no repeats |
//! | 9+40·N | 4 | number of retained versions M |
//! | 13+40·N | 40·M | per retained version: node id, version, key; sorted by (node, version), no repeats, each below its root's current version |
//!
//! Retained versions are root versions a routine rotation retired but did
//! not destroy (Microsoft 365 keeps old key versions: data not yet rewrapped
//! may still be under them). Whoever holds one, and a copy of the store from
//! when it was current, opens what it opened then.
//!
//! Files are written with mode 0600 through a temporary file and a rename, so
//! a crash never leaves half a keyring.
//!
//! A keyring made with a root backend ([`Keyring::in_backend`], a PKCS#11
//! token) holds no root material: each root version is a
//! [`HeldRoot`] in the backend, and its entry's key bytes are zero and
//! never used (every KEK of a held root comes from [`RootKeks::root_kek`]).
//! Such a keyring is not written to a file (its roots are in the token).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::crypto::prf::Prf;
use crate::crypto::root::{HeldRoot, RootBackend, RootKeks};
use crate::crypto::scheme::Kek;
use crate::crypto::secret::{KEY_LEN, Key256};
use crate::crypto::wire::Reader;
use crate::error::{Error, Result};
use crate::graph::hierarchy::Hierarchy;

const MAGIC: [u8; 4] = *b"KHKR";
const VERSION: u8 = 2;

/// Root keys by node id: the current version of each, and the retired
/// versions still retained (not yet destroyed).
#[derive(Clone, Default)]
pub struct Keyring {
    roots: BTreeMap<u32, (u32, Key256)>,
    retained: BTreeMap<(u32, u32), Key256>,
    /// With a backend: every root version it holds for this ring, current,
    /// retained, or replaced and still needed by the change under way.
    held: BTreeMap<(u32, u32), Arc<HeldRoot>>,
    backend: Option<Arc<dyn RootBackend>>,
}

impl PartialEq for Keyring {
    fn eq(&self, o: &Self) -> bool {
        self.roots == o.roots
            && self.retained == o.retained
            && self.held.keys().eq(o.held.keys())
            && match (&self.backend, &o.backend) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for Keyring {}

impl RootKeks for Keyring {
    fn root_kek(&self, node: u32, version: u32) -> Option<Kek> {
        self.held.get(&(node, version)).map(HeldRoot::kek)
    }
}

impl core::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Keyring({} roots, {} retained versions, keys redacted)",
            self.roots.len(),
            self.retained.len()
        )
    }
}

impl Keyring {
    /// Every root of `h` at its current version, derived from the seed's PRF.
    pub fn from_prf(h: &Hierarchy, prf: &Prf) -> Keyring {
        let roots = (0..h.nodes())
            .filter(|&n| h.is_root(n))
            .map(|n| {
                (
                    n,
                    (
                        h.version[n as usize],
                        prf.node_key(n, h.version[n as usize]),
                    ),
                )
            })
            .collect();
        Keyring {
            roots,
            ..Keyring::default()
        }
    }

    /// Every root of `h` at its current version, created in `backend`.
    pub fn in_backend(h: &Hierarchy, backend: Arc<dyn RootBackend>) -> Result<Keyring> {
        let mut ring = Keyring {
            backend: Some(backend),
            ..Keyring::default()
        };
        for n in (0..h.nodes()).filter(|&n| h.is_root(n)) {
            let v = h.version[n as usize];
            let key = ring.create_held(n, v)?;
            ring.roots.insert(n, (v, key));
        }
        Ok(ring)
    }

    /// The backend its roots live in (none: in this keyring, as bytes).
    pub fn backend(&self) -> Option<&Arc<dyn RootBackend>> {
        self.backend.as_ref()
    }

    /// Who names the KEKs of its roots: itself when a backend holds them
    /// (for [`crate::crypto::batch::KekCache::with_roots`]), else none.
    pub fn root_keks(&self) -> Option<&dyn RootKeks> {
        self.backend.as_ref().map(|_| self as &dyn RootKeks)
    }

    /// Creates root `node` at `version` in the backend and returns the
    /// entry's key: zero bytes, never used (the KEK is the backend's). With
    /// no backend, refuses.
    pub fn create_held(&mut self, node: u32, version: u32) -> Result<Key256> {
        let b = self
            .backend
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("this keyring holds its roots itself".into()))?;
        let held = HeldRoot::create(b, node, version)?;
        self.held.insert((node, version), held);
        Ok(Key256::default())
    }

    /// Forgets the backend's root versions this ring no longer names (the
    /// last reference to one destroys it in the backend).
    pub fn release_unnamed(&mut self) {
        if self.backend.is_none() {
            return;
        }
        let (roots, retained) = (&self.roots, &self.retained);
        self.held.retain(|&(n, v), _| {
            roots.get(&n).is_some_and(|(cv, _)| *cv == v) || retained.contains_key(&(n, v))
        });
    }

    /// The key of root `node`, if held, with its version.
    pub fn get(&self, node: u32) -> Option<(u32, &Key256)> {
        self.roots.get(&node).map(|(v, k)| (*v, k))
    }

    /// The roots held among `nodes`, in order, with their versions: one
    /// search for the whole range, where [`Keyring::get`] searches per root.
    pub fn range(
        &self,
        nodes: core::ops::Range<u32>,
    ) -> impl Iterator<Item = (u32, u32, &Key256)> + '_ {
        self.roots.range(nodes).map(|(n, (v, k))| (*n, *v, k))
    }

    /// Sets (or replaces) root `node` at `version`.
    pub fn insert(&mut self, node: u32, version: u32, key: Key256) {
        self.roots.insert(node, (version, key));
    }

    /// Sets each `(node, version, key)` of `new`, handing every root it
    /// replaces to `old` as `(node, version, key)`. When `new` is in
    /// increasing node order (a plan's replaced roots are), this is one walk
    /// over the ring's range, not a search per root.
    pub fn replace_all(
        &mut self,
        new: Vec<(u32, u32, Key256)>,
        old: &mut dyn FnMut(u32, u32, Key256),
    ) {
        let sorted = new.windows(2).all(|w| w[0].0 < w[1].0);
        let ends = new.first().map(|x| x.0).zip(new.last().map(|x| x.0));
        let (Some((first, last)), true) = (ends, sorted) else {
            for (n, v, k) in new {
                if let Some((ov, ok)) = self.roots.insert(n, (v, k)) {
                    old(n, ov, ok);
                }
            }
            return;
        };
        // Each match swaps the new version and key into the ring in place, and
        // the old ones into `new` (keys are not moved through an iterator).
        let mut new = new;
        let mut matched = vec![false; new.len()];
        let mut i = 0;
        for (&n, slot) in self.roots.range_mut(first..=last) {
            while new.get(i).is_some_and(|e| e.0 < n) {
                i += 1;
            }
            if let Some(e) = new.get_mut(i).filter(|e| e.0 == n) {
                core::mem::swap(&mut slot.0, &mut e.1);
                core::mem::swap(&mut slot.1, &mut e.2);
                matched[i] = true;
                i += 1;
            }
        }
        for ((n, v, k), was) in new.into_iter().zip(matched) {
            if was {
                old(n, v, k);
            } else {
                self.roots.insert(n, (v, k));
            }
        }
    }

    /// Destroys root `node`, its current version and every retained one
    /// (their keys are zeroized on drop).
    pub fn destroy(&mut self, node: u32) -> bool {
        self.destroy_retired(&|n| n == node);
        let had = self.roots.remove(&node).is_some();
        self.release_unnamed();
        had
    }

    /// Keeps a retired `version` of root `node` (a routine rotation's old key).
    pub fn retain(&mut self, node: u32, version: u32, key: Key256) {
        self.retained.insert((node, version), key);
    }

    /// The retained versions of `node`, oldest first.
    pub fn retained_of(&self, node: u32) -> impl Iterator<Item = (u32, &Key256)> + '_ {
        self.retained
            .range((node, 0)..=(node, u32::MAX))
            .map(|(&(_, v), k)| (v, k))
    }

    /// Every retained version, as `(node, version, key)`, in order.
    pub fn retained(&self) -> impl Iterator<Item = (u32, u32, &Key256)> + '_ {
        self.retained.iter().map(|(&(n, v), k)| (n, v, k))
    }

    /// Number of retained versions.
    pub fn retained_len(&self) -> usize {
        self.retained.len()
    }

    /// Destroys the retained versions of the roots `which` admits; returns how many.
    pub fn destroy_retired(&mut self, which: &dyn Fn(u32) -> bool) -> usize {
        let before = self.retained.len();
        self.retained.retain(|&(n, _), _| !which(n));
        let gone = before - self.retained.len();
        if gone > 0 {
            self.release_unnamed();
        }
        gone
    }

    /// The key of root `node` at `version`: the current one or a retained one.
    pub fn get_version(&self, node: u32, version: u32) -> Option<&Key256> {
        match self.roots.get(&node) {
            Some((v, k)) if *v == version => Some(k),
            _ => self.retained.get(&(node, version)),
        }
    }

    /// Number of roots held.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// True when no root is held.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Root node ids held.
    pub fn nodes(&self) -> impl Iterator<Item = u32> + '_ {
        self.roots.keys().copied()
    }

    /// Checks that this keyring fits `h`: every root of `h` present at its
    /// version, and nothing else.
    pub fn check_against(&self, h: &Hierarchy) -> Result<()> {
        for n in 0..h.nodes() {
            if h.is_root(n) {
                match self.roots.get(&n) {
                    Some((v, _)) if *v == h.version[n as usize] => {}
                    Some((v, _)) => {
                        return Err(Error::invalid(
                            "keyring",
                            format!(
                                "root {n} is at version {v}, the hierarchy names {}",
                                h.version[n as usize]
                            ),
                        ));
                    }
                    None => return Err(Error::invalid("keyring", format!("root {n} is missing"))),
                }
            }
        }
        if let Some(n) = self
            .roots
            .keys()
            .chain(self.retained.keys().map(|(n, _)| n))
            .find(|&&n| n >= h.nodes() || !h.is_root(n))
        {
            return Err(Error::invalid(
                "keyring",
                format!("entry {n} is not a root of this hierarchy"),
            ));
        }
        if let Some(&(n, v)) = self
            .retained
            .keys()
            .find(|&&(n, v)| v >= h.version[n as usize])
        {
            return Err(Error::invalid(
                "keyring",
                format!(
                    "retained version {v} of root {n} is not older than its current version {}",
                    h.version[n as usize]
                ),
            ));
        }
        Ok(())
    }

    /// Encodes the keyring (secret bytes: handle with care). A keyring whose
    /// roots a backend holds has no bytes to encode: see [`Keyring::write_file`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + 40 * (self.roots.len() + self.retained.len()));
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.roots.len() as u32).to_be_bytes());
        for (n, (v, k)) in &self.roots {
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(k.expose());
        }
        out.extend_from_slice(&(self.retained.len() as u32).to_be_bytes());
        for ((n, v), k) in &self.retained {
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(k.expose());
        }
        out
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Keyring> {
        let mut r = Reader::new(bytes, "keyring");
        if r.take(4)? != MAGIC {
            return Err(Error::BadMagic { what: "keyring" });
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                what: "keyring",
                version: version.into(),
            });
        }
        let count = r.u32()? as usize;
        if count
            .checked_mul(40)
            .and_then(|b| b.checked_add(4))
            .is_none_or(|b| b > r.remaining())
        {
            return Err(Error::invalid(
                "keyring",
                format!("{count} entries do not fit {} bytes", r.remaining()),
            ));
        }
        let mut roots = BTreeMap::new();
        let mut last = None;
        for _ in 0..count {
            let n = r.u32()?;
            let v = r.u32()?;
            let k = Key256::from_bytes(r.array::<KEY_LEN>()?);
            if last.is_some_and(|l| l >= n) {
                return Err(Error::invalid(
                    "keyring",
                    "entries not sorted or repeated".to_string(),
                ));
            }
            last = Some(n);
            roots.insert(n, (v, k));
        }
        let kept = r.u32()? as usize;
        if kept.checked_mul(40) != Some(r.remaining()) {
            return Err(Error::invalid(
                "keyring",
                format!(
                    "{kept} retained versions do not fill {} bytes",
                    r.remaining()
                ),
            ));
        }
        let mut retained = BTreeMap::new();
        let mut last = None;
        for _ in 0..kept {
            let n = r.u32()?;
            let v = r.u32()?;
            let k = Key256::from_bytes(r.array::<KEY_LEN>()?);
            if last.is_some_and(|l| l >= (n, v)) {
                return Err(Error::invalid(
                    "keyring",
                    "retained versions not sorted or repeated".to_string(),
                ));
            }
            if roots.get(&n).is_none_or(|(cur, _)| *cur <= v) {
                return Err(Error::invalid(
                    "keyring",
                    format!("retained version {v} of root {n} without a newer current version"),
                ));
            }
            last = Some((n, v));
            retained.insert((n, v), k);
        }
        r.finish()?;
        Ok(Keyring {
            roots,
            retained,
            ..Keyring::default()
        })
    }

    /// Writes the keyring to `path` (mode 0600, atomically).
    pub fn write_file(&self, path: &Path) -> Result<()> {
        if self.backend.is_some() {
            return Err(Error::InvalidArgument(format!(
                "not writing {}: the roots of this run are in the token, not in a keyring file",
                path.display()
            )));
        }
        let mut bytes = self.encode();
        let res = crate::store::atomic::write_atomic(path, &bytes, true);
        zeroize::Zeroize::zeroize(&mut bytes);
        res
    }

    /// Reads a keyring file. Refuses one that its group or others may read
    /// (as ssh refuses such a private key): the keyring holds every root key.
    pub fn read_file(path: &Path) -> Result<Keyring> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path)
                .map_err(|e| Error::io(format!("reading keyring {}", path.display()), e))?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::invalid(
                    "keyring",
                    format!(
                        "{} is readable or writable by its group or others (mode {mode:03o}): it holds every root key; restrict it with `chmod 600 {}`",
                        path.display(),
                        path.display()
                    ),
                ));
            }
        }
        let mut bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("reading keyring {}", path.display()), e))?;
        let res = Keyring::decode(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyring_others_can_read_is_refused_and_says_how_to_fix_it() {
        use std::os::unix::fs::PermissionsExt;
        let p = std::env::temp_dir().join(format!("keyhier-ring-mode-{}", std::process::id()));
        let mut ring = Keyring::default();
        ring.insert(1, 1, key(1, 1));
        ring.write_file(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(Keyring::read_file(&p).unwrap() == ring);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Keyring::read_file(&p).err().unwrap().to_string();
        assert!(e.contains("mode 644") && e.contains("chmod 600"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }

    fn key(n: u32, v: u32) -> Key256 {
        Key256::from_bytes(core::array::from_fn(|i| (n as u8) ^ (v as u8) ^ (i as u8)))
    }

    #[test]
    fn replace_all_equals_inserting_one_by_one() {
        let mut base = Keyring::default();
        for n in [2u32, 4, 6, 8, 10] {
            base.insert(n, 1, key(n, 1));
        }
        let cases: [&[u32]; 6] = [
            &[],
            &[4],
            &[2, 4, 6, 8, 10],
            &[1, 4, 5, 10, 11], // some absent, before, between and after
            &[8, 2, 6],         // out of order
            &[3, 7],            // none present
        ];
        for nodes in cases {
            let mut want = base.clone();
            let mut want_old = Vec::new();
            for &n in nodes {
                if let Some((v, _)) = want.get(n) {
                    want_old.push((n, v));
                }
                want.insert(n, 2, key(n, 2));
            }
            let mut got = base.clone();
            let mut got_old = Vec::new();
            let new = nodes.iter().map(|&n| (n, 2, key(n, 2))).collect();
            got.replace_all(new, &mut |n, v, k| {
                assert_eq!(k, key(n, v));
                got_old.push((n, v));
            });
            assert!(got == want, "{nodes:?}");
            want_old.sort_unstable();
            got_old.sort_unstable();
            assert_eq!(got_old, want_old, "{nodes:?}");
        }
    }
}
