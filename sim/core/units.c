/*
 * units.c: strict parsing and formatting of values with units.
 *
 * A value is scanned in three steps: the number (a decimal literal in C syntax, checked by a
 * hand-written scanner so that strtod's extras, hex floats, "inf" and "nan", are refused),
 * optional blanks, and a unit that must match one row of the quantity's table exactly
 * (case matters: "mb" is not "MB", "b" is a bit and "B" a byte). Surrounding blanks are
 * tolerated, anything else after the unit is part of the unit and so an unknown unit.
 *
 * Each quantity is described by a unit_kind row: the noun used in messages, an example,
 * the unit table (multiplier and divisor to the SI base unit, so that "400 Gb/s" is
 * 400 * 1e9 / 8 with one rounding at most), and whether zero is allowed. Time is the one
 * integer quantity: the product is taken in picoseconds directly ("1.5 us" is 1.5 * 1e6,
 * exact) and rounded to the nearest picosecond.
 *
 * Invariant: a SIM_OK return has written a finite value that satisfies the quantity's
 * range; a failure leaves *out untouched and writes the reason into why.
 */
#include "core/units.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2^63 as a double: the first picosecond count that does not fit an int64_t. */
#define PS_LIMIT 9223372036854775808.0

typedef struct unit_row {
    const char *name;
    double mul; /* value in base units = number * mul / div */
    double div;
} unit_row;

typedef enum unit_range { RANGE_POSITIVE, RANGE_NONNEGATIVE } unit_range;

typedef struct unit_kind {
    const char *noun;    /* "a bandwidth" */
    const char *bare;    /* "bandwidth" */
    const char *example; /* "100 Gb/s" */
    const unit_row *units;
    size_t n_units;
    unit_range range;
} unit_kind;

static const unit_row bw_units[] = {
    {"b/s", 1, 8},       {"kb/s", 1e3, 8},   {"Mb/s", 1e6, 8},    {"Gb/s", 1e9, 8},
    {"Tb/s", 1e12, 8},   {"Pb/s", 1e15, 8},  {"B/s", 1, 1},       {"kB/s", 1e3, 1},
    {"MB/s", 1e6, 1},    {"GB/s", 1e9, 1},   {"TB/s", 1e12, 1},   {"PB/s", 1e15, 1},
    {"KiB/s", 1024.0, 1}, {"MiB/s", 1048576.0, 1}, {"GiB/s", 1073741824.0, 1},
    {"TiB/s", 1099511627776.0, 1}, {"PiB/s", 1125899906842624.0, 1},
    {"bps", 1, 8},       {"Kbps", 1e3, 8},   {"Mbps", 1e6, 8},    {"Gbps", 1e9, 8},
    {"Tbps", 1e12, 8},
};

/* Time rows are in picoseconds. */
static const unit_row time_units[] = {
    {"s", 1e12, 1}, {"ms", 1e9, 1}, {"us", 1e6, 1}, {"\xC2\xB5s", 1e6, 1}, /* micro sign */
    {"\xCE\xBCs", 1e6, 1},                                                 /* Greek mu */
    {"ns", 1e3, 1}, {"ps", 1, 1},
};

/* Duration rows are in seconds: long spans (times between failures, repairs) that pass the
 * 106 days a picosecond count holds. */
static const unit_row duration_units[] = {
    {"ps", 1, 1e12}, {"ns", 1, 1e9}, {"us", 1, 1e6}, {"\xC2\xB5s", 1, 1e6}, {"\xCE\xBCs", 1, 1e6},
    {"ms", 1, 1e3},  {"s", 1, 1},    {"min", 60, 1}, {"h", 3600, 1},         {"d", 86400, 1},
    {"y", 31536000, 1}, /* a year of 365 days (8,760 h): depreciation periods */
};

