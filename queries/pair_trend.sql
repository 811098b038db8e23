-- The year-over-year trend of one pair of groups, as the gap a − b in the order given.
-- Usage: gaptrack query pair_trend --param a=marketing --param b=sales
-- gap_trend stores each pair once (group_a < group_b); with a after b by name the
-- signs of the gaps and of the change turn over (trend, p and q do not depend on it).
SELECT statement,
       CASE WHEN group_a = $a THEN group_a ELSE group_b END AS group_a,
       CASE WHEN group_a = $a THEN group_b ELSE group_a END AS group_b,
       prev_wave, wave,
       round(sign * prev_gap_pp, 1) + 0.0 AS prev_gap_pp,
       round(sign * gap_pp, 1) + 0.0 AS gap_pp,
       round(sign * change_pp, 1) + 0.0 AS change_pp, p_value, q_value, trend
FROM (
  SELECT t.*, CASE WHEN t.group_a = $a THEN 1.0 ELSE -1.0 END AS sign
  FROM gap_trend t
  WHERE t.group_a = least($a, $b) AND t.group_b = greatest($a, $b)
) t
ORDER BY statement, wave
