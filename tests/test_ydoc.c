/*
 * test_ydoc.c: YAML documents with located errors (core/ydoc.h).
 *
 * Documents come from strings named "mem.yaml" unless the case is about files. Every
 * refused input is checked against its complete formatted message (file:line:col, 1-based),
 * so a change of wording or of location fails here first.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ydoc.h"

/* Loads text as "mem.yaml"; fails the test on error. */
static ydoc *load_ok(const char *text)
{
    ydoc *d = NULL;
    sim_status st;
    sim_status_clear(&st);
    sim_code rc = ydoc_load_string("mem.yaml", text, strlen(text), &d, &st);
    ck_assert_msg(rc == SIM_OK, "load failed: %s", st.msg);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Loading text as "mem.yaml" must fail with code and exactly the formatted message want. */
static void load_fails(const char *text, size_t len, sim_code code, const char *want)
{
    ydoc *d = (ydoc *)&d; /* must be reset to NULL */
    sim_status st;
    char buf[2048];
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_load_string("mem.yaml", text, len, &d, &st), code);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(st.code, code);
    sim_status_format(&st, buf, sizeof buf);
    ck_assert_str_eq(buf, want);
}

/* The formatted status, for comparison. */
static const char *fmt(const sim_status *st, char *buf, size_t n)
{
    sim_status_format(st, buf, n);
    return buf;
}

START_TEST(test_navigation)
{
    ydoc *d = load_ok("name: x\n"
                      "graph:\n"
                      "  endpoints: [h0, h1]\n"
                      "  links:\n"
                      "    - {ends: [h0, h1], bandwidth: 100 Gb/s}\n"
                      "    - ends: [h1, h0]\n"
                      "      latency: ''\n");
    ck_assert_str_eq(ydoc_file(d), "mem.yaml");
    ynode root = ydoc_root(d);
    ck_assert_int_eq(ydoc_node_kind(d, root), YDOC_MAP);
    ck_assert_uint_eq(ydoc_map_len(d, root), 2);
    ck_assert_str_eq(ydoc_scalar(d, ydoc_map_key_at(d, root, 1)), "graph");
    ck_assert_str_eq(ydoc_scalar(d, ydoc_map_value_at(d, root, 0)), "x");
    ck_assert_int_eq(ydoc_map_key_at(d, root, 2), 0);
    ynode graph = ydoc_map_get(d, root, "graph");
    ck_assert_int_eq(ydoc_node_kind(d, graph), YDOC_MAP);
    ck_assert_int_eq(ydoc_map_get(d, root, "nope"), 0);
    ynode eps = ydoc_map_get(d, graph, "endpoints");
    ck_assert_int_eq(ydoc_node_kind(d, eps), YDOC_SEQ);
    ck_assert_uint_eq(ydoc_seq_len(d, eps), 2);
    ck_assert_str_eq(ydoc_scalar(d, ydoc_seq_at(d, eps, 1)), "h1");
    ck_assert_int_eq(ydoc_seq_at(d, eps, 2), 0);
    ck_assert_int_eq(ydoc_line(d, ydoc_seq_at(d, eps, 1)), 3);
    ck_assert_int_eq(ydoc_col(d, ydoc_seq_at(d, eps, 1)), 19);
    ck_assert_ptr_null(ydoc_scalar(d, eps));
    ck_assert_uint_eq(ydoc_seq_len(d, graph), 0);
    ck_assert_uint_eq(ydoc_map_len(d, eps), 0);
    ck_assert_int_eq(ydoc_node_kind(d, 0), YDOC_NONE);
    ck_assert_int_eq(ydoc_node_kind(d, 9999), YDOC_NONE);
    ck_assert_int_eq(ydoc_line(d, 0), 0);

    char buf[128];
    ydoc_describe(d, graph, buf, sizeof buf);
    ck_assert_str_eq(buf, "a mapping");
    ydoc_describe(d, eps, buf, sizeof buf);
    ck_assert_str_eq(buf, "a list");
    ydoc_describe(d, ydoc_seq_at(d, eps, 0), buf, sizeof buf);
    ck_assert_str_eq(buf, "'h0'");
    ynode links = ydoc_map_get(d, graph, "links");
    ynode link1 = ydoc_seq_at(d, links, 1);
    ydoc_describe(d, ydoc_map_get(d, link1, "latency"), buf, sizeof buf);
    ck_assert_str_eq(buf, "an empty value");
    ydoc_describe(d, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "nothing");

    ydoc_place(d, root, buf, sizeof buf);
    ck_assert_str_eq(buf, "the document");
    ydoc_place(d, graph, buf, sizeof buf);
    ck_assert_str_eq(buf, "graph");
    ydoc_place(d, link1, buf, sizeof buf);
    ck_assert_str_eq(buf, "graph.links[1]");
    ydoc_place(d, ydoc_seq_at(d, ydoc_map_get(d, link1, "ends"), 0), buf, sizeof buf);
    ck_assert_str_eq(buf, "graph.links[1].ends[0]");
    ydoc_place(d, ydoc_map_key_at(d, link1, 0), buf, sizeof buf); /* a key: its mapping */
    ck_assert_str_eq(buf, "graph.links[1]");
    ydoc_destroy(d);
    ydoc_destroy(NULL);
}
END_TEST

