//! The `respondent_ids` file of a load: its respondents' id hashes
//! ([`crate::tables::id_hash`]), written as one Parquet file straight from the sorted
//! hashes (a row group at a time, uploaded as it is written) and committed with the
//! load's partition values in its add action, as the `responses` files are. Nothing per
//! respondent is held besides the 8-byte hash: a wave of 16 million respondents writes
//! ~80 MB here with ~8 MB of buffers.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use parquet::arrow::async_writer::AsyncArrowWriter;
use parquet::basic::Encoding;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::store::{Store, RESPONDENT_IDS};
use crate::tables;

use super::append;

/// Hashes per record batch written.
const BATCH: usize = 1 << 16;
/// Hashes per row group.
const ROW_GROUP: usize = 1 << 20;

/// Writes and commits the `respondent_ids` file of a load; `hashes` sorted (as u64).
/// Returns the table's new version. A failure removes the file again.
pub(super) async fn append(
    store: &Store,
    wave: &str,
    load_id: &str,
    hashes: &[u64],
) -> Result<i64> {
    let rel =
        format!("{RESPONDENT_IDS}/wave={wave}/load_id={load_id}/part-00000-{load_id}.parquet");
    let path = store.path(&rel);
    let add = match write(store, &path, hashes).await {
        Ok((size, stats)) => append::add_action(RESPONDENT_IDS, (rel, size, stats), wave, load_id),
        Err(e) => {
            remove(store, &path).await;
            return Err(e);
        }
    };
    let result = append::append_files(
        store,
        RESPONDENT_IDS,
        load_id,
        &[add],
        tables::respondent_ids_columns(),
    )
    .await;
    let landed = || append::landed(store, RESPONDENT_IDS, load_id);
    if result.is_err() && !matches!(landed().await, Ok(Some(_))) {
        remove(store, &path).await;
    }
    result
}

async fn remove(store: &Store, path: &object_store::path::Path) {
    let (root, _) = store.object_store();
    let _ = object_store::ObjectStoreExt::delete(&root, path).await;
}

/// The hashes in the order of their signed value (as they are stored), so that the file's
/// min and max statistics hold and the deltas between neighbours stay small.
fn signed_order(hashes: &[u64]) -> impl Iterator<Item = i64> + '_ {
    let split = hashes.partition_point(|&h| h < 1 << 63);
    hashes[split..]
        .iter()
        .chain(&hashes[..split])
        .map(|&h| h as i64)
}

/// Writes the file; returns its size and Delta stats.
async fn write(
    store: &Store,
    path: &object_store::path::Path,
    hashes: &[u64],
) -> Result<(u64, String)> {
    let what = || format!("writing {}{RESPONDENT_IDS}", store.url);
    let perr = |e: parquet::errors::ParquetError| Error::Other(format!("{}: {e}", what()));
    let (root, _) = store.object_store();
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        // Sorted hashes differ by ~2^64 / n: delta encoding stores ~40 of the 64 bits.
        .set_encoding(Encoding::DELTA_BINARY_PACKED)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let schema = tables::respondent_ids_file_schema();
    let mut w = AsyncArrowWriter::try_new(
        object_store::buffered::BufWriter::new(root, path.clone()),
        schema.clone(),
        Some(props),
    )
    .map_err(perr)?;
    let mut values = signed_order(hashes);
    loop {
        let chunk: Vec<i64> = values.by_ref().take(BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(chunk))])?;
        w.write(&batch).await.map_err(perr)?;
    }
    w.finish().await.map_err(perr)?;
    let size = w.bytes_written() as u64;
    let signed = || hashes.iter().map(|&h| h as i64);
    let (min, max) = (signed().min(), signed().max());
    let stats = serde_json::json!({
        "numRecords": hashes.len(),
        "minValues": {"id_hash": min},
        "maxValues": {"id_hash": max},
        "nullCount": {"id_hash": 0},
    });
    Ok((size, stats.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::datafusion::prelude::SessionContext;

    #[test]
    fn hashes_go_out_in_signed_order() {
        let hashes = [1, 5, 1 << 63, u64::MAX];
        let out: Vec<i64> = signed_order(&hashes).collect();
        assert_eq!(out, [i64::MIN, -1, 1, 5]);
        assert_eq!(signed_order(&[]).count(), 0);
        assert_eq!(signed_order(&[7, 9]).collect::<Vec<_>>(), [7, 9]);
    }

    /// Two loads' files, committed to a new table and to the existing one, read back as
    /// the table's rows with their partition values; the stats name the signed min and max.
    #[tokio::test]
    async fn files_are_committed_with_their_partition_values() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s").to_str().unwrap()).unwrap();
        let mut a: Vec<u64> = (0..200_000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        a.sort_unstable();
        assert_eq!(append(&store, "w1", "l1", &a).await.unwrap(), 1);
        assert_eq!(append(&store, "w2", "l2", &[3, 1 << 63]).await.unwrap(), 2);

        let t = store.load(RESPONDENT_IDS, None).await.unwrap().unwrap();
        let ctx = SessionContext::new();
        t.update_datafusion_session(&ctx.state()).unwrap();
        ctx.register_table("ids", t.table_provider().await.unwrap())
            .unwrap();
        let q = "SELECT concat_ws(' ', wave, load_id, count(*), min(id_hash), max(id_hash), \
                 sum(id_hash % 1000)) FROM ids GROUP BY wave, load_id ORDER BY wave";
        let got = ctx.sql(q).await.unwrap().collect().await.unwrap();
        let rows: Vec<String> = got
            .iter()
            .flat_map(|b| {
                let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8);
                let c = c.unwrap();
                let c = arrow::array::AsArray::as_string::<i32>(&c).clone();
                (0..b.num_rows()).map(move |i| c.value(i).to_string())
            })
            .collect();
        let signed = || a.iter().map(|&h| h as i64);
        let s: i64 = signed().map(|h| h % 1000).sum();
        let (lo, hi) = (signed().min().unwrap(), signed().max().unwrap());
        let w2 = format!("w2 l2 2 {} 3 {}", i64::MIN, 3 + i64::MIN % 1000);
        assert_eq!(rows, [format!("w1 l1 200000 {lo} {hi} {s}"), w2]);

        let stats: Vec<String> = t
            .snapshot()
            .unwrap()
            .log_data()
            .iter()
            .map(|f| f.stats().unwrap().to_string())
            .collect();
        assert!(
            stats
                .iter()
                .any(|s| s.contains(&format!("\"minValues\":{{\"id_hash\":{lo}}}"))),
            "{stats:?}"
        );
    }
}
