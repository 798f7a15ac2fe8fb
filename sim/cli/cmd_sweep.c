/*
 * cmd_sweep.c: `clustersim sweep CONFIG`: a grid of runs into one database.
 *
 * The config's `sweep:` section maps dotted keys to lists of values:
 *   sweep:
 *     mode: product                 # product (the default) or zip
 *     parallelism.tp: [2, 4, 8]
 *     scale.scale_out_bw: [0.5, 1, 2]
 * `product` runs every combination (the last key varying fastest), `zip` the i-th values
 * of every list together (lists of equal length). A value that is a list is passed as one
 * ("[tp, dp, cp, pp]"). Each point is a `run` with those values as --set overrides.
 *
 * Points run in worker processes, one process per point, at most --jobs at once: a crash or
 * an abort in one point cannot take the sweep down, and every worker writes its run into the
 * database in one transaction (WAL, busy timeout), so parallel writers never corrupt it.
 * A point is named by its config (the path as given), the sweep-wide --set overrides and its
 * values ('_point' in sweep_param); points already in the database are skipped, so a sweep
 * that was interrupted resumes where it stopped. Points write no trace (output.trace is
 * ignored: every worker would write the same file).
 * Points that fail (bad values, a job that does not fit in HBM) are recorded with status
 * 'failed' and the reason; a worker that crashes is recorded by the parent.
 * --shard i/N runs the points whose index is i - 1 modulo N: N shards partition the grid
 * exactly, for job arrays; `clustersim merge` combines their databases.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/path.h"
#include "core/ydoc.h"
#include "out/db.h"

static const char sweep_usage[] =
    "usage: clustersim sweep [--jobs N] [--shard I/N] [--db FILE] [--list] [--quiet]\n"
    "                        [--set KEY=VALUE]... CONFIG.yaml\n"
    "\n"
    "Runs every point of the config's sweep section (a grid: product or zip of lists of\n"
    "values for dotted keys) into one database, one worker process per point. Points already\n"
    "in the database are skipped (an interrupted sweep resumes); points that fail are\n"
    "recorded with their reason. A point is named by the config path as given, the --set\n"
    "overrides and its values. Points write no trace.\n"
    "\n"
    "  --jobs N     worker processes at once (default: the number of cores)\n"
    "  --shard I/N  run only the I-th of N slices of the grid (1 <= I <= N)\n"
    "  --db FILE    the database (default: the config's output.db, else results.db)\n"
    "  --list       print the points (index, shard of --shard's N, overrides) and exit\n"
    "  --set K=V    an override applied to every point\n"
    "  --quiet      no progress line\n";

/* A grid's size at most: each point is a replay of seconds to minutes; a million of them
 * is years of machine time, and listing more would take the parser itself minutes. */
#define SWEEP_MAX_POINTS 1000000

typedef struct grid {
    char **keys;   /* swept keys */
    char ***vals;  /* vals[k][i]: i-th value of key k */
    size_t *nvals;
    size_t nkeys, npoints;
    int zip;
    char db[1024]; /* the config's output.db resolved against it; "" when it has none */
} grid;

static void grid_free(grid *g)
{
    for (size_t k = 0; k < g->nkeys; k++) {
        free(g->keys[k]);
        for (size_t i = 0; g->vals && i < g->nvals[k]; i++)
            free(g->vals[k][i]);
        free(g->vals ? g->vals[k] : NULL);
    }
    free(g->keys);
    free(g->vals);
    free(g->nvals);
    memset(g, 0, sizeof *g);
}

static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* A swept value as override text: a scalar as it is, a list of scalars as "[a, b]"; NULL
 * for anything else (a mapping, a list holding one) or when out of memory. */
