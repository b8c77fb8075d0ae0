//! The benches' test file: `size` bytes of xorshift noise (incompressible, the same every run),
//! written in 1 MiB chunks. Shared by the main bench and `--bin links`.

use std::io::Write;
use std::path::Path;

const MIB: u64 = 1024 * 1024;

/// Writes `size` bytes of deterministic noise to `path`.
pub fn write_file(path: &Path, size: u64) {
    let mut f =
        std::io::BufWriter::with_capacity(MIB as usize, std::fs::File::create(path).unwrap());
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut chunk = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(MIB) as usize;
        f.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}
