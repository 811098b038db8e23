-- statement_series: the series each statement's wave belongs to — one row per statement ×
-- wave of `statements`. Waves are ordered by date, then id; a wave whose statement has
-- series_break = true (after the statement's first wave) starts series 2, 3, …
-- gap_slope, agreement_slope, gap_vs_baseline and report_baseline number their series
-- from it.
WITH positions AS (
  SELECT
    st.statement,
    st.wave,
    w.date,
    coalesce(st.series_break, false) AS series_break,
    row_number() OVER (PARTITION BY st.statement ORDER BY w.date, st.wave) AS pos
  FROM statements st
  JOIN waves w ON w.wave = st.wave
)
SELECT
  statement,
  wave,
  date,
  1 + sum(CASE WHEN series_break AND pos > 1 THEN 1 ELSE 0 END) OVER (
    PARTITION BY statement ORDER BY date, wave ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
  ) AS series
FROM positions
