/*
 * bench/report.c — verdicts and output for hm_bench.
 *
 * Owns the judgement of a row against its target and the two output formats: a
 * fixed-width table for people and a JSON document (--json) whose field names are stable
 * for scripts. Invariant: a row's verdict is computed only here, from hm.p50 (and raw.p50
 * for ratio targets), so the table and the JSON can never disagree. Calls only stdio.
 * Single-threaded.
 */
#include "report.h"

#include <string.h>

void bench_result_judge(bench_result_t *r)
{
    if (r->has_raw && r->raw.p50 > 0)
        r->ratio = r->hm.p50 / r->raw.p50;
    switch (r->kind) {
    case BENCH_TARGET_MAX_RATIO:
        r->verdict = r->has_raw && r->raw.p50 > 0 ? r->ratio <= r->target : 0;
        break;
    case BENCH_TARGET_MIN_RATIO:
        r->verdict = r->has_raw && r->raw.p50 > 0 ? r->ratio >= r->target : 0;
        break;
    case BENCH_TARGET_MAX_HM:
        r->verdict = r->hm.p50 <= r->target;
        break;
    default:
        r->verdict = -1;
    }
}

/* "1234 [1200..1300]" for a sample, "1234" for a single measurement. */
static void fmt_stats(char *buf, size_t len, const bench_stats_t *s, const char *unit)
{
    int prec = strcmp(unit, "x") == 0 ? 2 : (s->p50 < 100 ? 1 : 0);
    if (s->n <= 1)
        snprintf(buf, len, "%.*f", prec, s->p50);
    else
        snprintf(buf, len, "%.*f [%.*f..%.*f]", prec, s->p50, prec, s->p10, prec, s->p90);
}

static const char *verdict_text(int v)
{
    return v < 0 ? "info" : v ? "PASS" : "MISS";
}

void bench_print_table(FILE *f, const bench_header_t *h, const bench_result_t *r, size_t n)
{
    fprintf(f, "hm_bench: hostmem %s vs raw Linux syscalls, measured in the same process and run\n",
            h->hostmem_version);
    fprintf(f, "kernel: %s\n", h->kernel);
    fprintf(f, "cpus: %ld online | build: %s | compiler: %s | page: %ld | mode: %s\n", h->cpus,
            h->build_type, h->compiler, h->page_size, h->mode);
    fprintf(f, "loadavg at start: %s | wall time: %.1f s\n", h->loadavg, h->seconds);
    fprintf(f, "values: median [p10..p90] over rounds; raw and hostmem alternate within each round\n\n");
    fprintf(f, "%-40s %-8s %-26s %-26s %7s  %-20s %s\n", "scenario", "unit", "raw", "hostmem",
            "ratio", "target", "verdict");
    for (size_t i = 0; i < n; i++) {
        char raw[64] = "-", hm[64], ratio[16] = "-";
        if (r[i].has_raw)
            fmt_stats(raw, sizeof raw, &r[i].raw, r[i].unit);
        fmt_stats(hm, sizeof hm, &r[i].hm, r[i].unit);
        if (r[i].has_raw && r[i].raw.p50 > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", r[i].ratio);
        fprintf(f, "%-40s %-8s %-26s %-26s %7s  %-20s %s\n", r[i].name, r[i].unit, raw, hm, ratio,
                r[i].target_text ? r[i].target_text : "-", verdict_text(r[i].verdict));
    }
    fprintf(f, "\nraw columns:\n");
    for (size_t i = 0; i < n; i++)
        if (r[i].raw_label)
            fprintf(f, "  %-38s %s\n", r[i].id, r[i].raw_label);
    int any_note = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].note[0]) {
            if (!any_note++)
                fprintf(f, "notes:\n");
            fprintf(f, "  %-38s %s\n", r[i].id, r[i].note);
        }
    size_t pass = 0, miss = 0;
    for (size_t i = 0; i < n; i++) {
        pass += r[i].verdict == 1;
        miss += r[i].verdict == 0;
    }
    fprintf(f, "\ntargets: %zu pass, %zu miss\n", pass, miss);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_stats(FILE *f, const bench_stats_t *s)
{
    fprintf(f, "{\"median\": %.3f, \"p10\": %.3f, \"p90\": %.3f, \"samples\": %zu}", s->p50,
            s->p10, s->p90, s->n);
}

static const char *kind_text(bench_target_kind_t k)
{
    switch (k) {
    case BENCH_TARGET_MAX_RATIO: return "max_ratio";
    case BENCH_TARGET_MIN_RATIO: return "min_ratio";
    case BENCH_TARGET_MAX_HM: return "max_hostmem";
    default: return "none";
    }
}

void bench_print_json(FILE *f, const bench_header_t *h, const bench_result_t *r, size_t n)
{
    fprintf(f, "{\n  \"hostmem_version\": ");
    json_str(f, h->hostmem_version);
    fprintf(f, ",\n  \"kernel\": ");
    json_str(f, h->kernel);
    fprintf(f, ",\n  \"cpus\": %ld,\n  \"build_type\": ", h->cpus);
    json_str(f, h->build_type);
    fprintf(f, ",\n  \"compiler\": ");
    json_str(f, h->compiler);
    fprintf(f, ",\n  \"page_size\": %ld,\n  \"mode\": ", h->page_size);
    json_str(f, h->mode);
    fprintf(f, ",\n  \"loadavg\": ");
    json_str(f, h->loadavg);
    fprintf(f, ",\n  \"seconds\": %.3f,\n  \"scenarios\": [", h->seconds);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\n    {\"id\": ", i ? "," : "");
        json_str(f, r[i].id);
        fprintf(f, ", \"name\": ");
        json_str(f, r[i].name);
        fprintf(f, ", \"unit\": ");
        json_str(f, r[i].unit);
        fprintf(f, ",\n     \"raw\": ");
        if (r[i].has_raw)
            json_stats(f, &r[i].raw);
        else
            fprintf(f, "null");
        fprintf(f, ", \"raw_label\": ");
        if (r[i].raw_label)
            json_str(f, r[i].raw_label);
        else
            fprintf(f, "null");
        fprintf(f, ",\n     \"hostmem\": ");
        json_stats(f, &r[i].hm);
        if (r[i].has_raw && r[i].raw.p50 > 0)
            fprintf(f, ",\n     \"ratio\": %.4f", r[i].ratio);
        else
            fprintf(f, ",\n     \"ratio\": null");
        if (r[i].paired_ratio > 0)
            fprintf(f, ", \"paired_ratio\": %.4f", r[i].paired_ratio);
        else
            fprintf(f, ", \"paired_ratio\": null");
        fprintf(f, ", \"target_kind\": \"%s\", \"target\": ", kind_text(r[i].kind));
        if (r[i].kind == BENCH_TARGET_NONE)
            fprintf(f, "null");
        else
            fprintf(f, "%.4f", r[i].target);
        fprintf(f, ", \"pass\": %s, \"note\": ",
                r[i].verdict < 0 ? "null" : r[i].verdict ? "true" : "false");
        json_str(f, r[i].note);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
}
