//! Batched AES-256 KW / KWP of 32-byte keys under one KEK (work in progress).
#![allow(unsafe_code)]
