//! What a design promises, from the graph alone: exposure (what an attacker
//! holding some roots and every stored wrap recovers) and availability (what
//! the owner still recovers after losing some) in [`exposure`]; what a
//! revocation must re-key, from the promise alone, in [`reference`]; who can
//! still decrypt when a root is lost, revoked by the customer or leaked in
//! [`states`]; the probability of exposure and loss within a year under
//! events with annual probabilities in [`risk`]; a lazy key roll day by day
//! in [`lazy`].

pub mod exposure;
pub mod lazy;
pub mod reference;
pub mod risk;
pub mod states;
