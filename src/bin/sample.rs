//! `gaptrack-sample`: writes the sample data of gaptrack, a yearly "Sales & Marketing
//! Alignment Benchmark" with one wide CSV file and one wave spec (docs/spec.md) per wave.
//!
//! Every wave asks respondents from sales, marketing and other functions (operations, IT,
//! customer service) whether they agree with the same statements on a 5-point scale
//! (4 and 5 count as agreement, 9 means "don't know", an empty cell is missing). The raw
//! `function` values are the ones an export would hold ("Sales Operations", "Marketing
//! Ops", the odd stray blank or different case), mapped onto groups by the spec. Each
//! respondent carries an industry, a company size and a post-stratification weight
//! `wt` (company size × region cells; the region itself is not exported; mean ≈ 1).
//!
//! The first wave (2017) is calibrated to published figures for sales and marketing
//! respondents: the Altify Business Performance Benchmark Study 2017 (833 responses, as
//! reported: marketing understands our customers — sales 50 %; marketing is an effective
//! investment — sales 54 %; sales qualifies opportunities well — marketing 52 %; sales
//! and marketing work well together — sales 66 %, marketing 71 %) and the Demand Metric
//! study of sales and marketing collaboration (collaboration on marketing assets —
//! marketing 47 %, sales 24 %; marketing assets are effective — marketing 76 %, sales
//! 46 %). The remaining cells are plausible values. Later waves follow a designed
//! trajectory (table `STANDARD` below) with small drifts, two large changes (the
//! asset-collaboration gap closes in 2019, the investment gap widens in 2021) and a
//! wording change of `shared_goals` in the fourth wave (`series_break = true`).
//!
//! Answers are drawn per respondent (agreement propensity varies with company size,
//! industry, sub-function and a respondent's general disposition), and a running
//! correction per group and statement keeps both the unweighted and the weighted share
//! agreeing within a fraction of a point of the designed target, so a wave shows the
//! designed figures rather than sampling noise around them.
//!
//! Output is a pure function of the arguments: an own xoshiro256** generator, only
//! IEEE arithmetic (+, ×, ÷, √) on the data path, rows streamed through a buffered
//! writer, so millions of respondents need no more memory than a few.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
gaptrack-sample: write a deterministic sample of a yearly sales & marketing survey

Usage: gaptrack-sample [--out DIR] [--waves K] [--respondents N] [--statements S]
                       [--seed X] [--missing-rate F]

For each wave (ids 2017, 2018, ...) writes DIR/<wave>.csv (one row per respondent,
one column per statement) and DIR/<wave>.toml (its wave spec).

