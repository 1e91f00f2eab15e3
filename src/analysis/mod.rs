//! What a design promises, from the graph alone: exposure (what an attacker
//! holding some roots and every stored wrap recovers) and availability (what
//! the owner still recovers after losing some) in [`exposure`]; what a
//! revocation must re-key, from the promise alone, in [`reference`].

pub mod exposure;
pub mod reference;
