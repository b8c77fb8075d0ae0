//! MD5 (RFC 1321), the checksum `complete` takes, in safe and portable Rust written for speed.
//!
//! The uploads compute it as they read the content (`Md5::new`, `update`, `finalize`; also an
//! `io::Write`). Crate-internal: a caller who drives the operations one by one brings their own
//! md5 (`CompleteUploadBuilder::md5_digest`).
//!
//! On fast links an upload waits for its md5 (one sequential pass over the content that cannot be
//! split across cores), so the hash speed is the upload speed. On the project's reference machine
//! the portable code of the `md-5` crate reads and hashes about 390 MiB/s and `md5sum` about
//! 460 MiB/s; this about 530 MiB/s, as fast as `md-5`'s assembly, which does not build for Windows
//! (`cargo run --release -p uploads-bench` prints the first three side by side).
//!
//! MD5 is bound by the chain of dependent operations through the newest state word (`b`); the
//! other inputs of a step (the oldest word, the message word, the constant) are ready long before.
//! Two changes shorten that chain:
//! - Each step first sums the inputs that are ready early, then adds the round function of `b`.
//!   LLVM would otherwise reassociate the sum and add the constant (or the message word) after
//!   the round function, one more operation on the chain per step; [`black_box`] keeps the early
//!   sum as one value.
//! - Round 2's `(b & d) | (c & !d)` has disjoint halves, so it is added as two terms: `c & !d`
//!   joins the early sum and only `b & d` waits for `b`.
//!
//! The crate's tests check it against the RFC's vectors and, over many lengths and ways of
//! splitting the input, against the `md-5` crate; the fake server verifies every md5 the client
//! sends with `md-5`, an independent implementation.

use std::hint::black_box;

/// The sine-derived constants of RFC 1321, one per step.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

const INITIAL_STATE: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

const BLOCK: usize = 64;

/// An incremental MD5 computation: [`update`](Self::update) with the content in order, then
/// [`finalize`](Self::finalize). Also an [`std::io::Write`], so `std::io::copy` can feed it.
#[derive(Clone)]
pub struct Md5 {
    state: [u32; 4],
    /// The start of a block that `update` has not completed yet.
    pending: [u8; BLOCK],
    pending_len: usize,
    total_len: u64,
}

impl Default for Md5 {
    fn default() -> Self {
        Md5::new()
    }
}

impl Md5 {
    /// An empty computation.
    pub fn new() -> Md5 {
        Md5 {
            state: INITIAL_STATE,
            pending: [0; BLOCK],
            pending_len: 0,
            total_len: 0,
        }
    }

    /// The md5 of `data`.
    pub fn digest(data: &[u8]) -> [u8; 16] {
        let mut md5 = Md5::new();
        md5.update(data);
        md5.finalize()
    }

    /// Hashes `data` after what was hashed so far.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total_len = self.total_len.wrapping_add(data.len() as u64);
        if self.pending_len > 0 {
            let take = (BLOCK - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < BLOCK {
                return;
            }
            let block = self.pending;
            compress(&mut self.state, &block);
            self.pending_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            compress(&mut self.state, block.try_into().expect("a whole block"));
        }
        let rest = blocks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The digest of everything hashed.
    pub fn finalize(mut self) -> [u8; 16] {
        let bit_len = self.total_len.wrapping_mul(8);
        // 0x80, zeros up to 56 bytes into a block, then the length in bits.
        let mut padding = [0u8; BLOCK];
        padding[0] = 0x80;
        let padding_len = if self.pending_len < 56 {
            56 - self.pending_len
        } else {
            BLOCK + 56 - self.pending_len
        };
        self.update(&padding[..padding_len]);
        self.update(&bit_len.to_le_bytes());
        debug_assert_eq!(self.pending_len, 0);
        let mut digest = [0u8; 16];
        for (out, word) in digest.chunks_exact_mut(4).zip(self.state) {
            out.copy_from_slice(&word.to_le_bytes());
        }
        digest
    }
}

impl std::fmt::Debug for Md5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Md5")
            .field("bytes_hashed", &self.total_len)
            .finish_non_exhaustive()
    }
}

