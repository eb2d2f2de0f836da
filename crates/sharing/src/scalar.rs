//! Shamir sharing over the ristretto255 scalar field with Feldman commitments.
//! (Being written.)
