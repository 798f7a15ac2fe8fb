/*
 * cmd_sweep.c: `clustersim sweep CONFIG`: a grid of runs into one database.
 *
 * The grid (the config's `sweep:` section, product or zip of lists of values for dotted
 * keys), the points' names, the shards and which points are already done are
 * study/sweep.h's. Each point is a `run` with its values as --set overrides.
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
 * exactly, for job arrays; `clustersim merge` combines their databases. Without --shard, a
 * sweep in a Slurm array task (SLURM_ARRAY_TASK_ID set) takes its shard from the array:
 * i = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP + 1 (the task's
 * position in the array, whatever its first ID) and N = SLURM_ARRAY_TASK_COUNT. That holds
 * only for evenly spaced IDs (--array=A-B or A-B:S), so SLURM_ARRAY_TASK_MAX must be
 * MIN + (COUNT - 1) x STEP (a list such as --array=1,3,7 is refused rather than leaving
 * points out) and the ID one of MIN, MIN + STEP, ..., MAX; STEP defaults to 1 when unset.
 * An explicit --shard wins and the variables are not read.
 *
 * The workers stay here rather than in study/: fork, wait and _exit are process control,
 * which only the executable does, and each worker runs the CLI's own replay of a config
 * (cli_run_config: its summary, its errors on stderr, its exit status), which the parent reads
 * to count and record the point.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/ydoc.h"
#include "out/record.h"
#include "study/sweep.h"

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
    "  --shard I/N  run only the I-th of N slices of the grid (1 <= I <= N); without it, in a\n"
    "               Slurm array task, I = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /\n"
    "               SLURM_ARRAY_TASK_STEP + 1 and N = SLURM_ARRAY_TASK_COUNT (--array=A-B[:S])\n"
    "  --db FILE    the database (default: the config's output.db, else results.db)\n"
    "  --list       print the points (index, shard of --shard's N, overrides) and exit\n"
    "  --set K=V    an override applied to every point\n"
    "  --quiet      no progress line\n";

/* The options of one sweep. ov (the sweep-wide overrides) is owned, freed by the caller
 * with cli_overrides_free also when parsing fails. */
typedef struct sweep_args {
    const char *file, *db_path;
    long jobs, shard_i, shard_n;
    int list, quiet, shard_given;
    ydoc_override *ov;
    size_t n_ov;
} sweep_args;

/* What parse_args returns when the sweep goes on (any other value is the exit status). */
#define SWEEP_GO_ON (-1)

/* Parses "I/N" (1 <= I <= N <= 1000000) into *i and *n; returns 0, or -1. */
static int parse_shard(const char *s, long *i, long *n)
{
    char num[32];
    const char *slash = strchr(s, '/');
    long long a = 0, b = 0;
    size_t la = slash ? (size_t)(slash - s) : 0;
    if (slash && la < sizeof num)
        snprintf(num, sizeof num, "%.*s", (int)la, s);
    if (!slash || la >= sizeof num || cli_parse_int(num, 1, 1000000, &a) != 0 ||
        cli_parse_int(slash + 1, 1, 1000000, &b) != 0 || a > b)
        return -1;
    *i = (long)a;
    *n = (long)b;
    return 0;
}

/* Parses argv into *a. Returns SWEEP_GO_ON, or the exit status (0 after --help, else after
 * printing the error). */
