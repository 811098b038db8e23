-- gap_slope: the trend of each gap across all the waves of a series — one row per
-- statement × pair of groups × series with at least 2 such waves (docs/statistics.md).
-- Series: waves ordered by date, then id; a wave whose statement has series_break = true
-- (after the statement's first wave) starts series 2, 3, …  Only waves whose gap has a
-- standard error above 0 count (published figures without a base are left out), each with
--   t = days from the series' first such wave / 365.25,  g = gap_pp,  u = 1 / se²
--   t̄ = Σut / Σu,  ḡ = Σug / Σu                       (u-weighted means)
--   Sxx = Σu(t − t̄)²,  Sxy = Σu(t − t̄)(g − ḡ),  Syy = Σu(g − ḡ)²
--   slope_pp_per_year = Sxy / Sxx              (inverse-variance weighted least squares)
--   se             = sqrt(1 / Sxx),  ci = slope ∓ 1.959963984540054 · se
--   p_value        = two-sided z test of the slope
--   q_value        = Benjamini–Hochberg over all rows of the view with the same pair
--   nonlinearity_p = P(χ²_{k−2} > Σu(g − ĝ)²) = chi2_sf(Syy − Sxy²/Sxx, k − 2), k ≥ 3
--                    waves (Cochran's Q of the residuals about the line), else NULL
--   direction      = narrowing where q < 0.05 and the slope's sign is opposite to the
--                    fitted gap's at the last wave, ĝ = ḡ + slope · (t_last − t̄);
--                    widening where q < 0.05 otherwise; flat where q ≥ 0.05; NULL without q
-- The fit is the aggregate trend_fit (src/stats/trend.rs): sums of deviations from the
-- weighted means (two passes), not raw sums of squares.
WITH series AS (
  SELECT statement, wave, series FROM statement_series
),
points AS (
  SELECT
    g.statement,
    g.group_a,
    g.group_b,
    s.series,
    g.wave,
    g.date,
    g.gap_pp AS g,
    1 / (g.se * g.se) AS u
  FROM gaps g
  JOIN series s ON s.statement = g.statement AND s.wave = g.wave
  WHERE g.se > 0
),
fits AS (
  SELECT
    statement,
    group_a,
    group_b,
    series,
    first_value(wave ORDER BY date, wave) AS first_wave,
    last_value(wave ORDER BY date, wave) AS last_wave,
    count(*) AS waves,
    trend_fit(date, g, u) AS fit
  FROM points
  GROUP BY statement, group_a, group_b, series
  HAVING count(*) >= 2
),
tested AS (
  SELECT
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
    bh_q(p_value) OVER (PARTITION BY group_a, group_b) AS q_value
  FROM tested
)
SELECT
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
