-- MFU, HFU, step time and throughput of every run, newest first.
-- sqlite3 -header -column results.db < analysis/mfu.sql
SELECT run_id, topology, workload, chips,
       printf('%.4f', step_time_s) AS step_time_s,
       printf('%.4g', tokens_per_s) AS tokens_per_s,
       printf('%.1f%%', 100 * mfu) AS mfu,
       printf('%.1f%%', 100 * hfu) AS hfu
FROM v_mfu
ORDER BY run_id DESC;