START_TEST(test_long_scalar_elided)
{
    char text[256];
    char want[128];
    snprintf(text, sizeof text, "k: %0100d\n", 7);
    ydoc *d = load_ok(text);
    char buf[128];
    ydoc_describe(d, ydoc_map_get(d, ydoc_root(d), "k"), buf, sizeof buf);
    snprintf(want, sizeof want, "'%060d...'", 0);
    ck_assert_str_eq(buf, want);
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_duplicate_keys)
{
    load_fails("a: 1\nb: 2\na: 3\n", 15, SIM_ERR_INPUT,
               "mem.yaml:3:1: error: duplicate key 'a' (first at line 1)");
    /* nested, three times: the second occurrence is reported */
    const char *nested = "top:\n  inner: {x: 1, y: 2, x: 3, x: 4}\n";
    load_fails(nested, strlen(nested), SIM_ERR_INPUT,
               "mem.yaml:2:23: error: duplicate key 'x' (first at line 2)");
    /* two keys repeated: the repetition that comes first in the file wins */
    const char *two = "b: 1\na: 1\nc: 1\na: 2\nb: 2\n";
    load_fails(two, strlen(two), SIM_ERR_INPUT,
               "mem.yaml:4:1: error: duplicate key 'a' (first at line 2)");
    /* quoted and plain spellings are the same key */
    const char *quoted = "'k': 1\nk: 2\n";
    load_fails(quoted, strlen(quoted), SIM_ERR_INPUT,
               "mem.yaml:2:1: error: duplicate key 'k' (first at line 1)");
    /* the same key in different mappings is fine */
    ydoc *d = load_ok("a: {k: 1}\nb: {k: 2}\n");
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_syntax_errors)
{
    const char *flow = "a: [1, 2\nb: 3\n";
    load_fails(flow, strlen(flow), SIM_ERR_INPUT,
               "mem.yaml:2:2: error: syntax error: did not find expected ',' or ']' "
               "(while parsing a flow sequence at line 1)");
    const char *indent = "a: 1\n b: 2\n";
    load_fails(indent, strlen(indent), SIM_ERR_INPUT,
               "mem.yaml:2:3: error: syntax error: mapping values are not allowed in this "
               "context");
    const char *alias = "a: *nope\n";
    load_fails(alias, strlen(alias), SIM_ERR_INPUT,
               "mem.yaml:1:4: error: syntax error: found undefined alias");
    const char *utf8 = "a: 1\nb: \xff\n";
    load_fails(utf8, strlen(utf8), SIM_ERR_INPUT,
               "mem.yaml:2:4: error: invalid text: invalid leading UTF-8 octet (0xFF)");
    const char nul[] = "a: 1\0b: 2\n";
    load_fails(nul, sizeof nul - 1, SIM_ERR_INPUT,
               "mem.yaml:1:5: error: invalid text: control characters are not allowed (0x00)");
}
END_TEST

