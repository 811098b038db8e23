//! Replays, under `cargo test`, the inputs the fuzzers found (`fuzz/regressions/<target>/`)
//! and the files every fuzzing run starts from (the specs and data files of
//! `tests/data/`), through the same checks as the fuzz targets (`gaptrack::fuzzing`): no
//! panic, no empty message, consistent results. See docs/development.md, "Fuzzing".

use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .collect();
    out.sort();
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn found_inputs_stay_fixed() {
    for target in ["spec", "reader"] {
        for f in files(&root().join("fuzz/regressions").join(target), None) {
            let data = std::fs::read(&f).unwrap();
            eprintln!("{}", f.display());
            match target {
                "spec" => gaptrack::fuzzing::spec(&data),
                _ => gaptrack::fuzzing::reader(&data),
            }
        }
    }
}

#[test]
fn seed_specs_pass_the_spec_checks() {
    let mut n = 0;
    for dir in [
        "tests/data/bad",
        "tests/data/fixture",
        "data/waves",
        "data/published",
    ] {
        for f in files(&root().join(dir), Some("toml")) {
            gaptrack::fuzzing::spec(&std::fs::read(&f).unwrap());
            n += 1;
        }
    }
    assert!(n > 50, "{n} specs");
}

#[test]
fn seed_data_files_pass_the_reader_checks_under_every_spec() {
    let mut n = 0;
    for (dir, ext) in [
        ("tests/data/bad", Some("csv")),
        ("tests/data/fixture", Some("csv")),
        ("tests/data/formats", None),
    ] {
        for f in files(&root().join(dir), ext) {
            let body = std::fs::read(&f).unwrap();
            for pick in 0u8..=8 {
                let mut data = vec![pick];
                data.extend_from_slice(&body);
                gaptrack::fuzzing::reader(&data);
                n += 1;
            }
        }
    }
    assert!(n > 600, "{n} inputs");
}