static const unit_row bytes_units[] = {
    {"B", 1, 1},    {"kB", 1e3, 1},  {"MB", 1e6, 1},  {"GB", 1e9, 1},  {"TB", 1e12, 1},
    {"PB", 1e15, 1}, {"KiB", 1024.0, 1}, {"MiB", 1048576.0, 1}, {"GiB", 1073741824.0, 1},
    {"TiB", 1099511627776.0, 1}, {"PiB", 1125899906842624.0, 1},
    {"b", 1, 8},    {"kb", 1e3, 8},  {"Mb", 1e6, 8},  {"Gb", 1e9, 8},  {"Tb", 1e12, 8},
};

static const unit_row flops_units[] = {
    {"FLOP/s", 1, 1},    {"kFLOP/s", 1e3, 1},  {"MFLOP/s", 1e6, 1},  {"GFLOP/s", 1e9, 1},
    {"TFLOP/s", 1e12, 1}, {"PFLOP/s", 1e15, 1}, {"EFLOP/s", 1e18, 1},
    {"FLOPS", 1, 1},     {"kFLOPS", 1e3, 1},   {"MFLOPS", 1e6, 1},   {"GFLOPS", 1e9, 1},
    {"TFLOPS", 1e12, 1}, {"PFLOPS", 1e15, 1},  {"EFLOPS", 1e18, 1},
};

static const unit_row length_units[] = {{"m", 1, 1}, {"km", 1e3, 1}};

/* Power rows are in watts. */
static const unit_row power_units[] = {{"W", 1, 1}, {"kW", 1e3, 1}, {"MW", 1e6, 1},
                                       {"GW", 1e9, 1}};

/* Money rows are in US dollars; prices per energy in US dollars per joule. */
static const unit_row money_units[] = {{"USD", 1, 1}};
static const unit_row energy_price_units[] = {{"USD/kWh", 1, 3.6e6}, {"USD/MWh", 1, 3.6e9}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const unit_kind kind_bw = {"a bandwidth", "bandwidth", "100 Gb/s", bw_units,
                                  COUNT(bw_units), RANGE_POSITIVE};
static const unit_kind kind_time = {"a time", "time", "1.5 us", time_units, COUNT(time_units),
                                    RANGE_NONNEGATIVE};
static const unit_kind kind_duration = {"a duration", "duration", "24 h", duration_units,
                                        COUNT(duration_units), RANGE_POSITIVE};
static const unit_kind kind_bytes = {"a size", "size", "80 GiB", bytes_units,
                                     COUNT(bytes_units), RANGE_NONNEGATIVE};
static const unit_kind kind_flops = {"a compute rate", "compute rate", "989.4 TFLOP/s",
                                     flops_units, COUNT(flops_units), RANGE_POSITIVE};
static const unit_kind kind_length = {"a length", "length", "10 km", length_units,
                                      COUNT(length_units), RANGE_NONNEGATIVE};
static const unit_kind kind_power = {"a power", "power", "700 W", power_units,
                                     COUNT(power_units), RANGE_NONNEGATIVE};
static const unit_kind kind_money = {"a price", "price", "25000 USD", money_units,
                                     COUNT(money_units), RANGE_NONNEGATIVE};
static const unit_kind kind_energy_price = {"an energy price", "energy price",
                                            "0.08 USD/kWh", energy_price_units,
                                            COUNT(energy_price_units), RANGE_NONNEGATIVE};

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Writes a message into why when the caller wants one; returns SIM_ERR_INPUT. */
static sim_code why_set(char *why, size_t whyn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static sim_code why_set(char *why, size_t whyn, const char *fmt, ...)
{
    if (why && whyn) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whyn, fmt, ap);
        va_end(ap);
    }
    return SIM_ERR_INPUT;
}

/*
 * Length of the decimal literal at the start of s: [+-] digits [. digits] [(e|E) [+-] digits],
 * with at least one mantissa digit. 0 when s does not start with one. The exponent is only
 * taken when it has digits, as strtod does, so "5EFLOP/s" reads 5 and then "EFLOP/s".
 */
static size_t scan_number(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (is_digit(s[i])) {
        i++;
        digits++;
    }
    if (s[i] == '.') {
        i++;
        while (is_digit(s[i])) {
            i++;
            digits++;
        }
    }
    if (!digits)
        return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (is_digit(s[j])) {
            while (is_digit(s[j]))
                j++;
            i = j;
        }
    }
    return i;
}

