-- report_breakdown_slope: the trend of one pair's gap within each value of one segment
-- column, as `gaptrack report --by SEGMENT` publishes it (docs/report.md): the rows of
-- gap_slope_by_segment for the pair, turned for the pair as given (the slope and its
-- interval are those of a − b; p, q and the direction do not depend on the order).
-- Usage: gaptrack query report_breakdown_slope --param segment=region --param a=marketing --param b=sales
SELECT
  statement,
  segment_value,
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
FROM gap_slope_by_segment
WHERE segment = $segment AND group_a = least($a, $b) AND group_b = greatest($a, $b)
ORDER BY statement, segment_value, series
