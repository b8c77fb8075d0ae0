//! `upload -`: stdin as an upload's content, exactly `--size` bytes.
//!
//! The SDK reads a reader's parts with `read_exact` and does not look past the length it was
//! given. [`Exactly`] makes both mistakes an error *before* `complete`: a stream that ends early,
//! and one that holds more than declared (its last byte is held back until the stream is seen
//! to end), so a wrong `--size` never completes a truncated File.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// A reader that yields exactly `declared` bytes of `inner`, and fails if `inner` ends sooner or
/// holds more.
#[derive(Debug)]
pub struct Exactly<R> {
    inner: R,
    declared: u64,
    remaining: u64,
    /// The last declared byte, held back until `inner` is seen to end.
    held: Option<u8>,
}

impl<R> Exactly<R> {
    /// `declared` bytes of `inner`.
    pub fn new(inner: R, declared: u64) -> Exactly<R> {
        Exactly {
            inner,
            declared,
            remaining: declared,
            held: None,
        }
    }
}

impl<R: AsyncRead + Unpin> Exactly<R> {
    /// Delivers the held byte once `inner` has ended; fails if it had more.
    fn poll_end(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut probe = [0u8; 1];
        let mut probe = ReadBuf::new(&mut probe);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut probe))?;
        if !probe.filled().is_empty() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("stdin holds more than --size ({} bytes)", self.declared),
            )));
        }
        if let Some(last) = self.held.take() {
            buf.put_slice(&[last]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Exactly<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.held.is_some() {
            return this.poll_end(cx, buf);
        }
        if this.remaining == 0 || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let limit = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.remaining());
        let n = {
            let mut window = ReadBuf::new(buf.initialize_unfilled_to(limit));
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut window))?;
            window.filled().len()
        };
        if n == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "stdin ended after {} of the {} bytes --size declared",
                    this.declared - this.remaining,
                    this.declared
                ),
            )));
        }
        this.remaining -= n as u64;
        if this.remaining > 0 {
            buf.advance(n);
            return Poll::Ready(Ok(()));
        }
        // The last declared byte: keep it until the stream is seen to end.
        this.held = Some(buf.initialize_unfilled_to(n)[n - 1]);
        buf.advance(n - 1);
        if n > 1 {
            return Poll::Ready(Ok(()));
        }
        this.poll_end(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn read_in_parts(content: &[u8], declared: u64, part: usize) -> io::Result<Vec<u8>> {
        let mut reader = Exactly::new(content, declared);
        let mut out = Vec::new();
        let mut left = declared as usize;
        while left > 0 {
            let mut chunk = vec![0; part.min(left)];
            reader.read_exact(&mut chunk).await?;
            out.extend_from_slice(&chunk);
            left -= chunk.len();
        }
        Ok(out)
    }

    #[tokio::test]
    async fn exactly_the_declared_bytes_pass_through() {
        let content: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for part in [1, 7, 100, 1000] {
            let got = read_in_parts(&content, 1000, part).await.unwrap();
            assert_eq!(got, content, "parts of {part}");
        }
        assert_eq!(read_in_parts(b"x", 1, 1).await.unwrap(), b"x");
    }

    #[tokio::test]
    async fn a_short_stream_fails_with_what_arrived() {
        let err = read_in_parts(&[1; 10], 11, 4).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            err.to_string(),
            "stdin ended after 10 of the 11 bytes --size declared"
        );
    }

    #[tokio::test]
    async fn a_longer_stream_fails_before_its_last_declared_byte() {
        for part in [1, 3, 10] {
            let err = read_in_parts(&[1; 11], 10, part).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "parts of {part}");
            assert_eq!(err.to_string(), "stdin holds more than --size (10 bytes)");
        }
    }
}
