/*
 * model_pipe.c: how a parallelism splits the model: the layers of every virtual pipeline
 * stage (even, uneven first and last stages, or an explicit layout), the parser of
 * Megatron-LM's layout strings, the interleaved schedule's micro-batch group, and what
 * PyTorch FSDP's sharding strategies shard (see model.h).
 *
 * Layers are numbered in virtual-stage order g = chunk pp + stage, as Megatron-LM builds
 * them (TransformerLayer's get_transformer_layer_offset): virtual stage g holds a count of
 * consecutive layers, and its first layer is the sum of the counts before it. The counts:
 *   even:             layers / (pp vp) each
 *   first/last given: stage 0 first / vp per chunk, stage pp - 1 last / vp per chunk, the
 *                     others (layers - first - last) / (stages left) / vp per chunk, the
 *                     way get_num_layers_to_build splits them (either may be given alone)
 *   layout:           the layout's count for g
 * Nothing is stored but the layout's counts, so a lookup is a sum over at most pp vp
 * stages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload/model_int.h"

/* ---- FSDP ---------------------------------------------------------------------------- */

static const char *const fsdp_names[] = {"none", "FULL_SHARD", "SHARD_GRAD_OP", "HYBRID_SHARD",
                                         "_HYBRID_SHARD_ZERO2", "NO_SHARD"};

const char *wl_fsdp_name(wl_fsdp s)
{
    return (int)s >= 0 && s <= WL_FSDP_NO_SHARD ? fsdp_names[s] : "?";
}

wl_fsdp wl_fsdp_of(const wl_parallel *p)
{
    if (p->fsdp_strategy != WL_FSDP_NONE)
        return p->fsdp_strategy;
    return p->fsdp ? WL_FSDP_FULL_SHARD : WL_FSDP_NONE;
}

int64_t wl_shard_size(const wl_parallel *p)
{
    wl_fsdp s = wl_fsdp_of(p);
    bool hybrid = s == WL_FSDP_HYBRID_SHARD || s == WL_FSDP_HYBRID_SHARD_ZERO2;
    return hybrid && p->fsdp_shard > 0 ? p->fsdp_shard : p->dp * p->cp;
}

bool wl_reshard_after_forward(const wl_parallel *p)
{
    switch (wl_fsdp_of(p)) {
    case WL_FSDP_FULL_SHARD:
    case WL_FSDP_HYBRID_SHARD:
        return true;
    case WL_FSDP_SHARD_GRAD_OP:
    case WL_FSDP_HYBRID_SHARD_ZERO2:
    case WL_FSDP_NO_SHARD:
        return false;
    case WL_FSDP_NONE:
        break;
    }
    return p->zero >= 3;
}

/* ---- the interleaved schedule's micro-batch group ------------------------------------ */

int64_t wl_mb_group(const wl_parallel *p)
{
    return p->mb_group > 0 ? p->mb_group : p->pp;
}

/* ---- layers per virtual stage -------------------------------------------------------- */

/* Stages that share the layers left by the first and last stages' counts. */
static int64_t middle_stages(const wl_parallel *p)
{
    return p->pp - (p->first_stage_layers > 0) - (p->last_stage_layers > 0);
}

/* Layers of one chunk of pipeline stage s (first/last given). */
static int64_t uneven_chunk(const wl_workload *w, const wl_parallel *p, int64_t s)
{
    int64_t f = p->first_stage_layers, l = p->last_stage_layers, mid = middle_stages(p);
    if (s == 0 && f > 0)
        return f / p->vp;
    if (s == p->pp - 1 && l > 0)
        return l / p->vp;
    return mid > 0 ? (w->layers - f - l) / mid / p->vp : 0;
}

