-- The gaps of the most recent wave, largest first, with their significance.
-- Usage: gaptrack query latest_gaps
-- (The order is taken on the unrounded gap, computed in `latest` under its own name, so
-- that it cannot be confused with the rounded output column `gap_pp`.)
WITH latest AS (
  SELECT statement, group_a, group_b, pct_a, pct_b, gap_pp, ci_low, ci_high, p_value,
         abs(gap_pp) AS gap_size
  FROM gaps
  WHERE wave = (SELECT wave FROM waves ORDER BY date DESC, wave DESC LIMIT 1)
)
SELECT statement, group_a, group_b,
       round(pct_a, 1) AS pct_a, round(pct_b, 1) AS pct_b,
       round(gap_pp, 1) AS gap_pp,
       round(ci_low, 1) AS ci_low, round(ci_high, 1) AS ci_high,
       p_value
FROM latest
ORDER BY gap_size DESC, statement, group_a, group_b
