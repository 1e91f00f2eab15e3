//! The hierarchy file: a generated hierarchy on disk, built on the wire
//! format of one stored wrap ([`crate::crypto::wire`]). It holds wraps, never a
//! plaintext key; root keys go to a separate keyring file
//! ([`crate::store::keyring`]).
//!
//! All integers big-endian.
//!
//! | field | size | rule |
//! |---|---:|---|
//! | magic | 4 | `"KHHF"` |
//! | format version | 1 | `02` (version 2: wire records of version 2, with a share generation) |
//! | scheme | 1 | as in the wire format |
//! | design name length D | 2 | 1..=256 |
//! | design name | D | UTF-8, a name [`Design::by_name`] accepts |
//! | generation | 4 | the hierarchy's operation counter |
//! | tenants T | 4 | ≥ 1 |
//! | groups G | 4 | ≥ T |
//! | groups per tenant | 4·T | each ≥ 1, summing to G |
//! | leaves per group | 4·G | each ≥ 1 |
//! | version of each node | 4·N | N follows from the design and the counts |
//! | stored wraps | rest | every slot, in slot order, as one wire-format record each |
//!
//! A share-based key's share generation is read from its records: every
//! record of the key must name the same one, and a whole key's must be 0.
//!
//! The reader rebuilds the structure the design and the counts imply and then
//! requires every record to name exactly the scheme, tenant, key, version,
//! share and wrapping keys of its slot, with a payload of exactly the length
//! the scheme gives. No trailing bytes. So anything that decodes re-encodes
//! to the same bytes, and a wrap moved, truncated or relabelled is refused
//! with a typed error before any unwrap is tried.

use std::io::Write;
use std::path::Path;

use crate::crypto::scheme::SchemeId;
use crate::crypto::wire::{self, Reader, StoredWrap};
use crate::error::{Error, Result};
use crate::graph::design::Design;
use crate::graph::hierarchy::Hierarchy;
use crate::graph::skeleton::skeleton_from_counts;

const MAGIC: [u8; 4] = *b"KHHF";
const VERSION: u8 = 2;

/// Encodes a hierarchy.
pub fn encode(h: &Hierarchy) -> Result<Vec<u8>> {
    let mut out =
        Vec::with_capacity(64 + h.nodes() as usize * 4 + h.slots() as usize * (h.stride + 40));
    encode_into(h, &mut out)?;
    Ok(out)
}

/// Appends the encoding of `h` to `out`.
pub fn encode_into(h: &Hierarchy, out: &mut Vec<u8>) -> Result<()> {
    let mut tail = Vec::new();
    encode_with(
        h,
        &mut |chunk| {
            out.extend_from_slice(chunk);
            Ok(())
        },
        &mut tail,
    )
}

/// Encodes `h` in pieces of about a MiB, handing each to `emit` (so a large
/// hierarchy streams to a file without a second copy in memory). `buf` is the
/// staging buffer.
fn encode_with(
    h: &Hierarchy,
    emit: &mut dyn FnMut(&[u8]) -> Result<()>,
    buf: &mut Vec<u8>,
) -> Result<()> {
    const FLUSH: usize = 1 << 20;
    let out = buf;
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(h.scheme as u8);
    let name = h.design.name.as_bytes();
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&h.generation.to_be_bytes());
    out.extend_from_slice(&h.tenants().to_be_bytes());
    out.extend_from_slice(&h.groups().to_be_bytes());
    for t in 0..h.tenants() as usize {
        out.extend_from_slice(
            &(h.tenant_group_start[t + 1] - h.tenant_group_start[t]).to_be_bytes(),
        );
        if out.len() >= FLUSH {
            emit(out)?;
            out.clear();
        }
    }
    for &l in &h.group_leaves {
        out.extend_from_slice(&l.to_be_bytes());
        if out.len() >= FLUSH {
            emit(out)?;
            out.clear();
        }
    }
    for &v in &h.version {
        out.extend_from_slice(&v.to_be_bytes());
        if out.len() >= FLUSH {
            emit(out)?;
            out.clear();
        }
    }
    let mut keks: Vec<wire::KeyRef> = Vec::with_capacity(wire::MAX_LAYERS);
    for n in 0..h.nodes() {
        let tenant = h.tenant_of(n);
        for s in h.slots_of(n) {
            keks.clear();
            keks.extend(h.slot_keks(s).iter().map(|&k| wire::KeyRef {
                id: u64::from(k),
                version: h.version[k as usize],
            }));
            let key = wire::KeyRef {
                id: u64::from(n),
                version: h.version[n as usize],
            };
            wire::encode_parts(
                h.scheme,
                h.share_of(n, s),
                tenant,
                key,
                h.share_gen_of(n),
                &keks,
                h.slot_payload(s),
                out,
            )?;
        }
        if out.len() >= FLUSH {
            emit(out)?;
            out.clear();
        }
    }
    emit(out)?;
    out.clear();
    Ok(())
}

