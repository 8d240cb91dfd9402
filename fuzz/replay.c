/*
 * replay.c — runs a fuzz driver without libFuzzer, so any build (gcc, no sanitizer) can
 * exercise it under ctest: every file of the corpus directories given, then a
 * deterministic pseudo-random run.
 *
 *   hm_replay_<target> [DIR|FILE]... [--random CALLS SEED] [--make-seeds DIR COUNT SEED]
 *
 * Exits 0 when every input ran without a divergence (a divergence aborts).
 * --make-seeds writes up to COUNT pseudo-random inputs, each kept only if it reaches a
 * behaviour no earlier one did (how fuzz/corpus/ was made).
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "replay.h"

/* Under ASan, a huge allocation returns NULL (hostmem then answers 8) instead of aborting. */
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        exit(2);
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    hm_replay_one(buf, n);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        exit(2);
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 4096)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        run_file(path);
        free(names[i]);
    }
}

/* xorshift64*: the same bytes on every machine */
static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void run_random(uint64_t calls, uint64_t seed)
{
    uint64_t s = seed ? seed : 1;
    static uint8_t buf[4096];
    while (hm_replay_calls() < calls) {
        size_t n = 64 + next(&s) % (sizeof buf - 64);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(next(&s) >> 56);
        hm_replay_one(buf, n);
    }
}

static void make_seeds(const char *dir, uint64_t count, uint64_t seed)
{
    uint64_t s = seed ? seed : 1, made = 0;
    static uint8_t buf[4096];
    for (int tries = 0; tries < 20000 && made < count; tries++) {
        size_t n = 128 + next(&s) % 1024;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(next(&s) >> 56);
        uint64_t before = hm_replay_coverage();
        hm_replay_one(buf, n);
        if (hm_replay_coverage() == before)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%03llu.bin", dir, (unsigned long long)made++);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, n, f) != n) {
            fprintf(stderr, "replay: cannot write %s\n", path);
            exit(2);
        }
        fclose(f);
    }
    fprintf(stderr, "replay: %llu seeds, %llu behaviours\n", (unsigned long long)made,
            (unsigned long long)hm_replay_coverage());
}

int main(int argc, char **argv)
{
    hm_replay_init();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--make-seeds") == 0 && i + 3 < argc) {
            make_seeds(argv[i + 1], strtoull(argv[i + 2], NULL, 0), strtoull(argv[i + 3], NULL, 0));
            i += 3;
            continue;
        }
        if (strcmp(argv[i], "--random") == 0 && i + 2 < argc) {
            run_random(strtoull(argv[i + 1], NULL, 0), strtoull(argv[i + 2], NULL, 0));
            i += 2;
            continue;
        }
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            run_dir(argv[i]);
        else
            run_file(argv[i]);
    }
    hm_replay_report();
    return 0;
}
