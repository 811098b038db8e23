-- agreement: one row per wave × statement × group, for the whole wave (docs/sql.md).
-- The formulas are in agreement_cells.sql. Read from the per-cell sufficient statistics
-- stored with each load, so this view touches thousands of rows, not the microdata.
-- agreement_wave_cells is agreement_cells over the whole-wave cells alone (its rows with
-- segment NULL), so this view does not read the segment statistics.
SELECT wave, date, statement, grp, n, n_eff, pct, se, ci_low, ci_high, low_base
FROM agreement_wave_cells
