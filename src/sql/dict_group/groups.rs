//! The group table: each row's group id from its keys (dictionary codes looked up once
//! per dictionary, or the strings themselves).

use arrow::array::AsArray;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, DictionaryArray, StringViewBuilder};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{
    DataType, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use datafusion::common::{internal_err, Result};
use rustc_hash::FxHashMap;

use super::{DENSE_MAX, UNSET};

/// The string of `arr` at `i` (`arr` is a string array).
pub(super) fn str_value(arr: &dyn Array, i: usize) -> Option<&str> {
    if arr.is_null(i) {
        return None;
    }
    match arr.data_type() {
        DataType::Utf8 => Some(arr.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(arr.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(arr.as_string_view().value(i)),
        _ => None,
    }
}

/// The distinct values of one grouping column, each with an id.
#[derive(Default)]
pub(super) struct KeyColumn {
    values: Vec<Option<Box<str>>>,
    ids: FxHashMap<Box<str>, u32>,
    null_id: Option<u32>,
    /// The dictionary of the current batch, and its values' ids (`UNSET` until seen).
    dict: Option<ArrayRef>,
    remap: Vec<u32>,
}

impl KeyColumn {
    fn id(&mut self, v: Option<&str>) -> u32 {
        match v {
            None => match self.null_id {
                Some(id) => id,
                None => {
                    let id = self.values.len() as u32;
                    self.values.push(None);
                    self.null_id = Some(id);
                    id
                }
            },
            Some(s) => match self.ids.get(s) {
                Some(id) => *id,
                None => {
                    let id = self.values.len() as u32;
                    self.values.push(Some(s.into()));
                    self.ids.insert(s.into(), id);
                    id
                }
            },
        }
    }

    /// Makes `values` the current dictionary; true when it changed.
    fn set_dict(&mut self, values: &ArrayRef) -> bool {
        if let Some(d) = &self.dict {
            if Arc::ptr_eq(d, values) {
                return false;
            }
        }
        self.dict = Some(Arc::clone(values));
        self.remap.clear();
        // One more code for NULL keys.
        self.remap.resize(values.len() + 1, UNSET);
        true
    }

    /// The id of dictionary code `code` (`dict.len()` is a NULL key).
    fn global(&mut self, code: u32) -> u32 {
        let id = self.remap[code as usize];
        if id != UNSET {
            return id;
        }
        let Some(dict) = self.dict.clone() else {
            return UNSET;
        };
        let v = if code as usize >= dict.len() {
            None
        } else {
            str_value(dict.as_ref(), code as usize)
        };
        let id = self.id(v);
        self.remap[code as usize] = id;
        id
    }
}

/// One batch's view of a grouping column.
pub(super) enum Codes {
    /// Every row holds this id.
    Const(u32),
    /// Dictionary codes (NULL = the dictionary's length), `domain` of them.
    Keys(Vec<u32>, usize),
    /// Ids, row by row.
    Ids(Vec<u32>),
}

fn dict_codes<K: arrow::datatypes::ArrowDictionaryKeyType>(
    arr: &dyn Array,
) -> (Vec<u32>, ArrayRef) {
    let d: &DictionaryArray<K> = arr.as_dictionary::<K>();
    let len = d.values().len() as u32;
    let mut codes: Vec<u32> = d
        .keys()
        .values()
        .iter()
        .map(|k| arrow::datatypes::ArrowNativeType::as_usize(*k) as u32)
        .collect();
    if let Some(nulls) = d.keys().nulls().filter(|n| n.null_count() > 0) {
        for i in (!nulls.inner()).set_indices() {
            codes[i] = len;
        }
    }
    (codes, Arc::clone(d.values()))
}

/// Whether every view is `first` (a partition column is one value repeated): 16 views
/// at a time, which the compiler vectorises, where `all` stops at each view.
pub(super) fn all_equal(views: &[u128], first: u128) -> bool {
    let mut chunks = views.chunks_exact(16);
    let whole = chunks
        .by_ref()
        .all(|c| c.iter().fold(true, |same, v| same & (*v == first)));
    whole && chunks.remainder().iter().all(|v| *v == first)
}

/// Sets `comp[i]` to `dropped` wherever bit `i` of `keep` is unset, 64 rows per mask
/// word and without a branch per row (which rows a filter drops is unpredictable).
fn drop_rows(comp: &mut [u32], keep: &BooleanBuffer, dropped: u32) {
    let words = keep.inner().bit_chunks(keep.offset(), comp.len());
    for (word, part) in words.iter_padded().zip(comp.chunks_mut(64)) {
        for (j, x) in part.iter_mut().enumerate() {
            *x = crate::sql::lanes::pick(word, j, *x, dropped);
        }
    }
}

/// Rows to group indices.
pub(super) struct Groups {
    pub(super) cols: Vec<KeyColumn>,
    /// Packed column ids (32 bits each) -> group index.
    map: FxHashMap<u128, u32>,
    /// Each group's packed ids.
    keys: Vec<u128>,
    /// Group index by the batch's combined dictionary codes, valid while `dense_ident`
    /// (each column's constant id or dictionary size) is unchanged and no dictionary
    /// changed.
    pub(super) dense: Vec<u32>,
    dense_ident: Vec<(bool, u32, usize)>,
    comp: Vec<u32>,
    /// Whether group 0 is the trash group: the rows of a folded filter that it drops
    /// ([`Groups::with_trash`]).
    trash: bool,
}

/// The packed ids of the trash group: no real group has them (four ids of `u32::MAX`
/// would need four billion distinct values; fewer keys leave the high bits zero).
const TRASH_KEY: u128 = u128::MAX;

impl Groups {
    /// Bytes held by the group table.
    pub(super) fn size(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<u128>()
            + self.map.capacity() * (std::mem::size_of::<(u128, u32)>() + 1)
            + (self.dense.capacity() + self.comp.capacity()) * std::mem::size_of::<u32>()
    }

    pub(super) fn new(n: usize) -> Self {
        Groups {
            cols: (0..n).map(|_| KeyColumn::default()).collect(),
            map: FxHashMap::default(),
            keys: Vec::new(),
            dense: Vec::new(),
            dense_ident: Vec::new(),
            comp: Vec::new(),
            trash: false,
        }
    }

    /// Groups whose group 0 takes the rows [`Groups::assign`] is told to drop; its
    /// accumulated values are never emitted ([`Groups::emitted`]).
    pub(super) fn with_trash(n: usize) -> Self {
        let mut g = Groups::new(n);
        g.lookup(TRASH_KEY);
        g.trash = true;
        g
    }

    /// An empty table like this one (the same columns, a trash group where it has one).
    pub(super) fn fresh(&self) -> Self {
        if self.trash {
            Groups::with_trash(self.cols.len())
        } else {
            Groups::new(self.cols.len())
        }
    }

    /// The first group that is emitted (1 where group 0 is the trash group).
    pub(super) fn emitted(&self) -> usize {
        usize::from(self.trash)
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    fn lookup(&mut self, packed: u128) -> u32 {
        let next = self.keys.len() as u32;
        let g = *self.map.entry(packed).or_insert(next);
        if g == next {
            self.keys.push(packed);
        }
        g
    }

    /// How column `j` looks in this batch.
    fn codes(&mut self, j: usize, arr: &ArrayRef) -> Result<Codes> {
        let n = arr.len();
        let col = &mut self.cols[j];
        if let DataType::Dictionary(k, _) = arr.data_type() {
            let (codes, values) = match k.as_ref() {
                DataType::Int32 => dict_codes::<Int32Type>(arr.as_ref()),
                DataType::Int8 => dict_codes::<Int8Type>(arr.as_ref()),
                DataType::Int16 => dict_codes::<Int16Type>(arr.as_ref()),
                DataType::Int64 => dict_codes::<Int64Type>(arr.as_ref()),
                DataType::UInt8 => dict_codes::<UInt8Type>(arr.as_ref()),
                DataType::UInt16 => dict_codes::<UInt16Type>(arr.as_ref()),
                DataType::UInt32 => dict_codes::<UInt32Type>(arr.as_ref()),
                DataType::UInt64 => dict_codes::<UInt64Type>(arr.as_ref()),
                other => return internal_err!("DictGroupExec: dictionary key type {other}"),
            };
            if col.set_dict(&values) {
                self.dense_ident.clear();
            }
            return Ok(Codes::Keys(codes, values.len() + 1));
        }
        if n == 0 {
            return Ok(Codes::Ids(Vec::new()));
        }
        // A string column: constant in the batch (a partition column), or ids row by row
        // with the previous row's id reused for a run of equal values.
        if let DataType::Utf8View = arr.data_type() {
            let a = arr.as_string_view();
            let views = a.views();
            let first = views[0];
            if a.null_count() == 0 && all_equal(views, first) {
                return Ok(Codes::Const(col.id(Some(a.value(0)))));
            }
            let mut ids = Vec::with_capacity(n);
            let mut prev: Option<(u128, u32)> = None;
            for i in 0..n {
                if a.is_null(i) {
                    ids.push(col.id(None));
                    prev = None;
                    continue;
                }
                let v = views[i];
                let id = match prev {
                    Some((pv, pid)) if pv == v => pid,
                    _ => col.id(Some(a.value(i))),
                };
                prev = Some((v, id));
                ids.push(id);
            }
            return Ok(Codes::Ids(ids));
        }
        if arr.logical_null_count() == n {
            return Ok(Codes::Const(col.id(None)));
        }
        let first = str_value(arr.as_ref(), 0);
        if arr.null_count() == 0 && (1..n).all(|i| str_value(arr.as_ref(), i) == first) {
            return Ok(Codes::Const(col.id(first)));
        }
        let mut ids = Vec::with_capacity(n);
        let mut prev: Option<(Option<&str>, u32)> = None;
        for i in 0..n {
            let v = str_value(arr.as_ref(), i);
            let id = match prev {
                Some((pv, pid)) if pv == v => pid,
                _ => col.id(v),
            };
            prev = Some((v, id));
            ids.push(id);
        }
        Ok(Codes::Ids(ids))
    }

    /// The group index of every row of a batch whose grouping columns are `cols`; rows
    /// not in `keep` (where given: only with the trash group) go to the trash group.
    pub(super) fn assign(
        &mut self,
        cols: &[&ArrayRef],
        keep: Option<&BooleanBuffer>,
        out: &mut Vec<usize>,
    ) -> Result<()> {
        if keep.is_some() && !self.trash {
            return internal_err!("DictGroupExec: rows dropped without a trash group");
        }
        let n = cols.first().map(|c| c.len()).unwrap_or(0);
        let codes = cols
            .iter()
            .enumerate()
            .map(|(j, a)| self.codes(j, a))
            .collect::<Result<Vec<_>>>()?;
        out.clear();
        out.reserve(n);

        // Dense table over the batch's dictionary codes when it is small.
        let mut domain = 1usize;
        let mut dense_ok = true;
        for c in &codes {
            match c {
                Codes::Const(_) => {}
                Codes::Keys(_, d) => domain = domain.saturating_mul(*d),
                Codes::Ids(_) => dense_ok = false,
            }
        }
        if dense_ok && domain <= DENSE_MAX {
            let ident: Vec<(bool, u32, usize)> = codes
                .iter()
                .map(|c| match c {
                    Codes::Const(id) => (true, *id, 1),
                    Codes::Keys(_, d) => (false, 0, *d),
                    Codes::Ids(_) => (false, 0, 0),
                })
                .collect();
            if ident != self.dense_ident {
                self.dense.clear();
                // One more slot: the code of a dropped row, which is the trash group's.
                self.dense.resize(domain + 1, UNSET);
                if self.trash {
                    self.dense[domain] = 0;
                }
                self.dense_ident = ident;
            }
            let mut comp = std::mem::take(&mut self.comp);
            comp.clear();
            comp.resize(n, 0);
            for c in &codes {
                if let Codes::Keys(k, d) = c {
                    let d = *d as u32;
                    for (x, k) in comp.iter_mut().zip(k) {
                        *x = *x * d + *k;
                    }
                }
            }
            if let Some(keep) = keep {
                drop_rows(&mut comp, keep, domain as u32);
            }
            // The table is taken out of `self` so that the loop keeps it in registers
            // and `out` grows without a capacity check per row.
            let mut dense = std::mem::take(&mut self.dense);
            out.extend(comp.iter().enumerate().map(|(i, &c)| {
                let mut g = dense[c as usize];
                if g == UNSET {
                    let packed = self.packed(&codes, i);
                    g = self.lookup(packed);
                    dense[c as usize] = g;
                }
                g as usize
            }));
            self.dense = dense;
            self.comp = comp;
            return Ok(());
        }

        // Otherwise: each column's ids, then a hash lookup per row (runs reuse the
        // previous row's group).
        let mut prev: Option<(u128, u32)> = None;
        for i in 0..n {
            if keep.is_some_and(|k| !k.value(i)) {
                out.push(0);
                continue;
            }
            let packed = self.packed(&codes, i);
            let g = match prev {
                Some((p, g)) if p == packed => g,
                _ => self.lookup(packed),
            };
            prev = Some((packed, g));
            out.push(g as usize);
        }
        Ok(())
    }

    /// The packed column ids of row `i`.
    fn packed(&mut self, codes: &[Codes], i: usize) -> u128 {
        let mut packed = 0u128;
        for (j, c) in codes.iter().enumerate() {
            let id = match c {
                Codes::Const(id) => *id,
                Codes::Keys(k, _) => self.cols[j].global(k[i]),
                Codes::Ids(ids) => ids[i],
            };
            packed |= (id as u128) << (32 * j);
        }
        packed
    }

    /// The grouping columns of every group emitted, in group order, as `types`.
    pub(super) fn key_arrays(&self, types: &[DataType]) -> Result<Vec<ArrayRef>> {
        let mut out = Vec::with_capacity(types.len());
        let keys = &self.keys[self.emitted()..];
        for (j, t) in types.iter().enumerate() {
            let col = &self.cols[j];
            let mut b = StringViewBuilder::with_capacity(keys.len());
            for k in keys {
                let id = (*k >> (32 * j)) as u32;
                match &col.values[id as usize] {
                    Some(s) => b.append_value(s),
                    None => b.append_null(),
                }
            }
            let arr: ArrayRef = Arc::new(b.finish());
            out.push(if arr.data_type() == t {
                arr
            } else {
                arrow::compute::cast(&arr, t)?
            });
        }
        Ok(out)
    }
}
