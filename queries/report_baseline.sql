-- report_baseline: the change of one pair's gap since a chosen wave, as `gaptrack report
-- --baseline WAVE` publishes it (docs/report.md): for each statement asked in that wave,
-- every later wave of the same series (statement_series) against it, the gap turned for
-- the pair as given (a − b).
--   change_pp = gap_pp − baseline_gap_pp
--   se        = 100 · sqrt(var_gap + var_baseline_gap)   (independent samples)
--   p_value   = two-sided z test of the change
--   q_value   = Benjamini–Hochberg over the statements of each wave with a p
--   trend     = narrowed | widened (by |gap|) where q < 0.05, stable where not
--   suppressed = either base of either wave below settings.suppress_below (the base: n,
--                or n_eff under settings.min_base_on = 'n_eff'): no gap, change or test
-- Usage: gaptrack query report_baseline --param a=marketing --param b=sales --param baseline=2019
WITH pair AS (
  SELECT
    g.statement,
    g.wave,
    g.date,
    g.gap_pp,
    g.se,
    g.group_a = $a AS in_order,
    ss.series,
    coalesce(
      CASE WHEN s.min_base_on = 'n_eff' THEN g.n_eff_a ELSE g.n_a END < s.suppress_below
      OR CASE WHEN s.min_base_on = 'n_eff' THEN g.n_eff_b ELSE g.n_b END < s.suppress_below,
      false
    ) AS suppressed
  FROM gaps g
  JOIN statement_series ss ON ss.statement = g.statement AND ss.wave = g.wave
  CROSS JOIN settings s
  WHERE g.group_a = least($a, $b) AND g.group_b = greatest($a, $b)
),
changes AS (
  SELECT
    p.statement,
    p.wave,
    p.date,
    b.wave AS baseline_wave,
    p.in_order,
    p.gap_pp,
    b.gap_pp AS baseline_gap_pp,
    p.gap_pp - b.gap_pp AS change_pp,
    p.suppressed OR b.suppressed AS suppressed,
    100 * sqrt((p.se / 100) * (p.se / 100) + (b.se / 100) * (b.se / 100)) AS se,
    z_test_p(
      (p.gap_pp - b.gap_pp) / 100,
      (p.se / 100) * (p.se / 100) + (b.se / 100) * (b.se / 100)
    ) AS p_all
  FROM pair p
  JOIN pair b ON b.statement = p.statement AND b.series = p.series AND b.wave = $baseline
  WHERE p.date > b.date OR (p.date = b.date AND p.wave > b.wave)
),
tested AS (
  SELECT changes.*, CASE WHEN NOT suppressed THEN p_all END AS p_value FROM changes
),
adjusted AS (
  SELECT
    tested.*,
    bh_q(p_value) OVER (PARTITION BY wave) AS q_value
  FROM tested
)
SELECT
  statement,
  wave,
  CAST(date AS VARCHAR) AS date,
  baseline_wave,
  CASE WHEN NOT suppressed THEN CASE WHEN in_order THEN gap_pp ELSE -gap_pp END END AS gap_pp,
  CASE WHEN NOT suppressed THEN CASE WHEN in_order THEN baseline_gap_pp ELSE -baseline_gap_pp END END AS baseline_gap_pp,
  CASE WHEN NOT suppressed THEN CASE WHEN in_order THEN change_pp ELSE -change_pp END END AS change_pp,
  CASE WHEN NOT suppressed THEN se END AS se,
  p_value,
  q_value,
  CASE
    WHEN q_value IS NULL THEN NULL
    WHEN q_value < 0.05 THEN
      CASE WHEN abs(gap_pp) < abs(baseline_gap_pp) THEN 'narrowed' ELSE 'widened' END
    ELSE 'stable'
  END AS trend,
  suppressed
FROM adjusted
ORDER BY date, wave, statement