/*
 * Reads the number at the start of s (after blanks) into *v and returns the index just past
 * it, or 0 when there is no number. *finite is 0 when the literal overflows a double.
 */
static size_t read_number(const char *s, double *v, int *finite)
{
    size_t start = 0;
    while (is_blank(s[start]))
        start++;
    size_t len = scan_number(s + start);
    if (!len)
        return 0;
    char *end = NULL;
    errno = 0;
    double x = strtod(s + start, &end);
    /* The scanner accepts a subset of strtod's syntax, so both stop at the same place. */
    if (end != s + start + len)
        return 0;
    *finite = isfinite(x) != 0;
    *v = x;
    return start + len;
}

/*
 * Parses text as a number followed by one unit of kind k. On success *out is the value in
 * base units (for time: picoseconds, not yet rounded).
 */
static sim_code parse_with_unit(const unit_kind *k, const char *text, double *out, char *why,
                                size_t whyn)
{
    if (!text)
        text = "";
    double v = 0;
    int finite = 1;
    size_t i = read_number(text, &v, &finite);
    if (!i)
        return why_set(why, whyn, "expected %s with a unit (such as '%s'), found '%s'", k->noun,
                       k->example, text);
    while (is_blank(text[i]))
        i++;
    size_t ulen = strlen(text + i);
    while (ulen && is_blank(text[i + ulen - 1]))
        ulen--;
    if (!ulen)
        return why_set(why, whyn, "expected %s with a unit (such as '%s'), found '%s'", k->noun,
                       k->example, text);
    const unit_row *u = NULL;
    for (size_t r = 0; r < k->n_units; r++) {
        if (strlen(k->units[r].name) == ulen && memcmp(k->units[r].name, text + i, ulen) == 0) {
            u = &k->units[r];
            break;
        }
    }
    if (!u)
        return why_set(why, whyn,
                       "expected %s with a unit (such as '%s'), found '%s' (unknown unit '%.*s')",
                       k->noun, k->example, text, (int)ulen, text + i);
    double base = v * u->mul / u->div;
    if (!finite || !isfinite(base))
        return why_set(why, whyn, "expected a finite %s, found '%s'", k->bare, text);
    if (k->range == RANGE_POSITIVE && !(base > 0))
        return why_set(why, whyn, "expected %s > 0, found '%s'", k->noun, text);
    if (k->range == RANGE_NONNEGATIVE && base < 0)
        return why_set(why, whyn, "expected %s >= 0, found '%s'", k->noun, text);
    *out = base;
    return SIM_OK;
}

sim_code sim_units_parse_bw(const char *text, double *out_Bps, char *why, size_t whyn)
{
    return parse_with_unit(&kind_bw, text, out_Bps, why, whyn);
}

sim_code sim_units_parse_time(const char *text, int64_t *out_ps, char *why, size_t whyn)
{
    double ps = 0;
    sim_code rc = parse_with_unit(&kind_time, text, &ps, why, whyn);
    if (rc != SIM_OK)
        return rc;
    /* Values just below 2^63 are integral doubles, so rounding cannot carry past the limit. */
    if (ps >= PS_LIMIT)
        return why_set(why, whyn,
                       "expected a time of at most 9223372036854775807 ps (about 106 days), "
                       "found '%s'",
                       text);
    *out_ps = (int64_t)llround(ps);
    return SIM_OK;
}

sim_code sim_units_parse_duration(const char *text, double *out_s, char *why, size_t whyn)
{
    return parse_with_unit(&kind_duration, text, out_s, why, whyn);
}

sim_code sim_units_parse_bytes(const char *text, double *out_bytes, char *why, size_t whyn)
{
    return parse_with_unit(&kind_bytes, text, out_bytes, why, whyn);
}

sim_code sim_units_parse_flops(const char *text, double *out_flops, char *why, size_t whyn)
{
    return parse_with_unit(&kind_flops, text, out_flops, why, whyn);
}

