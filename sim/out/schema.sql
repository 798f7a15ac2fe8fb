-- schema.sql: the results database of clustersim, schema version 7.
--
-- This file is the single source of truth: the build embeds it in the library
-- (generated/schema_sql.h) and db_open runs it, inside one BEGIN IMMEDIATE transaction, on
-- every database it opens. So every statement here must be idempotent (CREATE ... IF NOT
-- EXISTS, INSERT OR IGNORE) and the file holds no BEGIN, COMMIT or PRAGMA. It may also be
-- applied by hand: sqlite3 results.db < sim/out/schema.sql.
--
-- One database holds many runs. Every child table carries run_id, references run(run_id)
-- with ON DELETE CASCADE (db_open turns foreign_keys on), and has (run_id, <id>) as its
-- primary key, so deleting a run row deletes everything about it. Values are SI: seconds,
-- bytes, bytes per second, FLOP; the unit is part of the column name (_s, _bytes, _Bps,
-- _flops). Utilizations and MFU are fractions in [0, 1], not percentages. NULL means
-- "not measured / not applicable", never zero.
--
-- Changing a table or a view means bumping schema_version below together with
-- DB_SCHEMA_VERSION in sim/out/db.h, and updating analysis/SCHEMA.md.
-- STRICT tables (SQLite >= 3.37) refuse a value of the wrong type instead of storing it.

-- Key/value facts about the database itself.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY, -- 'schema_version'
    value TEXT              -- for schema_version: the decimal version of this file, '8'
) STRICT;

INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '8');

-- One invocation of clustersim that recorded results: its inputs (so every figure can be
-- traced back to them), how it ended, and the headline results of the step replay.
CREATE TABLE IF NOT EXISTS run (
    run_id                  INTEGER PRIMARY KEY, -- assigned by SQLite, referenced by all tables
    created_utc             TEXT NOT NULL,       -- ISO 8601 UTC, 'YYYY-MM-DDTHH:MM:SS.SSSZ'
    tool_version            TEXT NOT NULL,       -- clustersim version that wrote the run
    command                 TEXT NOT NULL,       -- subcommand: 'run', 'topo', 'sweep', ...
    config_path             TEXT,                -- configuration file as given on the command line
    config_yaml             TEXT,                -- the config file's text, then its overrides as comments
    topology                TEXT,                -- topology name
    workload                TEXT,                -- workload name
    seed                    INTEGER NOT NULL,    -- run seed (a uint64 stored as its int64 bits)
    status                  TEXT                 -- NULL until the run has finished
        CHECK (status IS NULL OR status IN ('ok', 'failed', 'stopped')),
    status_reason           TEXT,                -- why it failed or stopped; NULL when ok
    wall_s                  REAL,                -- wall-clock time of the invocation
    peak_rss_bytes          INTEGER,             -- peak resident memory of the process
    steps                   INTEGER,             -- training steps replayed
    step_time_s             REAL,                -- mean simulated time of one step
    tokens_per_s            REAL,                -- tokens trained per simulated second
    mfu                     REAL,                -- model FLOP utilization, fraction of peak,
                                                 -- PaLM convention: attention scores in full
                                                 -- (6N + 12 L h s FLOP per token)
    hfu                     REAL,                -- hardware FLOP utilization (with recompute)
    model_flops_per_step    REAL,                -- model FLOP of one step, all chips
    hardware_flops_per_step REAL,                -- executed FLOP of one step, all chips
    chips                   INTEGER,             -- accelerators in the job
    peak_memory_bytes       REAL,                -- largest per-chip memory peak over ranks
    mfu_causal              REAL                 -- MFU counting the causal half of the scores
                                                 -- (6N + 6 L h s per token), as kernels run
) STRICT;

-- One replayed training step of a run.
CREATE TABLE IF NOT EXISTS step (
    run_id       INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    step         INTEGER NOT NULL, -- 0-based step index
    start_s      REAL,             -- simulated time the step starts
    end_s        REAL,             -- simulated time the step ends
    time_s       REAL,             -- end_s - start_s
    tokens       INTEGER,          -- tokens trained in the step (global batch)
    mfu          REAL,             -- model FLOP utilization of this step (PaLM convention)
    exposed_tp_s REAL,             -- tensor-parallel communication not hidden by compute
    exposed_pp_s REAL,             -- pipeline-parallel (point-to-point) exposed communication
    exposed_dp_s REAL,             -- data-parallel exposed communication
    exposed_cp_s REAL,             -- context-parallel exposed communication
    exposed_ep_s REAL,             -- expert-parallel exposed communication
    bubble_s     REAL,             -- pipeline bubble time
    PRIMARY KEY (run_id, step)
) STRICT;

