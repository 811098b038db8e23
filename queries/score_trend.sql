-- score_trend: the change of each score gap since the previous wave of the same
-- statement (or theme), metric and pair (docs/sql.md): the columns of `gap_trend` plus
-- `theme` and `metric`, with the same formulas in the metric's unit. A statement's
-- top_box rows are the rows of `gap_trend`.
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
    sqrt(se * se + prev_se * prev_se) AS se,
    z_test_p(gap_pp - prev_gap_pp, se * se + prev_se * prev_se) AS p_value
  FROM ordered
  WHERE prev_wave IS NOT NULL AND NOT series_break
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
  END AS trend
FROM adjusted
