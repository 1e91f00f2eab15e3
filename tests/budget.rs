//! The size estimate made before anything is allocated stays close to what the
//! generator then builds, for every design.

use keyhier::SchemeId;
use keyhier::internal::engine::budget::estimate;
use keyhier::internal::engine::generate::{GenSpec, generate};
use keyhier::internal::graph::design::Design;
use keyhier::internal::graph::shape::Shape;

#[test]
fn the_estimate_is_close_to_what_the_generator_builds() {
    for design in ["m365", "flat", "dke", "threshold", "sharepoint", "tree:4,4"] {
        for preset in ["tiny", "small"] {
            let d = Design::by_name(design).unwrap();
            let shape = Shape::preset(preset).unwrap();
            let e = estimate(&d, &shape, SchemeId::Gcm);
            let spec = GenSpec {
                design: d,
                shape,
                scheme: SchemeId::Gcm,
                seed: 3,
            };
            let (h, _) = generate(&spec, &|_| {}).unwrap();
            let close = |est: f64, real: f64| (est / real - 1.0).abs() < 0.25;
            assert!(
                close(e.leaves, h.leaves() as f64),
                "{design} {preset} leaves {} vs {}",
                e.leaves,
                h.leaves()
            );
            assert!(
                close(e.keys, f64::from(h.nodes())),
                "{design} {preset} keys"
            );
            assert!(
                close(e.wraps, f64::from(h.slots())),
                "{design} {preset} wraps"
            );
            assert!(
                close(e.bytes, h.heap_bytes() as f64),
                "{design} {preset} bytes {} vs {}",
                e.bytes,
                h.heap_bytes()
            );
        }
    }
}
