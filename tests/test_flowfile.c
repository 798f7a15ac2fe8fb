/*
 * test_flowfile.c: the flows CSV reader (net/flowfile.h), against the dumbbell topology.
 *
 * Good files are read value by value; each bad fixture in tests/fixtures/bad/flows-*.csv
 * must fail with its exact message at file:line:col, the column being where the offending
 * field starts. A generated file with a 200,000-byte line checks that line length is not
 * bounded.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/flowfile.h"
#include "topo/topo.h"

static topo *dumbbell(void)
{
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_msg(topo_load_file("tests/fixtures/good/dumbbell.yaml", &t, &st) == SIM_OK, "%s",
                  st.msg);
    return t;
}

static net_flowfile *load_ok(const char *path, const net_graph *g)
{
    net_flowfile *f = NULL;
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = net_flowfile_load(path, g, &f, &st);
    ck_assert_msg(rc == SIM_OK, "%s: %s", path, st.msg);
    ck_assert_ptr_nonnull(f);
    return f;
}

START_TEST(test_dumbbell_flows)
{
    topo *t = dumbbell();
    const net_graph *g = topo_graph(t);
    net_flowfile *f = load_ok("tests/fixtures/good/dumbbell-flows.csv", g);
    ck_assert_uint_eq(net_flowfile_count(f), 3);
    const net_flow_spec *a = net_flowfile_at(f, 0);
    ck_assert_str_eq(a->id, "f1");
    ck_assert_int_eq(a->src, net_graph_find(g, "h0"));
    ck_assert_int_eq(a->dst, net_graph_find(g, "h2"));
    ck_assert(a->bytes == 1e9);
    ck_assert(a->start_s == 0);
    ck_assert_int_eq(a->start_ps, 0);
    ck_assert_int_eq(a->line, 2);
    const net_flow_spec *b = net_flowfile_at(f, 1);
    ck_assert_str_eq(b->id, "f2");
    ck_assert(b->bytes == 5e8);
    ck_assert(b->start_s == 0.001);
    ck_assert_int_eq(b->start_ps, 1000000000);
    ck_assert_int_eq(b->line, 3);
    const net_flow_spec *c = net_flowfile_at(f, 2);
    ck_assert_str_eq(c->id, "f3");
    ck_assert_int_eq(c->src, net_graph_find(g, "h2"));
    ck_assert_int_eq(c->dst, net_graph_find(g, "h0"));
    ck_assert(c->bytes == 1048576);
    ck_assert_int_eq(c->start_ps, 1500000);
    ck_assert_int_eq(c->line, 5); /* the blank line 4 is skipped but counted */
    ck_assert_ptr_null(net_flowfile_at(f, 3));
    net_flowfile_destroy(f);
    net_flowfile_destroy(NULL);
    topo_destroy(t);
}
END_TEST

START_TEST(test_bom_crlf_and_spaces)
{
    topo *t = dumbbell();
    const net_graph *g = topo_graph(t);
    net_flowfile *f = load_ok("tests/fixtures/good/flows-crlf.csv", g);
    ck_assert_uint_eq(net_flowfile_count(f), 1);
    const net_flow_spec *a = net_flowfile_at(f, 0);
    ck_assert_str_eq(a->id, "a b");
    ck_assert_int_eq(a->src, net_graph_find(g, "h3"));
    ck_assert_int_eq(a->dst, net_graph_find(g, "h1"));
    ck_assert(a->bytes == 0);
    ck_assert_int_eq(a->start_ps, 2500000000000);
    net_flowfile_destroy(f);
    topo_destroy(t);
}
END_TEST

START_TEST(test_long_line)
{
    topo *t = dumbbell();
    char path[] = "/tmp/clustersim-flows-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *out = fdopen(fd, "w");
    ck_assert_ptr_nonnull(out);
    fputs("id,src,dst,bytes,start_s\n", out);
    for (int i = 0; i < 200000; i++)
        fputc('x', out);
    fputs(",h1,h2,42,0\nshort,h2,h9,1,0\n", out);
    fclose(out);

    net_flowfile *f = NULL;
    sim_status st;
    char got[2048], want[2048];
    sim_status_clear(&st);
    ck_assert_int_eq(net_flowfile_load(path, topo_graph(t), &f, &st), SIM_ERR_INPUT);
    snprintf(want, sizeof want, "%s:3:10: error: field 'dst': unknown endpoint 'h9'", path);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);

    out = fopen(path, "w");
    ck_assert_ptr_nonnull(out);
    fputs("id,src,dst,bytes,start_s\n", out);
    for (int i = 0; i < 200000; i++)
        fputc('x', out);
    fputs(",h1,h2,42,0\n", out);
    fclose(out);
    f = load_ok(path, topo_graph(t));
    ck_assert_uint_eq(net_flowfile_count(f), 1);
    ck_assert_uint_eq(strlen(net_flowfile_at(f, 0)->id), 200000);
    ck_assert(net_flowfile_at(f, 0)->bytes == 42);
    net_flowfile_destroy(f);
    unlink(path);
    topo_destroy(t);
}
END_TEST

