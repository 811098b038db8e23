//! The cases of an SPSS system file: 8-byte slots, stored as they are or as SPSS's
//! bytecode (one command byte per slot: a small integer, a blank string, system-missing,
//! or "the next 8 bytes as they are").

use std::io::{BufRead, Read};

use super::dict::{bad, Src, R};
use super::zsav::ZData;

/// Where the cases come from: the file itself, or the inflated blocks of a ZSAV file.
pub(super) enum Data<B> {
    Plain(B),
    Zlib(Box<ZData<B>>),
}

impl<B: BufRead> Read for Data<B> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Data::Plain(b) => b.read(buf),
            Data::Zlib(z) => z.read(buf),
        }
    }
}

/// Reads the 8-byte slots of cases, decompressing bytecode.
pub(super) struct Cases<T> {
    pub(super) src: Src<T>,
    pub(super) compressed: bool,
    pub(super) bias: f64,
    pub(super) sysmis: f64,
    block: [u8; 8],
    pos: usize,
    done: bool,
}

impl<T: Read> Cases<T> {
    pub(super) fn new(src: Src<T>, compressed: bool, bias: f64, sysmis: f64) -> Self {
        Cases {
            src,
            compressed,
            bias,
            sysmis,
            block: [0; 8],
            pos: 8,
            done: false,
        }
    }

    /// The next case into `out` (`slots` × 8 bytes); `Ok(false)` at the end of the data.
    pub(super) fn next(&mut self, out: &mut [[u8; 8]]) -> R<bool> {
        if self.done {
            return Ok(false);
        }
        if !self.compressed {
            let bytes = out.as_flattened_mut();
            let more = self.src.fill(bytes, "a case")?;
            if !more {
                self.done = true;
            }
            return Ok(more);
        }
        for (k, slot) in out.iter_mut().enumerate() {
            loop {
                if self.pos == 8 {
                    if !self.src.fill(&mut self.block, "a case")? {
                        if k == 0 {
                            self.done = true;
                            return Ok(false);
                        }
                        return bad("the file is truncated (it ends inside a case)");
                    }
                    self.pos = 0;
                }
                let code = self.block[self.pos];
                self.pos += 1;
                match code {
                    0 => continue,
                    252 => {
                        if k == 0 {
                            self.done = true;
                            return Ok(false);
                        }
                        return bad("the data ends inside a case: the file is malformed");
                    }
                    253 => self.src.exact(slot, "a case")?,
                    254 => *slot = *b"        ",
                    255 => *slot = self.enc(self.sysmis),
                    n => *slot = self.enc(n as f64 - self.bias),
                }
                break;
            }
        }
        Ok(true)
    }

    fn enc(&self, x: f64) -> [u8; 8] {
        if self.src.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
}
