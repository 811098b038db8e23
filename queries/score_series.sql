-- score_series: the series of every statement and theme in every wave (docs/sql.md).
-- A statement's series are those of statement_series.sql (series_break = true starts the
-- next); a theme starts a new series in a wave whose member statements differ from
-- those of its previous wave (waves ordered by date, then id), or where one of its
-- statements starts a new series (series_break = true: the index is no longer the same).
WITH statement_breaks AS (
  SELECT s.statement, false AS theme, s.wave, s.date, s.series,
         coalesce(st.series_break, false) AS series_break
  FROM statement_series s
  LEFT JOIN statements st ON st.wave = s.wave AND st.statement = s.statement
),
theme_waves AS (
  SELECT DISTINCT x.statement, x.wave, w.date, x.members
  FROM scorestats x
  JOIN waves w ON w.wave = x.wave
  WHERE x.theme AND x.segment IS NULL
),
member_breaks AS (
  SELECT DISTINCT t.statement, t.wave
  FROM theme_waves t
  JOIN statements st
    ON st.wave = t.wave
   AND st.series_break
   AND strpos(',' || t.members || ',', ',' || st.statement || ',') > 0
),
theme_breaks AS (
  SELECT t.statement, t.wave, t.date,
         coalesce(t.members <> lag(t.members) OVER w, false)
           OR (b.wave IS NOT NULL AND row_number() OVER w > 1) AS series_break
  FROM theme_waves t
  LEFT JOIN member_breaks b ON b.statement = t.statement AND b.wave = t.wave
  WINDOW w AS (PARTITION BY t.statement ORDER BY t.date, t.wave)
)
SELECT statement, theme, wave, date, series, series_break FROM statement_breaks
UNION ALL
SELECT statement, true AS theme, wave, date,
       1 + sum(CASE WHEN series_break THEN 1 ELSE 0 END) OVER (
         PARTITION BY statement ORDER BY date, wave
         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
       ) AS series,
       series_break
FROM theme_breaks
