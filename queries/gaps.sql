-- gaps: one row per wave × statement × unordered pair of groups with group_a < group_b.
--   gap_pp  = pct_a − pct_b
--   se      = 100 · sqrt(p_a(1−p_a)/n_eff_a + p_b(1−p_b)/n_eff_b)   (unpooled)
--   ci      = Newcombe's hybrid score interval (method 10) from the two Wilson intervals
--   p_value = two-sided z test of the gap with that variance
-- Interval and p are NULL where a base is unknown or the variance is 0.
SELECT
  wave,
  date,
  statement,
  group_a,
  group_b,
  pct_a,
  pct_b,
  gap_pp,
  100 * sqrt(var) AS se,
  CASE WHEN var > 0 THEN 100 * newcombe_low(pct_a / 100, n_eff_a, pct_b / 100, n_eff_b) END AS ci_low,
  CASE WHEN var > 0 THEN 100 * newcombe_high(pct_a / 100, n_eff_a, pct_b / 100, n_eff_b) END AS ci_high,
  z_test_p(gap_pp / 100, var) AS p_value
FROM (
  SELECT
    a.wave,
    a.date,
    a.statement,
    a.grp AS group_a,
    b.grp AS group_b,
    a.pct AS pct_a,
    b.pct AS pct_b,
    a.pct - b.pct AS gap_pp,
    a.n_eff AS n_eff_a,
    b.n_eff AS n_eff_b,
    (a.se / 100) * (a.se / 100) + (b.se / 100) * (b.se / 100) AS var
  FROM agreement a
  JOIN agreement b
    ON a.wave = b.wave AND a.statement = b.statement AND a.grp < b.grp
) pairs
