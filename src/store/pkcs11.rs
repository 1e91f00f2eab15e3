//! Roots in a PKCS#11 token, through the `cryptoki` crate: the
//! [`RootBackend`] every HSM speaks (SoftHSM2 here; CloudHSM, Luna, nShield,
//! YubiHSM 2 alike), and the creation of a SoftHSM2 token in a folder.
//!
//! - A root version is an AES-256 key the token generates (`C_GenerateKey`)
//!   with `CKA_TOKEN=true, CKA_SENSITIVE=true, CKA_EXTRACTABLE=false`, labelled
//!   `keyhier/<run>/<node>/<version>`: its bytes never leave the token.
//! - A wrap is `C_WrapKey` with `CKM_AES_KEY_WRAP_PAD` (RFC 5649) of the child,
//!   first made a session object (`CKK_GENERIC_SECRET`, `CKA_TOKEN=false`)
//!   from its bytes; an unwrap is `C_UnwrapKey` into such a session object,
//!   whose value is then read (`CKA_VALUE`) and the object destroyed.
//!
//! So the token protects the roots and nothing below them: a child key
//! (a DEP, a mailbox key, a share) is in this process before its wrap and
//! after its unwrap, because the bulk layer (every wrap below the roots, the
//! data) runs here. A session object lives only inside one call. RFC 5649
//! carries no associated data: root slots wrapped by the token are `kwp`
//! records, without the context binding `gcm`/`gcm-siv` give (see
//! [`crate::crypto::root`]).
//!
//! The PIN comes from `KEYHIER_PKCS11_PIN` (the SO PIN of a new token from
//! `KEYHIER_PKCS11_SO_PIN`, else the PIN), never from a flag, and is never
//! printed. This module decides nothing about security: it holds keys where
//! it is told to.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use crate::crypto::root::{RootBackend, RootHandle, RootKind, RootMeter, RootOp};
use crate::error::{Error, Result};

/// The environment variable of the user PIN.
pub const PIN_VAR: &str = "KEYHIER_PKCS11_PIN";
/// The environment variable of the SO PIN (defaults to the PIN).
pub const SO_PIN_VAR: &str = "KEYHIER_PKCS11_SO_PIN";
/// Where Debian's softhsm2 package puts its module.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The PIN from [`PIN_VAR`], or `TokenPinUnset`.
pub fn pin_from_env() -> Result<AuthPin> {
    pin_var(PIN_VAR)
}

fn pin_var(var: &'static str) -> Result<AuthPin> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Ok(AuthPin::from(p)),
        _ => Err(Error::TokenPinUnset { var }),
    }
}

fn call(call: &'static str) -> impl Fn(P11Error) -> Error {
    move |e| match e {
        P11Error::Pkcs11(RvError::PinIncorrect, _) | P11Error::Pkcs11(RvError::PinLenRange, _) => {
            Error::TokenPin
        }
        P11Error::Pkcs11(RvError::MechanismInvalid, _) => Error::TokenMechanism {
            mechanism: "the mechanism asked",
        },
        e => Error::Token {
            call,
            detail: e.to_string(),
        },
    }
}

fn load(module: &Path) -> Result<Pkcs11> {
    if !module.exists() {
        return Err(Error::TokenModule {
            path: module.display().to_string(),
            detail: "no such file (install softhsm2, or give the module of your HSM)".into(),
        });
    }
    let ctx = Pkcs11::new(module).map_err(|e| Error::TokenModule {
        path: module.display().to_string(),
        detail: e.to_string(),
    })?;
    // A module another context of this process initialized already is ready.
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(ctx),
        Err(e) => Err(call("C_Initialize")(e)),
    }
}

fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot> {
    let mut found = Vec::new();
    for slot in ctx
        .get_slots_with_initialized_token()
        .map_err(call("C_GetSlotList"))?
    {
        let info = ctx.get_token_info(slot).map_err(call("C_GetTokenInfo"))?;
        let l = info.label().trim_end().to_string();
        if l == label {
            return Ok(slot);
        }
        found.push(l);
    }
    Err(Error::TokenNotFound {
        label: label.to_string(),
        found,
    })
}

