-- agreement_by_segment: agreement within each value of each segment column
-- (e.g. segment = 'company_size', segment_value = '1000+'). Same formulas as `agreement`;
-- a cell whose base (n, or n_eff under settings.min_base_on = 'n_eff') is below
-- settings.suppress_below (default 10) publishes no estimate.
SELECT
  segment,
  segment_value,
  wave,
  date,
  statement,
  grp,
  n,
  CASE WHEN NOT suppressed THEN n_eff END AS n_eff,
  CASE WHEN NOT suppressed THEN pct END AS pct,
  CASE WHEN NOT suppressed THEN se END AS se,
  CASE WHEN NOT suppressed THEN ci_low END AS ci_low,
  CASE WHEN NOT suppressed THEN ci_high END AS ci_high,
  low_base,
  suppressed
FROM (
  SELECT a.*,
         coalesce(CASE WHEN s.min_base_on = 'n_eff' THEN a.n_eff ELSE a.n END < s.suppress_below,
                  false) AS suppressed
  FROM agreement_cells a
  CROSS JOIN settings s
  WHERE a.segment IS NOT NULL
) t
