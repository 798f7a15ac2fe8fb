/*
 * flowfile.c: strict reader of the flows CSV (see flowfile.h for the format).
 *
 * Lines are read with getline, so their length is unbounded. Line 1 must be the header;
 * every later non-blank line is split in place at its commas (a field never contains one:
 * there is no quoting), each field trimmed of blanks and checked left to right, so the first
 * problem on a line is the one reported, at the 1-based column where its field starts.
 *
 * Ids are copied into an arena owned by the flow file; a sim_hmap from each id's hash
 * (sim_hash_str) to its flow's index finds duplicate ids in O(1) during the load and is freed
 * at its end. A flow enters the map only once all its fields are checked and it is stored.
 * Flows keep file order.
 */
#include "net/flowfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/hash.h"
#include "core/hmap.h"
#include "core/units.h"
#include "core/vec.h"

#define FLOW_FIELDS 5
#define FLOW_HEADER "id,src,dst,bytes,start_s"
/* Header text longer than this is elided in messages. */
#define FLOW_QUOTE_MAX 80
/* 2^63 ps in seconds: the first start time that does not fit the clock. */
#define FLOW_START_LIMIT_S 9223372.036854775808

struct net_flowfile {
    sim_arena *ids;
    SIM_VEC(net_flow_spec) flows;
};

/* One field of a data line: trimmed text (NUL-terminated in the line) and its column. */
typedef struct csv_field {
    const char *text;
    int col;
} csv_field;

static const char *const field_names[FLOW_FIELDS] = {"id", "src", "dst", "bytes", "start_s"};

/* What find_id looks for among the flows whose ids share a hash. */
typedef struct id_query {
    const net_flowfile *f;
    const char *id;
} id_query;

static int id_matches(const void *ctx, uint64_t index)
{
    const id_query *q = ctx;
    return strcmp(q->f->flows.v[index].id, q->id) == 0;
}

/* The index of the flow of f with that id (its hash is h), or SIZE_MAX. */
static size_t find_id(const sim_hmap *ids, const net_flowfile *f, const char *id, uint64_t h)
{
    id_query q = {f, id};
    uint64_t index = sim_hmap_find_if(ids, h, id_matches, &q);
    return index == SIM_HMAP_NONE ? SIZE_MAX : (size_t)index;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Quotes text for a message, elided past FLOW_QUOTE_MAX bytes. */
static void quote_text(const char *text, char *buf, size_t len)
{
    size_t n = strlen(text);
    if (n <= FLOW_QUOTE_MAX)
        snprintf(buf, len, "'%s'", text);
    else
        snprintf(buf, len, "'%.*s...'", FLOW_QUOTE_MAX, text);
}

/*
 * Splits line (NUL-terminated, no newline) at its commas in place and trims each field.
 * Returns the number of fields found; at most FLOW_FIELDS are stored.
 */
static size_t split_fields(char *line, csv_field out[FLOW_FIELDS])
{
    size_t count = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        char *start = p;
        while (start < end && is_blank(*start))
            start++;
        char *stop = end;
        while (stop > start && is_blank(stop[-1]))
            stop--;
        if (count < FLOW_FIELDS) {
            out[count].text = start;
            out[count].col = (int)(start - line) + 1;
        }
        count++;
        if (!comma) {
            *stop = '\0';
            break;
        }
        *stop = '\0'; /* stop <= comma: the field ends here either way */
        p = comma + 1;
    }
    return count;
}

