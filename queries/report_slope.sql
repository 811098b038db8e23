-- report_slope: the trend of each statement's gap across all waves of its series, for one
-- pair of groups as `gaptrack report` publishes it (docs/report.md): the rows of gap_slope
-- for the pair, turned for the pair as given (the slope and its interval are those of
-- a − b; p, q and the direction do not depend on the order).
-- Usage: gaptrack query report_slope --param a=marketing --param b=sales
SELECT
  statement,
  series,
  first_wave,
  last_wave,
  waves,
  CASE WHEN group_a = $a THEN slope_pp_per_year ELSE -slope_pp_per_year END AS slope_pp_per_year,
  se,
  CASE WHEN group_a = $a THEN ci_low ELSE -ci_high END AS ci_low,
  CASE WHEN group_a = $a THEN ci_high ELSE -ci_low END AS ci_high,
  p_value,
  q_value,
  nonlinearity_p,
  direction
FROM gap_slope
WHERE group_a = least($a, $b) AND group_b = greatest($a, $b)
ORDER BY statement, series