START_TEST(test_syntax_error_file)
{
    ydoc *d = NULL;
    sim_status st;
    char buf[1024];
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_load_file("tests/fixtures/bad/topo-syntax.yaml", &d, &st),
                     SIM_ERR_INPUT);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "tests/fixtures/bad/topo-syntax.yaml:4:8: error: syntax error: did not "
                     "find expected ',' or ']' (while parsing a flow sequence at line 3)");
}
END_TEST

START_TEST(test_empty_documents)
{
    load_fails("", 0, SIM_ERR_INPUT, "mem.yaml:1:1: error: empty document: expected a mapping");
    load_fails("# only a comment\n\n", 18, SIM_ERR_INPUT,
               "mem.yaml:1:1: error: empty document: expected a mapping");
    load_fails("---\n", 4, SIM_ERR_INPUT,
               "mem.yaml:2:1: error: empty document: expected a mapping");
    const char *two = "a: 1\n---\nb: 2\n";
    load_fails(two, strlen(two), SIM_ERR_INPUT,
               "mem.yaml:2:1: error: expected one document, found a second one");
    /* an explicit end marker alone is not a second document */
    ydoc *d = load_ok("a: 1\n...\n");
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_missing_file)
{
    ydoc *d = (ydoc *)&d;
    sim_status st;
    char buf[1024];
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_load_file("tests/fixtures/no-such-file.yaml", &d, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(st.file, "tests/fixtures/no-such-file.yaml");
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "tests/fixtures/no-such-file.yaml: error: cannot open "
                     "'tests/fixtures/no-such-file.yaml': No such file or directory");
}
END_TEST

START_TEST(test_binary_file)
{
    ydoc *d = NULL;
    sim_status st;
    char buf[1024];
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_load_file("tests/fixtures/bad/topo-binary.yaml", &d, &st),
                     SIM_ERR_INPUT);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "tests/fixtures/bad/topo-binary.yaml:1:3: error: invalid text: invalid "
                     "trailing UTF-8 octet (0xD7)");
}
END_TEST

/* Writes n lines "kI: I" (plus extra, if any) to a fresh temporary file; returns its path. */
static void write_keys(char *path, int n, const char *extra)
{
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "k%d: %d\n", i, i);
    if (extra)
        fputs(extra, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Files past the first 64 KiB read buffer (about 290 KB here) load whole, and a mapping of
 * 20,000 keys is checked for duplicates like a small one. */
START_TEST(test_large_file)
{
    const int n = 20000;
    char path[] = "/tmp/test_ydoc_XXXXXX";
    write_keys(path, n, NULL);
    ydoc *d = NULL;
    sim_status st;
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_load_file(path, &d, &st), SIM_OK);
    ynode root = ydoc_root(d);
    ck_assert_uint_eq(ydoc_map_len(d, root), (size_t)n);
    ynode last = ydoc_map_get(d, root, "k19999");
    ck_assert_str_eq(ydoc_scalar(d, last), "19999");
    ck_assert_int_eq(ydoc_line(d, last), n);
    ydoc_destroy(d);
    remove(path);

    char dup[] = "/tmp/test_ydoc_XXXXXX";
    write_keys(dup, n, "k7: again\n");
    d = (ydoc *)&d;
    ck_assert_int_eq(ydoc_load_file(dup, &d, &st), SIM_ERR_INPUT);
    ck_assert_ptr_null(d);
    char want[128], buf[1024];
    snprintf(want, sizeof want, "%s:%d:1: error: duplicate key 'k7' (first at line 8)", dup,
             n + 1);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf), want);
    remove(dup);
}
END_TEST