Options:
  --out DIR           output directory, created if needed [default: data/waves]
  --waves K           number of yearly waves [default: 5]
  --respondents N     respondents per wave [default: about 900, varying by wave;
                      exactly N when given]
  --statements S      statements per wave: the 7 standard ones, then generic
                      statements s08, s09, ... [default: 7]
  --seed X            seed of the generator (unsigned 64-bit) [default: 2017]
  --missing-rate F    share of answers coded 9 (don't know); a further F/3 of the
                      cells are left empty [default: 0.03]
  -h, --help          print this help

The same arguments always produce byte-identical files.
";

const FIRST_YEAR: u32 = 2017;
const DEFAULT_SEED: u64 = 2017;
const DEFAULT_RESPONDENTS: u64 = 900;

// ---------------------------------------------------------------- arguments

struct Args {
    out: PathBuf,
    waves: u32,
    respondents: Option<u64>,
    statements: usize,
    seed: u64,
    missing_rate: f64,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(raw: &[String]) -> Result<Parsed, String> {
    let mut a = Args {
        out: PathBuf::from("data/waves"),
        waves: 5,
        respondents: None,
        statements: 7,
        seed: DEFAULT_SEED,
        missing_rate: 0.03,
    };
    let mut i = 0;
    while i < raw.len() {
        let arg = raw[i].as_str();
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg, None),
        };
        let known = [
            "--out",
            "--waves",
            "--respondents",
            "--statements",
            "--seed",
            "--missing-rate",
        ];
        if !known.contains(&name) {
            return Err(format!("unknown argument {arg:?}"));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                raw.get(i)
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?
            }
        };
        let bad = |what: &str| format!("{name}: {value:?} is not {what}");
        match name {
            "--out" => {
                if value.is_empty() {
                    return Err(bad("a directory"));
                }
                a.out = PathBuf::from(&value);
            }
            "--waves" => {
                a.waves = value
                    .parse()
                    .ok()
                    .filter(|k| (1..=1000).contains(k))
                    .ok_or_else(|| bad("a number of waves from 1 to 1000"))?;
            }
            "--respondents" => {
                a.respondents = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|n| (1..=1_000_000_000u64).contains(n))
                        .ok_or_else(|| bad("a number of respondents from 1 to 1e9"))?,
                );
            }
            "--statements" => {
                a.statements = value
                    .parse()
                    .ok()
                    .filter(|s| (1..=999usize).contains(s))
                    .ok_or_else(|| bad("a number of statements from 1 to 999"))?;
            }
            "--seed" => {
                a.seed = value
                    .parse()
                    .map_err(|_| bad("an unsigned 64-bit integer"))?;
            }
            "--missing-rate" => {
                a.missing_rate = value
                    .parse::<f64>()
                    .ok()
                    .filter(|f| (0.0..=0.5).contains(f))
                    .ok_or_else(|| bad("a rate from 0 to 0.5"))?;
            }
            _ => unreachable!(),
        }
        i += 1;
    }
    Ok(Parsed::Run(a))
}

// ---------------------------------------------------------------- generator

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** seeded through splitmix64 from a list of words, so independent
/// streams (per wave, per statement) come from the one user seed.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(parts: &[u64]) -> Rng {
        let mut h = 0x6761_7074_7261_636Bu64;
        for &p in parts {
            let mut st = h ^ p;
            h = splitmix64(&mut st);
        }
        let mut st = h;
        let mut s = [0u64; 4];
        for x in &mut s {
            *x = splitmix64(&mut st);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform on [0, 1).
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Approximately standard normal (Irwin–Hall of 4 uniforms, range ±3.46): arithmetic
    /// only, so the data do not depend on the platform's libm.
    fn normalish(&mut self) -> f64 {
        let s = self.f64() + self.f64() + self.f64() + self.f64();
        (s - 2.0) * 1.732_050_807_568_877_2
    }

    /// Index drawn with the given shares (summing to 1).
    fn pick(&mut self, shares: &[f64]) -> usize {
        let u = self.f64();
        let mut acc = 0.0;
        for (i, s) in shares.iter().enumerate() {
            acc += s;
            if u < acc {
                return i;
            }
        }
        shares.len() - 1
    }
}

// ---------------------------------------------------------------- the survey

/// Canonical groups the spec maps onto; agreement of the groups other than sales and
/// marketing lies the given fraction of the way from sales to marketing.
const GROUPS: [(&str, f64); 5] = [
    ("sales", 0.0),
    ("marketing", 1.0),
    ("operations", 0.35),
    ("it", 0.55),
    ("customer service", 0.45),
];

/// Raw function as exported, its group (index into GROUPS), its share of the sample and
/// its shift of the agreement propensity (in standard deviations of the answer).
const FUNCTIONS: [(&str, usize, f64, f64); 8] = [
    ("Sales", 0, 0.24, 0.0),
    ("Sales Operations", 0, 0.06, 0.10),
    ("Inside Sales", 0, 0.08, -0.10),
    ("Marketing", 1, 0.25, 0.0),
    ("Marketing Ops", 1, 0.07, 0.08),
    ("Operations", 2, 0.12, 0.0),
    ("IT", 3, 0.08, 0.0),
    ("Customer Service", 4, 0.10, 0.0),
];

