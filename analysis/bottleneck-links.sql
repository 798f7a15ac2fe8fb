-- The ten busiest links of the newest run: kind, tier, capacity and mean utilization over
-- the measured steps. sqlite3 -header -column results.db < analysis/bottleneck-links.sql
SELECT util_rank, src, dst, kind, tier, site,
       printf('%.1f Gb/s', capacity_Bps * 8 / 1e9) AS capacity,
       printf('%.1f%%', 100 * mean_util) AS mean_util
FROM v_bottleneck_links
WHERE run_id = (SELECT max(run_id) FROM run WHERE command = 'run')
ORDER BY util_rank
LIMIT 10;
