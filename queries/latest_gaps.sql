-- The gaps of the most recent wave, largest first, with their significance.
-- Usage: gaptrack query latest_gaps
SELECT g.statement, g.group_a, g.group_b,
       round(g.pct_a, 1) AS pct_a, round(g.pct_b, 1) AS pct_b,
       round(g.gap_pp, 1) AS gap_pp,
       round(g.ci_low, 1) AS ci_low, round(g.ci_high, 1) AS ci_high,
       g.p_value
FROM gaps g
WHERE g.wave = (SELECT wave FROM waves ORDER BY date DESC, wave DESC LIMIT 1)
ORDER BY abs(g.gap_pp) DESC, g.statement, g.group_a, g.group_b
