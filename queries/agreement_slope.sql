-- agreement_slope: the trend of each group's agreement across all the waves of a series —
-- one row per statement × group × series with at least 2 such waves (docs/statistics.md).
-- The same fit as gap_slope.sql, of g = pct (points) with u = 1 / se² over the waves whose
-- pct has a standard error above 0 (published figures without a base, and a pct of 0 or
-- 100, are left out):
--   slope_pp_per_year = Sxy / Sxx,  se = sqrt(1 / Sxx),  ci = slope ∓ 1.959963984540054 · se
--   p_value        = two-sided z test of the slope
--   q_value        = Benjamini–Hochberg over all rows of the view with the same group
--   nonlinearity_p = P(χ²_{k−2} > Σu(g − ĝ)²) for k ≥ 3 waves, else NULL
--   direction      = rising (slope > 0) / falling (slope < 0) where q < 0.05, flat where
--                    q ≥ 0.05, NULL without q
-- Series, t, the weighted means and the sums are as in gap_slope.sql (trend_fit).
WITH series AS (
  SELECT statement, wave, series FROM statement_series
),
points AS (
  SELECT
    a.statement,
    a.grp,
    s.series,
    a.wave,
    a.date,
    a.pct AS g,
    1 / (a.se * a.se) AS u
  FROM agreement a
  JOIN series s ON s.statement = a.statement AND s.wave = a.wave
  WHERE a.se > 0
),
fits AS (
  SELECT
    statement,
    grp,
    series,
    first_value(wave ORDER BY date, wave) AS first_wave,
    last_value(wave ORDER BY date, wave) AS last_wave,
    count(*) AS waves,
    trend_fit(date, g, u) AS fit
  FROM points
  GROUP BY statement, grp, series
  HAVING count(*) >= 2
),
tested AS (
  SELECT
    statement,
    grp,
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
    bh_q(p_value) OVER (PARTITION BY grp) AS q_value
  FROM tested
)
SELECT
  statement,
  grp,
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
      CASE WHEN slope > 0 THEN 'rising' ELSE 'falling' END
    ELSE 'flat'
  END AS direction
FROM adjusted