/// Roots in a PKCS#11 token.
pub struct Pkcs11Roots {
    ctx: Pkcs11,
    slot: Slot,
    /// Idle logged-in sessions (one per thread at a time: a session is not `Sync`).
    sessions: Mutex<Vec<Session>>,
    objects: RwLock<HashMap<RootHandle, ObjectHandle>>,
    next: AtomicU64,
    /// Labels of this run's objects: `keyhier/<run>/...`.
    run: String,
    meter: RootMeter,
    label: String,
}

impl core::fmt::Debug for Pkcs11Roots {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Pkcs11Roots(token {:?}, run {})", self.label, self.run)
    }
}

impl Pkcs11Roots {
    /// Loads `module`, finds the token labelled `label`, logs in with `pin`
    /// and checks that it has `CKM_AES_KEY_WRAP_PAD` and `CKM_AES_KEY_GEN`.
    pub fn open(module: &Path, label: &str, pin: &AuthPin) -> Result<Self> {
        let ctx = load(module)?;
        let slot = find_token(&ctx, label)?;
        let mechs = ctx
            .get_mechanism_list(slot)
            .map_err(call("C_GetMechanismList"))?;
        for (m, name) in [
            (MechanismType::AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD"),
            (MechanismType::AES_KEY_GEN, "CKM_AES_KEY_GEN"),
        ] {
            if !mechs.contains(&m) {
                return Err(Error::TokenMechanism { mechanism: name });
            }
        }
        let session = ctx.open_rw_session(slot).map_err(call("C_OpenSession"))?;
        match session.login(UserType::User, Some(pin)) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(call("C_Login")(e)),
        }
        let mut run = [0u8; 8];
        getrandom::fill(&mut run).map_err(|e| Error::Token {
            call: "getrandom",
            detail: e.to_string(),
        })?;
        Ok(Pkcs11Roots {
            ctx,
            slot,
            sessions: Mutex::new(vec![session]),
            objects: RwLock::new(HashMap::new()),
            next: AtomicU64::new(0),
            run: hex::encode(run),
            meter: RootMeter::default(),
            label: label.to_string(),
        })
    }

    /// Runs `f` with an idle session (opening one if none is idle).
    fn with_session<T>(&self, f: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
        let idle = self.sessions.lock().ok().and_then(|mut s| s.pop());
        let s = match idle {
            Some(s) => s,
            None => self
                .ctx
                .open_rw_session(self.slot)
                .map_err(call("C_OpenSession"))?,
        };
        let out = f(&s);
        if let Ok(mut idle) = self.sessions.lock() {
            idle.push(s);
        }
        out
    }

    fn object(&self, h: RootHandle) -> Option<ObjectHandle> {
        self.objects.read().ok()?.get(&h).copied()
    }

    /// The template of a child made a session object to wrap it, or of an
    /// unwrapped one: readable, extractable, gone with the session call.
    fn child_template(value: Option<&[u8]>) -> Vec<Attribute> {
        let mut t = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
        ];
        if let Some(v) = value {
            t.push(Attribute::Value(v.to_vec()));
        }
        t
    }

    /// Reads `CKA_VALUE` of root `h`: the token must refuse (the roots are
    /// sensitive and not extractable). For tests and `token bench`.
    pub fn try_read_root(&self, h: RootHandle) -> Result<Vec<u8>> {
        let obj = self.object(h).ok_or(Error::Unrecoverable { key: h })?;
        self.with_session(|s| {
            let attrs = s
                .get_attributes(obj, &[AttributeType::Value])
                .map_err(call("C_GetAttributeValue"))?;
            match attrs.into_iter().next() {
                Some(Attribute::Value(v)) => Ok(v),
                _ => Err(Error::Token {
                    call: "C_GetAttributeValue",
                    detail: "the token gave no CKA_VALUE of the root (it is sensitive)".into(),
                }),
            }
        })
    }
}

impl RootBackend for Pkcs11Roots {
    fn kind(&self) -> RootKind {
        RootKind::Pkcs11
    }

