-- The year-over-year trend of one pair of groups.
-- Usage: gaptrack query pair_trend --param a=marketing --param b=sales
SELECT t.statement, t.prev_wave, t.wave,
       round(t.prev_gap_pp, 1) AS prev_gap_pp, round(t.gap_pp, 1) AS gap_pp,
       round(t.change_pp, 1) AS change_pp, t.p_value, t.q_value, t.trend
FROM gap_trend t
WHERE t.group_a = least($a, $b) AND t.group_b = greatest($a, $b)
ORDER BY t.statement, t.wave
