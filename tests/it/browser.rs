//! The published `index.html` in a real headless browser (Debian's `chromium`, installed
//! by `.ci/run`): the page loads from disk, its charts render, a screenshot is taken at a
//! laptop and a phone width, and the page requests nothing from the network.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    for c in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    panic!("this test needs Chromium: apt-get install chromium (.ci/run installs it)");
}

fn browser(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--no-pings",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn publish(dir: &Path) -> PathBuf {
    let store = dir.join("wh");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixture");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&fixture)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    let bin = env!("CARGO_BIN_EXE_gaptrack");
    let o = Command::new(bin)
        .arg("--store")
        .arg(&store)
        .arg("ingest")
        .args(&specs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.join("report");
    let o = Command::new(bin)
        .arg("--store")
        .arg(&store)
        .args(["report", "--out"])
        .arg(&out)
        .args(["--formats", "html"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("index.html")
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[1..4], b"PNG", "not a PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn index_html_renders_charts_offline_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let page = publish(tmp.path());
    let url = format!("file://{}", page.display());
    let html = std::fs::read_to_string(&page).unwrap();

    // Rendered DOM: the charts are there after layout.
    let profile = tmp.path().join("profile");
    let netlog = tmp.path().join("netlog.json");
    let o = browser(&profile)
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(["--virtual-time-budget=3000", "--dump-dom"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout);
    let statements = html.matches("<svg").count();
    assert!(
        statements >= 3,
        "expected a chart per statement, found {statements}"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        statements,
        "charts missing from the rendered DOM"
    );
    assert!(
        dom.contains("<path") || dom.contains("<polyline"),
        "charts have no lines"
    );

    // The page names no external resource: no scripts, stylesheets, images, fonts or
    // frames from anywhere, and no URL other than the SVG/XHTML namespaces.
    let mut rest = html.as_str();
    let namespaces = ["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml"];
    while let Some(i) = rest.find("http") {
        let tail = &rest[i..];
        if tail.starts_with("http://") || tail.starts_with("https://") {
            assert!(
                namespaces.iter().any(|n| tail.starts_with(n)),
                "the page names an external URL: {}",
                &tail[..tail.len().min(80)]
            );
        }
        rest = &tail[4..];
    }
    for tag in [
        "<script src",
        "<link",
        "<img",
        "<iframe",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(tag), "the page loads a resource: {tag}");
    }

    // Nothing was requested from the network. Chromium's own service calls (network time,
    // component updates), which it makes even with background networking disabled, are
    // not the page's: they go to hosts the page does not name (checked above).
    let log = std::fs::read_to_string(&netlog).unwrap_or_default();
    let browser_own = ["google.com", "googleapis.com", "gvt1.com", "gstatic.com"];
    for scheme in ["http://", "https://", "ws://", "wss://"] {
        let hits: Vec<&str> = log
            .match_indices(scheme)
            .map(|(i, _)| &log[i..(i + 80).min(log.len())])
            .filter(|hit| {
                let host: String = hit[scheme.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                    .collect();
                !browser_own
                    .iter()
                    .any(|h| host == *h || host.ends_with(&format!(".{h}")))
            })
            .collect();
        assert!(
            hits.is_empty(),
            "the page requested {scheme} resources: {hits:?}"
        );
    }

    // Screenshots at a laptop and a phone width.
    for (w, h) in [(1280, 2400), (375, 3000)] {
        let shot = tmp.path().join(format!("shot-{w}.png"));
        let o = browser(&profile)
            .arg(format!("--window-size={w},{h}"))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&url)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let png = std::fs::read(&shot).expect("screenshot written");
        assert_eq!(png_size(&png), (w, h));
        // A blank page compresses to a few KB; a page with text and charts does not.
        assert!(
            png.len() > 30_000,
            "screenshot at {w}px looks blank ({} bytes)",
            png.len()
        );
        if let Ok(dir) = std::env::var("GAPTRACK_SCREENSHOTS") {
            std::fs::copy(&shot, Path::new(&dir).join(format!("index-{w}.png"))).unwrap();
        }
    }
}