/// Industry, sample share, propensity shift.
const INDUSTRIES: [(&str, f64, f64); 6] = [
    ("Technology", 0.30, 0.05),
    ("Manufacturing", 0.16, -0.10),
    ("Financial Services", 0.14, -0.05),
    ("Healthcare", 0.10, -0.05),
    ("Professional Services", 0.18, 0.10),
    ("Other", 0.12, 0.0),
];

/// Company size, sample share, population share (weighting target), propensity shift:
/// large companies are over-represented in the sample and somewhat less aligned.
const SIZES: [(&str, f64, f64, f64); 3] = [
    ("1-99", 0.36, 0.50, 0.15),
    ("100-999", 0.36, 0.32, 0.0),
    ("1000+", 0.28, 0.18, -0.15),
];

/// Region (not exported; North America, EMEA, APAC, Latin America): sample share,
/// population share.
const REGIONS: [(f64, f64); 4] = [(0.52, 0.40), (0.30, 0.33), (0.15, 0.20), (0.03, 0.07)];

type Design = (&'static str, &'static str, [(f64, f64); 5]);

/// The seven standard statements: id, text, designed agreement in % of
/// (sales, marketing) for the waves 2017..2021. 2017 is the published benchmark; a gap
/// is marketing − sales.
///
/// | statement                        | gap 2017 | 2018 | 2019 | 2020 | 2021 |
/// |----------------------------------|---------:|-----:|-----:|-----:|-----:|
/// | marketing_understands_customers  |       28 |   27 |   27 |   25 |   26 |
/// | marketing_effective_investment   |       26 |   28 |   26 |   24 |   44 | widened
/// | sales_qualifies_opportunities    |      −27 |  −25 |  −26 |  −24 |  −25 |
/// | work_well_together               |        5 |    4 |    6 |    4 |    3 |
/// | asset_collaboration              |       23 |   23 |    3 |    3 |    2 | narrowed 2019
/// | assets_effective                 |       30 |   28 |   27 |   25 |   24 |
/// | shared_goals                     |        7 |    7 |    8 |   17*|   15 | *new wording
#[rustfmt::skip]
const STANDARD: [Design; 7] = [
    (
        "marketing_understands_customers",
        "Our marketing team understands our customers",
        [(50.0, 78.0), (51.0, 78.0), (50.0, 77.0), (52.0, 77.0), (53.0, 79.0)],
    ),
    (
        "marketing_effective_investment",
        "Marketing is an effective investment of company resources",
        [(54.0, 80.0), (53.0, 81.0), (55.0, 81.0), (56.0, 80.0), (39.0, 83.0)],
    ),
    (
        "sales_qualifies_opportunities",
        "Our sales team is effective at qualifying sales opportunities",
        [(79.0, 52.0), (78.0, 53.0), (80.0, 54.0), (79.0, 55.0), (80.0, 55.0)],
    ),
    (
        "work_well_together",
        "Our sales and marketing organizations work well together",
        [(66.0, 71.0), (67.0, 71.0), (66.0, 72.0), (67.0, 71.0), (69.0, 72.0)],
    ),
    (
        "asset_collaboration",
        "Sales and marketing collaborate well on developing marketing assets",
        [(24.0, 47.0), (25.0, 48.0), (40.0, 43.0), (41.0, 44.0), (43.0, 45.0)],
    ),
    (
        "assets_effective",
        "Our marketing assets are effective",
        [(46.0, 76.0), (47.0, 75.0), (49.0, 76.0), (51.0, 76.0), (53.0, 77.0)],
    ),
    (
        "shared_goals",
        "Sales and marketing share revenue goals",
        [(41.0, 48.0), (42.0, 49.0), (43.0, 51.0), (35.0, 52.0), (36.0, 51.0)],
    ),
];

/// Index of the statement whose wording changes, and the wave (0-based) it changes in.
const REWORDED: usize = 6;
const REWORDED_WAVE: usize = 3;
const REWORDED_TEXT: &str = "Sales and marketing are measured against the same revenue targets";