static char *value_text(const ydoc *d, ynode v)
{
    if (ydoc_node_kind(d, v) == YDOC_SCALAR)
        return copy_str(ydoc_scalar(d, v));
    if (ydoc_node_kind(d, v) != YDOC_SEQ)
        return NULL;
    size_t n = ydoc_seq_len(d, v), len = 3;
    for (size_t i = 0; i < n; i++) {
        const char *s = ydoc_scalar(d, ydoc_seq_at(d, v, i));
        if (!s)
            return NULL;
        len += strlen(s) + 2;
    }
    char *out = malloc(len);
    if (!out)
        return NULL;
    strcpy(out, "[");
    for (size_t i = 0; i < n; i++) {
        strcat(out, ydoc_scalar(d, ydoc_seq_at(d, v, i)));
        if (i + 1 < n)
            strcat(out, ", ");
    }
    strcat(out, "]");
    return out;
}

/* Reads the sweep section of config (after the overrides in ov). */
static sim_code grid_load(const char *config, const ydoc_override *ov, size_t n_ov, grid *g,
                          sim_status *st)
{
    ydoc *d = NULL;
    memset(g, 0, sizeof *g);
    sim_code rc = ydoc_load_file(config, &d, st);
    if (rc == SIM_OK)
        rc = ydoc_apply(d, ov, n_ov, st);
    ynode root = d ? ydoc_root(d) : 0, sw = 0;
    if (rc == SIM_OK)
        rc = ydoc_expect(d, root, YDOC_MAP, NULL, st);
    if (rc == SIM_OK && !(sw = ydoc_map_get(d, root, "sweep")))
        rc = ydoc_error(d, root, st,
                        "missing key 'sweep' in the document: expected a mapping of dotted "
                        "keys to lists of values, such as {parallelism.tp: [2, 4, 8]}");
    if (rc == SIM_OK)
        rc = ydoc_expect(d, sw, YDOC_MAP, "sweep", st);
    static const char *const modes[] = {"product", "zip", NULL};
    int mode = 0;
    if (rc == SIM_OK)
        rc = ydoc_get_enum(d, sw, "mode", 0, "sweep mode", modes, &mode, st);
    size_t n = rc == SIM_OK ? ydoc_map_len(d, sw) : 0;
    if (rc == SIM_OK) {
        g->zip = mode == 1;
        g->keys = calloc(n ? n : 1, sizeof *g->keys);
        g->vals = calloc(n ? n : 1, sizeof *g->vals);
        g->nvals = calloc(n ? n : 1, sizeof *g->nvals);
        if (!g->keys || !g->vals || !g->nvals)
            rc = sim_status_set(st, SIM_ERR_NOMEM, config, 0, 0, "out of memory");
    }
    for (size_t i = 0; rc == SIM_OK && i < n; i++) {
        ynode kn = ydoc_map_key_at(d, sw, i);
        const char *key = ydoc_scalar(d, kn);
        ynode v = ydoc_map_value_at(d, sw, i);
        if (!key) {
            char found[96];
            ydoc_describe(d, kn, found, sizeof found);
            rc = ydoc_error(d, kn, st, "key 'sweep': expected dotted keys such as "
                            "parallelism.tp, found %s", found);
            break;
        }
        if (!strcmp(key, "mode"))
            continue;
        size_t m = ydoc_seq_len(d, v);
        if (ydoc_node_kind(d, v) != YDOC_SEQ || m == 0) {
            char found[96];
            ydoc_describe(d, v, found, sizeof found);
            rc = ydoc_error(d, v, st, "key '%s': expected a non-empty list of values, found %s",
                            key, found);
            break;
        }
        size_t k = g->nkeys;
        g->keys[k] = copy_str(key);
        g->vals[k] = calloc(m, sizeof *g->vals[k]);
        g->nkeys++;
        if (!g->keys[k] || !g->vals[k]) {
            rc = sim_status_set(st, SIM_ERR_NOMEM, config, 0, 0, "out of memory");
            break;
        }
        g->nvals[k] = m;
        for (size_t j = 0; j < m && rc == SIM_OK; j++) {
            ynode item = ydoc_seq_at(d, v, j);
            if (!(g->vals[k][j] = value_text(d, item))) {
                char found[96];
                ydoc_describe(d, item, found, sizeof found);
                rc = ydoc_error(d, item, st,
                                "key '%s': expected a value or a list of values, found %s", key,
                                found);
            }
        }
        if (rc == SIM_OK && g->zip && g->nvals[k] != g->nvals[0])
            rc = ydoc_error(d, v, st,
                            "key '%s': zip needs lists of equal length: %zu values here, %zu "
                            "for '%s'", key, g->nvals[k], g->nvals[0], g->keys[0]);
    }
    ynode out = rc == SIM_OK ? ydoc_map_get(d, root, "output") : 0;
    const char *dbv = out ? ydoc_scalar(d, ydoc_map_get(d, out, "db")) : NULL;
    if (dbv)
        sim_path_join(config, dbv, g->db, sizeof g->db);
    if (rc == SIM_OK && g->nkeys == 0)
        rc = ydoc_error(d, sw, st, "key 'sweep': expected at least one key with a list of "
                        "values");
    if (rc == SIM_OK) {
        g->npoints = g->zip ? g->nvals[0] : 1;
        for (size_t k = 0; !g->zip && k < g->nkeys; k++) {
            if (g->npoints > SWEEP_MAX_POINTS / g->nvals[k]) {
                rc = ydoc_error(d, sw, st, "key 'sweep': expected at most %d points, found a "
                                "grid of more (split it, or sweep fewer values)",
                                SWEEP_MAX_POINTS);
                break;
            }
            g->npoints *= g->nvals[k];
        }
    }
    ydoc_destroy(d);
    if (rc != SIM_OK)
        grid_free(g);
    return rc;
}