START_TEST(test_many_flows)
{
    /* Enough flows to grow the array and the id table several times; the last id repeats
     * the first, so the duplicate must be found across all those resizes. */
    topo *t = dumbbell();
    char path[] = "/tmp/clustersim-flows-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *out = fdopen(fd, "w");
    ck_assert_ptr_nonnull(out);
    fputs("id,src,dst,bytes,start_s\n", out);
    for (int i = 0; i < 5000; i++)
        fprintf(out, "flow%d,h%d,h%d,%d,%d.5\n", i, i % 4, (i + 1) % 4, i, i);
    fclose(out);
    net_flowfile *f = load_ok(path, topo_graph(t));
    ck_assert_uint_eq(net_flowfile_count(f), 5000);
    const net_flow_spec *s = net_flowfile_at(f, 4321);
    ck_assert_str_eq(s->id, "flow4321");
    ck_assert_int_eq(s->src, 1);
    ck_assert_int_eq(s->dst, 2);
    ck_assert(s->bytes == 4321);
    ck_assert_int_eq(s->start_ps, 4321500000000000);
    ck_assert_int_eq(s->line, 4323);
    net_flowfile_destroy(f);

    out = fopen(path, "a");
    ck_assert_ptr_nonnull(out);
    fputs("flow0,h0,h1,1,0\n", out);
    fclose(out);
    sim_status st;
    char got[512], want[512];
    sim_status_clear(&st);
    f = NULL;
    ck_assert_int_eq(net_flowfile_load(path, topo_graph(t), &f, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(f);
    snprintf(want, sizeof want, "%s:5002:1: error: duplicate flow id 'flow0' (first at line 2)",
             path);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);
    unlink(path);
    topo_destroy(t);
}
END_TEST

typedef struct bad_flows {
    const char *file; /* under tests/fixtures/bad/ */
    sim_code code;
    const char *msg;  /* after "path:" */
} bad_flows;

static const bad_flows bad_flow_files[] = {
    {"flows-bad-header.csv", SIM_ERR_INPUT,
     "1:1: error: expected header 'id,src,dst,bytes,start_s', found 'id,src,dest,bytes,start_s'"},
    {"flows-empty.csv", SIM_ERR_INPUT,
     "1: error: empty file: expected header 'id,src,dst,bytes,start_s'"},
    {"flows-unknown-endpoint.csv", SIM_ERR_INPUT,
     "4:7: error: field 'dst': unknown endpoint 'h9'"},
    {"flows-switch-endpoint.csv", SIM_ERR_INPUT,
     "2:4: error: field 'src': 's0' is a switch, expected an endpoint"},
    {"flows-few-fields.csv", SIM_ERR_INPUT, "3:1: error: expected 5 fields, found 3"},
    {"flows-many-fields.csv", SIM_ERR_INPUT, "2:1: error: expected 5 fields, found 6"},
    {"flows-negative-bytes.csv", SIM_ERR_INPUT,
     "2:10: error: field 'bytes': expected a number >= 0, found '-5'"},
    {"flows-nan-bytes.csv", SIM_ERR_INPUT,
     "2:10: error: field 'bytes': expected a number, found 'nan'"},
    {"flows-huge-bytes.csv", SIM_ERR_INPUT,
     "2:10: error: field 'bytes': expected a finite number, found '1e400'"},
    {"flows-bytes-unit.csv", SIM_ERR_INPUT,
     "2:10: error: field 'bytes': expected a number, found '10 MB'"},
    {"flows-negative-start.csv", SIM_ERR_INPUT,
     "2:12: error: field 'start_s': expected a number >= 0, found '-0.5'"},
    {"flows-start-not-number.csv", SIM_ERR_INPUT,
     "2:12: error: field 'start_s': expected a number, found 'soon'"},
    {"flows-huge-start.csv", SIM_ERR_INPUT,
     "2:12: error: field 'start_s': expected at most 9223372 s (about 106 days), found '1e7'"},
    {"flows-duplicate-id.csv", SIM_ERR_INPUT,
     "5:1: error: duplicate flow id 'f1' (first at line 4)"},
    {"flows-empty-id.csv", SIM_ERR_INPUT,
     "2:1: error: field 'id': expected a flow id, found an empty field"},
    {"no-such-flows.csv", SIM_ERR_INPUT,
     " error: cannot open 'tests/fixtures/bad/no-such-flows.csv': No such file or directory"},
};

START_TEST(test_bad_fixture)
{
    const bad_flows *c = &bad_flow_files[_i];
    topo *t = dumbbell();
    char path[256], want[1024], got[1024];
    snprintf(path, sizeof path, "tests/fixtures/bad/%s", c->file);
    snprintf(want, sizeof want, "%s:%s", path, c->msg);
    net_flowfile *f = (net_flowfile *)&f; /* must come back NULL */
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(net_flowfile_load(path, topo_graph(t), &f, &st), c->code);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(st.code, c->code);
    ck_assert_str_eq(st.file, path);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);
    topo_destroy(t);
}
END_TEST

static Suite *flowfile_suite(void)
{
    Suite *s = suite_create("flowfile");
    TCase *tg = tcase_create("good");
    tcase_add_test(tg, test_dumbbell_flows);
    tcase_add_test(tg, test_bom_crlf_and_spaces);
    tcase_add_test(tg, test_long_line);
    tcase_add_test(tg, test_many_flows);
    suite_add_tcase(s, tg);
    TCase *tb = tcase_create("bad");
    tcase_add_loop_test(tb, test_bad_fixture, 0,
                        (int)(sizeof bad_flow_files / sizeof bad_flow_files[0]));
    suite_add_tcase(s, tb);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(flowfile_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
