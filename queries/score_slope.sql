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
timed AS (
  SELECT
    points.*,
    CAST(date - min(date) OVER k AS DOUBLE) / 365.25 AS t
  FROM points
  WINDOW k AS (PARTITION BY statement, theme, metric, group_a, group_b, series)
),
centred AS (
  SELECT
    timed.*,
    sum(u * t) OVER k / sum(u) OVER k AS t_bar,
    sum(u * g) OVER k / sum(u) OVER k AS g_bar
  FROM timed
  WINDOW k AS (PARTITION BY statement, theme, metric, group_a, group_b, series)
),
sums AS (
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
    sum(u * (t - t_bar) * (t - t_bar)) AS sxx,
    sum(u * (t - t_bar) * (g - g_bar)) AS sxy,
    sum(u * (g - g_bar) * (g - g_bar)) AS syy,
    max(t) - max(t_bar) AS t_last_dev,
    max(g_bar) AS g_bar
  FROM centred
  GROUP BY statement, theme, metric, group_a, group_b, series
  HAVING count(*) >= 2
),
fits AS (
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
    slope,
    se,
    slope - 1.959963984540054 * se AS ci_low,
    slope + 1.959963984540054 * se AS ci_high,
    z_test_p(slope, se * se) AS p_value,
    CASE WHEN waves >= 3 AND sxx > 0 THEN
      chi2_sf(greatest(syy - sxy * sxy / sxx, 0.0), waves - 2)
    END AS nonlinearity_p,
    g_bar + slope * t_last_dev AS fitted_last
  FROM (
    SELECT
      sums.*,
      CASE WHEN sxx > 0 THEN sxy / sxx END AS slope,
      CASE WHEN sxx > 0 THEN sqrt(1 / sxx) END AS se
    FROM sums
  ) s
),
adjusted AS (
  SELECT
    fits.*,
    bh_q(p_value) OVER (PARTITION BY theme, metric, group_a, group_b) AS q_value
  FROM fits
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
