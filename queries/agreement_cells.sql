-- agreement_cells: the estimate of every stored cell — wave × statement × group for the
-- whole wave (segment NULL) and for each segment value (`segstats`). `agreement` and
-- `agreement_by_segment` select from it, so both use exactly the same formulas.
--   pct      = 100 · Σw·agree / Σw            (published figure for `cells` waves)
--   n_eff    = Kish: (Σw)² / Σw²               (equals n unweighted)
--              linearized: p(1−p) / var, var = N/(N−1) · Σ w²(y−p)² / (Σw)², N = all
--              respondents of the wave (settings.variance; Kish where var is 0 or N unknown)
--   se       = 100 · sqrt(p(1−p) / n_eff)
--   ci       = Wilson score interval of p with n_eff as the sample size
--   low_base = base < min_base                (settings.min_base, default 30; the base is n,
--              or n_eff where settings.min_base_on = 'n_eff')
-- Every formula is total: a stored pct a rounding step outside 0-100 (100.00000000000001)
-- is clamped to the range, and a statistic that cannot be computed (no base, n_eff not
-- positive) is NULL, never an error.
SELECT
  c.segment,
  c.segment_value,
  c.wave,
  c.date,
  c.statement,
  c.grp,
  c.n,
  c.n_eff,
  c.pct,
  CASE WHEN c.n_eff > 0 THEN 100 * sqrt(c.pct / 100 * (1 - c.pct / 100) / c.n_eff) END AS se,
  100 * wilson_low(c.pct / 100, c.n_eff) AS ci_low,
  100 * wilson_high(c.pct / 100, c.n_eff) AS ci_high,
  CASE WHEN s.min_base_on = 'n_eff' THEN c.n_eff ELSE c.n END < s.min_base AS low_base
FROM (
  SELECT
    x.segment,
    x.segment_value,
    x.wave,
    w.date,
    x.statement,
    x.grp,
    x.n,
    x.pct,
    CASE
      WHEN s.variance = 'linearized' AND w.respondents > 1 AND x.sum_w > 0
           AND x.sum_w2a * (1 - 2 * x.pct / 100) + (x.pct / 100) * (x.pct / 100) * x.sum_w2 > 0
      THEN (x.pct / 100) * (1 - x.pct / 100)
           / (CAST(w.respondents AS DOUBLE) / (w.respondents - 1)
              * (x.sum_w2a * (1 - 2 * x.pct / 100) + (x.pct / 100) * (x.pct / 100) * x.sum_w2)
              / (x.sum_w * x.sum_w))
      ELSE kish_n_eff(x.sum_w, x.sum_w2)
    END AS n_eff
  FROM (
    SELECT segment, segment_value, wave, statement, grp, n, sum_w, sum_w2, sum_w2a,
           CASE WHEN pct > 100 THEN 100.0 WHEN pct < 0 THEN 0.0 ELSE pct END AS pct
    FROM all_cellstats
  ) x
  JOIN waves w ON w.wave = x.wave
  CROSS JOIN settings s
  WHERE x.n IS NULL OR x.n > 0
) c
CROSS JOIN settings s