/// Texts of the generic statements s08, s09, ... (cycled, numbered once exhausted).
const EXTRA_TEXTS: [&str; 12] = [
    "Marketing-generated leads are followed up promptly by sales",
    "Sales and marketing agree on the definition of a qualified lead",
    "We have a documented service-level agreement between sales and marketing",
    "Our CRM data is accurate and up to date",
    "Sales gives marketing useful feedback on lead quality",
    "Marketing content is used in sales conversations",
    "Sales and marketing use the same customer data",
    "Our go-to-market plan is built jointly by sales and marketing",
    "Sales and marketing leaders meet regularly",
    "We measure marketing by its contribution to revenue",
    "Our sales enablement materials are up to date",
    "Sales and marketing agree on our ideal customer profile",
];

struct Statement {
    id: String,
    column: String,
    /// Text per wave.
    texts: Vec<String>,
    /// Agreement (0..1) of (sales, marketing) per wave.
    targets: Vec<(f64, f64)>,
}

fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// One step of a trajectory beyond the designed waves: drifts of up to ±2 points and,
/// now and then, a jump of 12-18 points for one group.
fn walk(seed: u64, stmt: usize, wave: usize, prev: (f64, f64)) -> (f64, f64) {
    let mut r = Rng::new(&[seed, 0x57A7_0001, stmt as u64, wave as u64]);
    let mut s = prev.0 + r.uniform(-0.02, 0.02);
    let mut m = prev.1 + r.uniform(-0.02, 0.02);
    if r.f64() < 0.12 {
        let size = r.uniform(0.12, 0.18);
        let signed = if r.f64() < 0.5 { -size } else { size };
        if r.f64() < 0.5 {
            s += signed;
        } else {
            m += signed;
        }
    }
    (clamp(s, 0.05, 0.95), clamp(m, 0.05, 0.95))
}

fn statements(count: usize, waves: usize, seed: u64) -> Vec<Statement> {
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let mut targets = Vec::with_capacity(waves);
        let (id, texts) = if let Some((id, text, design)) = STANDARD.get(k) {
            for w in 0..waves {
                let t = if w < design.len() {
                    (design[w].0 / 100.0, design[w].1 / 100.0)
                } else {
                    walk(seed, k, w, targets[w - 1])
                };
                targets.push(t);
            }
            let texts = (0..waves)
                .map(|w| {
                    if k == REWORDED && w >= REWORDED_WAVE {
                        REWORDED_TEXT.to_string()
                    } else {
                        text.to_string()
                    }
                })
                .collect();
            (id.to_string(), texts)
        } else {
            let mut r = Rng::new(&[seed, 0xBA5E_0001, k as u64]);
            let s = r.uniform(0.25, 0.80);
            let m = clamp(s + r.uniform(-0.25, 0.25), 0.08, 0.92);
            targets.push((s, m));
            for w in 1..waves {
                targets.push(walk(seed, k, w, targets[w - 1]));
            }
            let j = k - STANDARD.len();
            let mut text = EXTRA_TEXTS[j % EXTRA_TEXTS.len()].to_string();
            if j >= EXTRA_TEXTS.len() {
                text.push_str(&format!(" (item {})", k + 1));
            }
            (format!("s{:02}", k + 1), vec![text; waves])
        };
        out.push(Statement {
            id,
            column: format!("Q{}", k + 1),
            texts,
            targets,
        });
    }
    out
}

/// Running sums of one group × statement cell over its non-missing answers.
#[derive(Clone, Copy, Default)]
struct Cell {
    n: f64,
    agree: f64,
    w: f64,
    agree_w: f64,
}

/// Strength of the correction towards the target (per respondent of shortfall).
const GAIN: f64 = 0.2;
/// Strength of the correction of weighted against unweighted share.
const STEER: f64 = 1.0;

fn month_day(offset: i32) -> (u32, u32) {
    // April 30 plus `offset` days.
    let d = 30 + offset;
    if d > 30 {
        (5, (d - 30) as u32)
    } else {
        (4, d as u32)
    }
}

