-- agreement: one row per wave × statement × group (CONTRACT §5, §6).
-- Read from the per-cell sufficient statistics stored with each load (`cellstats`), so
-- this view touches thousands of rows, not the microdata.
--   pct      = 100 · Σw·agree / Σw            (published figure for `cells` waves)
--   n_eff    = (Σw)² / Σw²                    (Kish; equals n unweighted)
--   se       = 100 · sqrt(p(1-p) / n_eff)
--   ci       = Wilson score interval of p with n_eff as the sample size
--   low_base = n < min_base                   (`settings.min_base`, default 30)
SELECT
  c.wave,
  w.date,
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
  SELECT wave, statement, grp, n, kish_n_eff(sum_w, sum_w2) AS n_eff, pct
  FROM cellstats
  WHERE n IS NULL OR n > 0
) c
JOIN waves w ON w.wave = c.wave
CROSS JOIN settings s