START_TEST(test_garbage_never_crashes)
{
    /* Random bytes and randomly damaged YAML: each load either succeeds or reports a
     * located error; under ASan or valgrind this also proves no bad access or leak. */
    static const char good[] = "name: x\ngraph:\n  endpoints: [h0, h1]\n  links:\n"
                               "    - {ends: [h0, h1], bandwidth: 1 Gb/s, latency: 1 us}\n";
    static const char alphabet[] = "[]{}:,-&*!|>'\"#%@` \n\tab01";
    uint64_t x = 88172645463325252ull;
    char buf[sizeof good];
    for (int round = 0; round < 3000; round++) {
        size_t len = sizeof good - 1;
        memcpy(buf, good, len);
        int edits = 1 + round % 8;
        for (int e = 0; e < edits; e++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (size_t)(x % len);
            char c = round % 2 ? (char)(x >> 32) : alphabet[(x >> 32) % (sizeof alphabet - 1)];
            buf[at] = c;
        }
        ydoc *d = NULL;
        sim_status st;
        sim_status_clear(&st);
        sim_code rc = ydoc_load_string("fuzz.yaml", buf, len, &d, &st);
        if (rc == SIM_OK) {
            ck_assert_ptr_nonnull(d);
            ck_assert_int_ne(ydoc_root(d), 0);
            ydoc_destroy(d);
        } else {
            ck_assert_int_eq(rc, SIM_ERR_INPUT);
            ck_assert_ptr_null(d);
            ck_assert_str_eq(st.file, "fuzz.yaml");
            ck_assert_int_gt(st.line, 0);
            ck_assert(st.msg[0] != '\0');
        }
    }
}
END_TEST

START_TEST(test_alias_limits)
{
    const char *cycle = "a: &x [1, *x]\n";
    load_fails(cycle, strlen(cycle), SIM_ERR_INPUT,
               "mem.yaml:1:4: error: an alias refers to a node that contains it");

    char deep[256];
    memset(deep, '[', 70);
    memset(deep + 70, ']', 70);
    deep[140] = '\0';
    load_fails(deep, 140, SIM_ERR_INPUT,
               "mem.yaml:1:65: error: nesting deeper than 64 levels");

    /* 40 levels under an anchor, used 30 levels down: 71 levels once expanded */
    char via[512];
    size_t n = 0;
    n += (size_t)sprintf(via + n, "a: &a ");
    for (int i = 0; i < 40; i++)
        via[n++] = '[';
    for (int i = 0; i < 40; i++)
        via[n++] = ']';
    n += (size_t)sprintf(via + n, "\nb: ");
    for (int i = 0; i < 30; i++)
        via[n++] = '[';
    n += (size_t)sprintf(via + n, "*a");
    for (int i = 0; i < 30; i++)
        via[n++] = ']';
    via[n] = '\0';
    load_fails(via, n, SIM_ERR_INPUT,
               "mem.yaml:2:33: error: nesting deeper than 64 levels (counting aliases)");

    /* "billion laughs": 7 levels of ten aliases each */
    char laughs[1024];
    n = (size_t)sprintf(laughs, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 7; i++) {
        n += (size_t)sprintf(laughs + n, "l%d: &l%d [", i, i);
        for (int k = 0; k < 10; k++)
            n += (size_t)sprintf(laughs + n, "%s*l%d", k ? ", " : "", i - 1);
        n += (size_t)sprintf(laughs + n, "]\n");
    }
    load_fails(laughs, n, SIM_ERR_INPUT,
               "mem.yaml:6:5: error: aliases expand the document by more than 1000000 nodes");

    /* aliases within the limits are shared nodes, named by their first place */
    ydoc *d = load_ok("a: &x {b: 1}\nc: *x\n");
    ynode root = ydoc_root(d);
    ck_assert_int_eq(ydoc_map_get(d, root, "a"), ydoc_map_get(d, root, "c"));
    char buf[64];
    ydoc_place(d, ydoc_map_get(d, root, "c"), buf, sizeof buf);
    ck_assert_str_eq(buf, "a");
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_nul_in_scalar)
{
    const char *text = "a: \"x\\0y\"\n";
    load_fails(text, strlen(text), SIM_ERR_INPUT,
               "mem.yaml:1:4: error: a value contains a NUL character");
}
END_TEST

