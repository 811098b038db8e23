-- gap_trend: the change of each gap since the previous wave of the same statement and
-- pair (waves ordered by date, then id). One row per statement × pair × wave that has
-- such a previous wave.
--   change_pp = gap_pp − prev_gap_pp
--   se        = 100 · sqrt(var_gap + var_prev_gap)      (four independent samples)
--               where the two waves share respondents (panel_waves):
--               100 · sqrt(scale·var_gap + other_scale·var_prev_gap − 2·f·cov), cov from
--               panel_gaps (docs/statistics.md, "Repeated respondents")
--   overlap   = respondents who answered the statement in both waves, in the pair's groups
--   p_value   = two-sided z test of the change
--   q_value   = Benjamini–Hochberg over all statements of that pair and wave with a p
--   trend     = narrowed | widened (by |gap|) where q < 0.05, stable where not, NULL without q
-- A wave whose statement has series_break = true starts a new series: it has no row, and
-- the next wave compares against it.
WITH ordered AS (
  SELECT
    g.statement,
    g.group_a,
    g.group_b,
    g.wave,
    g.date,
    g.gap_pp,
    g.se,
    coalesce(st.series_break, false) AS series_break,
    lag(g.wave) OVER w AS prev_wave,
    lag(g.gap_pp) OVER w AS prev_gap_pp,
    lag(g.se) OVER w AS prev_se
  FROM gaps g
  LEFT JOIN statements st ON st.wave = g.wave AND st.statement = g.statement
  WINDOW w AS (PARTITION BY g.statement, g.group_a, g.group_b ORDER BY g.date, g.wave)
),
panel AS (
  SELECT
    o.*,
    (o.se / 100) * (o.se / 100) AS var_here,
    (o.prev_se / 100) * (o.prev_se / 100) AS var_prev,
    pw.f,
    pw.scale,
    pw.other_scale,
    coalesce(pg.cov, 0.0) AS cov,
    coalesce(pg.overlap, 0) AS overlap
  FROM ordered o
  LEFT JOIN panel_waves pw ON pw.wave = o.wave AND pw.other_wave = o.prev_wave
  LEFT JOIN panel_gaps pg
    ON pg.wave = o.wave AND pg.other_wave = o.prev_wave AND pg.statement = o.statement
   AND NOT pg.theme AND pg.metric = 'top_box'
   AND pg.group_a = o.group_a AND pg.group_b = o.group_b
  WHERE o.prev_wave IS NOT NULL AND NOT o.series_break
),
changes AS (
  SELECT
    statement,
    group_a,
    group_b,
    wave,
    prev_wave,
    gap_pp,
    prev_gap_pp,
    gap_pp - prev_gap_pp AS change_pp,
    100 * sqrt(var) AS se,
    z_test_p((gap_pp - prev_gap_pp) / 100, var) AS p_value,
    overlap
  FROM (
    SELECT
      panel.*,
      CASE
        WHEN f IS NULL THEN var_here + var_prev
        WHEN scale * var_here + other_scale * var_prev - 2 * f * cov < 0 THEN 0.0
        ELSE scale * var_here + other_scale * var_prev - 2 * f * cov
      END AS var
    FROM panel
  ) v
),
adjusted AS (
  SELECT
    changes.*,
    bh_q(p_value) OVER (PARTITION BY group_a, group_b, wave) AS q_value
  FROM changes
)
SELECT
  statement,
  group_a,
  group_b,
  wave,
  prev_wave,
  gap_pp,
  prev_gap_pp,
  change_pp,
  se,
  p_value,
  q_value,
  CASE
    WHEN q_value IS NULL THEN NULL
    WHEN q_value < 0.05 THEN
      CASE WHEN abs(gap_pp) < abs(prev_gap_pp) THEN 'narrowed' ELSE 'widened' END
    ELSE 'stable'
  END AS trend,
  overlap
FROM adjusted
