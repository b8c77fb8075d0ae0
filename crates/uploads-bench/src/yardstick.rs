//! The yardsticks of the upload rows: `md5sum` of the file, and the same read-and-hash loop in
//! this process with the `md-5` crate 0.11 (what uploads-ext hashes with) and 0.10.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::{Measurement, MIB};

/// Times `md5sum` of the file (or, where it is missing, the same hashing in this process).
pub(crate) fn md5sum_of(file: &Path) -> Measurement {
    let started = Instant::now();
    let ran = Command::new("md5sum")
        .arg(file)
        .output()
        .is_ok_and(|out| out.status.success());
    if !ran {
        return md5_in_process(file, Hasher::Md5Crate);
    }
    Measurement {
        bytes: std::fs::metadata(file).unwrap().len(),
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib: 0,
        parts: 0,
        part_requests: 0,
    }
}

/// Which md5 implementation [`md5_in_process`] uses.
#[derive(Clone, Copy)]
pub(crate) enum Hasher {
    /// The `md-5` crate 0.10's portable code.
    Md5Crate,
    /// The `md-5` crate 0.11's portable code (what uploads-ext hashes with).
    Md5Crate011,
}

/// Times reading the file in 1 MiB reads and hashing it in this process, as `md5sum` does.
pub(crate) fn md5_in_process(file: &Path, hasher: Hasher) -> Measurement {
    use md5::Digest;
    let started = Instant::now();
    let bytes = match hasher {
        Hasher::Md5Crate => {
            let mut md5 = md5::Md5::new();
            let bytes = read_into(file, &mut md5);
            std::hint::black_box(md5.finalize());
            bytes
        }
        Hasher::Md5Crate011 => {
            use md5_011::Digest as _;
            let mut md5 = md5_011::Md5::new();
            let bytes = read_into(file, &mut Updates(|chunk: &[u8]| md5.update(chunk)));
            std::hint::black_box(md5.finalize());
            bytes
        }
    };
    Measurement {
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_kib: 0,
        parts: 0,
        part_requests: 0,
    }
}

/// Feeds the whole file to `hasher` in 1 MiB reads; returns its size.
fn read_into(file: &Path, hasher: &mut impl std::io::Write) -> u64 {
    use std::io::Read;
    let mut f = std::fs::File::open(file).unwrap();
    let mut buf = vec![0u8; MIB as usize];
    let mut bytes = 0;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return bytes;
        }
        bytes += n as u64;
        hasher.write_all(&buf[..n]).unwrap();
    }
}

/// An `io::Write` over a hasher's `update`, for hashers that are not `io::Write` themselves.
struct Updates<F: FnMut(&[u8])>(F);

impl<F: FnMut(&[u8])> std::io::Write for Updates<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (self.0)(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