/* Bytes point_of needs for the origins of any point: "sweep key=value" for each key. */
static size_t origins_len(const grid *g)
{
    size_t len = 1;
    for (size_t k = 0; k < g->nkeys; k++) {
        size_t longest = 0;
        for (size_t i = 0; i < g->nvals[k]; i++)
            longest = strlen(g->vals[k][i]) > longest ? strlen(g->vals[k][i]) : longest;
        len += strlen("sweep =") + strlen(g->keys[k]) + longest + 1;
    }
    return len;
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

/* The value index of key k in point p. */
static size_t value_of(const grid *g, size_t p, size_t k)
{
    if (g->zip)
        return p;
    for (size_t j = g->nkeys; j-- > k + 1;)
        p /= g->nvals[j];
    return p % g->nvals[k];
}

/* The overrides of point p after the sweep-wide ones: base[0..nb) then the point's; and the
 * point's name "config|key=value|..." (the sweep-wide overrides first, then the swept keys),
 * malloc'ed. Strings are the grid's and base's (borrowed); origins (orig_len bytes, see
 * origins_len) holds the "sweep key=value" origins of the point's overrides. */
static char *point_of(const grid *g, const char *config, size_t p, const ydoc_override *base,
                      size_t nb, ydoc_override *out, char *origins, size_t orig_len)
{
    size_t len = strlen(config) + 1;
    for (size_t i = 0; i < nb; i++) {
        out[i] = base[i];
        len += strlen(base[i].path) + strlen(base[i].value) + 2;
    }
    size_t used = 0;
    for (size_t k = 0; k < g->nkeys; k++) {
        const char *v = g->vals[k][value_of(g, p, k)];
        int w = snprintf(origins + used, orig_len - used, "sweep %s=%s", g->keys[k], v);
        out[nb + k] = (ydoc_override){g->keys[k], v, origins + used};
        used += (size_t)(w > 0 ? w : 0) + 1;
        if (used >= orig_len)
            used = orig_len - 1;
        len += strlen(g->keys[k]) + strlen(v) + 2;
    }
    char *name = malloc(len + 1);
    if (!name)
        return NULL;
    strcpy(name, config);
    for (size_t i = 0; i < nb; i++) {
        strcat(name, "|");
        strcat(name, base[i].path);
        strcat(name, "=");
        strcat(name, base[i].value);
    }
    for (size_t k = 0; k < g->nkeys; k++) {
        strcat(name, "|");
        strcat(name, g->keys[k]);
        strcat(name, "=");
        strcat(name, g->vals[k][value_of(g, p, k)]);
    }
    return name;
}

typedef struct worker {
    pid_t pid;
    size_t point;
} worker;

int cli_sweep_main(int argc, char **argv)
{
    const char *file = NULL, *db_path = NULL;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    jobs = jobs < 1 ? 1 : jobs > 4096 ? 4096 : jobs;
    long shard_i = 1, shard_n = 1;
    int list = 0, quiet = 0, rc = 0;
    ydoc_override *ov = NULL;
    size_t n_ov = 0;
    static const char *const valued[] = {"--jobs N", "--shard I/N", "--db FILE",
                                         "--set KEY=VALUE", NULL};
    if ((rc = cli_check_values(argc, argv, "sweep", valued, sweep_usage)) != 0)
        return rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(sweep_usage, stdout);
            cli_overrides_free(ov, n_ov);
            return 0;
        } else if (!strcmp(argv[i], "--jobs")) {
            long long v;
            if (cli_parse_int(argv[i + 1], 1, 4096, &v) != 0) {
                cli_overrides_free(ov, n_ov);
                return cli_bad_value("sweep", argv[i], "a number of processes from 1 to 4096",
                                     argv[i + 1]);
            }
            jobs = (long)v;
            i++;
        } else if (!strcmp(argv[i], "--shard")) {
            char num[32];
            const char *slash = strchr(argv[i + 1], '/');
            long long a = 0, b = 0;
            size_t la = slash ? (size_t)(slash - argv[i + 1]) : 0;
            if (slash && la < sizeof num)
                snprintf(num, sizeof num, "%.*s", (int)la, argv[i + 1]);
            if (!slash || la >= sizeof num || cli_parse_int(num, 1, 1000000, &a) != 0 ||
                cli_parse_int(slash + 1, 1, 1000000, &b) != 0 || a > b) {
                cli_overrides_free(ov, n_ov);
                return cli_bad_value("sweep", argv[i], "I/N with 1 <= I <= N <= 1000000",
                                     argv[i + 1]);
            }
            shard_i = (long)a;
            shard_n = (long)b;
            i++;
        } else if (!strcmp(argv[i], "--db")) {
            db_path = argv[++i];
        } else if (!strcmp(argv[i], "--list")) {
            list = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--set")) {
            if ((rc = cli_overrides_add(argv[++i], &ov, &n_ov, "sweep")) != 0) {
                cli_overrides_free(ov, n_ov);
                return rc;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim sweep: unknown option '%s'\n%s", argv[i], sweep_usage);
            cli_overrides_free(ov, n_ov);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "clustersim sweep: unexpected argument '%s'\n%s", argv[i],
                    sweep_usage);
            cli_overrides_free(ov, n_ov);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "clustersim sweep: expected CONFIG.yaml\n%s", sweep_usage);
        cli_overrides_free(ov, n_ov);
        return 2;
    }
    sim_status st;
    sim_status_clear(&st);
    grid g;
    if (grid_load(file, ov, n_ov, &g, &st) != SIM_OK) {
        rc = cli_report(&st);
        cli_overrides_free(ov, n_ov);
        return rc;
    }
    size_t nk = n_ov + g.nkeys;
    ydoc_override *pov = malloc(nk * sizeof *pov);
    size_t orig_len = origins_len(&g);
    char *origins = malloc(orig_len);
    worker *w = calloc((size_t)jobs, sizeof *w);
    unsigned char *todo = calloc(g.npoints ? g.npoints : 1, 1);
    char **done_names = NULL;
    size_t n_done_names = 0;
    db *d = NULL;
    const char *path = db_path ? db_path : g.db[0] ? g.db : "results.db";
    size_t total = 0, skipped = 0, finished = 0, failed = 0, crashed = 0, running = 0;
    if (!pov || !origins || !w || !todo) {
        sim_status_set(&st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        rc = cli_report(&st);
        goto out;
    }
    /* The points of this shard; with --list, print them. */
    for (size_t p = 0; p < g.npoints; p++)
        todo[p] = (long)(p % (size_t)shard_n) == shard_i - 1;
    if (list) {
        for (size_t p = 0; p < g.npoints; p++) {
            char *name = point_of(&g, file, p, ov, n_ov, pov, origins, orig_len);
            printf("%zu %zu/%ld %s\n", p, p % (size_t)shard_n + 1, shard_n, name ? name : "?");
            free(name);
        }
        goto out;
    }
    /* Resume: what the database already holds. */
    if (db_open(path, &d, &st) != SIM_OK ||
        db_query_texts(d, "SELECT value FROM sweep_param WHERE key = '_point'", &done_names,
                       &n_done_names, &st) != SIM_OK) {
        rc = cli_report(&st);
        goto out;
    }
    db_close(d);
    d = NULL;
    if (n_done_names) /* qsort and bsearch take no NULL array, even empty */
        qsort(done_names, n_done_names, sizeof *done_names, cmp_str);
    for (size_t p = 0; p < g.npoints; p++) {
        if (!todo[p])
            continue;
        char *name = point_of(&g, file, p, ov, n_ov, pov, origins, orig_len);
        if (name && n_done_names &&
            bsearch(&name, done_names, n_done_names, sizeof *done_names, cmp_str)) {
            todo[p] = 0;
            skipped++;
        }
        total += todo[p];
        free(name);
    }
    int tty = !quiet && isatty(STDERR_FILENO);
    double t0 = cli_now_s();
    size_t next = 0;
    fflush(NULL); /* workers must not repeat buffered output */
    while (finished < total) {
        while (running < (size_t)jobs && next < g.npoints) {
            if (!todo[next]) {
                next++;
                continue;
            }
            pid_t pid = fork();
            if (pid < 0) {
                sim_status_set(&st, SIM_ERR_IO, NULL, 0, 0, "cannot start a worker: %s",
                               strerror(errno));
                rc = cli_report(&st);
                while (running > 0 && wait(NULL) > 0) /* their points resume next time */
                    running--;
                goto out;
            }
            if (pid == 0) {
                char *name = point_of(&g, file, next, ov, n_ov, pov, origins, orig_len);
                cli_run_opts o = {.db_path = path, .no_trace = 1, .command = "sweep",
                                  .point = name, .record_failures = 1};
                int code = name ? cli_run_config(file, pov, nk, &o) : 1;
                fflush(NULL);
                _exit(code);
            }
            for (long k = 0; k < jobs; k++)
                if (!w[k].pid) {
                    w[k] = (worker){pid, next};
                    break;
                }
            running++;
            next++;
        }
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0)
            break;
        for (long k = 0; k < jobs; k++) {
            if (w[k].pid != pid)
                continue;
            running--;
            finished++;
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if (code == 3)
                failed++;
            if (code == 1 || code == 2 || code < 0) {
                /* A worker that stopped without recording its point: record it here. */
                char reason[128];
                if (WIFSIGNALED(status))
                    snprintf(reason, sizeof reason, "worker crashed: signal %d",
                             WTERMSIG(status));
                else
                    snprintf(reason, sizeof reason, "worker exited with status %d", code);
                char *name = point_of(&g, file, w[k].point, ov, n_ov, pov, origins,
                                      orig_len);
                sim_status fst;
                if (name && cli_record_failure(path, file, pov, nk, name, "sweep", reason,
                                               &fst) == SIM_OK)
                    failed++;
                else
                    crashed++;
                free(name);
                if (WIFSIGNALED(status))
                    crashed++;
            }
            w[k].pid = 0;
            break;
        }
        if (tty) {
            double el = cli_now_s() - t0, eta = el / (double)finished * (double)(total - finished);
            fprintf(stderr, "\rclustersim sweep: %zu/%zu done (%zu failed), %zu running, "
                            "%.0f s elapsed, ETA %.0f s   ",
                    finished, total, failed, running, el, eta);
        }
    }
    if (tty)
        fputc('\n', stderr);
    printf("sweep %s: %zu points in this shard, %zu run (%zu failed), %zu already in %s\n", file,
           total + skipped, finished, failed, skipped, path);
    if (crashed) {
        fprintf(stderr, "clustersim sweep: %zu workers crashed\n", crashed);
        rc = 1;
    }
out:
    db_close(d);
    db_free_texts(done_names, n_done_names);
    free(todo);
    free(w);
    free(origins);
    free(pov);
    grid_free(&g);
    cli_overrides_free(ov, n_ov);
    return rc;
}
