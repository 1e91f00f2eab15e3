//! The portable backend: safe code over the `aes` crate's block API (itself
//! accelerated where the CPU allows), available everywhere. All 24 steps of a
//! group run inside one backend closure, a group being the `aes` backend's
//! parallel block count, so its pipeline stays as full as the `aes` crate
//! allows. It is also the reference the intrinsic backends are tested against.

use aes::cipher::consts::U16;
use aes::cipher::typenum::Unsigned;
use aes::cipher::{
    Array, Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt,
    BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, ParBlocks,
};
use zeroize::Zeroize;

use crate::BatchKek;
use crate::state::{KeyState, N, Op, step_word};

/// Each op as `aes` backend closures.
pub(super) fn run(op: Op<'_>, states: &mut [KeyState]) {
    match op {
        Op::Wrap(kek) => kek.cipher().encrypt_with_backend(PortableWrap { states }),
        Op::Unwrap(kek) => kek.cipher().decrypt_with_backend(PortableUnwrap { states }),
        Op::Rewrap { from, to, iv } => {
            from.cipher().decrypt_with_backend(PortableUnwrap {
                states: &mut *states,
            });
            for s in states.iter_mut() {
                s.check = s.a();
                s.set_a(iv);
            }
            to.cipher().encrypt_with_backend(PortableWrap { states });
        }
    }
}

/// AES-256-encrypts independent blocks in place (ECB) with the `aes` crate.
pub(super) fn encrypt_blocks(kek: &BatchKek, blocks: &mut [[u8; 16]]) {
    kek.cipher()
        .encrypt_blocks(Array::cast_slice_from_core_mut(blocks));
}

/// The AES block `A | R` (words as in [`KeyState`]).
fn to_block(a: u64, r: u64) -> [u8; 16] {
    (u128::from(r) << 64 | u128::from(a)).to_le_bytes()
}

/// The words `(MSB64, LSB64)` of an AES block.
fn from_block(b: [u8; 16]) -> (u64, u64) {
    let v = u128::from_le_bytes(b);
    (v as u64, (v >> 64) as u64)
}

/// W with the `aes` crate: all 24 steps of every group inside one backend
/// closure, a group being the backend's parallel block count.
struct PortableWrap<'a> {
    states: &'a mut [KeyState],
}

impl BlockSizeUser for PortableWrap<'_> {
    type BlockSize = U16;
}

impl BlockCipherEncClosure for PortableWrap<'_> {
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let par = B::ParBlocksSize::USIZE;
        let mut blocks = ParBlocks::<B>::default();
        for group in self.states.chunks_mut(par) {
            // A group much smaller than the backend's width runs block by block
            // (the blocks are independent, so they still overlap in the CPU).
            let wide = par > 1 && group.len() * 4 >= par;
            for j in 0..6 {
                for i in 0..N {
                    for (b, s) in blocks.iter_mut().zip(group.iter()) {
                        *b = to_block(s.a(), s.r(i)).into();
                    }
                    if wide {
                        backend.encrypt_par_blocks_inplace(&mut blocks);
                    } else {
                        blocks
                            .iter_mut()
                            .take(group.len())
                            .for_each(|b| backend.encrypt_block_inplace(b));
                    }
                    let t = step_word(j, i);
                    for (b, s) in blocks.iter().zip(group.iter_mut()) {
                        let (a, r) = from_block((*b).into());
                        s.set_a(a ^ t);
                        s.set_r(i, r);
                    }
                }
            }
        }
        blocks
            .iter_mut()
            .for_each(|b: &mut Block<B>| b.as_mut_slice().zeroize());
    }
}

/// W⁻¹ with the `aes` crate: the inverse of [`PortableWrap`].
struct PortableUnwrap<'a> {
    states: &'a mut [KeyState],
}

impl BlockSizeUser for PortableUnwrap<'_> {
    type BlockSize = U16;
}

impl BlockCipherDecClosure for PortableUnwrap<'_> {
    fn call<B: BlockCipherDecBackend<BlockSize = U16>>(self, backend: &B) {
        let par = B::ParBlocksSize::USIZE;
        let mut blocks = ParBlocks::<B>::default();
        for group in self.states.chunks_mut(par) {
            let wide = par > 1 && group.len() * 4 >= par;
            for j in (0..6).rev() {
                for i in (0..N).rev() {
                    let t = step_word(j, i);
                    for (b, s) in blocks.iter_mut().zip(group.iter()) {
                        *b = to_block(s.a() ^ t, s.r(i)).into();
                    }
                    if wide {
                        backend.decrypt_par_blocks_inplace(&mut blocks);
                    } else {
                        blocks
                            .iter_mut()
                            .take(group.len())
                            .for_each(|b| backend.decrypt_block_inplace(b));
                    }
                    for (b, s) in blocks.iter().zip(group.iter_mut()) {
                        let (a, r) = from_block((*b).into());
                        s.set_a(a);
                        s.set_r(i, r);
                    }
                }
            }
        }
        blocks
            .iter_mut()
            .for_each(|b: &mut Block<B>| b.as_mut_slice().zeroize());
    }
}