impl std::io::Write for Md5 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One step of rounds 1 (F), 3 (H) and 4 (I): `a = b + (a + m + k + f(b, c, d)) <<< s`.
macro_rules! step {
    ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        let early = black_box($a.wrapping_add($m).wrapping_add($k));
        $a = early
            .wrapping_add($f($b, $c, $d))
            .rotate_left($s)
            .wrapping_add($b);
    };
}

/// One step of round 2, whose function `(b & d) | (c & !d)` is added as two disjoint terms.
macro_rules! step_g {
    ($a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        let early = black_box($a.wrapping_add($m).wrapping_add($k).wrapping_add($c & !$d));
        $a = early.wrapping_add($b & $d).rotate_left($s).wrapping_add($b);
    };
}

#[inline(always)]
fn f(b: u32, c: u32, d: u32) -> u32 {
    d ^ (b & (c ^ d))
}

#[inline(always)]
fn h(b: u32, c: u32, d: u32) -> u32 {
    b ^ (c ^ d)
}

#[inline(always)]
fn i(b: u32, c: u32, d: u32) -> u32 {
    c ^ (b | !d)
}

/// Folds one 64-byte block into the state.
#[inline(always)]
fn compress(state: &mut [u32; 4], block: &[u8; BLOCK]) {
    let mut m = [0u32; 16];
    for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_le_bytes(bytes.try_into().expect("four bytes"));
    }
    let [mut a, mut b, mut c, mut d] = *state;

    step!(f, a, b, c, d, m[0], K[0], 7);
    step!(f, d, a, b, c, m[1], K[1], 12);
    step!(f, c, d, a, b, m[2], K[2], 17);
    step!(f, b, c, d, a, m[3], K[3], 22);
    step!(f, a, b, c, d, m[4], K[4], 7);
    step!(f, d, a, b, c, m[5], K[5], 12);
    step!(f, c, d, a, b, m[6], K[6], 17);
    step!(f, b, c, d, a, m[7], K[7], 22);
    step!(f, a, b, c, d, m[8], K[8], 7);
    step!(f, d, a, b, c, m[9], K[9], 12);
    step!(f, c, d, a, b, m[10], K[10], 17);
    step!(f, b, c, d, a, m[11], K[11], 22);
    step!(f, a, b, c, d, m[12], K[12], 7);
    step!(f, d, a, b, c, m[13], K[13], 12);
    step!(f, c, d, a, b, m[14], K[14], 17);
    step!(f, b, c, d, a, m[15], K[15], 22);

    step_g!(a, b, c, d, m[1], K[16], 5);
    step_g!(d, a, b, c, m[6], K[17], 9);
    step_g!(c, d, a, b, m[11], K[18], 14);
    step_g!(b, c, d, a, m[0], K[19], 20);
    step_g!(a, b, c, d, m[5], K[20], 5);
    step_g!(d, a, b, c, m[10], K[21], 9);
    step_g!(c, d, a, b, m[15], K[22], 14);
    step_g!(b, c, d, a, m[4], K[23], 20);
    step_g!(a, b, c, d, m[9], K[24], 5);
    step_g!(d, a, b, c, m[14], K[25], 9);
    step_g!(c, d, a, b, m[3], K[26], 14);
    step_g!(b, c, d, a, m[8], K[27], 20);
    step_g!(a, b, c, d, m[13], K[28], 5);
    step_g!(d, a, b, c, m[2], K[29], 9);
    step_g!(c, d, a, b, m[7], K[30], 14);
    step_g!(b, c, d, a, m[12], K[31], 20);

    step!(h, a, b, c, d, m[5], K[32], 4);
    step!(h, d, a, b, c, m[8], K[33], 11);
    step!(h, c, d, a, b, m[11], K[34], 16);
    step!(h, b, c, d, a, m[14], K[35], 23);
    step!(h, a, b, c, d, m[1], K[36], 4);
    step!(h, d, a, b, c, m[4], K[37], 11);
    step!(h, c, d, a, b, m[7], K[38], 16);
    step!(h, b, c, d, a, m[10], K[39], 23);
    step!(h, a, b, c, d, m[13], K[40], 4);
    step!(h, d, a, b, c, m[0], K[41], 11);
    step!(h, c, d, a, b, m[3], K[42], 16);
    step!(h, b, c, d, a, m[6], K[43], 23);
    step!(h, a, b, c, d, m[9], K[44], 4);
    step!(h, d, a, b, c, m[12], K[45], 11);
    step!(h, c, d, a, b, m[15], K[46], 16);
    step!(h, b, c, d, a, m[2], K[47], 23);

    step!(i, a, b, c, d, m[0], K[48], 6);
    step!(i, d, a, b, c, m[7], K[49], 10);
    step!(i, c, d, a, b, m[14], K[50], 15);
    step!(i, b, c, d, a, m[5], K[51], 21);
    step!(i, a, b, c, d, m[12], K[52], 6);
    step!(i, d, a, b, c, m[3], K[53], 10);
    step!(i, c, d, a, b, m[10], K[54], 15);
    step!(i, b, c, d, a, m[1], K[55], 21);
    step!(i, a, b, c, d, m[8], K[56], 6);
    step!(i, d, a, b, c, m[15], K[57], 10);
    step!(i, c, d, a, b, m[6], K[58], 15);
    step!(i, b, c, d, a, m[13], K[59], 21);
    step!(i, a, b, c, d, m[4], K[60], 6);
    step!(i, d, a, b, c, m[11], K[61], 10);
    step!(i, c, d, a, b, m[2], K[62], 15);
    step!(i, b, c, d, a, m[9], K[63], 21);

    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