    fn create(&self, node: u32, version: u32) -> Result<RootHandle> {
        let h = self.next.fetch_add(1, Ordering::Relaxed);
        let label = format!("keyhier/{}/{node}/{version}/{h}", self.run);
        let obj = self.meter.time(RootOp::Create, || {
            self.with_session(|s| {
                s.generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(KeyType::AES),
                        Attribute::ValueLen(32.into()),
                        Attribute::Token(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Wrap(true),
                        Attribute::Unwrap(true),
                        Attribute::Label(label.into_bytes()),
                    ],
                )
                .map_err(call("C_GenerateKey"))
            })
        })?;
        self.objects
            .write()
            .map_err(|_| Error::Token {
                call: "create",
                detail: "object table poisoned".into(),
            })?
            .insert(h, obj);
        Ok(h)
    }

    fn wrap(&self, h: RootHandle, plaintext: &[u8], out: &mut [u8]) -> Result<usize> {
        let root = self.object(h).ok_or(Error::Unrecoverable { key: h })?;
        let wrapped = self.meter.time(RootOp::Wrap, || {
            self.with_session(|s| {
                let mut template = Self::child_template(Some(plaintext));
                let child = s.create_object(&template).map_err(call("C_CreateObject"));
                // the template held a copy of the child's bytes
                for a in &mut template {
                    if let Attribute::Value(v) = a {
                        zeroize::Zeroize::zeroize(v);
                    }
                }
                let child = child?;
                let w = s
                    .wrap_key(&Mechanism::AesKeyWrapPad, root, child)
                    .map_err(call("C_WrapKey"));
                let d = s.destroy_object(child).map_err(call("C_DestroyObject"));
                let w = w?;
                d?;
                Ok(w)
            })
        })?;
        let got = out.len();
        out.get_mut(..wrapped.len())
            .ok_or(Error::OutputTooSmall {
                needed: wrapped.len(),
                got,
            })?
            .copy_from_slice(&wrapped);
        Ok(wrapped.len())
    }

    fn unwrap(&self, h: RootHandle, wrapped: &[u8], out: &mut [u8]) -> Result<usize> {
        let fail = |out: &mut [u8]| {
            out.fill(0);
            Error::UnwrapFailed
        };
        let Some(root) = self.object(h) else {
            return Err(fail(out));
        };
        let value = self.meter.time(RootOp::Unwrap, || {
            self.with_session(|s| {
                let child = s
                    .unwrap_key(
                        &Mechanism::AesKeyWrapPad,
                        root,
                        wrapped,
                        &Self::child_template(None),
                    )
                    .map_err(|_| Error::UnwrapFailed)?;
                let v = s.get_attributes(child, &[AttributeType::Value]);
                let _ = s.destroy_object(child);
                match v.map_err(|_| Error::UnwrapFailed)?.into_iter().next() {
                    Some(Attribute::Value(v)) => Ok(crate::crypto::secret::SecretBytes::new(v)),
                    _ => Err(Error::UnwrapFailed),
                }
            })
        });
        let value = match value {
            Ok(v) => v,
            Err(_) => return Err(fail(out)),
        };
        let bytes = value.expose();
        match out.get_mut(..bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                Ok(bytes.len())
            }
            None => Err(fail(out)),
        }
    }

    fn destroy(&self, h: RootHandle) -> Result<bool> {
        let obj = self.objects.write().ok().and_then(|mut o| o.remove(&h));
        let Some(obj) = obj else { return Ok(false) };
        self.meter.time(RootOp::Destroy, || {
            self.with_session(|s| s.destroy_object(obj).map_err(call("C_DestroyObject")))
        })?;
        Ok(true)
    }

    fn meter(&self) -> &RootMeter {
        &self.meter
    }
}

