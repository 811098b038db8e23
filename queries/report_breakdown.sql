-- report_breakdown: the gap of one pair of groups within each value of one segment
-- column, as `gaptrack report --by SEGMENT` publishes it (docs/report.md): the rows of
-- gaps_by_segment for the pair, turned for the pair as given (gap a − b), with the
-- statement's wording. `suppressed` is gaps_by_segment's (either base below
-- settings.suppress_below: no estimate); low_base = either base below settings.min_base
-- (the base is n, or n_eff where settings.min_base_on = 'n_eff').
-- Usage: gaptrack query report_breakdown --param segment=region --param a=marketing --param b=sales
WITH pair AS (
  SELECT g.*, g.date AS wave_date, g.group_a = $a AS in_order, st.text,
         CASE WHEN s.min_base_on = 'n_eff' THEN g.n_eff_a ELSE g.n_a END < s.min_base
           OR CASE WHEN s.min_base_on = 'n_eff' THEN g.n_eff_b ELSE g.n_b END < s.min_base
           AS low_base
  FROM gaps_by_segment g
  LEFT JOIN statements st ON st.wave = g.wave AND st.statement = g.statement
  CROSS JOIN settings s
  WHERE g.segment = $segment AND g.group_a = least($a, $b) AND g.group_b = greatest($a, $b)
)
SELECT
  statement,
  wave,
  CAST(date AS VARCHAR) AS date,
  segment_value,
  CASE WHEN in_order THEN n_a ELSE n_b END AS n_a,
  CASE WHEN in_order THEN n_b ELSE n_a END AS n_b,
  CASE WHEN in_order THEN pct_a ELSE pct_b END AS pct_a,
  CASE WHEN in_order THEN pct_b ELSE pct_a END AS pct_b,
  CASE WHEN in_order THEN gap_pp ELSE -gap_pp END AS gap_pp,
  CASE WHEN in_order THEN ci_low ELSE -ci_high END AS gap_ci_low,
  CASE WHEN in_order THEN ci_high ELSE -ci_low END AS gap_ci_high,
  p_value AS gap_p_value,
  low_base,
  suppressed,
  text
FROM pair
ORDER BY wave_date, wave, statement, segment_value
