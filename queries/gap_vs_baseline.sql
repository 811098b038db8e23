-- gap_vs_baseline: the change of each gap since the first wave of its series (the
-- baseline) — one row per statement × pair × wave after the baseline.
-- Series: waves ordered by date, then id; a wave whose statement has series_break = true
-- (after the statement's first wave) starts series 2, 3, …, and is that series' baseline.
-- The baseline is the series' first wave with a gap of the pair.
--   change_pp = gap_pp − baseline_gap_pp
--   se        = 100 · sqrt(var_gap + var_baseline_gap)   (four independent samples)
--               where the two waves share respondents: as in gap_trend, with panel_waves
--               and panel_gaps of the wave and its baseline
--   overlap   = respondents who answered the statement in both waves, in the pair's groups
--   p_value   = two-sided z test of the change
--   q_value   = Benjamini–Hochberg over all statements of that pair and wave with a p
--   trend     = narrowed | widened (by |gap|) where q < 0.05, stable where not, NULL without q
-- A wave or baseline without a standard error (published figures without a base) has
-- its change, with p, q and trend NULL.
WITH series AS (
  SELECT statement, wave, series FROM statement_series
),
based AS (
  SELECT
    g.statement,
    g.group_a,
    g.group_b,
    g.wave,
    g.gap_pp,
    g.se,
    first_value(g.wave) OVER w AS baseline_wave,
    first_value(g.gap_pp) OVER w AS baseline_gap_pp,
    first_value(g.se) OVER w AS baseline_se
  FROM gaps g
  JOIN series s ON s.statement = g.statement AND s.wave = g.wave
  WINDOW w AS (
    PARTITION BY g.statement, g.group_a, g.group_b, s.series
    ORDER BY g.date, g.wave
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
  )
),
panel AS (
  SELECT
    b.*,
    (b.se / 100) * (b.se / 100) AS var_here,
    (b.baseline_se / 100) * (b.baseline_se / 100) AS var_prev,
    pw.f,
    pw.scale,
    pw.other_scale,
    coalesce(pg.cov, 0.0) AS cov,
    coalesce(pg.overlap, 0) AS overlap
  FROM based b
  LEFT JOIN panel_waves pw ON pw.wave = b.wave AND pw.other_wave = b.baseline_wave
  LEFT JOIN panel_gaps pg
    ON pg.wave = b.wave AND pg.other_wave = b.baseline_wave AND pg.statement = b.statement
   AND NOT pg.theme AND pg.metric = 'top_box'
   AND pg.group_a = b.group_a AND pg.group_b = b.group_b
  WHERE b.wave <> b.baseline_wave
),
changes AS (
  SELECT
    statement,
    group_a,
    group_b,
    wave,
    baseline_wave,
    gap_pp,
    baseline_gap_pp,
    gap_pp - baseline_gap_pp AS change_pp,
    100 * sqrt(var) AS se,
    z_test_p((gap_pp - baseline_gap_pp) / 100, var) AS p_value,
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
  baseline_wave,
  gap_pp,
  baseline_gap_pp,
  change_pp,
  se,
  p_value,
  q_value,
  CASE
    WHEN q_value IS NULL THEN NULL
    WHEN q_value < 0.05 THEN
      CASE WHEN abs(gap_pp) < abs(baseline_gap_pp) THEN 'narrowed' ELSE 'widened' END
    ELSE 'stable'
  END AS trend,
  overlap
FROM adjusted