-- One rank (one chip) of a run: where it sits and how it spent the step time.
CREATE TABLE IF NOT EXISTS rank (
    run_id            INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    rank              INTEGER NOT NULL, -- global rank, 0-based
    chip              TEXT,             -- the chip's name in the topology ('dc0/n0/c0')
    site              TEXT,             -- datacenter (site) name
    node              INTEGER,          -- node (host) index within the topology
    tp_idx            INTEGER,          -- index along the tensor-parallel dimension
    pp_idx            INTEGER,          -- pipeline stage
    dp_idx            INTEGER,          -- data-parallel replica
    cp_idx            INTEGER,          -- index along the context-parallel dimension
    ep_idx            INTEGER,          -- index along the expert-parallel dimension
    compute_s         REAL,             -- busy computing, per step (mean over steps)
    exposed_comm_s    REAL,             -- waiting on communication, per step
    idle_s            REAL,             -- idle for any other reason, per step
    bubble_s          REAL,             -- pipeline bubble, per step
    peak_memory_bytes REAL,             -- peak device memory
    PRIMARY KEY (run_id, rank)
) STRICT;

-- One directed link of the run's network, as the topology built it.
CREATE TABLE IF NOT EXISTS link (
    run_id       INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    link_id      INTEGER NOT NULL, -- the network model's link id
    src          TEXT NOT NULL,    -- source node name
    dst          TEXT NOT NULL,    -- destination node name
    kind         TEXT NOT NULL     -- what the link is
        CHECK (kind IN ('nvlink', 'nic', 'leaf-spine', 'spine-core', 'ici', 'wan', 'gateway',
                        'pcie', 'generic')),
    site         TEXT,             -- datacenter holding the link; NULL for wan links
    tier         INTEGER,          -- level in the fabric, 0 = closest to the chips
    capacity_Bps REAL NOT NULL,    -- capacity in this direction
    latency_s    REAL,             -- propagation plus switching latency
    PRIMARY KEY (run_id, link_id),
    CHECK (kind <> 'wan' OR site IS NULL)
) STRICT;

-- Traffic carried by one link over the whole run. Its link row must exist first.
CREATE TABLE IF NOT EXISTS link_stats (
    run_id    INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    link_id   INTEGER NOT NULL,
    bytes     REAL,             -- bytes carried
    busy_s    REAL,             -- time with at least one transfer on the link
    mean_util REAL,             -- mean utilization over the run, fraction of capacity
    peak_util REAL,             -- highest utilization reached, fraction of capacity
    PRIMARY KEY (run_id, link_id),
    FOREIGN KEY (run_id, link_id) REFERENCES link (run_id, link_id) ON DELETE CASCADE
) STRICT;

-- One collective operation (or point-to-point exchange) of a run.
CREATE TABLE IF NOT EXISTS collective (
    run_id      INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    coll_id     INTEGER NOT NULL, -- 0-based, in issue order within the run
    step        INTEGER,          -- step it belongs to
    kind        TEXT NOT NULL,    -- 'all-reduce', 'all-gather', 'reduce-scatter', 'all-to-all',
                                  -- 'send-recv', ...
    dim         TEXT,             -- parallel dimension: 'tp', 'pp', 'dp', 'cp', 'ep', 'wan', ...
    group_size  INTEGER,          -- ranks taking part
    group_ranks TEXT,             -- the global ranks, comma-separated, in group order
    bytes       REAL,             -- size S as nccl-tests reports it: each rank's buffer for
                                  -- all-reduce, the gathered output for all-gather
    algorithm   TEXT,             -- 'ring', 'tree', 'hierarchical', ...
    start_s     REAL,             -- simulated time it starts
    end_s       REAL,             -- simulated time the last rank finishes
    algbw_Bps   REAL,             -- bytes / (end_s - start_s)
    busbw_Bps   REAL,             -- algbw_Bps times the nccl-tests bus factor of kind
    PRIMARY KEY (run_id, coll_id)
) STRICT;