/// Strictly decodes a hierarchy file.
pub fn decode(bytes: &[u8]) -> Result<Hierarchy> {
    let what = "hierarchy file";
    let mut r = Reader::new(bytes, what);
    if r.take(4)? != MAGIC {
        return Err(Error::BadMagic { what });
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(Error::UnsupportedVersion {
            what,
            version: version.into(),
        });
    }
    let scheme = SchemeId::from_byte(r.u8()?)?;
    let name_len = usize::from(r.u16()?);
    if name_len == 0 || name_len > 256 {
        return Err(Error::invalid(
            what,
            format!("design name of {name_len} bytes"),
        ));
    }
    let name = core::str::from_utf8(r.take(name_len)?)
        .map_err(|_| Error::invalid(what, "design name is not UTF-8"))?;
    let design = Design::by_name(name)?;
    if design.name != name {
        return Err(Error::invalid(
            what,
            format!("design name {name:?} is not canonical ({:?})", design.name),
        ));
    }
    let generation = r.u32()?;
    let tenants = r.u32()? as usize;
    let groups = r.u32()? as usize;
    // Bound every allocation by the bytes that must follow.
    if tenants == 0 || groups < tenants || (tenants + groups).saturating_mul(4) > r.remaining() {
        return Err(Error::invalid(
            what,
            format!("{tenants} tenants and {groups} groups do not fit the file"),
        ));
    }
    let tenant_groups: Vec<u32> = (0..tenants).map(|_| r.u32()).collect::<Result<_>>()?;
    let group_leaves: Vec<u32> = (0..groups).map(|_| r.u32()).collect::<Result<_>>()?;
    // Each node needs 4 bytes of version and each leaf at least one record:
    // refuse counts the file cannot hold before building anything.
    let leaves: u64 = group_leaves.iter().map(|&l| u64::from(l)).sum();
    if leaves.saturating_mul(4 + wire::encoded_len(1, 16) as u64) > r.remaining() as u64 {
        return Err(Error::invalid(
            what,
            format!("{leaves} leaves do not fit the file"),
        ));
    }
    // Likewise every key needs 4 bytes of version: bound the key count the
    // design implies before the skeleton allocates for it.
    let layout = crate::graph::hierarchy::Layout::of(&design);
    let keys = (layout.global_roles.len() as u64)
        .saturating_add((tenants as u64).saturating_mul(layout.tenant_roles.len() as u64))
        .saturating_add((groups as u64).saturating_mul(layout.group_head()))
        .saturating_add(leaves);
    if keys.saturating_mul(4) > r.remaining() as u64 {
        return Err(Error::invalid(
            what,
            format!("{keys} keys do not fit the file"),
        ));
    }
    let mut h = skeleton_from_counts(&design, scheme, &tenant_groups, &group_leaves)?;
    h.generation = generation;
    if (h.nodes() as usize).saturating_mul(4) > r.remaining() {
        return Err(Error::invalid(what, "node versions do not fit the file"));
    }
    for v in h.version.iter_mut() {
        *v = r.u32()?;
    }
    let rest = r.take(r.remaining())?;
    let mut pos = 0usize;
    for n in 0..h.nodes() {
        for s in h.slots_of(n) {
            let tail = rest.get(pos..).unwrap_or_default();
            let (w, used) = StoredWrap::decode_prefix(tail).map_err(|e| slot_error(n, s, e))?;
            let mut want = h.stored_wrap_header(n, s);
            // The first record of a share-based key names its share generation.
            if s == h.slots_of(n).start && want.share != 0 && w.share_gen != 0 {
                h.share_gen.insert(n, w.share_gen);
                want.share_gen = w.share_gen;
            }
            if w.share_gen != want.share_gen {
                return Err(Error::invalid(
                    what,
                    format!(
                        "record of key {n} slot {s} names share generation {}, {} expected",
                        w.share_gen, want.share_gen
                    ),
                ));
            }
            if w.scheme != want.scheme
                || w.share != want.share
                || w.tenant != want.tenant
                || w.key != want.key
                || w.keks != want.keks
            {
                return Err(Error::invalid(
                    what,
                    format!("record of key {n} slot {s} names another slot, key or version"),
                ));
            }
            let len = Hierarchy::wrap_len(scheme, want.keks.len());
            if w.payload.len() != len {
                return Err(Error::invalid(
                    what,
                    format!(
                        "record of key {n} slot {s}: payload of {} bytes, {len} expected",
                        w.payload.len()
                    ),
                ));
            }
            h.payload[s as usize * h.stride..][..len].copy_from_slice(&w.payload);
            pos += used;
        }
    }
    if pos != rest.len() {
        return Err(Error::TrailingBytes {
            what,
            extra: rest.len() - pos,
        });
    }
    Ok(h)
}

