//! Layer and archive compression, recognised by magic bytes (as Docker does)
//! rather than by media type or file name, which are often wrong.

use std::io::{self, BufRead, BufReader, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The name recorded in a layer's record ("none", "gzip", "zstd").
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Wrap `r` in the decompressor its first bytes call for.
pub fn decompress<'a, R: Read + 'a>(r: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let mut br = BufReader::with_capacity(256 * 1024, r);
    let kind = Compression::detect(br.fill_buf()?);
    let out: Box<dyn Read + 'a> = match kind {
        Compression::None => Box::new(br),
        // MultiGzDecoder: pigz and some registries write concatenated members.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(br)?),
    };
    Ok((kind, out))
}

/// A reader that hashes (sha256) and counts what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        use sha2::Digest;
        HashingReader { inner, hasher: sha2::Sha256::new(), count: 0 }
    }

    /// Read what the consumer left unread (tar stops at its end-of-archive
    /// blocks, but the digest covers the whole stream) and finish.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self.inner_reader(), &mut io::sink())?;
        use sha2::Digest;
        Ok((format!("sha256:{}", hex(&self.hasher.finalize())), self.count))
    }

    fn inner_reader(&mut self) -> &mut Self {
        self
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)))
}