fn toml_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            _ => o.push(c),
        }
    }
    o.push('"');
    o
}

fn spec_text(wave: &str, date: &str, stmts: &[Statement], w: usize) -> String {
    let mut t = String::new();
    t.push_str(&format!("wave   = {}\n", toml_str(wave)));
    t.push_str(&format!("date   = {}\n", toml_str(date)));
    t.push_str(&format!(
        "title  = {}\n",
        toml_str(&format!("Sales & Marketing Alignment Benchmark {wave}"))
    ));
    t.push_str(&format!("source = {}\n", toml_str(&format!("{wave}.csv"))));
    t.push_str(
        "\n[respondent]\n\
         id       = \"resp_id\"\n\
         group    = \"function\"\n\
         weight   = \"wt\"\n\
         segments = [\"industry\", \"company_size\"]\n\
         \n[groups]\n\
         sales     = [\"Sales\", \"Sales Operations\", \"Inside Sales\"]\n\
         marketing = [\"Marketing\", \"Marketing Ops\"]\n\
         \n[scale]\n\
         points   = 5\n\
         agree    = [4, 5]\n\
         disagree = [1, 2]\n\
         missing  = [9]\n",
    );
    for (k, s) in stmts.iter().enumerate() {
        t.push_str(&format!("\n[statements.{}]\n", s.id));
        t.push_str(&format!("column = {}\n", toml_str(&s.column)));
        t.push_str(&format!("text   = {}\n", toml_str(&s.texts[w])));
        if k == REWORDED && w == REWORDED_WAVE && w > 0 {
            t.push_str(&format!(
                "# reworded in this wave; until {} it read {}\n",
                FIRST_YEAR as usize + w - 1,
                toml_str(&s.texts[w - 1])
            ));
            t.push_str("series_break = true\n");
        }
    }
    // The alignment index of the benchmark: the share of its statements a respondent
    // agrees with.
    let theme = ["work_well_together", "asset_collaboration", "shared_goals"];
    if theme.iter().all(|id| stmts.iter().any(|s| s.id == *id)) {
        t.push_str("\n[themes]\nalignment = [\"work_well_together\", \"asset_collaboration\", \"shared_goals\"]\n");
    }
    t
}

/// The raw function as it appears in the export: now and then with a stray blank or in
/// another case.
fn raw_function(r: &mut Rng, raw: &'static str) -> String {
    if r.f64() >= 0.02 {
        return raw.to_string();
    }
    match (r.f64() * 5.0) as u32 {
        0 => raw.to_lowercase(),
        1 => raw.to_uppercase(),
        2 => format!(" {raw}"),
        3 => format!("{raw} "),
        _ => {
            // "Sales operations", "Marketing ops": only the first letter capitalised.
            let lower = raw.to_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => lower,
            }
        }
    }
}

fn push_csv_field(row: &mut Vec<u8>, s: &str) {
    let needs_quotes = s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(',')
        || s.contains('"')
        || s.contains('\n');
    if needs_quotes {
        row.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                row.push(b'"');
            }
            row.push(b);
        }
        row.push(b'"');
    } else {
        row.extend_from_slice(s.as_bytes());
    }
}

fn push_uint(row: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    for _ in digits..width {
        row.push(b'0');
    }
    row.extend_from_slice(&buf[i..]);
}

/// A weight rounded to 4 decimals, as ten-thousandths.
fn push_weight(row: &mut Vec<u8>, w4: u64) {
    push_uint(row, w4 / 10_000, 1);
    row.push(b'.');
    push_uint(row, w4 % 10_000, 4);
}

struct WaveSummary {
    respondents: u64,
    csv_bytes: u64,
}

/// The designed answers of one wave: per group × statement (index `g * ns + k`) the
/// target share agreeing, its standard deviation, and the running sums that steer the
/// answers towards the target.
struct Targets {
    ns: usize,
    target: Vec<f64>,
    spread: Vec<f64>,
    cells: Vec<Cell>,
}