void wl_chunk_layers(const wl_workload *w, const wl_parallel *p, int64_t g, int64_t *first,
                     int64_t *count)
{
    if (p->layout_n > 0) {
        int64_t at = 0;
        for (int64_t i = 0; i < g && i < p->layout_n; i++)
            at += p->layout[i];
        *first = at;
        *count = g < p->layout_n ? p->layout[g] : 0;
        return;
    }
    if (!p->first_stage_layers && !p->last_stage_layers) {
        int64_t per = w->layers / (p->pp * p->vp);
        *first = g * per;
        *count = per;
        return;
    }
    /* Stages 1 .. s - 1 are middle ones (only stage pp - 1 can be the last): O(1). */
    int64_t chunk = g / p->pp, s = g % p->pp, mid = p->pp > 2 ? uneven_chunk(w, p, 1) : 0;
    int64_t at = s > 0 ? uneven_chunk(w, p, 0) + (s - 1) * mid : 0;
    *first = chunk * (w->layers / p->vp) + at;
    *count = uneven_chunk(w, p, s);
}

/*
 * The uneven split's checks, Megatron-LM's (arguments.py, transformer_block.py): what the
 * first and last stages leave divides over the other stages, and each stage's layers over
 * its vp chunks. Writes the problem into msg ("" when none).
 */
void wl_uneven_problem(const wl_workload *w, const wl_parallel *p, char *msg, size_t n)
{
    int64_t f = p->first_stage_layers, l = p->last_stage_layers, v = p->vp;
    int64_t mid = middle_stages(p), rest = w->layers - f - l;
    msg[0] = '\0';
    if (!f && !l)
        return;
    if (p->pp < 2)
        snprintf(msg, n, "uneven first and last stages need pp of 2 or more, found pp = %lld",
                 (long long)p->pp);
    else if (p->layout_n > 0)
        snprintf(msg, n, "give pipeline_model_parallel_layout or the first and last stages' "
                 "layers, not both");
    else if (rest < 0 || (mid == 0 && rest != 0) || (mid > 0 && rest % mid != 0))
        snprintf(msg, n, "%lld + %lld layers on the first and last stages leave %lld for the "
                 "other %lld stages: not an equal share", (long long)f, (long long)l,
                 (long long)rest, (long long)mid);
    else if (f % v != 0 || l % v != 0 || (mid > 0 && rest / mid % v != 0))
        snprintf(msg, n, "stages of %lld, %lld and %lld layers (first, others, last) do not "
                 "split into %lld virtual stages each", (long long)f,
                 (long long)(mid > 0 ? rest / mid : 0), (long long)l, (long long)v);
}

/* ---- Megatron-LM's layout strings ---------------------------------------------------- */

/* Longest layout string after unrolling (Megatron-LM has no limit; this one keeps a bad
 * "t*999999999" from taking the machine's memory). */
