-- panel_waves: every pair of waves that share respondents (each order), with what a
-- change between them needs (docs/statistics.md, "Repeated respondents"):
--   respondents  = respondents in both waves
--   f            = n/(n−1), n = respondents of the two waves, each counted once
--                  (the clusters of the stacked design)
--   scale, other_scale: under settings.variance = 'linearized', f over each wave's own
--                  N/(N−1) (the factor its variance already has); 1 under Kish
WITH shared AS (
  SELECT wave, other_wave, sum(n) AS respondents
  FROM (
    SELECT wave, other_wave, n FROM panelstats WHERE statement IS NULL
    UNION ALL
    SELECT other_wave, wave, n FROM panelstats WHERE statement IS NULL
  ) x
  GROUP BY wave, other_wave
),
sized AS (
  SELECT
    s.wave,
    s.other_wave,
    s.respondents,
    CAST(w.respondents AS DOUBLE) AS n_here,
    CAST(o.respondents AS DOUBLE) AS n_other,
    CAST(w.respondents + o.respondents - s.respondents AS DOUBLE) AS n
  FROM shared s
  JOIN waves w ON w.wave = s.wave
  JOIN waves o ON o.wave = s.other_wave
  WHERE s.respondents > 0
)
SELECT
  z.wave,
  z.other_wave,
  z.respondents,
  z.n / (z.n - 1) AS f,
  CASE WHEN s.variance = 'linearized'
       THEN (z.n / (z.n - 1)) / (z.n_here / (z.n_here - 1)) ELSE 1.0 END AS scale,
  CASE WHEN s.variance = 'linearized'
       THEN (z.n / (z.n - 1)) / (z.n_other / (z.n_other - 1)) ELSE 1.0 END AS other_scale
FROM sized z
CROSS JOIN settings s
