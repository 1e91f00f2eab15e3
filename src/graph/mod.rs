//! The key graph, without cryptography: designs as data ([`design`]), shapes
//! ([`shape`]), the struct-of-arrays hierarchy ([`hierarchy`]), skeletons
//! built from a design and a shape ([`skeleton`]), who can reach what
//! ([`reach`]) and operation counts ([`counts`]). Uses [`crate::crypto`] only
//! for sizes and scheme ids.

pub mod counts;
pub mod design;
pub mod hierarchy;
pub mod reach;
pub mod shape;
pub mod skeleton;
