-- agreement: one row per wave × statement × group, for the whole wave (docs/sql.md).
-- The formulas are in agreement_cells.sql. Read from the per-cell sufficient statistics
-- stored with each load, so this view touches thousands of rows, not the microdata.
SELECT wave, date, statement, grp, n, n_eff, pct, se, ci_low, ci_high, low_base
FROM agreement_cells
WHERE segment IS NULL