/// RSA-OAEP root operations measured in the token: what a root held as an
/// RSA key (as Azure Key Vault's customer keys are) costs, beside the AES
/// key wrap the store's root slots use.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RsaOaepRates {
    /// The mechanism and its parameters, in words.
    pub mechanism: String,
    /// Wraps and unwraps timed.
    pub n: u64,
    /// `C_WrapKey` of an AES-256 key under the public key, per second.
    pub wrap_per_s: f64,
    /// Latency of one wrap, µs.
    pub wrap_p50_us: f64,
    /// Latency of one wrap, µs.
    pub wrap_p99_us: f64,
    /// `C_UnwrapKey` under the private key (sensitive, not extractable), per second.
    pub unwrap_per_s: f64,
    /// Latency of one unwrap, µs.
    pub unwrap_p50_us: f64,
    /// Latency of one unwrap, µs.
    pub unwrap_p99_us: f64,
}

impl Pkcs11Roots {
    /// Times `n` wraps and `n` unwraps of an AES-256 session key under an
    /// RSA-2048 key pair generated in the token for the purpose (session
    /// objects, gone afterwards; the private key sensitive and not
    /// extractable), with `CKM_RSA_PKCS_OAEP` (SHA-256 and MGF1-SHA-256 where
    /// the token has them, else SHA-1, said in `mechanism`).
    pub fn rsa_oaep_rates(&self, n: u64) -> Result<RsaOaepRates> {
        use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
        use std::time::Instant;
        let n = n.max(1);
        self.with_session(|s| {
            let (public, private) = s
                .generate_key_pair(
                    &Mechanism::RsaPkcsKeyPairGen,
                    &[
                        Attribute::Token(false),
                        Attribute::Wrap(true),
                        Attribute::ModulusBits(2048.into()),
                        Attribute::PublicExponent(vec![1, 0, 1]),
                    ],
                    &[
                        Attribute::Token(false),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Unwrap(true),
                    ],
                )
                .map_err(call("C_GenerateKeyPair"))?;
            let child = s
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(KeyType::AES),
                        Attribute::ValueLen(32.into()),
                        Attribute::Token(false),
                        Attribute::Extractable(true),
                    ],
                )
                .map_err(call("C_GenerateKey"))?;
            let sha256 = PkcsOaepParams::new(
                MechanismType::SHA256,
                PkcsMgfType::MGF1_SHA256,
                PkcsOaepSource::empty(),
            );
            let sha1 = PkcsOaepParams::new(
                MechanismType::SHA1,
                PkcsMgfType::MGF1_SHA1,
                PkcsOaepSource::empty(),
            );
            let (params, name) = match s.wrap_key(&Mechanism::RsaPkcsOaep(sha256), public, child) {
                Ok(_) => (sha256, "CKM_RSA_PKCS_OAEP, RSA-2048, SHA-256, MGF1-SHA-256"),
                Err(_) => (
                    sha1,
                    "CKM_RSA_PKCS_OAEP, RSA-2048, SHA-1, MGF1-SHA-1 (the token refused SHA-256)",
                ),
            };
            let mech = Mechanism::RsaPkcsOaep(params);
            let template = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Sensitive(true),
            ];
            let mut wraps = Vec::with_capacity(n as usize);
            let mut w_lat = Vec::with_capacity(n as usize);
            let t = Instant::now();
            for _ in 0..n {
                let t1 = Instant::now();
                wraps.push(
                    s.wrap_key(&mech, public, child)
                        .map_err(call("C_WrapKey"))?,
                );
                w_lat.push(t1.elapsed().as_secs_f64() * 1e6);
            }
            let wrap_s = t.elapsed().as_secs_f64();
            let mut u_lat = Vec::with_capacity(n as usize);
            let t = Instant::now();
            for w in &wraps {
                let t1 = Instant::now();
                let k = s
                    .unwrap_key(&mech, private, w, &template)
                    .map_err(call("C_UnwrapKey"))?;
                u_lat.push(t1.elapsed().as_secs_f64() * 1e6);
                let _ = s.destroy_object(k);
            }
            let unwrap_s = t.elapsed().as_secs_f64();
            // The round trip is checked once: the first wrap, unwrapped into a
            // readable session key, gives the child's value back.
            let value = |o: ObjectHandle| -> Result<crate::crypto::secret::SecretBytes> {
                match s
                    .get_attributes(o, &[AttributeType::Value])
                    .map_err(call("C_GetAttributeValue"))?
                    .into_iter()
                    .next()
                {
                    Some(Attribute::Value(v)) => Ok(crate::crypto::secret::SecretBytes::new(v)),
                    _ => Err(Error::UnwrapFailed),
                }
            };
            let readable = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
            ];
            let back = s
                .unwrap_key(&mech, private, &wraps[0], &readable)
                .map_err(call("C_UnwrapKey"))?;
            let same = value(back)?.expose() == value(child)?.expose();
            let _ = s.destroy_object(back);
            if !same {
                return Err(Error::Token {
                    call: "C_UnwrapKey",
                    detail: "RSA-OAEP unwrap gave another key than was wrapped".into(),
                });
            }
            for o in [child, public, private] {
                let _ = s.destroy_object(o);
            }
            let q = |v: &[f64], p: f64| crate::stats::quantile(v, p).unwrap_or(0.0);
            let rate = |secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
            Ok(RsaOaepRates {
                mechanism: name.into(),
                n,
                wrap_per_s: rate(wrap_s),
                wrap_p50_us: q(&w_lat, 0.5),
                wrap_p99_us: q(&w_lat, 0.99),
                unwrap_per_s: rate(unwrap_s),
                unwrap_p50_us: q(&u_lat, 0.5),
                unwrap_p99_us: q(&u_lat, 0.99),
            })
        })
    }
}

