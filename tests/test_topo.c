/*
 * test_topo.c: loading the explicit topology form (topo/topo.h).
 *
 * The good fixtures are checked link by link: ids, direction, exact capacity and latency,
 * kind and adjacency. Each bad fixture in tests/fixtures/bad/topo-*.yaml must fail with its
 * exact, complete message (file:line:col: error: ...).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo.h"

static topo *load_ok(const char *path)
{
    topo *t = NULL;
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = topo_load_file(path, &t, &st);
    ck_assert_msg(rc == SIM_OK, "%s: %s", path, st.msg);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Asserts that link l runs from node a to node b (by name) with the given figures. */
static void check_link(const net_graph *g, net_link_id l, const char *a, const char *b,
                       double bw_Bps, int64_t lat_ps, net_link_kind kind)
{
    const net_link *k = net_graph_link(g, l);
    ck_assert_str_eq(net_graph_node_name(g, k->src), a);
    ck_assert_str_eq(net_graph_node_name(g, k->dst), b);
    ck_assert_msg(k->bw_Bps == bw_Bps, "link %d: %.17g B/s, want %.17g", (int)l, k->bw_Bps,
                  bw_Bps);
    ck_assert_int_eq(k->lat_ps, lat_ps);
    ck_assert_int_eq(k->kind, kind);
}

START_TEST(test_dumbbell)
{
    topo *t = load_ok("tests/fixtures/good/dumbbell.yaml");
    const net_graph *g = topo_graph(t);
    ck_assert_str_eq(topo_name(t), "dumbbell");
    ck_assert_uint_eq(net_graph_node_count(g), 6);
    ck_assert_uint_eq(net_graph_endpoint_count(g), 4);
    ck_assert_uint_eq(net_graph_link_count(g), 10);
    static const char *const names[] = {"h0", "h1", "h2", "h3", "s0", "s1"};
    for (net_node_id n = 0; n < 6; n++) {
        ck_assert_str_eq(net_graph_node_name(g, n), names[n]);
        ck_assert_int_eq(net_graph_find(g, names[n]), n);
        ck_assert_int_eq(net_graph_node_kind(g, n), n < 4 ? NET_NODE_ENDPOINT : NET_NODE_SWITCH);
    }
    /* 100 Gb/s is 12.5e9 B/s, and so is 12.5 GB/s */
    check_link(g, 0, "h0", "s0", 12.5e9, 1000000, NET_LINK_GENERIC);
    check_link(g, 1, "s0", "h0", 12.5e9, 1000000, NET_LINK_GENERIC);
    check_link(g, 2, "h1", "s0", 12.5e9, 1000000, NET_LINK_GENERIC);
    check_link(g, 4, "h2", "s1", 12.5e9, 1000000, NET_LINK_GENERIC);
    check_link(g, 7, "s1", "h3", 12.5e9, 1000000, NET_LINK_GENERIC);
    check_link(g, 8, "s0", "s1", 12.5e9, 500000, NET_LINK_GENERIC);
    check_link(g, 9, "s1", "s0", 12.5e9, 500000, NET_LINK_GENERIC);
    /* finalized: out-links of s0 in creation order */
    size_t count = 0;
    const net_link_id *out = net_graph_out_links(g, net_graph_find(g, "s0"), &count);
    ck_assert_uint_eq(count, 3);
    ck_assert_int_eq(out[0], 1);
    ck_assert_int_eq(out[1], 3);
    ck_assert_int_eq(out[2], 8);
    out = net_graph_out_links(g, net_graph_find(g, "h3"), &count);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_eq(out[0], 6);
    topo_destroy(t);
    topo_destroy(NULL);
}
END_TEST

START_TEST(test_tree)
{
    topo *t = load_ok("tests/fixtures/good/tree.yaml");
    const net_graph *g = topo_graph(t);
    ck_assert_str_eq(topo_name(t), "small-tree");
    ck_assert_uint_eq(net_graph_node_count(g), 7);
    ck_assert_uint_eq(net_graph_endpoint_count(g), 4);
    ck_assert_uint_eq(net_graph_link_count(g), 12);
    ck_assert_int_eq(net_graph_find(g, "leaf-b"), 6);
    check_link(g, 0, "a0", "leaf-a", 50e9, 1500000, NET_LINK_NIC);
    check_link(g, 7, "leaf-b", "b1", 50e9, 1500000, NET_LINK_NIC);
    check_link(g, 8, "leaf-a", "core", 1.2345678901234567e10, 250000, NET_LINK_LEAF_SPINE);
    check_link(g, 11, "core", "leaf-b", 2e11, 0, NET_LINK_LEAF_SPINE);
    size_t count = 0;
    net_graph_out_links(g, net_graph_find(g, "core"), &count);
    ck_assert_uint_eq(count, 2);
    topo_destroy(t);
}
END_TEST

