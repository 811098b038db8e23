-- agreement_cells: the estimate of every stored cell — wave × statement × group for the
-- whole wave (segment NULL) and for each segment value (`segstats`). `agreement` and
-- `agreement_by_segment` select from it, so both use exactly the same formulas.
--   pct      = 100 · Σw·agree / Σw            (published figure for `cells` waves)
--   n_eff    = Kish: (Σw)² / Σw²               (equals n unweighted)
--              linearized: p(1−p) / var, var = N/(N−1) · Σ w²(y−p)² / (Σw)², N = all
--              respondents of the wave (settings.variance; Kish where var is 0 or N unknown)
--   se       = 100 · sqrt(p(1−p) / n_eff)
--   ci       = Wilson score interval of p with n_eff as the sample size
--   low_base = n < min_base                   (settings.min_base, default 30)
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
  100 * sqrt(c.pct / 100 * (1 - c.pct / 100) / c.n_eff) AS se,
  100 * wilson_low(c.pct / 100, c.n_eff) AS ci_low,
  100 * wilson_high(c.pct / 100, c.n_eff) AS ci_high,
  c.n < s.min_base AS low_base
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
  FROM all_cellstats x
  JOIN waves w ON w.wave = x.wave
  CROSS JOIN settings s
  WHERE x.n IS NULL OR x.n > 0
) c
CROSS JOIN settings s
