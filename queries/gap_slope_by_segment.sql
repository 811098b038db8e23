-- gap_slope_by_segment: the trend of each gap within each value of each segment column
-- across the waves of a series — one row per segment value × statement × pair × series
-- with at least 2 such waves: the fit of gap_slope.sql (trend_fit, docs/statistics.md)
-- over the waves whose gap within the value is published (gaps_by_segment: a wave with
-- either base below settings.suppress_below is left out) and has a standard error.
--   q_value   = Benjamini–Hochberg over the rows with the same segment and pair (every
--               statement and value of one breakdown)
--   direction = as in gap_slope
WITH points AS (
  SELECT
    g.segment,
    g.segment_value,
    g.statement,
    g.group_a,
    g.group_b,
    s.series,
    g.wave,
    g.date,
    g.gap_pp AS g,
    1 / (g.se * g.se) AS u
  FROM gaps_by_segment g
  JOIN statement_series s ON s.statement = g.statement AND s.wave = g.wave
  WHERE g.se > 0
),
fits AS (
  SELECT
    segment,
    segment_value,
    statement,
    group_a,
    group_b,
    series,
    first_value(wave ORDER BY date, wave) AS first_wave,
    last_value(wave ORDER BY date, wave) AS last_wave,
    count(*) AS waves,
    trend_fit(date, g, u) AS fit
  FROM points
  GROUP BY segment, segment_value, statement, group_a, group_b, series
  HAVING count(*) >= 2
),
tested AS (
  SELECT
    segment,
    segment_value,
    statement,
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
    bh_q(p_value) OVER (PARTITION BY segment, group_a, group_b) AS q_value
  FROM tested
)
SELECT
  segment,
  segment_value,
  statement,
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
