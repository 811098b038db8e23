-- panel_cross: for two waves that share respondents (the same respondent id; never for a
-- wave with `panel = false`), the cross term of every statement or theme, metric, group
-- in `wave` and group in `other_wave`, over the respondents with a score in both
-- (docs/statistics.md, "Repeated respondents"). Each pair of waves in both orders.
--   cov = Σ w·w'·(s − m)·(s' − m') / (Σw · Σw')
-- with s, w, m the score, weight and cell mean in `wave` (s', w', m' in `other_wave`);
-- the sums Σw are over each cell's respondents in its own wave.
WITH pairs AS (
  SELECT wave, other_wave, statement, theme, metric, grp, other_grp, n,
         sum_ww, sum_wwy, sum_wwy_other, sum_wwyy
  FROM panelstats
  WHERE statement IS NOT NULL
  UNION ALL
  SELECT other_wave, wave, statement, theme, metric, other_grp, grp, n,
         sum_ww, sum_wwy_other, sum_wwy, sum_wwyy
  FROM panelstats
  WHERE statement IS NOT NULL
),
cells AS (
  SELECT wave, statement, false AS theme, 'top_box' AS metric, grp, sum_w,
         CASE WHEN pct > 100 THEN 1.0 WHEN pct < 0 THEN 0.0 ELSE pct / 100 END AS m
  FROM cellstats
  WHERE sum_w > 0
  UNION ALL
  SELECT wave, statement, theme, metric, grp, sum_w, sum_ws / sum_w AS m
  FROM scorestats
  WHERE segment IS NULL AND sum_w > 0
)
SELECT
  p.wave,
  p.other_wave,
  p.statement,
  p.theme,
  p.metric,
  p.grp,
  p.other_grp,
  p.n,
  (p.sum_wwyy - b.m * p.sum_wwy - a.m * p.sum_wwy_other + a.m * b.m * p.sum_ww)
    / (a.sum_w * b.sum_w) AS cov
FROM pairs p
JOIN cells a
  ON a.wave = p.wave AND a.statement = p.statement AND a.theme = p.theme
 AND a.metric = p.metric AND a.grp = p.grp
JOIN cells b
  ON b.wave = p.other_wave AND b.statement = p.statement AND b.theme = p.theme
 AND b.metric = p.metric AND b.grp = p.other_grp
