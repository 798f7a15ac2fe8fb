/*
 * cmd_search.c: `clustersim search CONFIG`: the best way to run a config's model on its
 * chips (search/search.h has the space and the pruning, search/estimate.h the estimate).
 *
 * Every candidate is checked and estimated in this process; the chosen ones (the best
 * estimates and a calibration sample over the rest of the ranking) are replayed in worker
 * processes, at most --jobs at once, as sweep's points are: each worker loads the config
 * with the candidate's overrides, replays it and writes its figures into a pipe. A replay
 * is deterministic, so the results do not depend on --jobs. Every candidate goes to the
 * search_candidate table (rejected with its reason, estimated, replayed).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/exec.h"
#include "out/db.h"
#include "out/record.h"
#include "out/record_search.h"
#include "search/search.h"
#include "workload/plan.h"

static const char search_usage[] =
    "usage: clustersim search [--top N] [--margin F] [--max-replays N] [--sample N]\n"
    "                         [--jobs N] [--replay-wall S] [--print N] [--db FILE] [--no-db]\n"
    "                         [--set KEY=VALUE]... CONFIG.yaml\n"
    "\n"
    "Searches the ways to run the config's model on its chips: tp, pp, dp, cp, ep, virtual\n"
    "stages and stage layout, micro-batch, ZeRO, recomputation and schedule. Candidates that\n"
    "do not fit in HBM or that the planner refuses are rejected with the reason; the others\n"
    "are ranked by a fast analytical estimate, and the best are replayed in worker\n"
    "processes, with a calibration sample over the rest of the ranking. Prints the best\n"
    "replayed candidates and the estimate's error against the replays (median error,\n"
    "Spearman's rank correlation), and writes every candidate to search_candidate.\n"
    "\n"
    "  --top N          replay the N best estimates (default 6)\n"
    "  --margin F       and every estimate within F of the best (default 0.03)\n"
    "  --max-replays N  of the best, at most N (default 12)\n"
    "  --sample N       replay N more spread over the rest of the ranking (default 8)\n"
    "  --jobs N         worker processes at once (default: the number of cores)\n"
    "  --replay-wall S  stop a replay after S wall seconds, recorded as failed (default 300)\n"
    "  --print N        print the N best replayed (default 10)\n"
    "  --db FILE        write to FILE (default: the config's output.db, else results.db)\n"
    "  --no-db          write no database\n"
    "  --set KEY=VALUE  override a config key for every candidate\n";

typedef struct replay_msg {
    int rc;
    double step_s, mfu, tokens_per_s, wall_s;
    char why[SEARCH_REASON_MAX];
} replay_msg;

/* In a worker: replays candidate c of config and writes what it found to fd. */
static void worker(const char *file, const ydoc_override *ov, size_t n_ov,
                   const search_cand *c, double max_wall_s, int fd)
{
    search_ovbuf b;
    ydoc_override all[64 + SEARCH_OV_MAX];
    size_t k = 0;
    if (n_ov)
        memcpy(all, ov, n_ov * sizeof *ov);
    search_overrides(c, &b, all + n_ov, &k);
    replay_msg m;
    memset(&m, 0, sizeof m);
    sim_status st;
    sim_status_clear(&st);
    plan *p = NULL;
    exec_result r;
    memset(&r, 0, sizeof r);
    exec_opts eo = {.max_wall_s = max_wall_s};
    if (plan_load(file, all, n_ov + k, &p, &st) != SIM_OK ||
        exec_run(p, &eo, &r, &st) != SIM_OK) {
        char msg[SIM_STATUS_MSG_MAX + 64];
        sim_status_format(&st, msg, sizeof msg);
        snprintf(m.why, sizeof m.why, "%.*s", (int)sizeof m.why - 1, msg);
        m.rc = 1;
    } else if (r.stopped) {
        snprintf(m.why, sizeof m.why, "the replay stopped at --replay-wall %g s", max_wall_s);
        m.rc = 1;
    } else {
        m.step_s = r.step_time_s;
        m.mfu = r.mfu;
        m.tokens_per_s = r.tokens_per_s;
        m.wall_s = r.wall_s;
    }
    ssize_t w = write(fd, &m, sizeof m);
    exec_result_free(&r);
    plan_destroy(p);
    _exit(w == (ssize_t)sizeof m ? 0 : 1);
}

