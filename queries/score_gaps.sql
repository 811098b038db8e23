-- score_gaps: one row per wave × statement (or theme) × metric × unordered pair of
-- groups, group_a < group_b (docs/sql.md). The columns of `gaps` plus `theme` and
-- `metric`, in the metric's unit. A statement's top_box rows are the rows of `gaps`
-- (Newcombe interval); for every other row
--   gap_pp  = pct_a − pct_b,  se = sqrt(se_a² + se_b²)     (independent groups)
--   ci      = gap_pp ∓ 1.959963984540054 · se
--   p_value = two-sided z test of the gap
SELECT wave, date, statement, false AS theme, 'top_box' AS metric, group_a, group_b,
       n_a, n_b, n_eff_a, n_eff_b, pct_a, pct_b, gap_pp, se, ci_low, ci_high, p_value
FROM gaps
UNION ALL
SELECT wave, date, statement, theme, metric, group_a, group_b,
       n_a, n_b, n_eff_a, n_eff_b, pct_a, pct_b, gap_pp, se,
       CASE WHEN se > 0 THEN gap_pp - 1.959963984540054 * se END AS ci_low,
       CASE WHEN se > 0 THEN gap_pp + 1.959963984540054 * se END AS ci_high,
       z_test_p(gap_pp, se * se) AS p_value
FROM (
  SELECT
    a.wave,
    a.date,
    a.statement,
    a.theme,
    a.metric,
    a.grp AS group_a,
    b.grp AS group_b,
    a.n AS n_a,
    b.n AS n_b,
    a.n_eff AS n_eff_a,
    b.n_eff AS n_eff_b,
    a.pct AS pct_a,
    b.pct AS pct_b,
    a.pct - b.pct AS gap_pp,
    sqrt(a.se * a.se + b.se * b.se) AS se
  FROM score_cells a
  JOIN score_cells b
    ON a.wave = b.wave
   AND a.statement = b.statement
   AND a.metric = b.metric
   AND a.grp < b.grp
  WHERE a.segment IS NULL AND b.segment IS NULL
) pairs
