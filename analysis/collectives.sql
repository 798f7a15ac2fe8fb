-- Collectives of the newest run (those whose group holds rank 0), summed per dimension,
-- kind and algorithm: count, bytes, time and mean bus bandwidth (nccl-tests convention).
-- sqlite3 -header -column results.db < analysis/collectives.sql
SELECT dim, kind, algorithm, group_size, count(*) AS n,
       printf('%.4g', sum(bytes)) AS bytes,
       printf('%.4f', sum(end_s - start_s)) AS time_s,
       printf('%.1f GB/s', avg(busbw_Bps) / 1e9) AS busbw
FROM collective
WHERE run_id = (SELECT max(run_id) FROM run WHERE command = 'run')
GROUP BY dim, kind, algorithm, group_size
ORDER BY sum(end_s - start_s) DESC;
