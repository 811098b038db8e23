use super::*;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(name)
}

/// Where the data of a `.sav` starts (the end of its dictionary).
fn data_start(bytes: &[u8]) -> usize {
    let mut src = Src {
        inner: bytes,
        big: false,
        pos: 0,
    };
    dict::dictionary(&mut src, encoding_rs::UTF_8, "x.sav").unwrap_or_else(|b| panic!("{}", b.0));
    src.pos as usize
}

/// The fixture files, and wave_compressed.sav as a ZSAV of 40-byte blocks (many blocks,
/// cases cut across them) and of one block.
fn variants() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = ["wave.sav", "wave_compressed.sav", "wave.zsav"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(fixture(f)).unwrap()))
        .collect();
    let c = out[1].1.clone();
    let start = data_start(&c);
    out.push(("blocks40.zsav".into(), zsav::tests::to_zsav(&c, start, 40)));
    out.push((
        "block1.zsav".into(),
        zsav::tests::to_zsav(&c, start, 1 << 20),
    ));
    out
}

#[test]
fn reads_every_layout() {
    let spec = crate::spec::load(&fixture("sav.toml")).unwrap();
    for (file, bytes) in variants() {
        let mut ids = Vec::new();
        let s = read_from(&spec, &bytes[..], &file, None, |r| {
            ids.push((r.id.to_string(), r.group.to_string(), r.weight));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(s.respondents, 12, "{file}");
        assert_eq!(ids[0], ("r01".to_string(), "sales".to_string(), 1.0));
        assert_eq!(ids[5], ("r06".to_string(), "marketing".to_string(), 1.5));
        assert_eq!(ids[11], ("r12".to_string(), "ops".to_string(), 1.0));
        // Q5_1: 9 is missing for r09 only; Q5_2: r03 (9) and r06 (system-missing).
        assert_eq!(s.missing, vec![1, 2], "{file}");
        assert_eq!(s.bytes, bytes.len() as u64);
    }
}

/// The ZSAV written here has as many blocks as its trailer says, so the test of block
/// boundaries is a real one.
#[test]
fn the_zsav_of_many_blocks_has_many_blocks() {
    let v = variants();
    let z = &v[3].1;
    let c = &v[1].1;
    let blocks = (c.len() - data_start(c)).div_ceil(40);
    let listed = i32::from_le_bytes(z[z.len() - 24 * blocks - 4..][..4].try_into().unwrap());
    assert_eq!(listed as usize, blocks);
    assert!(blocks > 20, "{blocks}");
}

/// Every prefix that loses data is an error, never a panic.
#[test]
fn every_truncation_is_an_error() {
    let spec = crate::spec::load(&fixture("sav.toml")).unwrap();
    for (file, bytes) in variants() {
        // A .sav may end with bytes past its last case; a ZSAV's trailer is read to its end.
        let keep = if file.ends_with(".zsav") { 1 } else { 8 };
        for cut in 0..bytes.len() - keep {
            let r = read_from(&spec, &bytes[..cut], "cut.sav", None, |_| Ok(()));
            match r {
                Err(Error::Invalid(_)) => {}
                Err(e) => panic!("{file} cut at {cut}: not an input error: {e}"),
                Ok(_) => panic!("{file} cut at {cut}: accepted"),
            }
        }
    }
}

/// Garbage after a valid header never panics; in a ZSAV's zlib header or compressed
/// data it is an error (the header's offsets, zlib's checksum, the trailer's sizes) or,
/// where it changes nothing (unused bits of the last deflate byte), the same figures.
#[test]
fn corrupted_bytes_never_panic() {
    let spec = crate::spec::load(&fixture("sav.toml")).unwrap();
    for (file, bytes) in variants() {
        if file == "wave.sav" {
            continue;
        }
        let start = data_start(&bytes);
        let good = read_from(&spec, &bytes[..], "good.sav", None, |_| Ok(())).unwrap();
        let trailer = i64::from_le_bytes(bytes[start + 8..start + 16].try_into().unwrap()) as usize;
        for i in (176..bytes.len()).step_by(3) {
            for v in [0u8, 0x7F, 0xFF] {
                if bytes[i] == v {
                    continue;
                }
                let mut b = bytes.clone();
                b[i] = v;
                let r = read_from(&spec, &b[..], "bad.sav", None, |_| Ok(()));
                if file.ends_with(".zsav") && (start..trailer).contains(&i) {
                    match r {
                        Err(Error::Invalid(_)) => {}
                        Ok(s) if s.cells == good.cells && s.missing == good.missing => {}
                        _ => panic!("{file}: byte {i} set to {v} accepted"),
                    }
                }
            }
        }
    }
}

#[test]
fn a_portable_file_is_refused_with_how_to_convert_it() {
    let spec = crate::spec::load(&fixture("sav.toml")).unwrap();
    let mut por = b"ASCII SPSS PORT FILE                    ".repeat(5);
    por.extend(vec![b'0'; 256]);
    por.extend(b"SPSSPORT");
    let e = read_from(&spec, &por[..], "x.por", None, |_| Ok(())).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("SPSS portable file (.por)") && m.contains("haven::write_sav"),
        "{m}"
    );
    assert!(m.contains("pyreadstat.read_por"), "{m}");
}

#[test]
fn missing_values_read_as_spss_writes_them() {
    let m = MissingValues {
        values: vec![8.0],
        range: Some((97.0, f64::MAX)),
        strings: vec![],
    };
    assert_eq!(m.describe(), "8, 97 thru HI");
    assert!(m.numeric(8.0) && m.numeric(97.0) && m.numeric(1e10) && !m.numeric(96.5));
    let m = MissingValues {
        values: vec![],
        range: Some((-f64::MAX, -1.0)),
        strings: vec![],
    };
    assert_eq!(m.describe(), "LO thru -1");
    assert!(m.numeric(-1.0) && !m.numeric(0.0));
}
