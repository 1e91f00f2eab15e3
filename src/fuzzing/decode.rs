//! The decoder targets: a stored wrap and a hierarchy file, from arbitrary bytes.

use crate::store::hfile;

use crate::crypto::wire::StoredWrap;

/// [`StoredWrap::decode`]: never panics; whatever decodes re-encodes to the
/// same bytes (and its prefix reading agrees), and names a context per layer.
pub fn decode_wrap(data: &[u8]) {
    let whole = StoredWrap::decode(data);
    if let Ok(w) = &whole {
        assert_eq!(
            w.encode().as_deref(),
            Ok(data),
            "a decoded stored wrap re-encodes to other bytes"
        );
        assert_eq!(
            w.encoded_len(),
            data.len(),
            "encoded_len disagrees with the encoding"
        );
        for layer in 0..w.keks.len() {
            assert!(
                w.context(layer).is_some(),
                "no context for layer {layer} of {}",
                w.keks.len()
            );
        }
    }
    match StoredWrap::decode_prefix(data) {
        Ok((w, used)) => {
            let prefix = data.get(..used);
            assert!(
                prefix.is_some(),
                "decode_prefix used {used} of {} bytes",
                data.len()
            );
            assert_eq!(
                w.encode().ok().as_deref(),
                prefix,
                "a prefix-decoded stored wrap re-encodes to other bytes"
            );
            assert_eq!(
                whole.is_ok(),
                used == data.len(),
                "decode and decode_prefix disagree on where the wrap ends"
            );
        }
        Err(e) => assert_eq!(
            whole,
            Err(e),
            "decode and decode_prefix disagree on a malformed wrap"
        ),
    }
}

/// [`hfile::decode`]: never panics; whatever decodes passes
/// [`crate::graph::hierarchy::Hierarchy::check`], re-encodes to the same bytes, and can
/// be walked by the reach analysis.
pub fn decode_hierarchy(data: &[u8]) {
    let Ok(h) = hfile::decode(data) else { return };
    if let Err(e) = h.check() {
        panic!("a decoded hierarchy fails its structural check: {e}");
    }
    assert_eq!(
        hfile::encode(&h).as_deref(),
        Ok(data),
        "a decoded hierarchy re-encodes to other bytes"
    );
    let all = crate::graph::reach::reach(&h, &|_| true);
    assert_eq!(
        all.leaves_open(&h),
        h.leaves(),
        "holding every root does not reach every leaf"
    );
}
