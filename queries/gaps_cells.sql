-- gaps_cells: the gap of every unordered pair of groups (group_a < group_b) in every
-- stored cell (whole wave: segment NULL; and each segment value). `gaps` and
-- `gaps_by_segment` select from it.
--   gap_pp  = pct_a − pct_b
--   se      = 100 · sqrt(p_a(1−p_a)/n_eff_a + p_b(1−p_b)/n_eff_b)   (unpooled)
--   ci      = Newcombe's hybrid score interval (method 10) from the two Wilson intervals
--   p_value = two-sided z test of the gap with that variance
-- Interval and p are NULL where a base is unknown or the variance is 0.
SELECT
  segment,
  segment_value,
  wave,
  date,
  statement,
  group_a,
  group_b,
  n_a,
  n_b,
  n_eff_a,
  n_eff_b,
  pct_a,
  pct_b,
  gap_pp,
  100 * sqrt(var) AS se,
  CASE WHEN var > 0 THEN 100 * newcombe_low(pct_a / 100, n_eff_a, pct_b / 100, n_eff_b) END AS ci_low,
  CASE WHEN var > 0 THEN 100 * newcombe_high(pct_a / 100, n_eff_a, pct_b / 100, n_eff_b) END AS ci_high,
  z_test_p(gap_pp / 100, var) AS p_value
FROM (
  SELECT
    a.segment,
    a.segment_value,
    a.wave,
    a.date,
    a.statement,
    a.grp AS group_a,
    b.grp AS group_b,
    a.n AS n_a,
    b.n AS n_b,
    a.pct AS pct_a,
    b.pct AS pct_b,
    a.pct - b.pct AS gap_pp,
    a.n_eff AS n_eff_a,
    b.n_eff AS n_eff_b,
    (a.se / 100) * (a.se / 100) + (b.se / 100) * (b.se / 100) AS var
  FROM agreement_cells a
  -- Every key compares with NULLs equal (wave and statement are never NULL): one hash
  -- join on all four, instead of a join on two with the segments compared row by row.
  JOIN agreement_cells b
    ON (a.wave IS NOT DISTINCT FROM b.wave)
   AND (a.statement IS NOT DISTINCT FROM b.statement)
   AND (a.segment IS NOT DISTINCT FROM b.segment)
   AND (a.segment_value IS NOT DISTINCT FROM b.segment_value)
   AND a.grp < b.grp
) pairs
