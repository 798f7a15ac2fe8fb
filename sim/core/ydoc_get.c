/*
 * ydoc_get.c: the typed getters of ydoc.h: a key of a mapping read as a string, a number
 * with its unit (core/units.h), an integer in a range, a boolean, one of a list of words,
 * or a section (a mapping whose keys are checked).
 *
 * Each reports one SIM_ERR_INPUT status located at the offending value, or at the mapping
 * for a missing key, and leaves *out unchanged on any error or when an optional key is
 * absent.
 */
#include "core/ydoc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "core/ydoc_int.h"

/*
 * Finds key in map and requires a scalar there. *node is 0 (and SIM_OK returned) when the
 * key is absent and not required. expect completes "expected ..." in messages.
 */
static sim_code get_scalar(const ydoc *d, ynode map, const char *key, int required,
                           const char *expect, ynode *node, sim_status *st)
{
    char buf[256];
    *node = 0;
    if (ydoc_node_kind(d, map) != YDOC_MAP) {
        char found[YDOC_QUOTE_MAX + 8];
        ydoc_place(d, map, buf, sizeof buf);
        ydoc_describe(d, map, found, sizeof found);
        return ydoc_error(d, map, st, "%s: expected a mapping, found %s", buf, found);
    }
    ynode v = ydoc_map_get(d, map, key);
    if (!v) {
        if (!required)
            return SIM_OK;
        ydoc_place(d, map, buf, sizeof buf);
        return ydoc_error(d, map, st, "missing key '%s' in %s: expected %s", key, buf, expect);
    }
    if (ydoc_node_kind(d, v) != YDOC_SCALAR) {
        ydoc_describe(d, v, buf, sizeof buf);
        return ydoc_error(d, v, st, "key '%s': expected %s, found %s", key, expect, buf);
    }
    *node = v;
    return SIM_OK;
}

typedef sim_code (*unit_parser)(const char *text, double *out, char *why, size_t whyn);

/* Shared body of the getters whose value is a double parsed by a core/units.h function. */
static sim_code get_parsed(const ydoc *d, ynode map, const char *key, int required,
                           const char *expect, unit_parser parse, double *out, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, expect, &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    char why[SIM_STATUS_MSG_MAX / 2];
    double x = 0;
    if (parse(ydoc_scalar(d, v), &x, why, sizeof why) != SIM_OK)
        return ydoc_error(d, v, st, "key '%s': %s", key, why);
    *out = x;
    return SIM_OK;
}

sim_code ydoc_get_str(const ydoc *d, ynode map, const char *key, int required,
                      const char **out, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "a string", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    const char *s = ydoc_scalar(d, v);
    if (!s[0])
        return ydoc_error(d, v, st, "key '%s': expected a string, found an empty value", key);
    *out = s;
    return SIM_OK;
}

sim_code ydoc_get_bw(const ydoc *d, ynode map, const char *key, int required, double *out_Bps,
                     sim_status *st)
{
    return get_parsed(d, map, key, required, "a bandwidth such as '100 Gb/s'",
                      sim_units_parse_bw, out_Bps, st);
}

sim_code ydoc_get_time(const ydoc *d, ynode map, const char *key, int required,
                       int64_t *out_ps, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "a time such as '1 us'", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    char why[SIM_STATUS_MSG_MAX / 2];
    int64_t ps = 0;
    if (sim_units_parse_time(ydoc_scalar(d, v), &ps, why, sizeof why) != SIM_OK)
        return ydoc_error(d, v, st, "key '%s': %s", key, why);
    *out_ps = ps;
    return SIM_OK;
}

sim_code ydoc_get_duration(const ydoc *d, ynode map, const char *key, int required,
                           double *out_s, sim_status *st)
{
    return get_parsed(d, map, key, required, "a duration such as '24 h'",
                      sim_units_parse_duration, out_s, st);
}

sim_code ydoc_get_bytes(const ydoc *d, ynode map, const char *key, int required,
                        double *out_bytes, sim_status *st)
{
    return get_parsed(d, map, key, required, "a size such as '80 GiB'", sim_units_parse_bytes,
                      out_bytes, st);
}

sim_code ydoc_get_flops(const ydoc *d, ynode map, const char *key, int required,
                        double *out_flops, sim_status *st)
{
    return get_parsed(d, map, key, required, "a compute rate such as '989.4 TFLOP/s'",
                      sim_units_parse_flops, out_flops, st);
}

sim_code ydoc_get_length(const ydoc *d, ynode map, const char *key, int required,
                         double *out_m, sim_status *st)
{
    return get_parsed(d, map, key, required, "a length such as '10 km'",
                      sim_units_parse_length, out_m, st);
}