sim_code sim_units_parse_length(const char *text, double *out_m, char *why, size_t whyn)
{
    return parse_with_unit(&kind_length, text, out_m, why, whyn);
}

sim_code sim_units_parse_power(const char *text, double *out_W, char *why, size_t whyn)
{
    return parse_with_unit(&kind_power, text, out_W, why, whyn);
}

sim_code sim_units_parse_money(const char *text, double *out_usd, char *why, size_t whyn)
{
    return parse_with_unit(&kind_money, text, out_usd, why, whyn);
}

sim_code sim_units_parse_energy_price(const char *text, double *out_usd_per_J, char *why,
                                      size_t whyn)
{
    return parse_with_unit(&kind_energy_price, text, out_usd_per_J, why, whyn);
}

sim_code sim_units_parse_number(const char *text, double *out, char *why, size_t whyn)
{
    if (!text)
        text = "";
    double v = 0;
    int finite = 1;
    size_t i = read_number(text, &v, &finite);
    if (i) {
        while (is_blank(text[i]))
            i++;
    }
    if (!i || text[i] != '\0')
        return why_set(why, whyn, "expected a number, found '%s'", text);
    if (!finite)
        return why_set(why, whyn, "expected a finite number, found '%s'", text);
    *out = v;
    return SIM_OK;
}

int64_t sim_s_to_ps(double s)
{
    if (!(s > 0)) /* also NaN */
        return 0;
    double ps = s * 1e12;
    if (ps >= PS_LIMIT)
        return INT64_MAX;
    return (int64_t)llround(ps);
}

double sim_ps_to_s(int64_t ps)
{
    return (double)ps / 1e12;
}

/* Writes "<value / unit> <name>" with six significant digits. */
static void fmt_scaled(double v, double unit, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%.6g %s", v / unit, name);
}

void sim_units_fmt_bw(double Bps, char *buf, size_t n)
{
    /* Fabrics are specified in bits per second; so are the summaries. */
    static const char *const names[] = {"b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s", "Pb/s"};
    double bits = Bps * 8, unit = 1;
    size_t k = 0;
    while (k + 1 < COUNT(names) && fabs(bits) >= unit * 1e3) {
        unit *= 1e3;
        k++;
    }
    fmt_scaled(bits, unit, names[k], buf, n);
}

void sim_units_fmt_time(int64_t ps, char *buf, size_t n)
{
    static const char *const names[] = {"ps", "ns", "us", "ms", "s"};
    double v = (double)ps, unit = 1;
    size_t k = 0;
    while (k + 1 < COUNT(names) && fabs(v) >= unit * 1e3) {
        unit *= 1e3;
        k++;
    }
    fmt_scaled(v, unit, names[k], buf, n);
}

void sim_units_fmt_bytes(double bytes, char *buf, size_t n)
{
    /* Both prefix families are tried; the shorter text wins, binary on a tie, so that
     * 80 GiB reads "80 GiB" and 1e12 reads "1 TB". */
    static const char *const dec[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    char a[64], b[64];
    double ud = 1, ub = 1;
    size_t kd = 0, kb = 0;
    while (kd + 1 < COUNT(dec) && fabs(bytes) >= ud * 1e3) {
        ud *= 1e3;
        kd++;
    }
    while (kb + 1 < COUNT(bin) && fabs(bytes) >= ub * 1024) {
        ub *= 1024;
        kb++;
    }
    fmt_scaled(bytes, ud, dec[kd], a, sizeof a);
    fmt_scaled(bytes, ub, bin[kb], b, sizeof b);
    snprintf(buf, n, "%s", strlen(a) < strlen(b) ? a : b);
}

const char *sim_units_fmt_count(double v, char *buf, size_t n)
{
    char raw[48];
    snprintf(raw, sizeof raw, "%.0f", v);
    size_t len = strlen(raw), o = 0, lead = raw[0] == '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i > lead && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    if (n)
        buf[o < n ? o : n - 1] = 0;
    return buf;
}