#define LAYOUT_CHARS_MAX (1 << 20)

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool overflow;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n, int64_t times)
{
    for (int64_t t = 0; t < times && !b->overflow; t++) {
        if (b->n + n >= b->cap) {
            b->overflow = true;
            return;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
    }
}

/* Digits at s: their value (capped) and count. */
static size_t digits_at(const char *s, int64_t *value)
{
    size_t k = 0;
    int64_t v = 0;
    while (s[k] >= '0' && s[k] <= '9') {
        v = v > LAYOUT_CHARS_MAX ? v : v * 10 + (s[k] - '0');
        k++;
    }
    *value = v;
    return k;
}

/*
 * One pass of Python's re.sub over in: parens 1 for r'\(([^)]+)\)\*(\d+)', 0 for
 * r'(.)\*(\d+)', each match replaced by its group repeated, scanning left to right.
 */
static void unroll(const char *in, bool parens, sbuf *out)
{
    size_t i = 0, len = strlen(in);
    while (i < len && !out->overflow) {
        size_t body = i, body_n = 0, end = 0;
        if (parens && in[i] == '(') {
            size_t j = i + 1;
            while (j < len && in[j] != ')')
                j++;
            if (j > i + 1 && j < len && in[j + 1] == '*') {
                body = i + 1;
                body_n = j - i - 1;
                end = j + 2;
            }
        } else if (!parens && i + 1 < len && in[i + 1] == '*') {
            body_n = 1;
            end = i + 2;
        }
        int64_t times = 0;
        size_t nd = body_n ? digits_at(in + end, &times) : 0;
        if (nd > 0) {
            sb_put(out, in + body, body_n, times);
            i = end + nd;
        } else {
            sb_put(out, in + i, 1, 1);
            i++;
        }
    }
}

bool wl_layout_parse(const char *str, int64_t pp, int64_t layers, wl_parallel *out, char *msg,
                     size_t n)
{
    size_t len = strlen(str);
    char *a = malloc(LAYOUT_CHARS_MAX + 1), *b = malloc(LAYOUT_CHARS_MAX + 1);
    bool ok = false;
    if (!a || !b) {
        snprintf(msg, n, "out of memory");
        goto done;
    }
    /* commas are cosmetic */
    size_t k = 0;
    for (size_t i = 0; i < len && k < LAYOUT_CHARS_MAX; i++)
        if (str[i] != ',')
            a[k++] = str[i];
    a[k] = '\0';
    sbuf sb = {b, 0, LAYOUT_CHARS_MAX + 1, false};
    b[0] = '\0';
    unroll(a, true, &sb);
    sbuf sa = {a, 0, LAYOUT_CHARS_MAX + 1, false};
    a[0] = '\0';
    if (!sb.overflow)
        unroll(b, false, &sa);
    if (sb.overflow || sa.overflow || len > LAYOUT_CHARS_MAX) {
        snprintf(msg, n, "a layout of at most %d layers and separators once unrolled",
                 LAYOUT_CHARS_MAX);
        goto done;
    }
    /* stages split by '|'; every character a layer */
    int64_t stages = 1, decoders = 0, emb = 0, loss = 0, last_emb = -1, last_loss = -1;
    int64_t count = 0;
    size_t last_char = 0;
    for (size_t i = 0; a[i]; i++)
        if (a[i] == '|')
            stages++;
    if (stages > WL_LAYOUT_MAX) {
        snprintf(msg, n, "at most %d virtual stages, found %lld", WL_LAYOUT_MAX,
                 (long long)stages);
        goto done;
    }
    int64_t g = 0;
    for (size_t i = 0;; i++) {
        char c = a[i];
        if (c == '|' || c == '\0') {
            out->layout[g++] = (int32_t)count;
            count = 0;
            if (c == '\0')
                break;
            continue;
        }
        switch (c) {
        case 't': count++; decoders++; break;
        case 'E': emb++; last_emb = g; break;
        case 'L': loss++; last_loss = g; break;
        case 'm':
            snprintf(msg, n, "no 'm' (multi-token prediction layers are not modelled)");
            goto done;
        default:
            snprintf(msg, n, "layer characters E (embedding), t (transformer layer) and L "
                     "(loss), found '%c'", c);
            goto done;
        }
        last_char = i;
    }
    if (stages % pp != 0) {
        snprintf(msg, n, "a number of stages divisible by pp = %lld, found %lld",
                 (long long)pp, (long long)stages);
        goto done;
    }
    if (emb != 1 || loss != 1) {
        snprintf(msg, n, "exactly one E and one L, found %lld and %lld", (long long)emb,
                 (long long)loss);
        goto done;
    }
    /* Megatron-LM wants E first and L last in layer order; its pre_process and
     * post_process put them on the first and the last virtual stage. */
    size_t first_char = 0;
    while (a[first_char] == '|')
        first_char++;
    if (a[first_char] != 'E' || last_emb != 0) {
        snprintf(msg, n, "the embedding E first, in the first stage");
        goto done;
    }
    if (a[last_char] != 'L' || last_loss != stages - 1) {
        snprintf(msg, n, "the loss L last, in the last stage");
        goto done;
    }
    if (decoders != layers) {
        snprintf(msg, n, "%lld transformer layers (t), as the model has, found %lld",
                 (long long)layers, (long long)decoders);
        goto done;
    }
    out->layout_n = stages;
    ok = true;
done:
    free(a);
    free(b);
    return ok;
}
