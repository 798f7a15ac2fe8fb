-- Utilization per link kind (tier) of the newest run: how many links carry traffic, their
-- mean and highest utilization, and the bytes they carried.
-- sqlite3 -header -column results.db < analysis/link-tiers.sql
SELECT l.kind, count(*) AS links, count(s.link_id) AS busy_links,
       printf('%.2f%%', 100 * avg(coalesce(s.mean_util, 0))) AS mean_util,
       printf('%.2f%%', 100 * max(coalesce(s.mean_util, 0))) AS max_util,
       printf('%.4g', sum(coalesce(s.bytes, 0))) AS bytes
FROM link AS l
LEFT JOIN link_stats AS s ON s.run_id = l.run_id AND s.link_id = l.link_id
WHERE l.run_id = (SELECT max(run_id) FROM run WHERE command = 'run')
GROUP BY l.kind
ORDER BY max(coalesce(s.mean_util, 0)) DESC;