/* Replays the marked candidates, at most jobs at once. */
static int replay_marked(const char *file, const ydoc_override *ov, size_t n_ov,
                         search_result *r, long jobs, double max_wall_s)
{
    size_t *todo = malloc((r->n ? r->n : 1) * sizeof *todo), n = 0;
    pid_t *pid = calloc((size_t)jobs, sizeof *pid);
    int *fd = calloc((size_t)jobs, sizeof *fd);
    size_t *which = calloc((size_t)jobs, sizeof *which);
    if (!todo || !pid || !fd || !which) {
        free(todo), free(pid), free(fd), free(which);
        fprintf(stderr, "clustersim search: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->c[i].top || r->c[i].sample)
            todo[n++] = i;
    size_t next = 0, done = 0;
    long running = 0;
    int tty = isatty(STDERR_FILENO); /* a progress line only on a terminal */
    int rc = 0;
    fflush(NULL);
    while (done < n && rc == 0) {
        while (running < jobs && next < n) {
            int pfd[2];
            if (pipe(pfd) != 0) {
                rc = 1;
                break;
            }
            long slot = 0;
            while (pid[slot])
                slot++;
            pid_t c = fork();
            if (c < 0) {
                close(pfd[0]), close(pfd[1]);
                rc = 1;
                break;
            }
            if (c == 0) {
                close(pfd[0]);
                worker(file, ov, n_ov, &r->c[todo[next]], max_wall_s, pfd[1]);
            }
            close(pfd[1]);
            pid[slot] = c, fd[slot] = pfd[0], which[slot] = todo[next++];
            running++;
        }
        if (running == 0)
            break;
        int status;
        pid_t got = wait(&status);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = 1;
            break;
        }
        long slot = 0;
        while (slot < jobs && pid[slot] != got)
            slot++;
        if (slot == jobs)
            continue;
        search_cand *c = &r->c[which[slot]];
        replay_msg m;
        ssize_t got_n = read(fd[slot], &m, sizeof m);
        close(fd[slot]);
        pid[slot] = 0;
        running--;
        done++;
        if (got_n != (ssize_t)sizeof m) {
            c->state = SEARCH_FAILED;
            snprintf(c->reason, sizeof c->reason, "the replay's worker died (status %d)",
                     status);
        } else if (m.rc != 0) {
            c->state = SEARCH_FAILED;
            memcpy(c->reason, m.why, sizeof c->reason);
        } else {
            c->state = SEARCH_REPLAYED;
            c->replay_step_s = m.step_s;
            c->replay_mfu = m.mfu;
            c->replay_tokens_per_s = m.tokens_per_s;
            c->replay_wall_s = m.wall_s;
        }
        if (tty)
            fprintf(stderr, "\rsearch: %zu/%zu replays", done, n);
    }
    if (n && tty)
        fprintf(stderr, "\n");
    free(todo), free(pid), free(fd), free(which);
    if (rc)
        fprintf(stderr, "clustersim search: cannot start a worker: %s\n", strerror(errno));
    return rc;
}

static int by_replay(const void *a, const void *b)
{
    const search_cand *x = *(search_cand *const *)a, *y = *(search_cand *const *)b;
    if (x->replay_mfu != y->replay_mfu)
        return x->replay_mfu > y->replay_mfu ? -1 : 1;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: a few dozen values */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : NAN;
}

/* The summary; fills the figures the database keeps. */
static void print_result(const char *file, search_result *r, size_t print_n,
                         search_figures *f)
{
    size_t rejected = 0, nrep = 0, failed = 0;
    const search_cand *first_failed = NULL;
    for (size_t i = 0; i < r->n; i++) {
        rejected += r->c[i].state == SEARCH_REJECTED;
        nrep += r->c[i].state == SEARCH_REPLAYED;
        if (r->c[i].state == SEARCH_FAILED && !failed++)
            first_failed = &r->c[i];
    }
    printf("search %s: %lld chips; %zu candidates, %zu rejected, %zu estimated (%.1f s), "
           "%zu replayed\n",
           file, (long long)r->chips, r->n, rejected, r->n_valid, r->enumerate_wall_s, nrep);
    if (first_failed) {
        char d[128];
        search_describe(first_failed, d, sizeof d);
        printf("%zu replays failed; the first, %s: %s\n", failed, d, first_failed->reason);
    }
    search_cand **rep = malloc((nrep ? nrep : 1) * sizeof *rep);
    double *est = malloc(2 * (nrep ? nrep : 1) * sizeof *est), *err = NULL;
    double *top_est = malloc(2 * (nrep ? nrep : 1) * sizeof *top_est);
    if (!rep || !est || !top_est) {
        free(rep), free(est), free(top_est);
        return;
    }
    double *act = est + (nrep ? nrep : 1), *top_act = top_est + (nrep ? nrep : 1);
    size_t k = 0, kt = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->c[i].state == SEARCH_REPLAYED)
            rep[k++] = &r->c[i];
    qsort(rep, k, sizeof *rep, by_replay);
    printf("\n  %-4s %-62s %8s %8s %9s %7s\n", "rank", "candidate", "MFU", "est MFU",
           "step s", "est err");
    for (size_t i = 0; i < k && i < print_n; i++) {
        char d[128];
        search_describe(rep[i], d, sizeof d);
        printf("  %-4zu %-62s %7.2f%% %7.2f%% %9.4f %+6.1f%%%s\n", i + 1, d,
               100 * rep[i]->replay_mfu, 100 * rep[i]->est.mfu, rep[i]->replay_step_s,
               100 * (rep[i]->est.step_s / rep[i]->replay_step_s - 1),
               rep[i]->top ? "" : "  (sample)");
    }
    err = malloc((k ? k : 1) * sizeof *err);
    for (size_t i = 0; i < k; i++) {
        est[i] = -rep[i]->est.step_s; /* higher is better on both */
        act[i] = -rep[i]->replay_step_s;
        if (err)
            err[i] = fabs(rep[i]->est.step_s / rep[i]->replay_step_s - 1);
        if (rep[i]->top) {
            top_est[kt] = est[i];
            top_act[kt++] = act[i];
        }
    }
    f->replayed = (int64_t)k;
    f->spearman = search_spearman(est, act, k);
    f->spearman_top = search_spearman(top_est, top_act, kt);
    f->median_err = err ? median(err, k) : NAN;
    f->max_err = 0;
    for (size_t i = 0; err && i < k; i++)
        f->max_err = err[i] > f->max_err ? err[i] : f->max_err;
    if (k) {
        f->best = rep[0];
        printf("\nestimate against the %zu replays: median error %.1f%%, max %.1f%%; "
               "Spearman %.3f over all, %.3f over the %zu best estimates\n",
               k, 100 * f->median_err, 100 * f->max_err, f->spearman, f->spearman_top, kt);
        char d[128];
        search_describe(rep[0], d, sizeof d);
        printf("best: %s: MFU %.2f%%, %.4g tokens/s, step %.4f s\n", d, 100 * rep[0]->replay_mfu,
               rep[0]->replay_tokens_per_s, rep[0]->replay_step_s);
    }
    free(rep), free(est), free(top_est), free(err);
}

