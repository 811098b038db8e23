-- report_trend: the trend of one pair of groups as `gaptrack report` publishes it
-- (docs/report.md): one row per statement × wave with answers from both groups, with
-- both groups' estimates, the gap a − b and its change since the previous wave of the
-- series (signs and intervals turned for the pair as given), and the statement's wording.
--   suppressed = either base below settings.suppress_below: no estimate is published,
--                and neither is a change whose previous wave is suppressed
--   low_base   = either base below settings.min_base
-- (the base is n, or n_eff where settings.min_base_on = 'n_eff')
-- Usage: gaptrack query report_trend --param a=marketing --param b=sales
WITH cells AS (
  SELECT
    g.statement,
    g.wave,
    g.date AS wave_date,
    g.group_a = $a AS in_order,
    aa.n AS n_a, aa.pct AS pct_a, aa.ci_low AS ci_low_a, aa.ci_high AS ci_high_a,
    ab.n AS n_b, ab.pct AS pct_b, ab.ci_low AS ci_low_b, ab.ci_high AS ci_high_b,
    g.gap_pp, g.ci_low, g.ci_high, g.p_value,
    t.prev_wave, t.change_pp, t.p_value AS change_p_value, t.q_value, t.trend,
    coalesce(st.series_break, false) AS series_break,
    st.text,
    coalesce(CASE WHEN s.min_base_on = 'n_eff' THEN aa.n_eff ELSE aa.n END < s.suppress_below
             OR CASE WHEN s.min_base_on = 'n_eff' THEN ab.n_eff ELSE ab.n END < s.suppress_below,
             false) AS suppressed,
    coalesce(aa.low_base OR ab.low_base, false) AS low_base
  FROM gaps g
  JOIN agreement aa ON aa.wave = g.wave AND aa.statement = g.statement AND aa.grp = $a
  JOIN agreement ab ON ab.wave = g.wave AND ab.statement = g.statement AND ab.grp = $b
  LEFT JOIN gap_trend t ON t.wave = g.wave AND t.statement = g.statement
       AND t.group_a = g.group_a AND t.group_b = g.group_b
  LEFT JOIN statements st ON st.wave = g.wave AND st.statement = g.statement
  CROSS JOIN settings s
  WHERE g.group_a = least($a, $b) AND g.group_b = greatest($a, $b)
),
shown AS (
  SELECT
    c.*,
    NOT c.suppressed AND NOT coalesce(p.suppressed, false) AS change_shown
  FROM cells c
  LEFT JOIN cells p ON p.statement = c.statement AND p.wave = c.prev_wave
)
SELECT
  statement,
  wave,
  CAST(wave_date AS VARCHAR) AS date,
  n_a,
  CASE WHEN NOT suppressed THEN pct_a END AS pct_a,
  CASE WHEN NOT suppressed THEN ci_low_a END AS ci_low_a,
  CASE WHEN NOT suppressed THEN ci_high_a END AS ci_high_a,
  n_b,
  CASE WHEN NOT suppressed THEN pct_b END AS pct_b,
  CASE WHEN NOT suppressed THEN ci_low_b END AS ci_low_b,
  CASE WHEN NOT suppressed THEN ci_high_b END AS ci_high_b,
  CASE WHEN NOT suppressed THEN CASE WHEN in_order THEN gap_pp ELSE -gap_pp END END AS gap_pp,
  CASE WHEN NOT suppressed THEN CASE WHEN in_order THEN ci_low ELSE -ci_high END END AS gap_ci_low,
  CASE WHEN NOT suppressed THEN CASE WHEN in_order THEN ci_high ELSE -ci_low END END AS gap_ci_high,
  CASE WHEN NOT suppressed THEN p_value END AS gap_p_value,
  CASE WHEN change_shown THEN CASE WHEN in_order THEN change_pp ELSE -change_pp END END AS change_pp,
  CASE WHEN change_shown THEN change_p_value END AS change_p_value,
  CASE WHEN change_shown THEN q_value END AS change_q_value,
  CASE WHEN change_shown THEN trend END AS trend,
  prev_wave,
  low_base,
  suppressed,
  series_break,
  text
FROM shown
ORDER BY wave_date, wave, statement
