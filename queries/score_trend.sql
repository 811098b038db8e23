-- score_trend: the change of each score gap since the previous wave of the same
-- statement (or theme), metric and pair (docs/sql.md): the columns of `gap_trend` plus
-- `theme` and `metric`, with the same formulas in the metric's unit. A statement's
-- top_box rows are the rows of `gap_trend`.
--   se      = as in gap_trend, in the metric's unit (repeated respondents: panel_gaps)
--   overlap = respondents with the score in both waves, in the pair's groups
--   q_value = Benjamini–Hochberg over the statements (or over the themes) of that metric,
--             pair and wave with a p
-- A wave that starts a series (series_break on a statement; a theme whose member
-- statements changed, see score_series.sql) has no row; the next wave compares with it.
WITH ordered AS (
  SELECT
    g.statement,
    g.theme,
    g.metric,
    g.group_a,
    g.group_b,
    g.wave,
    g.gap_pp,
    g.se,
    coalesce(s.series_break, false) AS series_break,
    lag(g.wave) OVER w AS prev_wave,
    lag(g.gap_pp) OVER w AS prev_gap_pp,
    lag(g.se) OVER w AS prev_se
  FROM score_gaps g
  LEFT JOIN score_series s
    ON s.statement = g.statement AND s.theme = g.theme AND s.wave = g.wave
  WINDOW w AS (PARTITION BY g.statement, g.theme, g.metric, g.group_a, g.group_b ORDER BY g.date, g.wave)
),
panel AS (
  SELECT
    o.*,
    o.se * o.se AS var_here,
    o.prev_se * o.prev_se AS var_prev,
    pw.f,
    pw.scale,
    pw.other_scale,
    CASE WHEN o.metric = 'mean' THEN 1.0 ELSE 10000.0 END * coalesce(pg.cov, 0.0) AS cov,
    coalesce(pg.overlap, 0) AS overlap
  FROM ordered o
  LEFT JOIN panel_waves pw ON pw.wave = o.wave AND pw.other_wave = o.prev_wave
  LEFT JOIN panel_gaps pg
    ON pg.wave = o.wave AND pg.other_wave = o.prev_wave AND pg.statement = o.statement
   AND pg.theme = o.theme AND pg.metric = o.metric
   AND pg.group_a = o.group_a AND pg.group_b = o.group_b
  WHERE o.prev_wave IS NOT NULL AND NOT o.series_break
),
changes AS (
  SELECT
    statement,
    theme,
    metric,
    group_a,
    group_b,
    wave,
    prev_wave,
    gap_pp,
    prev_gap_pp,
    gap_pp - prev_gap_pp AS change_pp,
    sqrt(var) AS se,
    z_test_p(gap_pp - prev_gap_pp, var) AS p_value,
    overlap
  FROM (
    SELECT
      panel.*,
      CASE
        WHEN f IS NULL THEN var_here + var_prev
        WHEN scale * var_here + other_scale * var_prev - 2 * f * cov < 0 THEN 0.0
        ELSE scale * var_here + other_scale * var_prev - 2 * f * cov
      END AS var
    FROM panel
  ) v
),
adjusted AS (
  SELECT
    changes.*,
    bh_q(p_value) OVER (PARTITION BY theme, metric, group_a, group_b, wave) AS q_value
  FROM changes
)
SELECT
  statement,
  theme,
  metric,
  group_a,
  group_b,
  wave,
  prev_wave,
  gap_pp,
  prev_gap_pp,
  change_pp,
  se,
  p_value,
  q_value,
  CASE
    WHEN q_value IS NULL THEN NULL
    WHEN q_value < 0.05 THEN
      CASE WHEN abs(gap_pp) < abs(prev_gap_pp) THEN 'narrowed' ELSE 'widened' END
    ELSE 'stable'
  END AS trend,
  overlap
FROM adjusted