/// What [`init_softhsm_token`] made.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TokenDir {
    /// The configuration file to point `SOFTHSM2_CONF` at.
    pub conf: PathBuf,
    /// The folder of the token's files.
    pub tokens: PathBuf,
}

/// Writes `dir/softhsm2.conf` (tokens in `dir/tokens/`). SoftHSM2 reads
/// `SOFTHSM2_CONF` when its module is initialized, so the token itself is
/// made by [`init_token_here`] in a process started with it set.
pub fn write_softhsm_conf(dir: &Path) -> Result<TokenDir> {
    let dir = std::path::absolute(dir).map_err(|e| Error::io(format!("{}", dir.display()), e))?;
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens)
        .map_err(|e| Error::io(format!("creating {}", tokens.display()), e))?;
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "# written by keyhier token init\ndirectories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        tokens.display()
    );
    crate::store::atomic::write_atomic(&conf, text.as_bytes(), false)?;
    Ok(TokenDir { conf, tokens })
}

/// Initializes a token labelled `label` in the first free slot of `module`
/// (the SO PIN from `KEYHIER_PKCS11_SO_PIN`, else the PIN), then sets its
/// user PIN from `KEYHIER_PKCS11_PIN`. Refuses a label already in use.
pub fn init_token_here(module: &Path, label: &str) -> Result<()> {
    let pin = pin_from_env()?;
    let so_pin = pin_var(SO_PIN_VAR).or_else(|_| pin_from_env())?;
    let ctx = load(module)?;
    if find_token(&ctx, label).is_ok() {
        return Err(Error::InvalidArgument(format!(
            "a token labelled {label:?} exists already"
        )));
    }
    let slot = ctx
        .get_slots_with_token()
        .map_err(call("C_GetSlotList"))?
        .into_iter()
        .find(|&s| ctx.get_token_info(s).is_ok_and(|i| !i.token_initialized()))
        .ok_or_else(|| Error::Token {
            call: "C_GetSlotList",
            detail: "no free slot for a new token".into(),
        })?;
    ctx.init_token(slot, &so_pin, label)
        .map_err(call("C_InitToken"))?;
    let slot = find_token(&ctx, label)?;
    let s = ctx.open_rw_session(slot).map_err(call("C_OpenSession"))?;
    s.login(UserType::So, Some(&so_pin))
        .map_err(call("C_Login"))?;
    s.init_pin(&pin).map_err(call("C_InitPIN"))?;
    s.logout().map_err(call("C_Logout"))?;
    Ok(())
}
