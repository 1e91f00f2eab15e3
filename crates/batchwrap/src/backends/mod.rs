//! The backends, and the one place that decides which of them runs: run-time
//! feature detection ([`Backend::is_available`], [`Backend::selected`]) and
//! the dispatch of a chunk of states to a kernel (`run`).
//!
//! One file per instruction set, as the `aes` crate lays them out:
//! `portable` (safe code over the `aes` crate, everywhere), and on x86_64
//! `aesni` (128-bit), `vaes256` and `vaes512`, which share the round keys and
//! the RFC 3394 step loops of `x86`. Each intrinsic backend's `detected()`
//! sits beside the `#[target_feature]` list it guards; every entry into a
//! kernel checks it first, so a backend that is not available here falls
//! back to the portable path rather than running instructions the CPU lacks.

use std::sync::OnceLock;

use crate::hints::Hints;
use crate::state::{KeyState, Op};
use crate::{BACKEND_ENV, Backend, BatchKek};

mod portable;

#[cfg(target_arch = "x86_64")]
mod aesni;
#[cfg(target_arch = "x86_64")]
mod vaes256;
#[cfg(target_arch = "x86_64")]
mod vaes512;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::RoundKeys;

impl Backend {
    /// Whether this CPU has what the backend needs (checked at run time).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::AesNi => aesni::detected(),
            #[cfg(target_arch = "x86_64")]
            Backend::Vaes256 => vaes256::detected(),
            #[cfg(target_arch = "x86_64")]
            Backend::Vaes512 => vaes512::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The AES instructions the backend runs on this CPU. The intrinsic
    /// backends' are their own; the portable backend's are whatever the `aes`
    /// crate picks at run time (0.9: VAES on 512-bit registers where AVX-512F
    /// and VAES are present, else VAES on 256-bit registers, else AES-NI,
    /// else its constant-time software AES, also when built with
    /// `--cfg aes_backend="soft"`), so on a CPU with VAES the portable
    /// backend outruns `aesni`, whose 128-bit instructions do one block each.
    pub fn instructions(self) -> &'static str {
        match self {
            Backend::Portable => portable_instructions(),
            Backend::AesNi => "AES-NI, 128-bit",
            Backend::Vaes256 => "VAES, 256-bit",
            Backend::Vaes512 => "VAES, 512-bit",
        }
    }

    /// The backends this CPU can run, in the order of [`Backend::ALL`].
    pub fn available() -> impl Iterator<Item = Backend> {
        Backend::ALL.into_iter().filter(|b| b.is_available())
    }

    /// The backend the plain functions ([`crate::wrap_batch`] etc.) use: the
    /// one named by [`BACKEND_ENV`] if it is set to an available backend,
    /// otherwise the first available in [`Backend::ALL`]. Decided once per
    /// process.
    #[inline]
    pub fn selected() -> Backend {
        static SELECTED: OnceLock<Backend> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            std::env::var(BACKEND_ENV)
                .ok()
                .and_then(|name| Backend::from_name(name.trim()))
                .filter(|b| b.is_available())
                .or_else(|| Backend::available().next())
                .unwrap_or(Backend::Portable)
        })
    }
}

/// What the `aes` crate runs on here, by its own run-time detection (see
/// [`Backend::instructions`]).
fn portable_instructions() -> &'static str {
    if cfg!(aes_backend = "soft") {
        return "the aes crate's software AES";
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("vaes")
        {
            return "the aes crate's VAES, 512-bit";
        }
        if std::arch::is_x86_feature_detected!("vaes") {
            return "the aes crate's VAES, 256-bit";
        }
        if std::arch::is_x86_feature_detected!("aes") {
            return "the aes crate's AES-NI, 128-bit";
        }
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("aes") {
        return "the aes crate's ARMv8 AES";
    }
    "the aes crate's software AES"
}

/// Runs `op` on every state, on `backend` if the CPU has it (checked by the
/// caller, and again by the kernels), else on the portable path.
pub(crate) fn run<H: Hints>(backend: Backend, op: Op<'_>, states: &mut [KeyState], ahead: &mut H) {
    #[cfg(target_arch = "x86_64")]
    if let Some(op) = x86::Op::of(op) {
        let done = match backend {
            Backend::AesNi => aesni::run(op, states, ahead),
            Backend::Vaes256 => vaes256::run(op, states, ahead),
            Backend::Vaes512 => vaes512::run(op, states, ahead),
            Backend::Portable => false,
        };
        if done {
            return;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = backend;
    ahead.all();
    portable::run(op, states);
}

/// AES-256-encrypts independent blocks in place (ECB) under `kek` on
/// `backend` if the CPU has it, else on the portable path.
pub(crate) fn encrypt_blocks(kek: &BatchKek, backend: Backend, blocks: &mut [[u8; 16]]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(keys) = kek.x86.as_ref() {
        let done = match backend {
            Backend::AesNi => aesni::encrypt_blocks(keys, blocks),
            Backend::Vaes256 => vaes256::encrypt_blocks(keys, blocks),
            Backend::Vaes512 => vaes512::encrypt_blocks(keys, blocks),
            Backend::Portable => false,
        };
        if done {
            return;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = backend;
    portable::encrypt_blocks(kek, blocks);
}

/// Hints the cache line at `addr` into the cache (a no-op off x86_64).
#[inline]
pub(crate) fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = addr as *const i8;
        // SAFETY: a prefetch is a hint: it neither reads nor writes memory as
        // far as the program can tell, and never faults, whatever the
        // address (the driver passes one inside an arena or just past it);
        // SSE, which it needs, is part of the x86_64 baseline.
        unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}
