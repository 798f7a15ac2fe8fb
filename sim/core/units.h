/*
 * units.h: strict parsing of values with units, as written in YAML and on the command line.
 *
 * A value is "<number> <unit>" (the space is optional): the number in C syntax with optional
 * sign, fraction and exponent ("1.2345678901234567e10"), the unit from a fixed table.
 * Decimal (k M G T P) and binary (Ki Mi Gi Ti Pi) prefixes are distinct. Bits and bytes are
 * distinct: "b" is a bit, "B" a byte. Results are in SI base units: bytes per second,
 * picoseconds, bytes, FLOP per second.
 *
 * On failure each function returns SIM_ERR_INPUT and writes into why (at most whyn bytes,
 * may be NULL) a sentence fragment that says what was expected and what was found, e.g.
 * "expected a bandwidth with a unit (such as '100 Gb/s'), found '100'". The caller adds
 * the location and key. Nothing is allocated.
 */
#ifndef SIM_UNITS_H
#define SIM_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Bandwidth: b/s kb/s Mb/s Gb/s Tb/s Pb/s B/s kB/s MB/s GB/s TB/s PB/s KiB/s MiB/s GiB/s
 * TiB/s PiB/s (also bps Kbps Mbps Gbps Tbps). Must be finite and > 0. */
sim_code sim_units_parse_bw(const char *text, double *out_Bps, char *why, size_t whyn);

/* Time: s ms us ns ps (and "µs"). Must be finite, >= 0, and at most about 106 days.
 * Rounded to the nearest picosecond. */
sim_code sim_units_parse_time(const char *text, int64_t *out_ps, char *why, size_t whyn);

/* Duration in seconds (a double, for spans longer than a picosecond count holds: times
 * between failures, repair times, depreciation periods): ps ns us ms s min h d y (a day is
 * 86,400 s, a year 365 days). Must be finite and > 0. */
sim_code sim_units_parse_duration(const char *text, double *out_s, char *why, size_t whyn);

/* Size: B kB MB GB TB PB KiB MiB GiB TiB PiB (and b kb Mb Gb Tb for bits). Must be finite
 * and >= 0. */
sim_code sim_units_parse_bytes(const char *text, double *out_bytes, char *why, size_t whyn);

/* Compute rate: FLOP/s with prefixes k M G T P E (e.g. "989.4 TFLOP/s", also "TFLOPS").
 * Must be finite and > 0. */
sim_code sim_units_parse_flops(const char *text, double *out_flops, char *why, size_t whyn);

/* Distance: m km. Must be finite and >= 0. Result in metres. */
sim_code sim_units_parse_length(const char *text, double *out_m, char *why, size_t whyn);

/* Power: W kW MW GW, in watts. Must be finite and >= 0. */
sim_code sim_units_parse_power(const char *text, double *out_W, char *why, size_t whyn);

/* A price: "25000 USD", in US dollars. Must be finite and >= 0. */
sim_code sim_units_parse_money(const char *text, double *out_usd, char *why, size_t whyn);

/* A price of energy: USD/kWh or USD/MWh, in US dollars per joule (1 kWh is 3.6e6 J). Must be
 * finite and >= 0. */
sim_code sim_units_parse_energy_price(const char *text, double *out_usd_per_J, char *why,
                                      size_t whyn);

/* Plain number without a unit ("0.5", "1e3"): must be finite; no trailing text. */
sim_code sim_units_parse_number(const char *text, double *out, char *why, size_t whyn);

/* Seconds (double) to picoseconds, rounded to nearest; clamps to [0, INT64_MAX]. */
int64_t sim_s_to_ps(double s);
/* Picoseconds to seconds. */
double sim_ps_to_s(int64_t ps);

/* Human-readable formatting into buf ("400 Gb/s", "1.5 us", "80 GiB"): for summaries. */
void sim_units_fmt_bw(double Bps, char *buf, size_t n);
void sim_units_fmt_time(int64_t ps, char *buf, size_t n);
void sim_units_fmt_bytes(double bytes, char *buf, size_t n);
/* A count with thousands separators ("1,234,567"), rounded to an integer; returns buf. */
const char *sim_units_fmt_count(double v, char *buf, size_t n);

#endif
