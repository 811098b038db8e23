//! The duplicate-respondent check of a source, in 8 bytes of memory per respondent.
//!
//! Every id is hashed (64 bits) as it is read; only the hashes stay in memory, in one
//! vector (grown by `realloc`, which for a large block on Linux remaps its pages rather
//! than copying them: the hashes are held once, never twice). The ids themselves, with their line
//! or row, go to a spill ([`tempfile::SpooledTempFile`]: memory up to 4 MiB, a temporary
//! file beyond). Once the source is read the hashes are sorted: no two equal means no two
//! equal ids, and the check is done. Equal hashes (a repeated id, or, about once in 10^5
//! sources of 16 million respondents, two ids that share a hash) are settled exactly:
//! the spill is read back and the ids with those hashes compared byte for byte
//! ([`ExactIds`]), so a message names only real duplicates, with both places.
//!
//! A wave of 16 million respondents needs 128 MB for the check, where keeping the ids in
//! memory needed over 500 MB (and a hash map of them over 1.5 GB).

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};

use crate::diag::quote;
use crate::error::{Error, InputError, Invalid, Result, MAX_ERRORS};
use crate::tables::IdHash;

use super::validate::Loc;

/// The spill stays in memory up to this size (its buffer may double once before it
/// moves to a file: 8 MiB at most).
const SPILL_IN_MEMORY: usize = 4 << 20;

/// The respondent ids of one source, hashed with [`IdHash`] (the hashes `respondent_ids`
/// stores; `S` is another hasher in the tests only).
pub(crate) struct SeenIds<S = IdHash> {
    hasher: S,
    hashes: Vec<u64>,
    /// Per id: its place (u64), its length (u32) and its bytes, little-endian.
    spill: std::io::BufWriter<tempfile::SpooledTempFile>,
    spill_error: Option<std::io::Error>,
    /// Places are rows (Parquet, SPSS), not lines.
    rows: bool,
}

impl<S: Default> Default for SeenIds<S> {
    fn default() -> Self {
        SeenIds {
            hasher: S::default(),
            hashes: Vec::new(),
            spill: std::io::BufWriter::new(tempfile::SpooledTempFile::new(SPILL_IN_MEMORY)),
            spill_error: None,
            rows: false,
        }
    }
}

impl<S: BuildHasher> SeenIds<S> {
    pub(crate) fn add(&mut self, id: &str, loc: Loc) {
        let place = match loc {
            Loc::Line(l) => l,
            Loc::Row(r) => {
                self.rows = true;
                r
            }
        };
        self.hashes.push(hash(&self.hasher, id.as_bytes()));
        if self.spill_error.is_none() {
            let len = u32::try_from(id.len()).unwrap_or(u32::MAX);
            let written = self
                .spill
                .write_all(&place.to_le_bytes())
                .and_then(|_| self.spill.write_all(&len.to_le_bytes()))
                .and_then(|_| self.spill.write_all(&id.as_bytes()[..len as usize]));
            self.spill_error = written.err();
        }
    }

    /// Adds an error for every repeated id (naming the first place it was on) to
    /// `errors`, keeping `errors` in the order of the source. Returns every id's hash,
    /// sorted.
    pub(crate) fn duplicates(
        self,
        shown: &str,
        column: &str,
        errors: &mut Invalid,
    ) -> Result<Vec<u64>> {
        let SeenIds {
            hasher,
            hashes,
            spill,
            spill_error,
            rows,
        } = self;
        let (sorted, shared) = shared_hashes(hashes);
        if shared.is_empty() {
            return Ok(sorted);
        }
        let what = || format!("reading back the respondent ids of {shown}");
        if let Some(e) = spill_error {
            return Err(Error::io(what(), e));
        }
        let mut file = spill
            .into_inner()
            .map_err(|e| Error::io(what(), e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(what(), e))?;
        let mut exact = ExactIds {
            rows,
            ..ExactIds::default()
        };
        let mut reader = BufReader::new(file);
        let mut head = [0u8; 12];
        let mut id = Vec::new();
        loop {
            match reader.read_exact(&mut head) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(Error::io(what(), e)),
            }
            let place = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
            let len = u32::from_le_bytes(head[8..].try_into().expect("4 bytes")) as usize;
            id.resize(len, 0);
            reader
                .read_exact(&mut id)
                .map_err(|e| Error::io(what(), e))?;
            if shared.contains(&hash(&hasher, &id)) {
                exact.add(&id, place);
            }
        }
        exact.duplicates(shown, column, errors);
        Ok(sorted)
    }
}

/// The hash of an id's bytes as they are (no length prefix, unlike `hash_one`).
fn hash<S: BuildHasher>(hasher: &S, id: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(id);
    h.finish()
}

/// All the hashes, sorted, and those that occur more than once.
fn shared_hashes(mut all: Vec<u64>) -> (Vec<u64>, HashSet<u64>) {
    all.sort_unstable();
    let shared = all
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    (all, shared)
}

/// Ids compared byte for byte: the candidates of [`SeenIds`] whose hashes are shared.
#[derive(Default)]
struct ExactIds {
    ids: Vec<(Vec<u8>, u64)>,
    rows: bool,
}

impl ExactIds {
    fn add(&mut self, id: &[u8], place: u64) {
        self.ids.push((id.to_vec(), place));
    }

    fn loc(&self, place: u64) -> Loc {
        if self.rows {
            Loc::Row(place)
        } else {
            Loc::Line(place)
        }
    }