sim_code ydoc_get_power(const ydoc *d, ynode map, const char *key, int required,
                        double *out_W, sim_status *st)
{
    return get_parsed(d, map, key, required, "a power such as '700 W'", sim_units_parse_power,
                      out_W, st);
}

sim_code ydoc_get_money(const ydoc *d, ynode map, const char *key, int required,
                        double *out_usd, sim_status *st)
{
    return get_parsed(d, map, key, required, "a price such as '25000 USD'",
                      sim_units_parse_money, out_usd, st);
}

sim_code ydoc_get_energy_price(const ydoc *d, ynode map, const char *key, int required,
                               double *out_usd_per_J, sim_status *st)
{
    return get_parsed(d, map, key, required, "an energy price such as '0.08 USD/kWh'",
                      sim_units_parse_energy_price, out_usd_per_J, st);
}

sim_code ydoc_get_double(const ydoc *d, ynode map, const char *key, int required, double *out,
                         sim_status *st)
{
    return get_parsed(d, map, key, required, "a number such as '0.5'", sim_units_parse_number,
                      out, st);
}

sim_code ydoc_get_int(const ydoc *d, ynode map, const char *key, int required, int64_t lo,
                      int64_t hi, int64_t *out, sim_status *st)
{
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "an integer such as '8'", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    const char *s = ydoc_scalar(d, v);
    char q[YDOC_QUOTE_MAX + 8];
    ydoc__quote_text(s, q, sizeof q);
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    size_t digits = strspn(s + i, "0123456789");
    if (!digits || s[i + digits] != '\0')
        return ydoc_error(d, v, st, "key '%s': expected an integer, found %s", key, q);
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno == ERANGE || x < lo || x > hi)
        return ydoc_error(d, v, st, "key '%s': expected an integer in [%lld, %lld], found %s",
                          key, (long long)lo, (long long)hi, q);
    *out = (int64_t)x;
    return SIM_OK;
}

sim_code ydoc_get_bool(const ydoc *d, ynode map, const char *key, int required, int *out,
                       sim_status *st)
{
    /* YAML 1.1 spellings in the three usual cases. */
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on", "On", "ON", NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
                                     "off", "Off", "OFF", NULL};
    ynode v;
    sim_code rc = get_scalar(d, map, key, required, "true or false", &v, st);
    if (rc != SIM_OK || !v)
        return rc;
    const char *s = ydoc_scalar(d, v);
    for (size_t i = 0; yes[i]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return SIM_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return SIM_OK;
        }
    }
    char q[YDOC_QUOTE_MAX + 8];
    ydoc__quote_text(s, q, sizeof q);
    return ydoc_error(d, v, st, "key '%s': expected true or false, found %s", key, q);
}

sim_code ydoc_get_enum(const ydoc *d, ynode map, const char *key, int required,
                       const char *what, const char *const *names, int *out, sim_status *st)
{
    const char *text = NULL;
    sim_code rc = ydoc_get_str(d, map, key, required, &text, st);
    if (rc != SIM_OK || !text)
        return rc;
    for (int i = 0; names[i]; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return SIM_OK;
        }
    char found[96], list[512];
    ynode v = ydoc_map_get(d, map, key);
    ydoc_describe(d, v, found, sizeof found);
    ydoc_join_words(names, list, sizeof list);
    const char *hint = ydoc_suggest(text, names);
    if (hint)
        return ydoc_error(d, v, st, "key '%s': unknown %s %s (did you mean '%s'?); expected "
                          "one of: %s", key, what, found, hint, list);
    return ydoc_error(d, v, st, "key '%s': unknown %s %s; expected one of: %s", key, what, found,
                      list);
}

sim_code ydoc_get_section(const ydoc *d, ynode map, const char *key, int required,
                          const char *const *allowed, ynode *out, sim_status *st)
{
    char place[256];
    *out = 0;
    ynode v = ydoc_map_get(d, map, key);
    if (!v) {
        if (!required)
            return SIM_OK;
        char keys[512];
        ydoc_join_words(allowed, keys, sizeof keys);
        ydoc_place(d, map, place, sizeof place);
        return ydoc_error(d, map, st, "missing key '%s' in %s: expected a mapping with keys %s",
                          key, place, keys);
    }
    sim_code rc = ydoc_expect(d, v, YDOC_MAP, key, st);
    if (rc != SIM_OK)
        return rc;
    ydoc_place(d, v, place, sizeof place);
    rc = ydoc_check_keys(d, v, place, allowed, st);
    if (rc != SIM_OK)
        return rc;
    *out = v;
    return SIM_OK;
}
