//! A bridge from the workspace's `rand_core` 0.10 RNGs to the `rand_core`
//! 0.6 traits frost-core 3 expects, so callers pass one kind of RNG
//! everywhere.

/// Borrows a `rand_core` 0.10 [`rand_core::CryptoRng`] as a `rand_core` 0.6
/// `RngCore + CryptoRng`.
pub(crate) struct Rng06<'a, R: rand_core::CryptoRng + ?Sized>(pub(crate) &'a mut R);

impl<R: rand_core::CryptoRng + ?Sized> rand_core_06::RngCore for Rng06<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl<R: rand_core::CryptoRng + ?Sized> rand_core_06::CryptoRng for Rng06<'_, R> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng as _, SeedableRng as _};
    use rand_core_06::RngCore as _;

    #[test]
    fn forwards_the_stream() {
        let mut a = ChaCha20Rng::from_seed([3; 32]);
        let mut b = ChaCha20Rng::from_seed([3; 32]);
        let mut bridged = Rng06(&mut a);
        let mut x = [0u8; 40];
        let mut y = [0u8; 40];
        bridged.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        assert_eq!(x, y);
        assert_eq!(bridged.next_u64(), b.next_u64());
    }
}
