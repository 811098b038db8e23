-- scores: one row per wave × statement (or theme) × group × metric, for the whole wave
-- (docs/sql.md). The columns of `agreement` plus `theme` and `metric`; `pct` is the
-- estimate in the metric's unit: percent for top_box and bottom_box, net points
-- (−100…100) for net, the mean code for mean. A statement's top_box rows are the rows of
-- `agreement`; the other rows come from score_cells.sql.
SELECT wave, date, statement, false AS theme, grp, 'top_box' AS metric,
       n, n_eff, pct, se, ci_low, ci_high, low_base
FROM agreement
UNION ALL
SELECT wave, date, statement, theme, grp, metric,
       n, n_eff, pct, se, ci_low, ci_high, low_base
FROM score_cells
WHERE segment IS NULL
