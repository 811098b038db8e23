-- score_cells: the estimate of every stored score cell that is not a statement's
-- agreement (bottom_box, net, mean of statements; every metric of themes) — whole wave
-- (segment NULL) and each segment value, from the moments of `scorestats`
-- (docs/statistics.md). For a score s of each respondent of the cell:
--   m        = Σw·s / Σw                              (the weighted mean score)
--   var_s    = Σw·s² / Σw − m²                        (weighted variance of the score)
--   Kish     : n_eff = (Σw)² / Σw²,  var = var_s / n_eff
--   linearized (settings.variance): var = N/(N−1) · Σw²(s − m)² / (Σw)², N = all
--              respondents of the wave; n_eff = var_s / var (Kish where var is 0)
--   pct      = 100 · m for top_box, bottom_box and net (points); m for mean (the code)
--   se       = the same scale · sqrt(var)
--   ci       = Wilson score interval with n_eff for a statement's bottom_box (a
--              proportion); pct ∓ 1.959963984540054 · se for net, mean and every theme
--   low_base = base < min_base (n, or n_eff where settings.min_base_on = 'n_eff')
WITH est AS (
  SELECT
    x.segment,
    x.segment_value,
    x.wave,
    w.date,
    x.statement,
    x.theme,
    x.grp,
    x.metric,
    x.n,
    x.sum_ws / x.sum_w AS m,
    greatest(x.sum_ws2 / x.sum_w - (x.sum_ws / x.sum_w) * (x.sum_ws / x.sum_w), 0.0) AS var_s,
    kish_n_eff(x.sum_w, x.sum_w2) AS kish,
    CASE WHEN w.respondents > 1 THEN
      CAST(w.respondents AS DOUBLE) / (w.respondents - 1)
      * greatest(
          x.sum_w2s2 - 2 * (x.sum_ws / x.sum_w) * x.sum_w2s
          + (x.sum_ws / x.sum_w) * (x.sum_ws / x.sum_w) * x.sum_w2,
          0.0)
      / (x.sum_w * x.sum_w)
    END AS lin_var,
    CASE WHEN x.metric = 'mean' THEN 1.0 ELSE 100.0 END AS unit
  FROM scorestats x
  JOIN waves w ON w.wave = x.wave
  WHERE x.n > 0 AND x.sum_w > 0
),
var AS (
  SELECT
    est.*,
    CASE
      WHEN s.variance = 'linearized' AND lin_var > 0 THEN lin_var
      ELSE var_s / kish
    END AS var,
    CASE
      WHEN s.variance = 'linearized' AND lin_var > 0 THEN var_s / lin_var
      ELSE kish
    END AS n_eff
  FROM est
  CROSS JOIN settings s
)
SELECT
  v.segment,
  v.segment_value,
  v.wave,
  v.date,
  v.statement,
  v.theme,
  v.grp,
  v.metric,
  v.n,
  v.n_eff,
  v.unit * v.m AS pct,
  v.unit * sqrt(v.var) AS se,
  CASE WHEN v.metric = 'bottom_box' AND NOT v.theme THEN 100 * wilson_low(v.m, v.n_eff)
       ELSE v.unit * (v.m - 1.959963984540054 * sqrt(v.var)) END AS ci_low,
  CASE WHEN v.metric = 'bottom_box' AND NOT v.theme THEN 100 * wilson_high(v.m, v.n_eff)
       ELSE v.unit * (v.m + 1.959963984540054 * sqrt(v.var)) END AS ci_high,
  CASE WHEN s.min_base_on = 'n_eff' THEN v.n_eff ELSE v.n END < s.min_base AS low_base
FROM var v
CROSS JOIN settings s