/* Checks the header line (already stripped of its newline). */
static sim_code check_header(const char *path, char *line, sim_status *st)
{
    /* Spreadsheets write a UTF-8 byte-order mark before the header. */
    if (strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    char copy[FLOW_QUOTE_MAX + 8];
    quote_text(line, copy, sizeof copy);
    csv_field fields[FLOW_FIELDS];
    size_t n = split_fields(line, fields);
    int ok = n == FLOW_FIELDS;
    for (size_t i = 0; ok && i < FLOW_FIELDS; i++)
        ok = strcmp(fields[i].text, field_names[i]) == 0;
    if (!ok)
        return sim_status_set(st, SIM_ERR_INPUT, path, 1, 1, "expected header '%s', found %s",
                              FLOW_HEADER, copy);
    return SIM_OK;
}

/* Resolves field i (src or dst) to an endpoint of g. */
static sim_code parse_endpoint(const char *path, int line, const csv_field *fl, size_t i,
                               const net_graph *g, net_node_id *out, sim_status *st)
{
    const char *name = fl[i].text;
    if (!name[0])
        return sim_status_set(st, SIM_ERR_INPUT, path, line, fl[i].col,
                              "field '%s': expected an endpoint name, found an empty field",
                              field_names[i]);
    net_node_id id = net_graph_find(g, name);
    if (id < 0)
        return sim_status_set(st, SIM_ERR_INPUT, path, line, fl[i].col,
                              "field '%s': unknown endpoint '%s'", field_names[i], name);
    if (net_graph_node_kind(g, id) != NET_NODE_ENDPOINT)
        return sim_status_set(st, SIM_ERR_INPUT, path, line, fl[i].col,
                              "field '%s': '%s' is a switch, expected an endpoint",
                              field_names[i], name);
    *out = id;
    return SIM_OK;
}

/* Parses field i as a finite number >= 0. */
static sim_code parse_nonneg(const char *path, int line, const csv_field *fl, size_t i,
                             double *out, sim_status *st)
{
    char why[256];
    double v = 0;
    if (sim_units_parse_number(fl[i].text, &v, why, sizeof why) != SIM_OK)
        return sim_status_set(st, SIM_ERR_INPUT, path, line, fl[i].col, "field '%s': %s",
                              field_names[i], why);
    if (v < 0)
        return sim_status_set(st, SIM_ERR_INPUT, path, line, fl[i].col,
                              "field '%s': expected a number >= 0, found '%s'", field_names[i],
                              fl[i].text);
    *out = v;
    return SIM_OK;
}

/* Appends the flow on one data line (split in place), after checking every field. */
static sim_code parse_flow(const char *path, int line, char *text, const net_graph *g,
                           net_flowfile *f, sim_hmap *ids, sim_status *st)
{
    csv_field fl[FLOW_FIELDS];
    size_t n = split_fields(text, fl);
    if (n != FLOW_FIELDS)
        return sim_status_set(st, SIM_ERR_INPUT, path, line, 1, "expected %d fields, found %zu",
                              FLOW_FIELDS, n);
    net_flow_spec spec = {.line = line};
    if (!fl[0].text[0])
        return sim_status_set(st, SIM_ERR_INPUT, path, line, fl[0].col,
                              "field 'id': expected a flow id, found an empty field");
    uint64_t h = sim_hash_str(fl[0].text, 0);
    size_t prev = find_id(ids, f, fl[0].text, h);
    if (prev != SIZE_MAX)
        return sim_status_set(st, SIM_ERR_INPUT, path, line, fl[0].col,
                              "duplicate flow id '%s' (first at line %d)", fl[0].text,
                              f->flows.v[prev].line);
    sim_code rc = parse_endpoint(path, line, fl, 1, g, &spec.src, st);
    if (rc == SIM_OK)
        rc = parse_endpoint(path, line, fl, 2, g, &spec.dst, st);
    if (rc == SIM_OK)
        rc = parse_nonneg(path, line, fl, 3, &spec.bytes, st);
    if (rc == SIM_OK)
        rc = parse_nonneg(path, line, fl, 4, &spec.start_s, st);
    if (rc == SIM_OK && spec.start_s >= FLOW_START_LIMIT_S)
        rc = sim_status_set(st, SIM_ERR_INPUT, path, line, fl[4].col,
                            "field 'start_s': expected at most 9223372 s (about 106 days), "
                            "found '%s'",
                            fl[4].text);
    if (rc != SIM_OK)
        return rc;
    spec.start_ps = sim_s_to_ps(spec.start_s);
    spec.id = sim_arena_strdup(f->ids, fl[0].text);
    if (!spec.id || sim_vec_reserve(&f->flows, f->flows.n + 1) != 0 ||
        sim_hmap_add(ids, h, f->flows.n) != 0)
        return sim_status_set(st, SIM_ERR_NOMEM, path, line, 0, "out of memory reading flows");
    f->flows.v[f->flows.n++] = spec;
    return SIM_OK;
}

sim_code net_flowfile_load(const char *path, const net_graph *g, net_flowfile **out,
                           sim_status *st)
{
    sim_code rc = SIM_OK;
    char *line = NULL;
    size_t line_cap = 0;
    sim_hmap ids = {0};
    int lineno = 0;
    *out = NULL;
    net_flowfile *f = calloc(1, sizeof *f);
    FILE *in = NULL;
    if (!f || !(f->ids = sim_arena_create())) {
        rc = sim_status_set(st, SIM_ERR_NOMEM, path, 0, 0, "out of memory reading flows");
        goto done;
    }
    in = fopen(path, "r");
    struct stat sb;
    if (!in) {
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 0, 0, "cannot open '%s': %s", path,
                            strerror(errno));
        goto done;
    }
    if (fstat(fileno(in), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 0, 0,
                            "cannot open '%s': expected a file, found a directory", path);
        goto done;
    }
    ssize_t got;
    while ((got = getline(&line, &line_cap, in)) >= 0) {
        size_t len = (size_t)got;
        lineno = lineno < INT_MAX ? lineno + 1 : lineno;
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        const char *nul = memchr(line, '\0', len);
        if (nul) {
            rc = sim_status_set(st, SIM_ERR_INPUT, path, lineno, (int)(nul - line) + 1,
                                "unexpected NUL byte");
            goto done;
        }
        if (lineno == 1) {
            rc = check_header(path, line, st);
            if (rc != SIM_OK)
                goto done;
            continue;
        }
        if (strspn(line, " \t") == len)
            continue; /* blank */
        rc = parse_flow(path, lineno, line, g, f, &ids, st);
        if (rc != SIM_OK)
            goto done;
    }
    if (ferror(in)) {
        rc = sim_status_set(st, SIM_ERR_IO, path, 0, 0, "cannot read '%s': %s", path,
                            strerror(errno));
        goto done;
    }
    if (lineno == 0)
        rc = sim_status_set(st, SIM_ERR_INPUT, path, 1, 0, "empty file: expected header '%s'",
                            FLOW_HEADER);
done:
    if (in)
        fclose(in);
    free(line);
    sim_hmap_free(&ids);
    if (rc == SIM_OK)
        *out = f;
    else
        net_flowfile_destroy(f);
    return rc;
}

void net_flowfile_destroy(net_flowfile *f)
{
    if (!f)
        return;
    sim_arena_destroy(f->ids);
    sim_vec_free(&f->flows);
    free(f);
}

size_t net_flowfile_count(const net_flowfile *f)
{
    return f->flows.n;
}

const net_flow_spec *net_flowfile_at(const net_flowfile *f, size_t i)
{
    return i < f->flows.n ? &f->flows.v[i] : NULL;
}