impl Targets {
    fn new(stmts: &[Statement], w: usize) -> Targets {
        let ns = stmts.len();
        let mut target = vec![0.0f64; GROUPS.len() * ns];
        let mut spread = vec![0.0f64; GROUPS.len() * ns];
        for (g, (_, frac)) in GROUPS.iter().enumerate() {
            for (k, s) in stmts.iter().enumerate() {
                let (ps, pm) = s.targets[w];
                let p = ps + frac * (pm - ps);
                target[g * ns + k] = p;
                spread[g * ns + k] = (p * (1.0 - p)).sqrt();
            }
        }
        Targets {
            ns,
            target,
            spread,
            cells: vec![Cell::default(); GROUPS.len() * ns],
        }
    }

    /// The answer (1 to 5) of a respondent of group `g` to statement `k`: `shift` is the
    /// respondent's disposition, `weight` its weight, `enthusiasm` its chance of a 5
    /// given agreement.
    fn answer(
        &mut self,
        r: &mut Rng,
        (g, k): (usize, usize),
        shift: f64,
        weight: f64,
        enthusiasm: f64,
    ) -> u8 {
        let c = g * self.ns + k;
        let p = self.target[c];
        let cell = &mut self.cells[c];
        let p_i = clamp(p + self.spread[c] * shift, 0.01, 0.99);
        // Shortfalls (in respondents of average weight) of the unweighted and the
        // weighted count of agreement against the target.
        let short_n = p * cell.n - cell.agree;
        let short_w = p * cell.w - cell.agree_w;
        // Pull towards agreement where both fall short, and use the respondent's
        // weight to steer where the two disagree.
        let q = clamp(
            p_i + GAIN * (short_n + short_w) + STEER * (short_w - short_n) * (weight - 1.0),
            0.0,
            1.0,
        );
        let agree = r.f64() < q;
        cell.n += 1.0;
        cell.w += weight;
        if agree {
            cell.agree += 1.0;
            cell.agree_w += weight;
            if r.f64() < enthusiasm {
                5
            } else {
                4
            }
        } else {
            let v = r.f64();
            if v < 0.42 + 0.05 * shift {
                3
            } else if v < 0.80 {
                2
            } else {
                1
            }
        }
    }
}

/// The header row of a wave's CSV file.
fn header(stmts: &[Statement]) -> Vec<u8> {
    let mut row: Vec<u8> = Vec::with_capacity(64 + 2 * stmts.len());
    row.extend_from_slice(b"resp_id,function,industry,company_size,wt");
    for s in stmts {
        row.push(b',');
        row.extend_from_slice(s.column.as_bytes());
    }
    row.push(b'\n');
    row
}

/// Digits of the respondent numbers of a wave of `n` (at least 5).
fn id_width(n: u64) -> usize {
    let mut d = 1;
    let mut v = n;
    while v >= 10 {
        v /= 10;
        d += 1;
    }
    d.max(5)
}

/// The shares each respondent's attributes are drawn with.
struct Shares {
    functions: Vec<f64>,
    industries: Vec<f64>,
    sizes: Vec<f64>,
    regions: Vec<f64>,
}

impl Shares {
    fn new() -> Shares {
        Shares {
            functions: FUNCTIONS.iter().map(|f| f.2).collect(),
            industries: INDUSTRIES.iter().map(|i| i.1).collect(),
            sizes: SIZES.iter().map(|s| s.1).collect(),
            regions: REGIONS.iter().map(|r| r.0).collect(),
        }
    }
}

