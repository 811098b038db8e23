-- gaps_by_segment: the gaps within each value of each segment column. A pair with either
-- base (n, or n_eff under settings.min_base_on = 'n_eff') below settings.suppress_below
-- (default 10) publishes no estimate.
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
  CASE WHEN NOT suppressed THEN pct_a END AS pct_a,
  CASE WHEN NOT suppressed THEN pct_b END AS pct_b,
  CASE WHEN NOT suppressed THEN gap_pp END AS gap_pp,
  CASE WHEN NOT suppressed THEN se END AS se,
  CASE WHEN NOT suppressed THEN ci_low END AS ci_low,
  CASE WHEN NOT suppressed THEN ci_high END AS ci_high,
  CASE WHEN NOT suppressed THEN p_value END AS p_value,
  suppressed
FROM (
  SELECT g.*, coalesce(base_a < s.suppress_below OR base_b < s.suppress_below, false) AS suppressed
  FROM (
    SELECT c.*,
           CASE WHEN s.min_base_on = 'n_eff' THEN c.n_eff_a ELSE c.n_a END AS base_a,
           CASE WHEN s.min_base_on = 'n_eff' THEN c.n_eff_b ELSE c.n_b END AS base_b
    FROM gaps_cells c
    CROSS JOIN settings s
  ) g
  CROSS JOIN settings s
  WHERE g.segment IS NOT NULL
) t
