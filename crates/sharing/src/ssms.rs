//! Krawczyk's "secret sharing made short" (CRYPTO '93). (Being written.)
