/*
 * fuzz_yaml.c: libFuzzer targets for clustersim's input parsers. Built four times by
 * tests/fuzz/run.sh with -DFUZZ_TARGET=1..5 (clang -fsanitize=fuzzer,address,undefined):
 *   1 topology YAML (topo_load), 2 workload YAML (wl_workload_load_file),
 *   3 experiment config YAML (plan_load, with the shipped topologies and workloads on
 *     relative paths), 4 flows CSV (net_flowfile_load on the dumbbell topology), 5 a
 *     config's sweep section (`clustersim sweep --list`).
 * Every input goes through a file, as the parsers read files: the fuzzer's data is written
 * to a scratch file under tests/fuzz/work/ (so a config's relative paths resolve), parsed,
 * and everything is freed. A parser must never crash, leak or hang on any input; its
 * errors are expected. Topologies are held to a 256 MiB memory estimate so that the fuzzer
 * does not spend its time building huge clusters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/flowfile.h"
#include "topo/topo.h"
#include "workload/model.h"
#include "workload/plan.h"

#ifndef FUZZ_TARGET
#define FUZZ_TARGET 1
#endif

static char path[256];

static void write_input(const uint8_t *data, size_t size, const char *ext)
{
    snprintf(path, sizeof path, "tests/fuzz/work/in-%d.%s", (int)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f) {
        /* every input would be skipped: the campaign would measure nothing */
        perror(path);
        abort();
    }
    fwrite(data, 1, size, f);
    fclose(f);
}

#if FUZZ_TARGET == 4
static topo *dumbbell;
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_status st;
    sim_status_clear(&st);
#if FUZZ_TARGET == 1
    write_input(data, size, "yaml");
    topo_load_opts o = {.mem_limit_bytes = 256.0 * 1048576.0};
    topo *t = NULL;
    if (topo_load(path, &o, &t, &st) == SIM_OK) {
        topo_summary s;
        topo_summarize(t, &s);
    }
    topo_destroy(t);
#elif FUZZ_TARGET == 2
    write_input(data, size, "yaml");
    wl_workload w;
    wl_workload_load_file(path, &w, &st);
#elif FUZZ_TARGET == 3
    /* a config names its topology and workload by path; the corpus names small ones */
    write_input(data, size, "yaml");
    plan *p = NULL;
    if (plan_load(path, NULL, 0, &p, &st) == SIM_OK) {
        plan_totals t;
        plan_totals_compute(p, &t, &st);
    }
    plan_destroy(p);
#elif FUZZ_TARGET == 5
    /* a sweep section, through `clustersim sweep --list` (grid parsing and point names; it
     * starts no worker); run.sh closes its stdout and stderr (-close_fd_mask=3) */
    write_input(data, size, "yaml");
    char *argv[] = {"sweep", "--list", path, NULL};
    cli_sweep_main(3, argv);
#else
    if (!dumbbell && topo_load_file("topologies/dumbbell.yaml", &dumbbell, &st) != SIM_OK)
        abort();
    write_input(data, size, "csv");
    net_flowfile *ff = NULL;
    net_flowfile_load(path, topo_graph(dumbbell), &ff, &st);
    net_flowfile_destroy(ff);
#endif
    unlink(path);
    return 0;
}