static int parse_args(int argc, char **argv, sweep_args *a)
{
    static const char *const valued[] = {"--jobs N", "--shard I/N", "--db FILE",
                                         "--set KEY=VALUE", NULL};
    int rc = cli_check_values(argc, argv, "sweep", valued, sweep_usage);
    for (int i = 1; rc == 0 && i < argc; i++) {
        long long v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(sweep_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--jobs")) {
            if (cli_parse_int(argv[i + 1], 1, 4096, &v) != 0)
                return cli_bad_value("sweep", argv[i], "a number of processes from 1 to 4096",
                                     argv[i + 1]);
            a->jobs = (long)v;
            i++;
        } else if (!strcmp(argv[i], "--shard")) {
            if (parse_shard(argv[i + 1], &a->shard_i, &a->shard_n) != 0)
                return cli_bad_value("sweep", argv[i], "I/N with 1 <= I <= N <= 1000000",
                                     argv[i + 1]);
            a->shard_given = 1;
            i++;
        } else if (!strcmp(argv[i], "--db")) {
            a->db_path = argv[++i];
        } else if (!strcmp(argv[i], "--list")) {
            a->list = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (!strcmp(argv[i], "--set")) {
            rc = cli_overrides_add(argv[++i], &a->ov, &a->n_ov, "sweep");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "clustersim sweep: unknown option '%s'\n%s", argv[i], sweep_usage);
            return 2;
        } else if (!a->file) {
            a->file = argv[i];
        } else {
            fprintf(stderr, "clustersim sweep: unexpected argument '%s'\n%s", argv[i],
                    sweep_usage);
            return 2;
        }
    }
    if (rc == 0 && !a->file) {
        fprintf(stderr, "clustersim sweep: expected CONFIG.yaml\n%s", sweep_usage);
        return 2;
    }
    return rc != 0 ? rc : SWEEP_GO_ON;
}

/* Slurm's largest array task ID (MaxArraySize is at most 4000001). */
#define SLURM_TASK_ID_MAX 4000000LL

/* Prints that the Slurm variable name does not hold what the shard needs: expected, and its
 * value s (NULL: unset). Returns 2, the exit status. */
static int slurm_bad(const char *name, const char *expected, const char *s)
{
    fprintf(stderr, "clustersim sweep: environment variable %s: expected %s, found %s%s%s "
                    "(an explicit --shard I/N takes precedence)\n",
            name, expected, s ? "'" : "it unset", s ? s : "", s ? "'" : "");
    return 2;
}

/* Reads the Slurm variable name, an integer from lo to hi described by what, into *v; when
 * it is unset, *v = dflt if dflt >= 0. Returns 0, or 2 after printing why not. */
static int slurm_var(const char *name, const char *what, long long lo, long long hi,
                     long long dflt, long long *v)
{
    const char *s = getenv(name);
    char expected[128];
    if (!s && dflt >= 0) {
        *v = dflt;
        return 0;
    }
    if (s && cli_parse_int(s, lo, hi, v) == 0)
        return 0;
    snprintf(expected, sizeof expected, "%s from %lld to %lld%s", what, lo, hi,
             s ? "" : " (SLURM_ARRAY_TASK_ID is set)");
    return slurm_bad(name, expected, s);
}

/* Without --shard: the shard of a Slurm array task (the file's opening note), or 1/1 outside
 * an array (SLURM_ARRAY_TASK_ID unset). Returns 0, or 2 after printing which variable is
 * wrong. */
static int shard_from_slurm(sweep_args *a)
{
    long long id, count, min, max, step;
    char expected[384], found[32];
    if (!getenv("SLURM_ARRAY_TASK_ID"))
        return 0;
    if (slurm_var("SLURM_ARRAY_TASK_ID", "an array task ID", 0, SLURM_TASK_ID_MAX, -1, &id) ||
        slurm_var("SLURM_ARRAY_TASK_COUNT", "the number of array tasks", 1, 1000000, -1,
                  &count) ||
        slurm_var("SLURM_ARRAY_TASK_MIN", "the first array task ID", 0, SLURM_TASK_ID_MAX, -1,
                  &min) ||
        slurm_var("SLURM_ARRAY_TASK_MAX", "the last array task ID", 0, SLURM_TASK_ID_MAX, -1,
                  &max) ||
        slurm_var("SLURM_ARRAY_TASK_STEP", "the step between array task IDs", 1,
                  SLURM_TASK_ID_MAX, 1, &step))
        return 2;
    if (max != min + (count - 1) * step) {
        snprintf(expected, sizeof expected,
                 "%lld (SLURM_ARRAY_TASK_MIN + (SLURM_ARRAY_TASK_COUNT - 1) x "
                 "SLURM_ARRAY_TASK_STEP = %lld + (%lld - 1) x %lld: shards need evenly spaced "
                 "task IDs, --array=A-B or A-B:S)",
                 min + (count - 1) * step, min, count, step);
        snprintf(found, sizeof found, "%lld", max);
        return slurm_bad("SLURM_ARRAY_TASK_MAX", expected, found);
    }
    if (id < min || id > max || (id - min) % step != 0) {
        snprintf(expected, sizeof expected,
                 "one of the array's task IDs, %lld to %lld by %lld (SLURM_ARRAY_TASK_MIN to "
                 "SLURM_ARRAY_TASK_MAX by SLURM_ARRAY_TASK_STEP)",
                 min, max, step);
        snprintf(found, sizeof found, "%lld", id);
        return slurm_bad("SLURM_ARRAY_TASK_ID", expected, found);
    }
    a->shard_i = (long)((id - min) / step + 1);
    a->shard_n = (long)count;
    return 0;
}

