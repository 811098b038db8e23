-- panel_gaps: for two waves that share respondents, the covariance of a gap in `wave`
-- with the same gap in `other_wave` (docs/statistics.md, "Repeated respondents"), per
-- statement or theme, metric and pair (group_a < group_b):
--   cov     = Σ_g Σ_h sign(g)·sign(h)·panel_cross.cov over g (group in `wave`) and h
--             (group in `other_wave`) in {group_a, group_b}; sign(group_a) = 1,
--             sign(group_b) = −1   (proportions, or codes for `mean`)
--   overlap = respondents with a score in both waves, in the pair's groups in each
WITH grps AS (
  SELECT wave, other_wave, statement, theme, metric, grp FROM panel_cross
  UNION
  SELECT wave, other_wave, statement, theme, metric, other_grp FROM panel_cross
),
pairs AS (
  SELECT a.wave, a.other_wave, a.statement, a.theme, a.metric,
         a.grp AS group_a, b.grp AS group_b
  FROM grps a
  JOIN grps b
    ON a.wave = b.wave AND a.other_wave = b.other_wave AND a.statement = b.statement
   AND a.theme = b.theme AND a.metric = b.metric AND a.grp < b.grp
)
SELECT
  p.wave,
  p.other_wave,
  p.statement,
  p.theme,
  p.metric,
  p.group_a,
  p.group_b,
  sum(
    CASE WHEN x.grp = p.group_a THEN 1.0 ELSE -1.0 END
    * CASE WHEN x.other_grp = p.group_a THEN 1.0 ELSE -1.0 END
    * x.cov
  ) AS cov,
  sum(x.n) AS overlap
FROM pairs p
JOIN panel_cross x
  ON x.wave = p.wave AND x.other_wave = p.other_wave AND x.statement = p.statement
 AND x.theme = p.theme AND x.metric = p.metric
 AND (x.grp = p.group_a OR x.grp = p.group_b)
 AND (x.other_grp = p.group_a OR x.other_grp = p.group_b)
GROUP BY p.wave, p.other_wave, p.statement, p.theme, p.metric, p.group_a, p.group_b
