//! Data re-encryption after leaves are re-keyed: the data under each re-keyed
//! leaf decrypted under its old data key and encrypted under the new
//! (AES-256-GCM), for real up to a limit and estimated from a measured rate
//! above it. It knows nothing of hierarchies: only how many leaves and bytes.

use std::time::Instant;

use crate::crypto::prf::{Domain, Prf};
use crate::error::{Error, Result};

use super::rows::{DataMode, DataReencryption};
use super::state::RunOptions;

/// Re-encrypts (or estimates re-encrypting) the data under re-keyed leaves:
/// AES-256-GCM decryption under the old data key and encryption under the new.
pub(super) fn reencrypt_data(leaves: u64, opts: &RunOptions) -> Result<DataReencryption> {
    use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
    let bytes = leaves.saturating_mul(opts.data_bytes_per_leaf);
    if bytes == 0 {
        return Ok(DataReencryption {
            mode: DataMode::None,
            ..DataReencryption::default()
        });
    }
    let prf = Prf::new(opts.seed);
    const SAMPLE: u64 = 64 << 20;
    let real = bytes <= opts.data_real_limit;
    // The stored data: for real, every leaf's; for an estimate, a 64 MiB
    // sample (leaves of more than 64 MiB are sampled by their first 64 MiB:
    // the rate does not depend on the size past a few blocks).
    let per_sample = if real {
        opts.data_bytes_per_leaf
    } else {
        opts.data_bytes_per_leaf.min(SAMPLE)
    };
    let per = usize::try_from(per_sample)
        .map_err(|_| Error::InvalidArgument(format!("{per_sample} bytes per leaf")))?;
    let items = if real {
        leaves
    } else {
        SAMPLE.div_ceil(per_sample).max(1)
    };
    let mut data: Vec<(Vec<u8>, [u8; 16])> = Vec::with_capacity(items as usize);
    for i in 0..items {
        let old = Aes256Gcm::new(prf.key(Domain::Data, i, 0).expose().into());
        let mut buf = vec![0x5a; per];
        let tag = old
            .encrypt_inout_detached(&[0u8; 12].into(), b"", buf.as_mut_slice().into())
            .map_err(|_| Error::UnwrapFailed)?;
        data.push((buf, tag.into()));
    }
    let start = Instant::now();
    for (i, (buf, tag)) in data.iter_mut().enumerate() {
        let old = Aes256Gcm::new(prf.key(Domain::Data, i as u64, 0).expose().into());
        let new = Aes256Gcm::new(prf.key(Domain::Data, i as u64, 1).expose().into());
        old.decrypt_inout_detached(
            &[0u8; 12].into(),
            b"",
            buf.as_mut_slice().into(),
            &(*tag).into(),
        )
        .map_err(|_| Error::UnwrapFailed)?;
        let t = new
            .encrypt_inout_detached(&[1u8; 12].into(), b"", buf.as_mut_slice().into())
            .map_err(|_| Error::UnwrapFailed)?;
        *tag = t.into();
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let done = items * per_sample;
    let rate = done as f64 / secs;
    Ok(if real {
        DataReencryption {
            bytes,
            mode: DataMode::Performed,
            seconds: secs,
            gb_per_s: rate / 1e9,
        }
    } else {
        DataReencryption {
            bytes,
            mode: DataMode::Estimated,
            seconds: bytes as f64 / rate,
            gb_per_s: rate / 1e9,
        }
    })
}