/* Prints every point of g: index, shard of --shard's N, name. */
static void list_points(study_grid *g, const sweep_args *a)
{
    for (size_t p = 0; p < study_grid_points(g); p++) {
        const ydoc_override *ov;
        size_t n_ov;
        const char *name = study_grid_point(g, p, &ov, &n_ov);
        printf("%zu %zu/%ld %s\n", p, p % (size_t)a->shard_n + 1, a->shard_n, name);
    }
}

typedef struct worker {
    pid_t pid;
    size_t point;
} worker;

/* The workers of a sweep and its counts. */
typedef struct sweep_pool {
    study_grid *g;
    const sweep_args *a;
    const char *path; /* the database */
    worker *w;        /* [a->jobs]; pid 0: a free slot */
    size_t total, finished, failed, crashed, running;
} sweep_pool;

/* Starts a worker for point p: it replays the point into the database and exits with the
 * replay's status. Returns 0, or -1 (errno set) when no process could be started. */
static int start_worker(sweep_pool *pl, size_t p)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const ydoc_override *ov;
        size_t n_ov;
        const char *name = study_grid_point(pl->g, p, &ov, &n_ov);
        cli_run_opts o = {.db_path = pl->path, .no_trace = 1, .command = "sweep",
                          .point = name, .record_failures = 1};
        int code = cli_run_config(pl->a->file, ov, n_ov, &o);
        fflush(NULL);
        _exit(code);
    }
    for (long k = 0; k < pl->a->jobs; k++)
        if (!pl->w[k].pid) {
            pl->w[k] = (worker){pid, p};
            break;
        }
    pl->running++;
    return 0;
}

/* Counts the end of worker pid with wait status status; a worker that stopped without
 * recording its point (exit status 1 or 2, or a signal) has it recorded here as failed. */
static void reap_worker(sweep_pool *pl, pid_t pid, int status)
{
    for (long k = 0; k < pl->a->jobs; k++) {
        if (pl->w[k].pid != pid)
            continue;
        pl->running--;
        pl->finished++;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (code == 3)
            pl->failed++;
        if (code == 1 || code == 2 || code < 0) {
            /* A worker that stopped without recording its point: record it here. */
            char reason[128];
            if (WIFSIGNALED(status))
                snprintf(reason, sizeof reason, "worker crashed: signal %d", WTERMSIG(status));
            else
                snprintf(reason, sizeof reason, "worker exited with status %d", code);
            db_record_src src = {"sweep", pl->a->file, NULL, 0, NULL, NULL, NULL, 0};
            src.point = study_grid_point(pl->g, pl->w[k].point, &src.ov, &src.n_ov);
            sim_status fst;
            if (db_record_failure(pl->path, &src, reason, NULL, &fst) == SIM_OK)
                pl->failed++;
            else
                pl->crashed++;
            if (WIFSIGNALED(status))
                pl->crashed++;
        }
        pl->w[k].pid = 0;
        break;
    }
}