    fn duplicates(mut self, shown: &str, column: &str, errors: &mut Invalid) {
        let mut ids = std::mem::take(&mut self.ids);
        ids.sort_unstable();
        let mut found: Vec<InputError> = Vec::new();
        let mut i = 0;
        while i < ids.len() {
            let j = i + ids[i..]
                .iter()
                .take_while(|(id, _)| *id == ids[i].0)
                .count();
            for (id, place) in &ids[i + 1..j] {
                let first = self.loc(ids[i].1);
                let message = format!(
                    "{} is a duplicate respondent id (first on {first}); every row needs a unique id",
                    quote(&String::from_utf8_lossy(id)),
                );
                found.push(
                    self.loc(*place)
                        .on(InputError::new(shown, message))
                        .column(column),
                );
            }
            i = j;
        }
        merge(found, errors);
    }
}

/// Merges `found` into the problems found while reading, in the order of the source; on
/// one line the id's problem comes first (the id is usually the first column).
fn merge(mut found: Vec<InputError>, errors: &mut Invalid) {
    if found.is_empty() {
        return;
    }
    let total = found.len();
    let place = |e: &InputError| e.line.or(e.row).unwrap_or(0);
    found.sort_by_key(place);
    let mut merged = Vec::with_capacity(errors.errors.len() + found.len());
    let mut rest = std::mem::take(&mut errors.errors).into_iter().peekable();
    for d in found {
        while rest.peek().is_some_and(|e| place(e) < place(&d)) {
            merged.extend(rest.next());
        }
        merged.push(d);
    }
    merged.extend(rest);
    merged.truncate(MAX_ERRORS);
    errors.errors = merged;
    errors.total += total;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(errors: &Invalid) -> Vec<String> {
        errors.errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn repeated_ids_are_found_exactly_and_merged_in_source_order() {
        let mut ids = SeenIds::<IdHash>::default();
        for (id, line) in [("a", 2), ("b", 3), ("a", 4), ("ab", 5), ("b", 6), ("a", 9)] {
            ids.add(id, Loc::Line(line));
        }
        let mut errors = Invalid::default();
        // A problem found while reading, between the duplicates.
        errors.push(InputError::new("f.csv", "bad answer").line(5).column("Q1"));
        ids.duplicates("f.csv", "id", &mut errors).unwrap();
        assert_eq!(
            messages(&errors),
            [
                "f.csv line 4, column id: \"a\" is a duplicate respondent id (first on line 2); every row needs a unique id",
                "f.csv line 5, column Q1: bad answer",
                "f.csv line 6, column id: \"b\" is a duplicate respondent id (first on line 3); every row needs a unique id",
                "f.csv line 9, column id: \"a\" is a duplicate respondent id (first on line 2); every row needs a unique id",
            ]
        );
        assert_eq!(errors.total, 4);

        // Rows (Parquet, SPSS) are named as rows; distinct ids give nothing.
        let mut ids = SeenIds::<IdHash>::default();
        ids.add("x", Loc::Row(1));
        ids.add("x", Loc::Row(7));
        let mut errors = Invalid::default();
        ids.duplicates("f.parquet", "id", &mut errors).unwrap();
        assert_eq!(
            messages(&errors),
            ["f.parquet row 7, column id: \"x\" is a duplicate respondent id (first on row 1); every row needs a unique id"]
        );
        let mut ids = SeenIds::<IdHash>::default();
        ids.add("x", Loc::Line(2));
        ids.add("y", Loc::Line(3));
        let mut errors = Invalid::default();
        ids.duplicates("f.csv", "id", &mut errors).unwrap();
        assert!(errors.errors.is_empty());
    }

    /// Every id hashes to 42.
    #[derive(Default)]
    struct Constant;
    impl std::hash::Hasher for Constant {
        fn finish(&self) -> u64 {
            42
        }
        fn write(&mut self, _: &[u8]) {}
    }

    /// Different ids with the same hash are not duplicates: with one hash for all, the
    /// whole spill is read back and compared byte for byte.
    #[test]
    fn ids_sharing_a_hash_are_compared_byte_for_byte() {
        let mut ids = SeenIds::<std::hash::BuildHasherDefault<Constant>>::default();
        let n = 3000;
        for line in 0..n {
            ids.add(&format!("r{line}"), Loc::Line(line + 2));
        }
        ids.add("r17", Loc::Line(n + 2));
        let mut errors = Invalid::default();
        ids.duplicates("f.csv", "id", &mut errors).unwrap();
        assert_eq!(
            messages(&errors),
            [format!("f.csv line {}, column id: \"r17\" is a duplicate respondent id (first on line 19); every row needs a unique id", n + 2)]
        );
        assert_eq!(errors.total, 1);
    }

    #[test]
    fn a_spill_beyond_memory_goes_to_a_file_and_is_read_back() {
        let mut ids = SeenIds::<IdHash>::default();
        let long = "x".repeat(1000);
        let n = (SPILL_IN_MEMORY / 1000 + 10) as u64;
        for line in 0..n {
            ids.add(&format!("{long}{line}"), Loc::Line(line + 2));
        }
        ids.add(&format!("{long}3"), Loc::Line(n + 2));
        assert!(ids.spill.get_ref().is_rolled());
        let mut errors = Invalid::default();
        ids.duplicates("f.csv", "id", &mut errors).unwrap();
        assert_eq!(errors.total, 1);
        assert!(
            messages(&errors)[0].contains("(first on line 5)"),
            "{:?}",
            messages(&errors)
        );
    }
}