typedef struct bad_topo {
    const char *file; /* under tests/fixtures/bad/ */
    sim_code code;
    const char *msg;  /* after "path:" */
} bad_topo;

static const bad_topo bad_topos[] = {
    {"topo-missing-unit.yaml", SIM_ERR_INPUT,
     "7:35: error: key 'bandwidth': expected a bandwidth with a unit (such as '100 Gb/s'), "
     "found '100'"},
    {"topo-unknown-unit.yaml", SIM_ERR_INPUT,
     "5:35: error: key 'bandwidth': expected a bandwidth with a unit (such as '100 Gb/s'), "
     "found '100 Gbit' (unknown unit 'Gbit')"},
    {"topo-unknown-node.yaml", SIM_ERR_INPUT, "7:19: error: key 'ends': unknown node 'h9'"},
    {"topo-zero-bandwidth.yaml", SIM_ERR_INPUT,
     "6:18: error: key 'bandwidth': expected a bandwidth > 0, found '0 Gb/s'"},
    {"topo-negative-latency.yaml", SIM_ERR_INPUT,
     "7:16: error: key 'latency': expected a time >= 0, found '-5 us'"},
    {"topo-huge-latency.yaml", SIM_ERR_INPUT,
     "5:54: error: key 'latency': expected a finite time, found '1e400 us'"},
    {"topo-trailing-garbage.yaml", SIM_ERR_INPUT,
     "5:54: error: key 'latency': expected a time with a unit (such as '1.5 us'), found "
     "'5 us x' (unknown unit 'us x')"},
    {"topo-missing-latency.yaml", SIM_ERR_INPUT,
     "5:7: error: missing key 'latency' in graph.links[0]: expected a time such as '1 us'"},
    {"topo-duplicate-name.yaml", SIM_ERR_INPUT,
     "6:7: error: duplicate name 'h0' (first defined at line 3)"},
    {"topo-duplicate-key.yaml", SIM_ERR_INPUT,
     "8:7: error: duplicate key 'bandwidth' (first at line 6)"},
    {"topo-syntax.yaml", SIM_ERR_INPUT,
     "4:8: error: syntax error: did not find expected ',' or ']' (while parsing a flow "
     "sequence at line 3)"},
    {"topo-unknown-key.yaml", SIM_ERR_INPUT,
     "5:24: error: unknown key 'bandwdith' in graph.links[0] (did you mean 'bandwidth'?); "
     "expected one of: ends, bandwidth, latency, kind"},
    {"topo-empty.yaml", SIM_ERR_INPUT, "1:1: error: empty document: expected a mapping"},
    {"topo-binary.yaml", SIM_ERR_INPUT,
     "1:3: error: invalid text: invalid trailing UTF-8 octet (0xD7)"},
    {"topo-bad-utf8.yaml", SIM_ERR_INPUT,
     "3:20: error: invalid text: invalid leading UTF-8 octet (0xFF)"},
    {"topo-self-link.yaml", SIM_ERR_INPUT, "6:19: error: key 'ends': a link from 's0' to itself"},
    {"topo-endpoints-scalar.yaml", SIM_ERR_INPUT,
     "3:14: error: key 'endpoints': expected a list, found 'h0'"},
    {"topo-empty-name.yaml", SIM_ERR_INPUT,
     "3:19: error: key 'endpoints': expected a node name, found an empty value"},
    {"topo-name-not-scalar.yaml", SIM_ERR_INPUT,
     "3:19: error: key 'endpoints': expected a node name, found a mapping"},
    {"topo-no-endpoints.yaml", SIM_ERR_INPUT,
     "3:14: error: key 'endpoints': expected at least one endpoint name, found an empty list"},
    {"topo-missing-graph.yaml", SIM_ERR_INPUT,
     "1:1: error: missing key 'graph' in the document: expected a mapping with endpoints and "
     "links, or 'chip' and 'chips' for a generated cluster"},
    {"topo-missing-name.yaml", SIM_ERR_INPUT,
     "1:1: error: missing key 'name' in the document: expected a string"},
    {"topo-unknown-kind.yaml", SIM_ERR_INPUT,
     "5:66: error: key 'kind': unknown link kind 'nvlnk' (did you mean 'nvlink'?); expected "
     "one of: generic, nvlink, nic, leaf-spine, spine-core, ici, wan, gateway, pcie"},
    {"topo-ends-three.yaml", SIM_ERR_INPUT,
     "5:14: error: key 'ends': expected a list of two node names, found a list of 3"},
    {"topo-link-not-mapping.yaml", SIM_ERR_INPUT,
     "5:7: error: graph.links[0]: expected a mapping, found a list"},
    {"topo-links-mapping.yaml", SIM_ERR_INPUT,
     "5:5: error: key 'links': expected a list, found a mapping"},
    {"topo-two-documents.yaml", SIM_ERR_INPUT,
     "5:1: error: expected one document, found a second one"},
    {"topo-alias-cycle.yaml", SIM_ERR_INPUT,
     "4:10: error: an alias refers to a node that contains it"},
    {"topo-root-list.yaml", SIM_ERR_INPUT,
     "1:1: error: the document: expected a mapping, found a list"},
    {"no-such-topology.yaml", SIM_ERR_INPUT,
     " error: cannot open 'tests/fixtures/bad/no-such-topology.yaml': No such file or "
     "directory"},
};