/* Runs the points marked in todo, at most a->jobs at once, with a progress line on a
 * terminal. Returns 0, or the exit status after a worker could not be started (the points
 * not run resume next time). */
static int run_points(sweep_pool *pl, const unsigned char *todo)
{
    int tty = !pl->a->quiet && isatty(STDERR_FILENO), rc = 0;
    double t0 = cli_now_s();
    size_t next = 0, npoints = study_grid_points(pl->g);
    fflush(NULL); /* workers must not repeat buffered output */
    while (pl->finished < pl->total) {
        for (; pl->running < (size_t)pl->a->jobs && next < npoints; next++) {
            if (todo[next] && start_worker(pl, next) != 0) {
                sim_status st;
                sim_status_set(&st, SIM_ERR_IO, NULL, 0, 0, "cannot start a worker: %s",
                               strerror(errno));
                rc = cli_report(&st);
                while (pl->running > 0 && wait(NULL) > 0) /* their points resume next time */
                    pl->running--;
                goto done;
            }
        }
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0)
            break;
        reap_worker(pl, pid, status);
        if (tty) {
            double el = cli_now_s() - t0,
                   eta = el / (double)pl->finished * (double)(pl->total - pl->finished);
            fprintf(stderr, "\rclustersim sweep: %zu/%zu done (%zu failed), %zu running, "
                            "%.0f s elapsed, ETA %.0f s   ",
                    pl->finished, pl->total, pl->failed, pl->running, el, eta);
        }
    }
    if (tty)
        fputc('\n', stderr);
done:
    return rc;
}

/* Runs the points of a's shard that the database does not hold yet, then prints the
 * counts. Returns the exit status. */
static int sweep(study_grid *g, const sweep_args *a)
{
    sim_status st;
    sim_status_clear(&st);
    size_t skipped = 0;
    sweep_pool pl = {.g = g, .a = a};
    pl.path = a->db_path ? a->db_path : study_grid_db(g)[0] ? study_grid_db(g) : "results.db";
    pl.w = calloc((size_t)a->jobs, sizeof *pl.w);
    unsigned char *todo = malloc(study_grid_points(g));
    int rc = 0;
    if (!pl.w || !todo) {
        sim_status_set(&st, SIM_ERR_NOMEM, NULL, 0, 0, "out of memory");
        rc = cli_report(&st);
        goto done;
    }
    if (study_grid_pending(g, pl.path, (size_t)a->shard_i, (size_t)a->shard_n, todo, &pl.total,
                           &skipped, &st) != SIM_OK) {
        rc = cli_report(&st);
        goto done;
    }
    if ((rc = run_points(&pl, todo)) != 0)
        goto done;
    printf("sweep %s: %zu points in this shard, %zu run (%zu failed), %zu already in %s\n",
           a->file, pl.total + skipped, pl.finished, pl.failed, skipped, pl.path);
    if (pl.crashed) {
        fprintf(stderr, "clustersim sweep: %zu workers crashed\n", pl.crashed);
        rc = 1;
    }
done:
    free(todo);
    free(pl.w);
    return rc;
}

int cli_sweep_main(int argc, char **argv)
{
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    sweep_args a = {.jobs = jobs < 1 ? 1 : jobs > 4096 ? 4096 : jobs, .shard_i = 1,
                    .shard_n = 1};
    study_grid *g = NULL;
    sim_status st;
    sim_status_clear(&st);
    int rc = parse_args(argc, argv, &a);
    if (rc != SWEEP_GO_ON)
        goto done;
    if (!a.shard_given && (rc = shard_from_slurm(&a)) != 0)
        goto done;
    if (study_grid_load(a.file, a.ov, a.n_ov, &g, &st) != SIM_OK) {
        rc = cli_report(&st);
        goto done;
    }
    if (a.list) {
        list_points(g, &a);
        rc = 0;
    } else {
        rc = sweep(g, &a);
    }
done:
    study_grid_destroy(g);
    cli_overrides_free(a.ov, a.n_ov);
    return rc;
}
