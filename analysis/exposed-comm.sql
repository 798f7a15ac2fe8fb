-- Where each run's step time goes: exposed communication per parallel dimension and the
-- pipeline bubble, in seconds and as fractions of the step.
-- sqlite3 -header -column results.db < analysis/exposed-comm.sql
SELECT e.run_id, r.workload, r.topology,
       printf('%.4f', e.step_time_s) AS step_s,
       printf('%.1f%%', 100 * e.exposed_tp_frac) AS tp,
       printf('%.1f%%', 100 * e.exposed_pp_frac) AS pp,
       printf('%.1f%%', 100 * e.exposed_dp_frac) AS dp,
       printf('%.1f%%', 100 * e.exposed_cp_frac) AS cp,
       printf('%.1f%%', 100 * e.exposed_ep_frac) AS ep,
       printf('%.1f%%', 100 * e.bubble_frac) AS bubble
FROM v_exposed_comm AS e JOIN run AS r USING (run_id)
ORDER BY e.run_id DESC;