CREATE INDEX IF NOT EXISTS collective_step ON collective (run_id, step);

-- The values a sweep gave this run, one row per swept key.
CREATE TABLE IF NOT EXISTS sweep_param (
    run_id INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    key    TEXT NOT NULL, -- dotted configuration key, 'parallel.tp'
    value  TEXT,          -- the value as written in the sweep file
    PRIMARY KEY (run_id, key)
) STRICT;

CREATE INDEX IF NOT EXISTS sweep_param_key ON sweep_param (key, value);

-- Traffic on the links between datacenters. Its link row (kind 'wan') must exist first.
CREATE TABLE IF NOT EXISTS wan (
    run_id    INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    link_id   INTEGER NOT NULL,
    src_site  TEXT,             -- site the link leaves
    dst_site  TEXT,             -- site the link enters
    bytes     REAL,             -- bytes carried
    busy_s    REAL,             -- time with at least one transfer on the link
    mean_util REAL,             -- mean utilization over the run, fraction of capacity
    PRIMARY KEY (run_id, link_id),
    FOREIGN KEY (run_id, link_id) REFERENCES link (run_id, link_id) ON DELETE CASCADE
) STRICT;

-- The cross-datacenter figures of a run whose config has a cross_dc section: one row per
-- run. A round is one step for sync and pipeline, H inner steps and an outer sync for
-- diloco and streaming-diloco.
CREATE TABLE IF NOT EXISTS multidc (
    run_id       INTEGER PRIMARY KEY REFERENCES run (run_id) ON DELETE CASCADE,
    scheme       TEXT NOT NULL     -- the cross_dc scheme
        CHECK (scheme IN ('sync', 'pipeline', 'diloco', 'streaming-diloco')),
    sites        INTEGER NOT NULL, -- datacenters
    inner_steps  INTEGER,          -- H (1 for sync and pipeline)
    payload      TEXT,             -- outer sync payload type (diloco schemes)
    fragments    INTEGER,          -- F (streaming-diloco)
    max_delay    INTEGER,          -- inner steps a fragment sync may overlap (streaming)
    replay       TEXT              -- how the round was found
        CHECK (replay IN ('shortcut', 'full', 'composed')),
    outer_update TEXT              -- diloco: when outer gradients are applied
        CHECK (outer_update IN ('blocking', 'delayed', 'eager', 'async')),
    staleness_steps INTEGER,       -- inner steps from an outer gradient to its application
    inner_step_s REAL,             -- one (inner) step alone
    inner_beside_s REAL,           -- one inner step beside a fragment's sync (co-simulated)
    outer_sync_s REAL,             -- one outer sync alone (one fragment's for streaming)
    outer_sync_cosim_s REAL,       -- a fragment's sync beside the inner steps (co-simulated)
    outer_opt_s  REAL,             -- the outer optimizer step
    exposed_s    REAL,             -- outer sync time per round not hidden by inner steps
    hidden_s     REAL,             -- outer sync time per round hidden behind inner steps
    round_s      REAL,             -- wall time of a round
    compute_util REAL,             -- time chips spend in training compute / wall time
    mfu          REAL,             -- model FLOPs utilization over whole rounds
    tokens_per_s REAL,             -- tokens per second over whole rounds
    wan_bytes    REAL              -- bytes over all WAN links per round
) STRICT;

-- DiLoCo schemes: one row per site of a multidc run.
CREATE TABLE IF NOT EXISTS multidc_site (
    run_id       INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    site         TEXT NOT NULL,    -- the topology's site name
    chip         TEXT NOT NULL,    -- its chip model
    inner_step_s REAL NOT NULL,    -- its inner step, to its last rank's end
    idle_s       REAL NOT NULL,    -- per round, waiting for the slowest site
    PRIMARY KEY (run_id, site)
) STRICT;

-- DiLoCo schemes: one row per outer sync of the round of a multidc run (per fragment for
-- streaming-diloco), as replayed. Rounds are alike in the simulator (steps are identical), so
-- one round's syncs stand for every round's, and a row stands for `count` syncs of the round:
-- the shortcut replay replays one fragment, whose row stands for all F (the others are
-- alike); every other replay has a row per sync with count 1. So a per-round figure is the
-- sum of count x the column: sum(count * exposed_s) = multidc.exposed_s. Times are from the
-- start of the round's first inner step.
CREATE TABLE IF NOT EXISTS multidc_sync (
    run_id         INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    fragment       INTEGER NOT NULL, -- its index in the round (0: diloco's whole sync)
    count          INTEGER NOT NULL  -- syncs per round the row stands for
        CHECK (count >= 1),
    start_s        REAL,             -- simulated time it starts
    end_s          REAL,             -- simulated time it ends
    alone_s        REAL,             -- the same sync alone on an idle network
    exposed_s      REAL,             -- of end_s - start_s, the time an inner step waited for it
    hidden_s       REAL,             -- of end_s - start_s, the time behind inner steps
    steps_beside   INTEGER,          -- inner steps that started before it ended
    inner_beside_s REAL,             -- their mean duration; NULL when none
    inner_slowdown REAL,             -- inner_beside_s / multidc.inner_step_s - 1: how much
                                     -- the sync's traffic slows the steps beside it; NULL
                                     -- when no step is beside it
    sync_slowdown  REAL,             -- (end_s - start_s) / alone_s - 1: how much the inner
                                     -- steps' traffic slows the sync
    wan_bytes      REAL,             -- bytes over all WAN links (per link: v_multidc_sync_wan)
    PRIMARY KEY (run_id, fragment),
    FOREIGN KEY (run_id) REFERENCES multidc (run_id) ON DELETE CASCADE
) STRICT;

-- `clustersim goodput`: one row per checkpoint interval simulated for a run (its
-- reliability section's, and any of a sweep), each over every seed (sim/rel/rel_goodput.h).
CREATE TABLE IF NOT EXISTS goodput (
    run_id                 INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    save_interval          INTEGER NOT NULL  -- steps between checkpoints
        CHECK (save_interval >= 1),
    source                 TEXT NOT NULL     -- how it was chosen
        CHECK (source IN ('set', 'daly', 'sweep', 'option')),
    is_main                INTEGER NOT NULL CHECK (is_main IN (0, 1)), -- the config's interval
    interval_s             REAL NOT NULL,    -- save_interval x step_time_s
    seeds                  INTEGER NOT NULL, -- Monte Carlo runs (seeds run.seed, run.seed+1, ...)
    step_time_s            REAL NOT NULL,    -- the replayed (or given) step
    steps                  INTEGER NOT NULL, -- steps to train
    tokens                 REAL NOT NULL,    -- tokens to train
    chips                  INTEGER,          -- the job's chips
    hosts                  INTEGER,          -- the job's nodes
    spare_nodes            INTEGER,          -- hot spares
    async_save             INTEGER NOT NULL CHECK (async_save IN (0, 1)),
    ckpt_bytes             REAL,             -- one checkpoint
    ckpt_block_s           REAL,             -- training stops this long per checkpoint
    ckpt_drain_s           REAL,             -- async: the write behind the steps; 0: sync
    recovery_s             REAL,             -- detect + restart + reload + warm-up
    mtbf_s                 REAL,             -- the fleet's, stopping failures; NULL: none
    young_interval_s       REAL,             -- sqrt(2 ckpt_block_s mtbf_s)
    daly_interval_s        REAL,             -- Daly's optimum (2006)
    ettr_mean              REAL NOT NULL,    -- effective training time ratio, work / wall
    ettr_sd                REAL,
    ettr_ci95              REAL,             -- half-width of the mean's 95% interval
    ettr_p50               REAL,
    wall_s_mean            REAL NOT NULL,    -- time to train
    wall_s_sd              REAL,
    wall_s_ci95            REAL,
    wall_s_min             REAL,
    wall_s_max             REAL,
    goodput_tokens_per_s   REAL,             -- tokens / wall_s_mean
    interruptions_per_day  REAL,             -- stopping failures
    degradations_per_day   REAL,             -- failures that slowed the fabric
    stalls_per_day         REAL,             -- failures that paused training (DiLoCo's WAN)
    checkpoints            REAL,             -- per run, mean
    ckpt_s                 REAL,             -- per run, mean: training stopped for checkpoints
    drain_wait_s           REAL,             -- per run, mean: waits for the previous write
    daly_ettr              REAL,             -- Daly's closed form at this interval
    energy_J               REAL,             -- facility energy over wall_s_mean at the step's
                                             -- draw (power.facility_W); NULL: no power model
    cost_usd               REAL,             -- depreciation and electricity over wall_s_mean;
                                             -- NULL: no power model or no cost section
    PRIMARY KEY (run_id, save_interval)
) STRICT;

-- One row per seed and interval of a goodput run.
CREATE TABLE IF NOT EXISTS goodput_seed (
    run_id         INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    save_interval  INTEGER NOT NULL,
    seed           INTEGER NOT NULL,
    wall_s         REAL NOT NULL,    -- to train every step
    ettr           REAL NOT NULL,
    interruptions  INTEGER NOT NULL,
    degradations   INTEGER NOT NULL,
    stalls         INTEGER NOT NULL,
    checkpoints    INTEGER NOT NULL,
    ckpt_s         REAL NOT NULL,
    drain_wait_s   REAL NOT NULL,
    lost_s         REAL NOT NULL,    -- training thrown away, every cause
    down_s         REAL NOT NULL,    -- down, every cause
    slow_s         REAL NOT NULL,    -- lost to degraded steps, every cause
    PRIMARY KEY (run_id, save_interval, seed),
    FOREIGN KEY (run_id, save_interval) REFERENCES goodput (run_id, save_interval)
        ON DELETE CASCADE
) STRICT;

-- Interruptions and time lost by cause (failure class), means per run, per interval.
CREATE TABLE IF NOT EXISTS goodput_cause (
    run_id         INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    save_interval  INTEGER NOT NULL,
    cause          TEXT NOT NULL,    -- the class: gpu, hbm, host, nic, leaf, spine, core,
                                     -- nic-cable, leaf-spine-cable, spine-core-cable,
                                     -- software, wan
    effect         TEXT NOT NULL     -- stop: back to the last checkpoint and restart;
                                     -- degrade: slower until repaired; stall: paused until
                                     -- repaired, nothing lost
        CHECK (effect IN ('stop', 'degrade', 'stall')),
    wait_repair    INTEGER NOT NULL CHECK (wait_repair IN (0, 1)), -- stop: the restart waits
                                     -- for the part's repair
    components     INTEGER NOT NULL, -- of the kind, in the job
    mtbf_s         REAL,             -- one component's mean life; NULL: never fails
    nodes          INTEGER,          -- stop: nodes a failure takes out
    slowdown       REAL,             -- degrade: the step takes 1 + slowdown as long
    failures       REAL NOT NULL,    -- per run, mean
    per_day        REAL NOT NULL,    -- failures / mean wall days
    lost_s         REAL NOT NULL,    -- training thrown away
    down_s         REAL NOT NULL,    -- down (detection to warm-up, repair waits)
    slow_s         REAL NOT NULL,    -- degraded steps' extra time
    PRIMARY KEY (run_id, save_interval, cause),
    FOREIGN KEY (run_id, save_interval) REFERENCES goodput (run_id, save_interval)
        ON DELETE CASCADE
) STRICT;

-- The interruption log of the first seeds of the config's interval (goodput --log-seeds).
CREATE TABLE IF NOT EXISTS goodput_interruption (
    run_id   INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    seed     INTEGER NOT NULL,
    n        INTEGER NOT NULL,   -- its order in the seed's run, from 0
    t_s      REAL NOT NULL,      -- wall time it struck
    cause    TEXT NOT NULL,
    nodes    INTEGER NOT NULL,   -- nodes it took out
    lost_s   REAL NOT NULL,      -- training thrown away
    down_s   REAL NOT NULL,      -- planned down time (a later failure may cut it short)
    PRIMARY KEY (run_id, seed, n)
) STRICT;

-- The power, energy and cost of a run's replayed step (sim/power/power.h): one row per run
-- whose replay the model covers (none for DiLoCo plans, for chips without a power section
-- or for a stopped replay). Power in watts (_W), energy in joules (_J), money in US
-- dollars (_usd). Parts are the job's (rel_fleet_count): hosts, NICs, fabric switches and
-- cables below its chips; optics = 2 per cable.
CREATE TABLE IF NOT EXISTS power (
    run_id            INTEGER PRIMARY KEY REFERENCES run (run_id) ON DELETE CASCADE,
    chips             INTEGER NOT NULL,
    hosts             INTEGER NOT NULL,
    nics              INTEGER,
    leaves            INTEGER,
    spines            INTEGER,
    cores             INTEGER,
    cables            INTEGER,          -- fabric cables, one per 400G-class switch port
    optics            INTEGER,          -- transceivers, two per cable
    compute_frac      REAL,             -- mean over chips: computing / step
    comm_frac         REAL,             -- waiting on their own communication / step
    idle_frac         REAL,             -- the rest (peers, bubbles, the step's end)
    chip_W            REAL,             -- every chip, mean over the step
    host_W            REAL,
    nic_W             REAL,
    switch_W          REAL,
    optic_W           REAL,
    it_W              REAL NOT NULL,    -- the sum of the above
    pue               REAL NOT NULL,
    facility_W        REAL NOT NULL,    -- it_W x pue
    idle_floor_W      REAL,             -- facility power with every chip idle
    tdp_ceiling_W     REAL,             -- facility power with every chip at its TDP
    step_time_s       REAL NOT NULL,
    energy_per_step_J REAL NOT NULL,    -- facility_W x step_time_s
    tokens_per_step   REAL,
    J_per_token       REAL,
    tokens_per_J      REAL,
    cap_W             REAL,             -- the site's power cap; NULL: none
    cap_chips         INTEGER,          -- chips it admits (whole hosts); NULL: no cap
    capital_usd       REAL,             -- the job's parts at their prices; NULL: no cost section
    depreciation_s    REAL,             -- capital spread straight-line over it
    depreciation_usd_per_s REAL,
    energy_usd_per_s  REAL,             -- facility_W at the electricity price
    usd_per_step      REAL,
    usd_per_token     REAL,
    run_steps         INTEGER,          -- the reliability section's run; NULL: none
    run_tokens        REAL,
    run_wall_s        REAL,             -- run_steps x step_time_s: no failures (goodput's
                                        -- rows give the wall with them)
    run_energy_J      REAL,
    run_usd           REAL              -- NULL unless priced
) STRICT;

-- `clustersim search`: one row per search (sim/search/search.h).
CREATE TABLE IF NOT EXISTS search (
    run_id          INTEGER PRIMARY KEY REFERENCES run (run_id) ON DELETE CASCADE,
    chips           INTEGER NOT NULL,
    candidates      INTEGER NOT NULL, -- enumerated
    rejected        INTEGER NOT NULL, -- do not fit, or refused by the planner
    estimated       INTEGER NOT NULL, -- valid: estimated
    replayed        INTEGER NOT NULL, -- of those, replayed
    spearman        REAL,             -- rank correlation, estimated against replayed step
    spearman_top    REAL,             -- the same over the best estimates only
    median_error    REAL,             -- |estimated / replayed step - 1|, median
    max_error       REAL,             -- and max
    best_candidate  INTEGER           -- search_candidate.candidate of the best replay
) STRICT;

-- Every candidate of a search, rejected with its reason, estimated, replayed.
CREATE TABLE IF NOT EXISTS search_candidate (
    run_id             INTEGER NOT NULL REFERENCES run (run_id) ON DELETE CASCADE,
    candidate          INTEGER NOT NULL,  -- its index in the enumeration
    tp                 INTEGER NOT NULL,
    pp                 INTEGER NOT NULL,
    dp                 INTEGER NOT NULL,
    cp                 INTEGER NOT NULL,
    ep                 INTEGER NOT NULL,
    virtual_stages     INTEGER NOT NULL,
    first_stage_layers INTEGER NOT NULL,  -- 0: an even split
    last_stage_layers  INTEGER NOT NULL,
    micro_batch        INTEGER NOT NULL,
    zero               INTEGER NOT NULL,  -- Megatron-LM's ZeRO stage; 0 with FSDP
    fsdp               TEXT               -- PyTorch FSDP's strategy, NULL: Megatron-LM's
        CHECK (fsdp IS NULL OR fsdp IN ('full_shard', 'shard_grad_op', 'hybrid_shard',
                                        '_hybrid_shard_zero2')),          -- optimizer
    fsdp_shard_size    INTEGER,           -- hybrid strategies: replicas per shard group
    schedule           TEXT               -- pipeline schedule; NULL without a pipeline
        CHECK (schedule IS NULL OR schedule IN ('gpipe', '1f1b', 'interleaved')),
    recompute          TEXT NOT NULL CHECK (recompute IN ('none', 'selective', 'full')),
    state              TEXT NOT NULL
        CHECK (state IN ('rejected', 'estimated', 'replayed', 'failed')),
    reason             TEXT,              -- rejected or failed: why
    chosen             TEXT               -- replayed as one of the best estimates ('top') or
        CHECK (chosen IS NULL OR chosen IN ('top', 'sample')), -- a calibration 'sample'
    memory_bytes       REAL,              -- the worst rank's
    est_step_time_s    REAL,              -- the analytical estimate (search/estimate.h)
    est_mfu            REAL,
    est_compute_s      REAL,
    est_exposed_comm_s REAL,
    est_bubble_s       REAL,
    step_time_s        REAL,              -- replayed
    mfu                REAL,
    tokens_per_s       REAL,
    replay_wall_s      REAL,              -- wall seconds of its replay
    PRIMARY KEY (run_id, candidate)
) STRICT;


-- Headline results, one row per run.
CREATE VIEW IF NOT EXISTS v_mfu AS
SELECT run_id, topology, workload, chips, step_time_s, tokens_per_s, mfu, hfu, mfu_causal
FROM run;

-- Links with their traffic, busiest first within each run: util_rank 1 is the link with the
-- highest mean utilization (ties broken by link_id).
CREATE VIEW IF NOT EXISTS v_bottleneck_links AS
SELECT l.run_id, l.link_id, l.src, l.dst, l.kind, l.site, l.tier, l.capacity_Bps,
       s.bytes, s.busy_s, s.mean_util, s.peak_util,
       row_number() OVER (PARTITION BY l.run_id
                          ORDER BY s.mean_util DESC NULLS LAST, l.link_id) AS util_rank
FROM link AS l
JOIN link_stats AS s ON s.run_id = l.run_id AND s.link_id = l.link_id
ORDER BY l.run_id, util_rank;

-- Exposed (not overlapped) time per parallel dimension, averaged over the steps of each
-- run; each *_frac is that time over the mean step time (sum over steps / sum of time_s).
CREATE VIEW IF NOT EXISTS v_exposed_comm AS
SELECT run_id,
       count(*)          AS steps,
       avg(time_s)       AS step_time_s,
       avg(exposed_tp_s) AS exposed_tp_s,
       avg(exposed_pp_s) AS exposed_pp_s,
       avg(exposed_dp_s) AS exposed_dp_s,
       avg(exposed_cp_s) AS exposed_cp_s,
       avg(exposed_ep_s) AS exposed_ep_s,
       avg(bubble_s)     AS bubble_s,
       sum(exposed_tp_s) / nullif(sum(time_s), 0) AS exposed_tp_frac,
       sum(exposed_pp_s) / nullif(sum(time_s), 0) AS exposed_pp_frac,
       sum(exposed_dp_s) / nullif(sum(time_s), 0) AS exposed_dp_frac,
       sum(exposed_cp_s) / nullif(sum(time_s), 0) AS exposed_cp_frac,
       sum(exposed_ep_s) / nullif(sum(time_s), 0) AS exposed_ep_frac,
       sum(bubble_s)     / nullif(sum(time_s), 0) AS bubble_frac
FROM step
GROUP BY run_id;

-- WAN links with their capacity, latency and traffic.
CREATE VIEW IF NOT EXISTS v_wan AS
SELECT w.run_id, w.link_id, w.src_site, w.dst_site, l.capacity_Bps, l.latency_s,
       w.bytes, w.busy_s, w.mean_util, s.peak_util
FROM wan AS w
LEFT JOIN link AS l ON l.run_id = w.run_id AND l.link_id = w.link_id
LEFT JOIN link_stats AS s ON s.run_id = w.run_id AND s.link_id = w.link_id;

-- Bytes on each WAN link per outer sync of a DiLoCo round, and the link's mean utilization
-- while the sync runs (bytes / (capacity_Bps x (end_s - start_s))). Every fragment moves
-- 1 / F of every parameter group, so each sync carries wan.bytes / multidc.fragments on each
-- link, exactly (diloco's fragments is NULL: its one sync carries the round's bytes). A row
-- of multidc_sync stands for `count` syncs: summed over the fragments, count x bytes is
-- wan.bytes.
CREATE VIEW IF NOT EXISTS v_multidc_sync_wan AS
SELECT s.run_id, s.fragment, s.count, w.link_id, w.src_site, w.dst_site,
       w.bytes / coalesce(m.fragments, 1) AS bytes,
       w.bytes / coalesce(m.fragments, 1) / (l.capacity_Bps * nullif(s.end_s - s.start_s, 0))
           AS mean_util
FROM multidc_sync AS s
JOIN multidc AS m ON m.run_id = s.run_id
JOIN wan AS w ON w.run_id = s.run_id
LEFT JOIN link AS l ON l.run_id = w.run_id AND l.link_id = w.link_id
ORDER BY s.run_id, s.fragment, w.link_id;

-- How much WAN bandwidth each scheme needs to stay at or above 90%, over a sweep of the WAN
-- bandwidth: the multidc runs grouped by what such a sweep keeps fixed (the run's workload
-- and chips, the scheme and its settings), one row per group. A run's WAN bandwidth,
-- wan_Bps, is the smallest capacity_Bps among its links of kind 'wan' (the slowest WAN
-- link bounds the sync). Two thresholds, each the least WAN bandwidth tried whose run
-- reaches it (NULL when no run of the group does; a sweep that skips the bandwidths between
-- a miss and a hit only bounds the answer from above):
--   wan_Bps_for_90pct_util      compute_util >= 0.9: the chips compute 90% of the wall time.
--                               Large models stay below 90% even inside one site (tensor and
--                               pipeline communication, bubbles), so this one may be NULL
--                               at any bandwidth: best_compute_util shows the ceiling.
--   wan_Bps_for_90pct_of_local  round efficiency H x inner_step_s / round_s >= 0.9: the
--                               round loses at most 10% to crossing datacenters (the
--                               exposed outer sync, the inner steps slowed beside it, the
--                               outer optimizer step) against H inner steps alone, whatever
--                               the site's own utilization. DiLoCo schemes only: for sync
--                               and pipeline the step itself crosses the WAN and no local
--                               step is recorded, so their efficiency is NULL.
CREATE VIEW IF NOT EXISTS v_multidc_wan_needed AS
WITH r AS (
    SELECT u.workload, u.chips, m.scheme, m.sites, m.inner_steps, m.fragments, m.max_delay,
           m.outer_update, m.payload, m.replay, m.compute_util,
           (SELECT min(l.capacity_Bps) FROM link AS l
            WHERE l.run_id = m.run_id AND l.kind = 'wan') AS wan_Bps,
           CASE WHEN m.scheme IN ('diloco', 'streaming-diloco')
                THEN m.inner_steps * m.inner_step_s / nullif(m.round_s, 0) END AS efficiency
    FROM multidc AS m
    JOIN run AS u ON u.run_id = m.run_id
)
SELECT workload, chips, scheme, sites, inner_steps, fragments, max_delay, outer_update,
       payload, replay,
       count(*)                                          AS runs,
       min(wan_Bps)                                      AS min_wan_Bps,
       max(wan_Bps)                                      AS max_wan_Bps,
       min(CASE WHEN compute_util >= 0.9 THEN wan_Bps END) AS wan_Bps_for_90pct_util,
       min(CASE WHEN efficiency >= 0.9 THEN wan_Bps END)   AS wan_Bps_for_90pct_of_local,
       max(compute_util)                                 AS best_compute_util,
       max(efficiency)                                   AS best_efficiency
FROM r
GROUP BY workload, chips, scheme, sites, inner_steps, fragments, max_delay, outer_update,
         payload, replay
ORDER BY workload, chips, scheme, sites, inner_steps, fragments, max_delay, outer_update,
         payload, replay;
