-- score_slope: the trend of each score gap across all the waves of a series — one row
-- per statement (or theme) × metric × pair of groups × series with at least 2 waves
-- (docs/sql.md): the columns of `gap_slope` plus `theme` and `metric`, the same fit in
-- the metric's unit (slope per year in points, or in codes for mean), from score_gaps
-- with u = 1 / se². Series are those of score_series.sql; q_value is Benjamini–Hochberg
-- over the rows with the same theme flag, metric and pair. A statement's top_box rows
-- are the rows of `gap_slope`.
WITH series AS (
  SELECT statement, theme, wave, series FROM score_series
),
points AS (
  SELECT
    g.statement,
    g.theme,
    g.metric,
    g.group_a,
    g.group_b,
    s.series,
    g.wave,
    g.date,
    g.gap_pp AS g,
    1 / (g.se * g.se) AS u
  FROM score_gaps g
  JOIN series s ON s.statement = g.statement AND s.theme = g.theme AND s.wave = g.wave
  WHERE g.se > 0
),
fits AS (
  SELECT
    statement,
    theme,
    metric,
    group_a,
    group_b,
    series,
    first_value(wave ORDER BY date, wave) AS first_wave,
    last_value(wave ORDER BY date, wave) AS last_wave,
    count(*) AS waves,
    trend_fit(date, g, u) AS fit
  FROM points
  GROUP BY statement, theme, metric, group_a, group_b, series
  HAVING count(*) >= 2
),
tested AS (
  SELECT
    statement,
    theme,
    metric,
    group_a,
    group_b,
    series,
    first_wave,
    last_wave,
    waves,
    fit['slope'] AS slope,
    fit['se'] AS se,
    fit['slope'] - 1.959963984540054 * fit['se'] AS ci_low,
    fit['slope'] + 1.959963984540054 * fit['se'] AS ci_high,
    z_test_p(fit['slope'], fit['se'] * fit['se']) AS p_value,
    fit['nonlinearity_p'] AS nonlinearity_p,
    fit['fitted_last'] AS fitted_last
  FROM fits
),
adjusted AS (
  SELECT
    tested.*,
    bh_q(p_value) OVER (PARTITION BY theme, metric, group_a, group_b) AS q_value
  FROM tested
)
SELECT
  statement,
  theme,
  metric,
  group_a,
  group_b,
  series,
  first_wave,
  last_wave,
  waves,
  slope AS slope_pp_per_year,
  se,
  ci_low,
  ci_high,
  p_value,
  q_value,
  nonlinearity_p,
  CASE
    WHEN q_value IS NULL THEN NULL
    WHEN q_value < 0.05 THEN
      CASE WHEN slope * fitted_last < 0 THEN 'narrowing' ELSE 'widening' END
    ELSE 'flat'
  END AS direction
FROM adjusted