int cli_search_main(int argc, char **argv)
{
    double t0 = cli_now_s();
    const char *file = NULL, *db_path = NULL;
    int no_db = 0;
    ydoc_override *ov = NULL;
    size_t n_ov = 0;
    long long top = 6, max_top = 12, sample = 8, print_n = 10;
    long long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    double margin = 0.03, replay_wall = 300;
    static const char *const valued[] = {"--top N", "--margin F", "--max-replays N",
                                         "--sample N", "--jobs N", "--print N",
                                         "--replay-wall S",
                                         "--db FILE", "--set KEY=VALUE", NULL};
    int rc = cli_check_values(argc, argv, "search", valued, search_usage);
    for (int i = 1; rc == 0 && i < argc; i++) {
        const char *a = argv[i];
        long long *iv = !strcmp(a, "--top")           ? &top
                        : !strcmp(a, "--max-replays") ? &max_top
                        : !strcmp(a, "--sample")      ? &sample
                        : !strcmp(a, "--jobs")        ? &jobs
                        : !strcmp(a, "--print")       ? &print_n
                                                      : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(search_usage, stdout);
            cli_overrides_free(ov, n_ov);
            return 0;
        } else if (iv) {
            long long lo = !strcmp(a, "--jobs") ? 1 : 0;
            if (cli_parse_int(argv[i + 1], lo, 100000, iv) != 0)
                rc = cli_bad_value("search", a,
                                   lo ? "an integer from 1 to 100000"
                                      : "an integer from 0 to 100000",
                                   argv[i + 1]);
            i++;
        } else if (!strcmp(a, "--margin")) {
            char *end;
            margin = strtod(argv[i + 1], &end);
            if (*end || !(margin >= 0 && margin <= 10))
                rc = cli_bad_value("search", a, "a fraction from 0 to 10", argv[i + 1]);
            i++;
        } else if (!strcmp(a, "--replay-wall")) {
            char *end;
            replay_wall = strtod(argv[i + 1], &end);
            if (*end || !(replay_wall > 0 && replay_wall <= 86400))
                rc = cli_bad_value("search", a, "seconds from above 0 to 86400", argv[i + 1]);
            i++;
        } else if (!strcmp(a, "--db")) {
            db_path = argv[++i];
        } else if (!strcmp(a, "--no-db")) {
            no_db = 1;
        } else if (!strcmp(a, "--set")) {
            rc = cli_overrides_add(argv[++i], &ov, &n_ov, "search");
        } else {
            rc = cli_operand("search", search_usage, a, &file);
        }
    }
    if (rc == 0)
        rc = cli_config_given("search", search_usage, file, no_db, db_path);
    if (rc == 0 && n_ov > 64) {
        fprintf(stderr, "clustersim search: at most 64 --set overrides\n");
        rc = 2;
    }
    if (rc != 0) {
        cli_overrides_free(ov, n_ov);
        return rc;
    }
    sim_status st;
    sim_status_clear(&st);
    plan *p = NULL;
    db *d = NULL;
    search_result r;
    memset(&r, 0, sizeof r);
    /* the config itself first: its errors are the user's, with their places */
    if (plan_load(file, ov, n_ov, &p, &st) != SIM_OK)
        goto fail;
    if (!no_db) {
        db_path = db_path ? db_path : plan_db_path(p)[0] ? plan_db_path(p) : "results.db";
        if (db_open(db_path, &d, &st) != SIM_OK)
            goto fail;
    }
    if (search_enumerate(file, ov, n_ov, &r, &st) != SIM_OK)
        goto fail;
    search_select(&r, (size_t)top, margin, (size_t)max_top, (size_t)sample);
    rc = replay_marked(file, ov, n_ov, &r, (long)jobs, replay_wall);
    if (rc != 0)
        goto done;
    search_figures fig = {0};
    print_result(file, &r, (size_t)print_n, &fig);
    if (d) {
        search_record rec = {&r, &fig};
        int64_t run_id = 0;
        db_record_src src = {"search", plan_config_path(p), ov, n_ov, NULL,
                             db_record_search, &rec, cli_now_s() - t0};
        if (db_record_run(d, p, NULL, NULL, &src, &run_id, &st) != SIM_OK)
            goto fail;
        printf("wrote run %lld to %s\n", (long long)run_id, db_path);
    }
    goto done;
fail:
    rc = cli_report(&st);
done:
    db_close(d);
    search_result_free(&r);
    plan_destroy(p);
    cli_overrides_free(ov, n_ov);
    return rc;
}