fn slot_error(n: u32, s: u32, e: Error) -> Error {
    Error::invalid("hierarchy file", format!("record of key {n} slot {s}: {e}"))
}

/// Writes a hierarchy file, streaming it (no second copy of the hierarchy in memory).
/// Returns the bytes written.
pub fn write_file(h: &Hierarchy, path: &Path) -> Result<u64> {
    let none = crate::store::keyring::Keyring::default();
    write_with_keyring(h, Some(path), &none, None).map(|n| n.unwrap_or(0))
}

/// Writes the hierarchy (to `out`) and its keyring (to `keyring`, mode 0600)
/// as one command's outputs: both are checked before either is written, and
/// neither destination changes unless both files are complete. Returns the
/// hierarchy file's size.
pub fn write_with_keyring(
    h: &Hierarchy,
    out: Option<&Path>,
    ring: &crate::store::keyring::Keyring,
    keyring: Option<&Path>,
) -> Result<Option<u64>> {
    use crate::store::atomic::{Output, write_all_or_none};
    let mut written = 0u64;
    let mut failure: Option<Error> = None;
    let mut buf = Vec::new();
    let mut ring_bytes = zeroize::Zeroizing::new(ring.encode());
    let mut outputs: Vec<Output<'_>> = Vec::new();
    if let Some(path) = out {
        let (written, failure, buf) = (&mut written, &mut failure, &mut buf);
        outputs.push(Output {
            path,
            secret: false,
            fill: Box::new(move |w| {
                encode_with(
                    h,
                    &mut |chunk| {
                        *written += chunk.len() as u64;
                        w.write_all(chunk)
                            .map_err(|e| Error::io("writing hierarchy", e))
                    },
                    buf,
                )
                .map_err(|e| {
                    *failure = Some(e);
                    std::io::Error::other("encoding failed")
                })
            }),
        });
    }
    if let Some(path) = keyring {
        let bytes = &mut ring_bytes;
        outputs.push(Output {
            path,
            secret: true,
            fill: Box::new(move |w| w.write_all(bytes)),
        });
    }
    let res = write_all_or_none(&mut outputs);
    drop(outputs);
    match failure {
        Some(e) => Err(e),
        None => res.map(|()| out.map(|_| written)),
    }
}

/// Reads a hierarchy file.
pub fn read_file(path: &Path) -> Result<Hierarchy> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::io(format!("reading hierarchy {}", path.display()), e))?;
    decode(&bytes).map_err(|e| match e {
        Error::Io { .. } => e,
        other => Error::invalid("hierarchy file", format!("{}: {other}", path.display())),
    })
}
