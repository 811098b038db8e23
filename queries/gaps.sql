-- gaps: one row per wave × statement × unordered pair of groups, group_a < group_b
-- (docs/sql.md). The formulas are in gaps_cells.sql and docs/statistics.md;
-- gaps_wave_cells is gaps_cells over the whole-wave cells alone (its rows with segment
-- NULL), so this view does not read the segment statistics.
SELECT wave, date, statement, group_a, group_b, n_a, n_b, n_eff_a, n_eff_b, pct_a, pct_b, gap_pp, se, ci_low, ci_high, p_value
FROM gaps_wave_cells