/// Draws respondent `i` of wave `w` and appends its row (without the newline) to `row`.
fn respondent_row(
    args: &Args,
    r: &mut Rng,
    t: &mut Targets,
    shares: &Shares,
    (w, i, id_width): (usize, u64, usize),
    row: &mut Vec<u8>,
) {
    let p9 = args.missing_rate;
    let p_empty = p9 + args.missing_rate / 3.0;
    let f = r.pick(&shares.functions);
    let (raw, g, _, fn_shift) = FUNCTIONS[f];
    let function = raw_function(r, raw);
    let ind = r.pick(&shares.industries);
    let size = r.pick(&shares.sizes);
    let region = r.pick(&shares.regions);

    // Post-stratification weight: population share / sample share of the size and
    // region cells, with a small raking adjustment; trimmed to [0.3, 3].
    let cell_w = (SIZES[size].2 / SIZES[size].1) * (REGIONS[region].1 / REGIONS[region].0);
    let raked = cell_w * (1.0 + 0.08 * r.normalish());
    let w4 = (clamp(raked, 0.3, 3.0) * 10_000.0).round() as u64;
    let weight = w4 as f64 / 10_000.0;

    // General disposition of the respondent plus the shifts of the cells.
    let shift = 0.45 * r.normalish() + SIZES[size].3 + INDUSTRIES[ind].2 + fn_shift;
    let enthusiasm = clamp(0.38 + 0.08 * shift, 0.15, 0.70);

    row.push(b'R');
    push_uint(row, (FIRST_YEAR as usize + w) as u64, 4);
    row.push(b'-');
    push_uint(row, i, id_width);
    row.push(b',');
    push_csv_field(row, &function);
    row.push(b',');
    row.extend_from_slice(INDUSTRIES[ind].0.as_bytes());
    row.push(b',');
    row.extend_from_slice(SIZES[size].0.as_bytes());
    row.push(b',');
    push_weight(row, w4);

    for k in 0..t.ns {
        row.push(b',');
        let u = r.f64();
        if u < p9 {
            row.push(b'9');
            continue;
        }
        if u < p_empty {
            continue;
        }
        let v = t.answer(r, (g, k), shift, weight, enthusiasm);
        row.push(b'0' + v);
    }
}

fn write_wave(
    args: &Args,
    stmts: &[Statement],
    w: usize,
    wave: &str,
    n: u64,
) -> io::Result<WaveSummary> {
    let path = args.out.join(format!("{wave}.csv"));
    let file = File::create(&path)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut row = header(stmts);
    out.write_all(&row)?;
    let mut bytes = row.len() as u64;

    let mut targets = Targets::new(stmts, w);
    let shares = Shares::new();
    let width = id_width(n);
    let mut r = Rng::new(&[args.seed, 0xDA7A_0001, w as u64]);
    for i in 1..=n {
        row.clear();
        respondent_row(args, &mut r, &mut targets, &shares, (w, i, width), &mut row);
        row.push(b'\n');
        out.write_all(&row)?;
        bytes += row.len() as u64;
    }
    out.flush()?;
    Ok(WaveSummary {
        respondents: n,
        csv_bytes: bytes,
    })
}

fn run(args: &Args) -> io::Result<()> {
    fs::create_dir_all(&args.out)?;
    let waves = args.waves as usize;
    let stmts = statements(args.statements, waves, args.seed);
    for w in 0..waves {
        let year = FIRST_YEAR as usize + w;
        let wave = year.to_string();
        let mut meta = Rng::new(&[args.seed, 0x3E7A_0001, w as u64]);
        let n = match args.respondents {
            Some(n) => n,
            None => DEFAULT_RESPONDENTS - 40 + (meta.f64() * 81.0) as u64,
        };
        let (month, day) = month_day((meta.f64() * 8.0) as i32 - 4);
        let date = format!("{year}-{month:02}-{day:02}");

        let summary = write_wave(args, &stmts, w, &wave, n)?;
        let spec_path = args.out.join(format!("{wave}.toml"));
        fs::write(&spec_path, spec_text(&wave, &date, &stmts, w))?;
        println!(
            "{wave}: {} respondents, {} statements, {} bytes -> {}",
            summary.respondents,
            stmts.len(),
            summary.csv_bytes,
            display(&spec_path)
        );
    }
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&raw) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}: {e}", display(&args.out));
                ExitCode::from(1)
            }
        },
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