#[cfg(test)]
mod tests {
    use super::Md5;
    use crate::upload::MD5_ENCODING;
    use md5::Digest as _;

    #[test]
    fn rfc_1321_test_suite() {
        let cases: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                MD5_ENCODING.encode(&Md5::digest(input.as_bytes())),
                want,
                "md5({input:?})"
            );
        }
    }

    /// Deterministic, irregular bytes (a multiplicative hash of the position), so failures
    /// reproduce.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        (0..len as u64)
            .map(|at| ((at + seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8)
            .collect()
    }

    #[test]
    fn agrees_with_md5_crate_at_every_length_around_the_block_and_padding_edges() {
        let data = noise(1000, 7);
        for len in 0..data.len() {
            let want = md5::Md5::digest(&data[..len]);
            assert_eq!(Md5::digest(&data[..len])[..], want[..], "length {len}");
        }
    }

    #[test]
    fn agrees_with_md5_crate_however_the_input_is_split_into_updates() {
        for seed in 1..40u64 {
            let data = noise(5000 + seed as usize * 37, seed);
            let want = md5::Md5::digest(&data);
            let mut md5 = Md5::new();
            let mut rest = &data[..];
            let mut cut = seed as usize;
            while !rest.is_empty() {
                // Lengths of 0..=200 bytes: empty updates, partial and several blocks.
                cut = (cut * 31 + 17) % 201;
                let (now, later) = rest.split_at(cut.min(rest.len()));
                md5.update(now);
                rest = later;
            }
            assert_eq!(md5.finalize()[..], want[..], "seed {seed}");
        }
    }

    #[test]
    fn a_large_input_matches() {
        let data = noise(3 * 1024 * 1024 + 5, 99);
        assert_eq!(Md5::digest(&data)[..], md5::Md5::digest(&data)[..]);
    }
}
