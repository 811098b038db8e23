-- report_themes: the themes of one pair of groups as `gaptrack report` leads with them
-- (docs/report.md): one row per theme × wave with both groups' index (the top_box metric
-- of `scores`: the weighted share of the theme's statements agreed with, in percent), the
-- gap a − b with its 95 % interval, its change since the previous wave of the theme's
-- series (score_trend) and the theme's slope over that series (score_slope); signs and
-- intervals turned for the pair as given.
--   suppressed = either base below settings.suppress_below: no estimate is published,
--                and neither is a change whose previous wave is suppressed
-- Usage: gaptrack query report_themes --param a=marketing --param b=sales
WITH cells AS (
  SELECT
    g.statement AS theme,
    x.members,
    g.wave,
    g.date AS wave_date,
    g.group_a = $a AS in_order,
    CASE WHEN g.group_a = $a THEN g.n_a ELSE g.n_b END AS n_a,
    CASE WHEN g.group_a = $a THEN g.n_b ELSE g.n_a END AS n_b,
    CASE WHEN g.group_a = $a THEN g.pct_a ELSE g.pct_b END AS pct_a,
    CASE WHEN g.group_a = $a THEN g.pct_b ELSE g.pct_a END AS pct_b,
    g.gap_pp, g.ci_low, g.ci_high, g.p_value,
    t.prev_wave, t.change_pp, t.q_value, t.trend,
    s.series,
    coalesce(CASE WHEN c.min_base_on = 'n_eff' THEN g.n_eff_a ELSE g.n_a END < c.suppress_below
             OR CASE WHEN c.min_base_on = 'n_eff' THEN g.n_eff_b ELSE g.n_b END < c.suppress_below,
             false) AS suppressed
  FROM score_gaps g
  JOIN (SELECT DISTINCT wave, statement, members FROM scorestats WHERE theme AND segment IS NULL) x
    ON x.wave = g.wave AND x.statement = g.statement
  JOIN score_series s ON s.statement = g.statement AND s.theme AND s.wave = g.wave
  LEFT JOIN score_trend t ON t.wave = g.wave AND t.statement = g.statement AND t.theme
       AND t.metric = g.metric AND t.group_a = g.group_a AND t.group_b = g.group_b
  CROSS JOIN settings c
  WHERE g.theme AND g.metric = 'top_box'
    AND g.group_a = least($a, $b) AND g.group_b = greatest($a, $b)
),
shown AS (
  SELECT c.*, NOT c.suppressed AND NOT coalesce(p.suppressed, false) AS change_shown
  FROM cells c
  LEFT JOIN cells p ON p.theme = c.theme AND p.wave = c.prev_wave
)
SELECT
  c.theme,
  c.members,
  c.wave,
  CAST(c.wave_date AS VARCHAR) AS date,
  c.series,
  c.n_a,
  c.n_b,
  CASE WHEN NOT c.suppressed THEN c.pct_a END AS pct_a,
  CASE WHEN NOT c.suppressed THEN c.pct_b END AS pct_b,
  CASE WHEN NOT c.suppressed THEN CASE WHEN c.in_order THEN c.gap_pp ELSE -c.gap_pp END END AS gap_pp,
  CASE WHEN NOT c.suppressed THEN CASE WHEN c.in_order THEN c.ci_low ELSE -c.ci_high END END AS gap_ci_low,
  CASE WHEN NOT c.suppressed THEN CASE WHEN c.in_order THEN c.ci_high ELSE -c.ci_low END END AS gap_ci_high,
  CASE WHEN change_shown THEN c.prev_wave END AS prev_wave,
  CASE WHEN change_shown THEN CASE WHEN c.in_order THEN c.change_pp ELSE -c.change_pp END END AS change_pp,
  CASE WHEN change_shown THEN c.q_value END AS change_q_value,
  CASE WHEN change_shown THEN c.trend END AS trend,
  CASE WHEN c.in_order THEN l.slope_pp_per_year ELSE -l.slope_pp_per_year END AS slope_pp_per_year,
  l.q_value AS slope_q_value,
  l.direction AS slope_direction,
  c.suppressed
FROM shown c
LEFT JOIN score_slope l
  ON l.statement = c.theme AND l.theme AND l.metric = 'top_box' AND l.series = c.series
 AND l.group_a = least($a, $b) AND l.group_b = greatest($a, $b)
ORDER BY c.theme, c.wave_date, c.wave
