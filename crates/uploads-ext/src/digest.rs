//! md5, the checksum `complete` takes: the `md-5` crate's (portable Rust, builds for every
//! target), behind the few calls the uploads make. Crate-internal: a caller who drives the
//! operations one by one brings their own md5 (`CompleteUploadBuilder::md5_digest`).
//!
//! On fast links an upload waits for its md5 (one sequential pass over the content), so the hash
//! speed is the upload speed. `md-5` 0.11 hashes as fast as this crate's former hand-written md5
//! (`cargo run --release -p uploads-bench` prints both side by side with `md5sum`), so the crate
//! keeps none of its own. The fake server checks every md5 the client sends.

use md5::Digest as _;

/// An incremental md5: [`update`](Self::update) with the content in order, then
/// [`finalize`](Self::finalize). Also an [`std::io::Write`], so `std::io::copy` can feed it.
#[derive(Clone, Default)]
pub(crate) struct Md5(md5::Md5);

impl Md5 {
    /// An empty computation.
    pub(crate) fn new() -> Md5 {
        Md5::default()
    }

    /// The md5 of `data` in one call.
    pub(crate) fn digest(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
    }

    /// Adds the next bytes of the content.
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The 16-byte digest of everything added.
    pub(crate) fn finalize(self) -> [u8; 16] {
        self.0.finalize().into()
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

#[cfg(test)]
mod tests {
    use super::Md5;

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
                hex::encode(Md5::digest(input.as_bytes())),
                want,
                "md5({input:?})"
            );
        }
    }

    #[test]
    fn incremental_updates_and_io_write_match_one_call() {
        let data: Vec<u8> = (0..10_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        for split in [1, 63, 64, 65, 1000] {
            let mut md5 = Md5::new();
            for chunk in data.chunks(split) {
                md5.update(chunk);
            }
            assert_eq!(md5.finalize(), Md5::digest(&data), "chunks of {split}");
        }
        let mut written = Md5::new();
        std::io::copy(&mut &data[..], &mut written).unwrap();
        assert_eq!(written.finalize(), Md5::digest(&data));
    }
}
