//! The local archives ADD unpacks: what Docker's
//! `archive.DecompressStream` reads (plain, gzip, bzip2, xz, zstd), told by
//! the first bytes and never by the file name, holding a tar archive by
//! Go's `tar.Reader.Next()` (a first header with a valid checksum). Image
//! layers stay with [`crate::storage::compress`] (gzip and zstd only, the
//! layer media types).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// Docker's `DetectCompression` magic numbers.
pub fn detect(head: &[u8]) -> Kind {
    if head.starts_with(b"BZh") {
        Kind::Bzip2
    } else if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Kind::Gzip
    } else if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
        Kind::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Kind::Zstd
    } else {
        Kind::Plain
    }
}

/// The file `p`, decompressed as its first bytes say.
pub fn open(p: &Path) -> io::Result<Box<dyn Read>> {
    let mut br = BufReader::with_capacity(256 * 1024, File::open(p)?);
    Ok(match detect(br.fill_buf()?) {
        Kind::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(br)),
        Kind::Xz => Box::new(XzReader::new(br)),
        // gzip (multi-member), zstd and plain as image layers are read.
        Kind::Gzip | Kind::Zstd | Kind::Plain => crate::storage::compress::decompress(br)?.1,
    })
}

/// Is the local file `p` an archive ADD unpacks (a tar, compressed or not)?
pub fn is_archive(p: &Path) -> bool {
    let Ok(mut r) = open(p) else { return false };
    let mut head = [0u8; 512];
    r.read_exact(&mut head).is_ok() && tar_header(&head)
}

/// Go's archive/tar accepts a first block that is not all zeros and whose
/// checksum (unsigned or, for old tars, signed) is right; no magic needed
/// (V7 archives have none).
fn tar_header(h: &[u8; 512]) -> bool {
    if h.iter().all(|&b| b == 0) {
        return false;
    }
    let field = String::from_utf8_lossy(&h[148..156]);
    let Ok(want) = i64::from_str_radix(field.trim_matches([' ', '\0']), 8) else { return false };
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    want == unsigned || want == signed
}

/// xz decoded on a thread into a pipe: lzma-rs (pure Rust) decodes into a
/// writer only, while the tar reader pulls. Dropping the reader early
/// breaks the pipe (SIGPIPE is ignored in rcon), which ends the thread.
struct XzReader {
    pipe: Option<io::PipeReader>,
    worker: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl XzReader {
    fn new<R: BufRead + Send + 'static>(input: R) -> XzReader {
        match io::pipe() {
            Ok((r, w)) => {
                let worker = std::thread::spawn(move || {
                    let mut input = input;
                    let mut out = io::BufWriter::with_capacity(256 * 1024, w);
                    lzma_rs::xz_decompress(&mut input, &mut out).map_err(|e| match e {
                        lzma_rs::error::Error::IoError(e) => e,
                        e => io::Error::new(io::ErrorKind::InvalidData, format!("xz: {e}")),
                    })?;
                    out.flush()
                });
                XzReader { pipe: Some(r), worker: Some(worker) }
            }
            Err(e) => {
                let worker = std::thread::spawn(move || Err(e));
                XzReader { pipe: None, worker: Some(worker) }
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.worker.take().map(|w| w.join()) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(io::Error::other("xz: the decoder failed")),
        }
    }
}

impl Read for XzReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.pipe.as_mut() {
            Some(p) => p.read(buf)?,
            None => 0,
        };
        if n == 0 && !buf.is_empty() {
            // The end: the whole stream decoded, or why not.
            self.finish()?;
        }
        Ok(n)
    }
}

impl Drop for XzReader {
    fn drop(&mut self) {
        self.pipe = None;
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tar_of(name: &str, body: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, body).unwrap();
        b.into_inner().unwrap()
    }

    fn unpacked(p: &Path) -> Vec<String> {
        let mut ar = tar::Archive::new(open(p).unwrap());
        ar.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect()
    }

    #[test]
    fn every_compression_by_content() {
        let d = crate::testutil::TempDir::new("archive");
        let plain = tar_of("etc/hello", b"hi");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&plain).unwrap();
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &plain[..], &mut xz).unwrap();
        let zst = zstd::stream::encode_all(&plain[..], 1).unwrap();
        // Names that say nothing (or lie): only the content counts.
        for (name, data, kind) in [
            ("a.bin", plain.clone(), Kind::Plain),
            ("b.txt", gz.finish().unwrap(), Kind::Gzip),
            ("c", bz.finish().unwrap(), Kind::Bzip2),
            ("d.zip", xz, Kind::Xz),
            ("e.tar.gz", zst, Kind::Zstd),
        ] {
            let p = d.join(name);
            fs::write(&p, &data).unwrap();
            assert_eq!(detect(&data), kind, "{name}");
            assert!(is_archive(&p), "{name}");
            assert_eq!(unpacked(&p), ["etc/hello"], "{name}");
        }
    }

    #[test]
    fn what_is_not_a_tar() {
        let d = crate::testutil::TempDir::new("archive");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"just some text, compressed").unwrap();
        let mut bad = tar_of("x", b"y");
        bad[0] ^= 1; // the checksum no longer holds
        for (name, data) in [
            ("text.tar", b"hello".to_vec()),
            ("text.gz", gz.finish().unwrap()),
            ("zeros.tar", vec![0u8; 1024]),
            ("bad.tar", bad),
            // A zip (local file header): Docker does not unpack zips.
            ("a.zip", b"PK\x03\x04\x14\x00\x00\x00".iter().copied().chain([0u8; 600]).collect()),
        ] {
            let p = d.join(name);
            fs::write(&p, data).unwrap();
            assert!(!is_archive(&p), "{name}");
        }
    }

    #[test]
    fn v7_tar_without_magic() {
        let mut h = [0u8; 512];
        h[..4].copy_from_slice(b"file");
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(b"00000000000");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum::<u32>() + 8 * u32::from(b' ');
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        assert!(tar_header(&h));
        h[0] = b'g';
        assert!(!tar_header(&h));
    }

    #[test]
    fn truncated_xz_is_an_error() {
        let d = crate::testutil::TempDir::new("archive");
        let plain = tar_of("big", &vec![7u8; 100_000]);
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &plain[..], &mut xz).unwrap();
        xz.truncate(xz.len() / 2);
        let p = d.join("cut.tar.xz");
        fs::write(&p, xz).unwrap();
        let mut out = Vec::new();
        assert!(open(&p).unwrap().read_to_end(&mut out).is_err());
    }
}