/* Spraying on an explicit graph: h0 -> s0 -> {m0, m1, m2} -> s1 -> h1 (links created in that
 * order, cable k = links 2k and 2k + 1). The transfer crosses h0-s0 and s1-h1 whole and each
 * middle path with a third; ECMP takes one middle path; both report 4 hops and 4 us. */
START_TEST(test_spray_explicit)
{
    topo *t = NULL;
    sim_status st;
    ck_assert_int_eq(topo_load_file("tests/fixtures/good/diamond.yaml", &t, &st), SIM_OK);
    ck_assert_int_eq(topo_get_routing(t), TOPO_ROUTE_SPRAY);
    net_usage u[32];
    topo_route_info info;
    ck_assert_int_eq(topo_route(t, 0, 1, 42, u, 32, &info, &st), SIM_OK);
    ck_assert_uint_eq(info.n_uses, 8);
    ck_assert_int_eq(info.hops, 4);
    ck_assert_int_eq(info.lat_ps, 4000000);
    double w[16] = {0};
    for (size_t i = 0; i < info.n_uses; i++)
        w[u[i].link] += u[i].w;
    ck_assert_double_eq(w[0], 1);  /* h0 -> s0 */
    ck_assert_double_eq(w[14], 1); /* s1 -> h1 */
    for (int k = 1; k <= 3; k++) {
        ck_assert_double_eq_tol(w[2 * k], 1.0 / 3, 1e-15);     /* s0 -> m */
        ck_assert_double_eq_tol(w[2 * k + 6], 1.0 / 3, 1e-15); /* m -> s1 */
    }
    topo_set_routing(t, TOPO_ROUTE_ECMP);
    ck_assert_int_eq(topo_route(t, 0, 1, 42, u, 32, &info, &st), SIM_OK);
    ck_assert_uint_eq(info.n_uses, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_eq(u[i].w, 1);
    ck_assert_int_eq(topo_route(t, 0, 1, 42, u, 2, &info, &st), SIM_ERR_LIMIT);
    topo_destroy(t);
}
END_TEST

START_TEST(test_bad_fixture)
{
    const bad_topo *c = &bad_topos[_i];
    char path[256], want[1024], got[1024];
    snprintf(path, sizeof path, "tests/fixtures/bad/%s", c->file);
    snprintf(want, sizeof want, "%s:%s", path, c->msg);
    topo *t = (topo *)&t; /* must come back NULL */
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(topo_load_file(path, &t, &st), c->code);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(st.code, c->code);
    ck_assert_str_eq(st.file, path);
    sim_status_format(&st, got, sizeof got);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_null_status)
{
    /* Callers may pass no status: the code alone comes back. */
    topo *t = NULL;
    ck_assert_int_eq(topo_load_file("tests/fixtures/bad/topo-unknown-node.yaml", &t, NULL),
                     SIM_ERR_INPUT);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(topo_load_file("tests/fixtures/good/dumbbell.yaml", &t, NULL), SIM_OK);
    topo_destroy(t);
}
END_TEST

static Suite *topo_suite(void)
{
    Suite *s = suite_create("topo");
    TCase *tg = tcase_create("good");
    tcase_add_test(tg, test_dumbbell);
    tcase_add_test(tg, test_tree);
    tcase_add_test(tg, test_null_status);
    tcase_add_test(tg, test_spray_explicit);
    suite_add_tcase(s, tg);
    TCase *tb = tcase_create("bad");
    tcase_add_loop_test(tb, test_bad_fixture, 0,
                        (int)(sizeof bad_topos / sizeof bad_topos[0]));
    suite_add_tcase(s, tb);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(topo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
