//! The data of a ZSAV file (`$FL3`): after the dictionary, a zlib header (the offsets of
//! itself and of the trailer), then the bytecode-compressed cases cut into blocks, each
//! one zlib stream, then the trailer listing every block (offsets and sizes, compressed
//! and not). Read block by block as the cases are read: nothing is inflated ahead, and
//! the trailer is checked against the blocks read.

use std::io::{BufRead, Read};

use super::dict::{bad, Src, R};

/// The zlib header's size; the trailer's fixed part and each of its entries.
const ZHEADER: u64 = 24;
const ZENTRY: u64 = 24;

/// A block as read: where it starts in the file, its compressed and inflated sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    offset: u64,
    compressed: u64,
    inflated: u64,
}

/// The inflated bytes of a ZSAV file's blocks, read from its compressed data.
pub(super) struct ZData<B> {
    inner: B,
    z: flate2::Decompress,
    /// Offset in the file of the next byte of `inner`.
    pos: u64,
    zheader_ofs: u64,
    trailer_ofs: u64,
    trailer_len: u64,
    /// The block being inflated, if any.
    current: Option<Block>,
    blocks: Vec<Block>,
    done: bool,
}

fn corrupt(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

impl<B: BufRead> ZData<B> {
    /// Reads the zlib header at the current offset of `src` (just after the dictionary).
    pub(super) fn new(mut src: Src<B>) -> R<(Self, bool)> {
        let here = src.pos;
        let what = "the ZSAV header";
        let zheader_ofs = src.i64(what)?;
        let trailer_ofs = src.i64(what)?;
        let trailer_len = src.i64(what)?;
        let (Ok(zheader_ofs), Ok(trailer_ofs), Ok(trailer_len)) = (
            u64::try_from(zheader_ofs),
            u64::try_from(trailer_ofs),
            u64::try_from(trailer_len),
        ) else {
            return bad("the ZSAV header has a negative offset: the file is malformed");
        };
        if zheader_ofs != here {
            return bad(format!(
                "the ZSAV header says it is at byte {zheader_ofs} but it is at byte {here}: the file is malformed"
            ));
        }
        if trailer_ofs < here + ZHEADER
            || trailer_len < ZHEADER
            || (trailer_len - ZHEADER) % ZENTRY != 0
        {
            return bad(
                "the ZSAV header's trailer offset or length is impossible: the file is malformed",
            );
        }
        let z = ZData {
            pos: src.pos,
            inner: src.inner,
            z: flate2::Decompress::new(true),
            zheader_ofs,
            trailer_ofs,
            trailer_len,
            current: None,
            blocks: Vec::new(),
            done: false,
        };
        Ok((z, src.big))
    }

    /// Reads what is left of the blocks, then the trailer, and checks that the trailer
    /// describes the blocks read. Returns the underlying reader, after the trailer.
    pub(super) fn finish(mut self, big: bool, bias: f64) -> R<B> {
        let drained = std::io::copy(&mut self, &mut std::io::sink());
        if let Err(e) = drained {
            return bad(e.to_string());
        }
        let mut src = Src {
            inner: self.inner,
            big,
            pos: self.pos,
        };
        let what = "the ZSAV trailer";
        let neg_bias = src.i64(what)?;
        let zero = src.i64(what)?;
        let block_size = src.i32(what)?;
        let n_blocks = src.i32(what)?;
        if neg_bias as f64 != -bias || zero != 0 || block_size <= 0 {
            return bad("the ZSAV trailer's header is not valid: the file is malformed");
        }
        let listed = (self.trailer_len - ZHEADER) / ZENTRY;
        if i64::from(n_blocks) != listed as i64 || listed != self.blocks.len() as u64 {
            return bad(format!(
                "the ZSAV trailer lists {n_blocks} blocks, but the file has {}: the file is malformed",
                self.blocks.len()
            ));
        }
        let mut inflated_ofs = self.zheader_ofs;
        for (k, b) in self.blocks.iter().enumerate() {
            let u_ofs = src.i64(what)?;
            let c_ofs = src.i64(what)?;
            let u_size = src.i32(what)?;
            let c_size = src.i32(what)?;
            let ok = u64::try_from(u_ofs) == Ok(inflated_ofs)
                && u64::try_from(c_ofs) == Ok(b.offset)
                && u64::try_from(u_size) == Ok(b.inflated)
                && u64::try_from(c_size) == Ok(b.compressed)
                && b.inflated <= block_size as u64;
            if !ok {
                return bad(format!(
                    "the ZSAV trailer does not describe block {} as it is in the file: the file is malformed",
                    k + 1
                ));
            }
            inflated_ofs += b.inflated;
        }
        Ok(src.inner)
    }
}

impl<B: BufRead> Read for ZData<B> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            let block = match self.current {
                Some(b) => b,
                None if self.pos >= self.trailer_ofs => {
                    self.done = true;
                    return Ok(0);
                }
                None => {
                    self.z.reset(true);
                    let b = Block {
                        offset: self.pos,
                        compressed: 0,
                        inflated: 0,
                    };
                    self.current = Some(b);
                    b
                }
            };
            let k = self.blocks.len() + 1;
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(corrupt(format!(
                    "the file is truncated (it ends inside compressed block {k})"
                )));
            }
            // A block never runs into the trailer.
            let room = usize::try_from(self.trailer_ofs - self.pos).unwrap_or(usize::MAX);
            let input = &buf[..buf.len().min(room)];
            let (in0, out0) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, out, flate2::FlushDecompress::None)
                .map_err(|e| corrupt(format!("compressed block {k} is corrupt: {e}")))?;
            let used = (self.z.total_in() - in0) as usize;
            let made = (self.z.total_out() - out0) as usize;
            self.inner.consume(used);
            self.pos += used as u64;
            let block = Block {
                compressed: block.compressed + used as u64,
                inflated: block.inflated + made as u64,
                ..block
            };
            self.current = Some(block);
            if status == flate2::Status::StreamEnd {
                self.blocks.push(block);
                self.current = None;
            } else if used == 0 && made == 0 {
                return Err(corrupt(format!(
                    "compressed block {k} does not end before the ZSAV trailer: the file is malformed"
                )));
            }
            if made > 0 {
                return Ok(made);
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;

    /// `sav` (a bytecode-compressed `.sav`) as a ZSAV whose blocks inflate to at most
    /// `block` bytes each, written as SPSS and ReadStat lay it out.
    pub(crate) fn to_zsav(sav: &[u8], data_start: usize, block: usize) -> Vec<u8> {
        let mut out = sav[..data_start].to_vec();
        out[..4].copy_from_slice(b"$FL3");
        out[72..76].copy_from_slice(&2i32.to_le_bytes());
        let zheader_ofs = out.len() as u64;
        let mut blocks = Vec::new();
        let mut body = Vec::new();
        let mut inflated_ofs = zheader_ofs;
        for chunk in sav[data_start..].chunks(block) {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(chunk).unwrap();
            let c = e.finish().unwrap();
            let c_ofs = zheader_ofs + 24 + body.len() as u64;
            blocks.push((inflated_ofs, c_ofs, chunk.len() as i32, c.len() as i32));
            inflated_ofs += chunk.len() as u64;
            body.extend(c);
        }
        let trailer_ofs = zheader_ofs + 24 + body.len() as u64;
        let trailer_len = 24 + 24 * blocks.len() as u64;
        for v in [zheader_ofs, trailer_ofs, trailer_len] {
            out.extend((v as i64).to_le_bytes());
        }
        out.extend(body);
        out.extend((-100i64).to_le_bytes());
        out.extend(0i64.to_le_bytes());
        out.extend((block as i32).to_le_bytes());
        out.extend((blocks.len() as i32).to_le_bytes());
        for (u, c, us, cs) in blocks {
            out.extend((u as i64).to_le_bytes());
            out.extend((c as i64).to_le_bytes());
            out.extend(us.to_le_bytes());
            out.extend(cs.to_le_bytes());
        }
        out
    }
}