START_TEST(test_suggest)
{
    static const char *const keys[] = {"ends", "bandwidth", "latency", "kind", NULL};
    ck_assert_str_eq(ydoc_suggest("bandwdith", keys), "bandwidth");
    ck_assert_str_eq(ydoc_suggest("latncy", keys), "latency");
    ck_assert_str_eq(ydoc_suggest("end", keys), "ends");
    ck_assert_str_eq(ydoc_suggest("Kind", keys), "kind");
    ck_assert_str_eq(ydoc_suggest("bandwixxx", keys), "bandwidth"); /* 3 <= 9 / 3 */
    ck_assert_ptr_null(ydoc_suggest("kxxx", keys));                 /* 3 > 2 */
    ck_assert_ptr_null(ydoc_suggest("speed", keys));
    ck_assert_ptr_null(ydoc_suggest("bw", keys));
    ck_assert_ptr_null(ydoc_suggest("", keys));
    static const char *const tie[] = {"abc", "abd", NULL};
    ck_assert_str_eq(ydoc_suggest("abx", tie), "abc"); /* ties: first listed */
}
END_TEST

START_TEST(test_check_keys)
{
    static const char *const keys[] = {"ends", "bandwidth", "latency", NULL};
    ydoc *d = load_ok("links:\n"
                      "  - {ends: [a, b], bandwdith: 1 Gb/s}\n"
                      "  - {ends: [a, b], speed: 1 Gb/s}\n"
                      "  - {ends: [a, b], latency: 1 us, bandwidth: 1 Gb/s}\n"
                      "  - {[x]: 1}\n"
                      "  - scalar\n");
    ynode links = ydoc_map_get(d, ydoc_root(d), "links");
    sim_status st;
    char buf[1024];
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_check_keys(d, ydoc_seq_at(d, links, 0), "link", keys, &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "mem.yaml:2:20: error: unknown key 'bandwdith' in link (did you mean "
                     "'bandwidth'?); expected one of: ends, bandwidth, latency");
    ck_assert_int_eq(ydoc_check_keys(d, ydoc_seq_at(d, links, 1), "link", keys, &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "mem.yaml:3:20: error: unknown key 'speed' in link; expected one of: "
                     "ends, bandwidth, latency");
    ck_assert_int_eq(ydoc_check_keys(d, ydoc_seq_at(d, links, 2), "link", keys, &st), SIM_OK);
    ck_assert_int_eq(ydoc_check_keys(d, ydoc_seq_at(d, links, 3), "link", keys, &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "mem.yaml:5:6: error: expected a key name in link, found a list");
    ck_assert_int_eq(ydoc_check_keys(d, ydoc_seq_at(d, links, 4), "link", keys, &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "mem.yaml:6:5: error: link: expected a mapping, found 'scalar'");
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_expect_and_error)
{
    ydoc *d = load_ok("links: x\nlist: [a, {b: c}]\n");
    ynode root = ydoc_root(d);
    sim_status st;
    char buf[1024];
    sim_status_clear(&st);
    ck_assert_int_eq(ydoc_expect(d, ydoc_map_get(d, root, "links"), YDOC_SEQ, "links", &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "mem.yaml:1:8: error: key 'links': expected a list, found 'x'");
    ynode list = ydoc_map_get(d, root, "list");
    ck_assert_int_eq(ydoc_expect(d, list, YDOC_SEQ, "list", &st), SIM_OK);
    ck_assert_int_eq(ydoc_expect(d, ydoc_seq_at(d, list, 1), YDOC_SCALAR, NULL, &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "mem.yaml:2:11: error: list[1]: expected a single value, found a mapping");
    ck_assert_int_eq(ydoc_expect(d, ydoc_seq_at(d, list, 0), YDOC_MAP, NULL, &st),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf),
                     "mem.yaml:2:8: error: list[0]: expected a mapping, found 'a'");
    ck_assert_int_eq(ydoc_error(d, list, &st, "custom %d", 7), SIM_ERR_INPUT);
    ck_assert_str_eq(fmt(&st, buf, sizeof buf), "mem.yaml:2:7: error: custom 7");
    ck_assert_int_eq(ydoc_error(d, list, NULL, "no status"), SIM_ERR_INPUT);
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_getters_good)
{
    ydoc *d = load_ok("s: text\n"
                      "bw: 400 Gb/s\n"
                      "t: 1.5 us\n"
                      "size: 80 GiB\n"
                      "peak: 989.4 TFLOP/s\n"
                      "dist: 10 km\n"
                      "x: 0.25\n"
                      "n: -12\n"
                      "np: +3\n"
                      "yes1: yes\n"
                      "no1: Off\n");
    ynode m = ydoc_root(d);
    sim_status st;
    sim_status_clear(&st);
    const char *s = NULL;
    double v = 0;
    int64_t i = 0;
    int b = -1;
    ck_assert_int_eq(ydoc_get_str(d, m, "s", 1, &s, &st), SIM_OK);
    ck_assert_str_eq(s, "text");
    ck_assert_int_eq(ydoc_get_bw(d, m, "bw", 1, &v, &st), SIM_OK);
    ck_assert(v == 50e9);
    ck_assert_int_eq(ydoc_get_time(d, m, "t", 1, &i, &st), SIM_OK);
    ck_assert_int_eq(i, 1500000);
    ck_assert_int_eq(ydoc_get_bytes(d, m, "size", 1, &v, &st), SIM_OK);
    ck_assert(v == 80.0 * 1073741824.0);
    ck_assert_int_eq(ydoc_get_flops(d, m, "peak", 1, &v, &st), SIM_OK);
    ck_assert(v == 989.4e12);
    ck_assert_int_eq(ydoc_get_length(d, m, "dist", 1, &v, &st), SIM_OK);
    ck_assert(v == 1e4);
    ck_assert_int_eq(ydoc_get_double(d, m, "x", 1, &v, &st), SIM_OK);
    ck_assert(v == 0.25);
    ck_assert_int_eq(ydoc_get_int(d, m, "n", 1, -100, 100, &i, &st), SIM_OK);
    ck_assert_int_eq(i, -12);
    ck_assert_int_eq(ydoc_get_int(d, m, "np", 1, 0, 3, &i, &st), SIM_OK);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(ydoc_get_bool(d, m, "yes1", 1, &b, &st), SIM_OK);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(ydoc_get_bool(d, m, "no1", 1, &b, &st), SIM_OK);
    ck_assert_int_eq(b, 0);
    /* optional and absent: untouched */
    v = 7;
    i = 7;
    s = "default";
    ck_assert_int_eq(ydoc_get_bw(d, m, "absent", 0, &v, &st), SIM_OK);
    ck_assert_int_eq(ydoc_get_time(d, m, "absent", 0, &i, &st), SIM_OK);
    ck_assert_int_eq(ydoc_get_str(d, m, "absent", 0, &s, &st), SIM_OK);
    ck_assert(v == 7);
    ck_assert_int_eq(i, 7);
    ck_assert_str_eq(s, "default");
    ck_assert_int_eq(st.code, SIM_OK);
    ydoc_destroy(d);
}
END_TEST

/* Overrides replace a scalar, add missing keys and mappings, build lists, and the new nodes
 * report their origin instead of a line. */
START_TEST(test_set_overrides)
{
    const char *text = "a:\n  b: 1\n  c: [x]\nd: 2\n";
    ydoc *d = load_ok(text);
    sim_status st;
    int64_t v = 0;
    ck_assert_int_eq(ydoc_set(d, "a.b", "4", "--set a.b=4", &st), SIM_OK);
    ck_assert_int_eq(ydoc_set(d, "e.f.g", "[p, q ,r]", "--set e.f.g=[p, q ,r]", &st), SIM_OK);
    ck_assert_int_eq(ydoc_set(d, "d", "zz", "--set d=zz", &st), SIM_OK);
    ynode a = ydoc_map_get(d, ydoc_root(d), "a");
    ck_assert_int_eq(ydoc_get_int(d, a, "b", 1, 0, 10, &v, &st), SIM_OK);
    ck_assert_int_eq(v, 4);
    ck_assert_str_eq(ydoc_scalar(d, ydoc_seq_at(d, ydoc_map_get(d, a, "c"), 0)), "x");
    ynode g = ydoc_map_get(d, ydoc_map_get(d, ydoc_map_get(d, ydoc_root(d), "e"), "f"), "g");
    ck_assert_uint_eq(ydoc_seq_len(d, g), 3);
    ck_assert_str_eq(ydoc_scalar(d, ydoc_seq_at(d, g, 1)), "q");
    ck_assert_str_eq(ydoc_scalar(d, ydoc_seq_at(d, g, 2)), "r");
    char place[64];
    ydoc_place(d, ydoc_seq_at(d, g, 2), place, sizeof place);
    ck_assert_str_eq(place, "e.f.g[2]");
    /* the error names the override, with no line */
    ck_assert_int_eq(ydoc_get_int(d, ydoc_root(d), "d", 1, 0, 10, &v, &st), SIM_ERR_INPUT);
    char msg[512];
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set d=zz: error: key 'd': expected an integer, found 'zz'");
    /* the file's own nodes keep their lines */
    ck_assert_int_eq(ydoc_line(d, a), 2);
    ck_assert_int_eq(ydoc_set(d, "a.b.x", "1", "--set a.b.x=1", &st), SIM_ERR_INPUT);
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set a.b.x=1: error: cannot set 'a.b.x': the value before 'x' is "
                          "'4', not a mapping");
    /* an index enters a list */
    ck_assert_int_eq(ydoc_set(d, "a.c.0.k", "v", "--set a.c.0.k=v", &st), SIM_ERR_INPUT);
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set a.c.0.k=v: error: cannot set 'a.c.0.k': the value before 'k' "
                          "is 'x', not a mapping");
    ck_assert_int_eq(ydoc_set(d, "a.c.5.k", "v", "--set a.c.5.k=v", &st), SIM_ERR_INPUT);
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set a.c.5.k=v: error: cannot set 'a.c.5.k': '5' is not an index "
                          "of the list of 1");
    ck_assert_int_eq(ydoc_set(d, "a..b", "1", "--set a..b=1", &st), SIM_ERR_INPUT);
    sim_status_format(&st, msg, sizeof msg);
    ck_assert_str_eq(msg, "--set a..b=1: error: empty key in the path 'a..b'");
    ydoc_destroy(d);
}
END_TEST

START_TEST(test_getters_bad)
{
    ydoc *d = load_ok("bw: 100\n"                 /* 1 */
                      "t: -5 us\n"                /* 2 */
                      "size: 80 Gb/s\n"           /* 3 */
                      "peak: 0 TFLOP/s\n"         /* 4 */
                      "dist: 5 mi\n"              /* 5 */
                      "x: half\n"                 /* 6 */
                      "frac: 2.5\n"               /* 7 */
                      "exp: 1e3\n"                /* 8 */
                      "big: 99999999999999999999\n" /* 9 */
                      "out: 9\n"                  /* 10 */
                      "flag: maybe\n"             /* 11 */
                      "list: [1 us]\n"            /* 12 */
                      "empty:\n"                  /* 13 */
                      "sub: {a: 1}\n");           /* 14 */
    ynode m = ydoc_root(d);
    sim_status st;
    char buf[1024];
    double v = 0;
    int64_t i = 0;
    int b = 0;
    const char *s = NULL;
    sim_status_clear(&st);
#define BAD(call, want)                                                                        \
    do {                                                                                       \
        ck_assert_int_eq((call), SIM_ERR_INPUT);                                               \
        ck_assert_str_eq(fmt(&st, buf, sizeof buf), (want));                                   \
    } while (0)
    BAD(ydoc_get_bw(d, m, "bw", 1, &v, &st),
        "mem.yaml:1:5: error: key 'bw': expected a bandwidth with a unit (such as "
        "'100 Gb/s'), found '100'");
    BAD(ydoc_get_time(d, m, "t", 1, &i, &st),
        "mem.yaml:2:4: error: key 't': expected a time >= 0, found '-5 us'");
    BAD(ydoc_get_bytes(d, m, "size", 1, &v, &st),
        "mem.yaml:3:7: error: key 'size': expected a size with a unit (such as '80 GiB'), "
        "found '80 Gb/s' (unknown unit 'Gb/s')");
    BAD(ydoc_get_flops(d, m, "peak", 1, &v, &st),
        "mem.yaml:4:7: error: key 'peak': expected a compute rate > 0, found '0 TFLOP/s'");
    BAD(ydoc_get_length(d, m, "dist", 1, &v, &st),
        "mem.yaml:5:7: error: key 'dist': expected a length with a unit (such as '10 km'), "
        "found '5 mi' (unknown unit 'mi')");
    BAD(ydoc_get_double(d, m, "x", 1, &v, &st),
        "mem.yaml:6:4: error: key 'x': expected a number, found 'half'");
    BAD(ydoc_get_int(d, m, "frac", 1, 0, 10, &i, &st),
        "mem.yaml:7:7: error: key 'frac': expected an integer, found '2.5'");
    BAD(ydoc_get_int(d, m, "exp", 1, 0, 10000, &i, &st),
        "mem.yaml:8:6: error: key 'exp': expected an integer, found '1e3'");
    BAD(ydoc_get_int(d, m, "big", 1, INT64_MIN, INT64_MAX, &i, &st),
        "mem.yaml:9:6: error: key 'big': expected an integer in [-9223372036854775808, "
        "9223372036854775807], found '99999999999999999999'");
    BAD(ydoc_get_int(d, m, "out", 1, 1, 8, &i, &st),
        "mem.yaml:10:6: error: key 'out': expected an integer in [1, 8], found '9'");
    BAD(ydoc_get_bool(d, m, "flag", 1, &b, &st),
        "mem.yaml:11:7: error: key 'flag': expected true or false, found 'maybe'");
    BAD(ydoc_get_time(d, m, "list", 1, &i, &st),
        "mem.yaml:12:7: error: key 'list': expected a time such as '1 us', found a list");
    BAD(ydoc_get_str(d, m, "empty", 1, &s, &st),
        "mem.yaml:13:7: error: key 'empty': expected a string, found an empty value");
    BAD(ydoc_get_str(d, m, "sub", 1, &s, &st),
        "mem.yaml:14:6: error: key 'sub': expected a string, found a mapping");
    BAD(ydoc_get_time(d, m, "latency", 1, &i, &st),
        "mem.yaml:1:1: error: missing key 'latency' in the document: expected a time such as "
        "'1 us'");
    BAD(ydoc_get_bw(d, ydoc_map_get(d, m, "sub"), "bandwidth", 1, &v, &st),
        "mem.yaml:14:6: error: missing key 'bandwidth' in sub: expected a bandwidth such as "
        "'100 Gb/s'");
    BAD(ydoc_get_bw(d, ydoc_map_get(d, m, "list"), "bandwidth", 0, &v, &st),
        "mem.yaml:12:7: error: list: expected a mapping, found a list");
#undef BAD
    ck_assert(v == 0);
    ck_assert_int_eq(i, 0);
    ydoc_destroy(d);
}
END_TEST

static Suite *ydoc_suite(void)
{
    Suite *s = suite_create("ydoc");
    TCase *tl = tcase_create("load");
    tcase_add_test(tl, test_navigation);
    tcase_add_test(tl, test_long_scalar_elided);
    tcase_add_test(tl, test_duplicate_keys);
    tcase_add_test(tl, test_syntax_errors);
    tcase_add_test(tl, test_syntax_error_file);
    tcase_add_test(tl, test_empty_documents);
    tcase_add_test(tl, test_missing_file);
    tcase_add_test(tl, test_binary_file);
    tcase_add_test(tl, test_large_file);
    tcase_add_test(tl, test_garbage_never_crashes);
    tcase_add_test(tl, test_alias_limits);
    tcase_add_test(tl, test_nul_in_scalar);
    suite_add_tcase(s, tl);
    TCase *tc = tcase_create("check");
    tcase_add_test(tc, test_suggest);
    tcase_add_test(tc, test_check_keys);
    tcase_add_test(tc, test_expect_and_error);
    tcase_add_test(tc, test_getters_good);
    tcase_add_test(tc, test_getters_bad);
    tcase_add_test(tc, test_set_overrides);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ydoc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
