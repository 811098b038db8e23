//! The published `index.html` in a real headless browser (Debian's `chromium`, installed
//! by `.ci/run`): the page loads from disk, its charts render, a screenshot is taken at a
//! laptop and a phone width, and the page requests nothing from the network.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::png_size;

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
    for (w, h) in [(1280, 2400), (390, 3000)] {
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

/// `page` with `extra` inserted before `</body>` (or `</head>`), written beside it as `name`.
fn variant(page: &Path, name: &str, head: &str, body: &str) -> PathBuf {
    let html = std::fs::read_to_string(page).unwrap();
    let html = html
        .replacen("</head>", &format!("{head}</head>"), 1)
        .replacen("</body>", &format!("{body}</body>"), 1);
    let out = page.with_file_name(name);
    std::fs::write(&out, html).unwrap();
    out
}

/// Text of a PDF with where it sits: `{"pages": [[w, h], …], "runs": [[page, x, text], …],
/// "text": all text}` (pypdf).
const READ_PDF: &str = r#"
import json, sys
from pypdf import PdfReader
reader = PdfReader(sys.argv[1])
pages, runs, text = [], [], []
for i, page in enumerate(reader.pages):
    box = page.mediabox
    pages.append([float(box.width), float(box.height)])
    def visit(t, cm, tm, font, size, i=i):
        if t.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            runs.append([i, x, t])
    text.append(page.extract_text(visitor_text=visit))
json.dump({"pages": pages, "runs": runs, "text": "\n".join(text)}, sys.stdout)
"#;

#[test]
fn index_html_prints_whole_on_a4_and_letter() {
    let tmp = tempfile::tempdir().unwrap();
    let page = publish(tmp.path());
    let html = std::fs::read_to_string(&page).unwrap();
    let python = std::env::var("GAPTRACK_PYTHON")
        .expect("set GAPTRACK_PYTHON to a Python with pypdf (see .ci/run)");
    // The wave dates of the gap table's head, and the bases shown in the collapsed
    // sections ("n_a / n_b" in the bases table and in each chart's figures).
    let dates: Vec<&str> = html
        .split("<small>")
        .skip(1)
        .filter_map(|s| s.split("</small>").next())
        .filter(|d| d.len() == 10 && d.as_bytes()[4] == b'-')
        .collect();
    assert!(dates.len() >= 5, "{dates:?}");
    let bases = regex::Regex::new(r"\d+\s*/\s*\d+").unwrap();
    let body_html = &html[html.find("<body>").unwrap()..];
    let visible_html = regex::Regex::new(r"(?s)<div class=.latest.>.*?</div>|<[^>]*>")
        .unwrap()
        .replace_all(body_html, " ");
    let bases_in_html = bases.find_iter(&visible_html).count();
    assert!(bases_in_html >= 10, "{bases_in_html}");
    let figures_in_html = html.matches("<summary>Figures</summary>").count();
    for (paper, (w, h)) in [("A4", (595.3, 841.9)), ("letter", (612.0, 792.0))] {
        let printable = variant(
            &page,
            &format!("print-{paper}.html"),
            &format!("<style>@page{{size:{paper} portrait}}</style>"),
            "",
        );
        let pdf = tmp.path().join(format!("{paper}.pdf"));
        let profile = tmp.path().join(format!("profile-{paper}"));
        let o = browser(&profile)
            .arg("--no-pdf-header-footer")
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", printable.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = Command::new(&python)
            .args(["-c", READ_PDF])
            .arg(&pdf)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let pages = got["pages"].as_array().unwrap();
        for p in pages {
            let (pw, ph) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            assert!(
                (pw - w).abs() < 1.0 && (ph - h).abs() < 1.0,
                "{paper}: page {pw} x {ph}"
            );
        }
        // Nothing printed beyond the right edge of its page (a cut column would be).
        for run in got["runs"].as_array().unwrap() {
            let x = run[1].as_f64().unwrap();
            assert!(x >= 0.0 && x < w - 20.0, "{paper}: text at x = {x}: {run}");
        }
        let text = got["text"].as_str().unwrap();
        // Every wave's column of the gap table (and of the bases table).
        for d in &dates {
            assert!(
                text.matches(d).count() >= 2,
                "{paper}: wave {d} is missing from the printed tables"
            );
        }
        for section in ["Gap by wave", "Statements", "Methods"] {
            assert!(text.contains(section), "{paper}: section {section} missing");
        }
        // The collapsed sections print open: every base of the bases table and of the
        // figures, and every figures table's head.
        assert_eq!(
            bases.find_iter(text).count(),
            bases_in_html,
            "{paper}: collapsed sections did not print"
        );
        assert_eq!(
            text.matches("Gap (95 % CI)").count(),
            figures_in_html,
            "{paper}"
        );
        assert!(
            !text.contains("Swipe") && !text.contains("swipe"),
            "{paper}"
        );
    }
}

#[test]
fn index_html_on_a_phone_shows_the_latest_wave_first() {
    let tmp = tempfile::tempdir().unwrap();
    let page = publish(tmp.path());
    let html = std::fs::read_to_string(&page).unwrap();
    // The latest wave's label: the last column head of the gap table.
    let head = &html[html.find("aria-label=\"Gap by wave\"").unwrap()..];
    let head = &head[..head.find("</thead>").unwrap()];
    let latest = head
        .rsplit("<th scope=\"col\"")
        .next()
        .and_then(|h| h.split('>').nth(1))
        .and_then(|h| h.split('<').next())
        .unwrap()
        .to_string();
    // Measured in the page itself, after layout, in a frame 390 px wide (headless
    // Chromium's window is at least 500 px wide).
    let probe = |width: u32| -> serde_json::Value {
        let wrapper = page.with_file_name(format!("phone-{width}.html"));
        std::fs::write(
            &wrapper,
            format!(
                r#"<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="index.html" style="width:{width}px;height:844px;border:0"></iframe>
<script>
document.getElementById("f").addEventListener("load", () => {{
  const w = document.getElementById("f").contentWindow, d = w.document;
  const t = d.querySelector(".latest table");
  const cells = t ? [...t.querySelectorAll("th, td")] : [];
  const seen = cells.filter(c => c.getBoundingClientRect().width > 0);
  document.body.dataset.check = JSON.stringify({{
    shown: t ? w.getComputedStyle(t.parentElement).display : "none",
    head: t ? t.querySelector("thead th:nth-child(2)").firstChild.textContent : null,
    rows: t ? t.querySelectorAll("tbody tr").length : 0,
    right: Math.max(0, ...seen.map(c => c.getBoundingClientRect().right)),
    width: d.documentElement.scrollWidth,
    viewport: w.innerWidth}});
}});
</script></body></html>"#
            ),
        )
        .unwrap();
        let o = browser(&tmp.path().join(format!("profile-{width}")))
            .args([
                "--allow-file-access-from-files",
                "--window-size=1280,900",
                "--virtual-time-budget=3000",
                "--dump-dom",
            ])
            .arg(format!("file://{}", wrapper.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let dom = String::from_utf8_lossy(&o.stdout).to_string();
        let attr = dom
            .split("data-check=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("the probe did not run: {dom:.400}"))
            .to_string();
        serde_json::from_str(&attr.replace("&quot;", "\"").replace("&amp;", "&")).unwrap()
    };
    let check = probe(390);
    assert_eq!(check["viewport"], 390, "{check}");
    assert_eq!(check["shown"], "block", "{check}");
    assert_eq!(check["head"].as_str().unwrap(), latest, "{check}");
    assert_eq!(
        check["rows"].as_u64().unwrap() as usize,
        html.matches("<article class=\"card\"").count(),
        "{check}"
    );
    assert!(check["right"].as_f64().unwrap() <= 390.0, "{check}");
    assert!(check["width"].as_f64().unwrap() <= 390.0, "{check}");
    // A laptop: the phone view is not shown.
    let check = probe(1280);
    assert_eq!(check["viewport"], 1280, "{check}");
    assert_eq!(check["shown"], "none", "{check}");
}
