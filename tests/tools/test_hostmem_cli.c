/*
 * test_hostmem_cli.c — the `hostmem` command as a user runs it: exit codes, --help and
 * --version, the demo's output against tests/tools/golden/demo.txt (addresses masked),
 * and `map --json` as valid JSON that shows an image and the stack.
 *
 * The tool is found through $HOSTMEM_TOOL, else next to this test in the build tree:
 * <build>/tests/test_hostmem_cli → <build>/tools/hostmem. The golden file is found next to
 * this source (__FILE__). HOSTMEM_UPDATE_GOLDEN=1 rewrites it from the current output.
 * Each run of the tool is a fork + exec with stdout and stderr in temporary files.
 */
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

typedef struct run {
    int status; /* exit code, or 128 + signal */
    char *out, *err;
} run_t;

/* ---- Running the tool ------------------------------------------------------------------ */

static const char *tool_path(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("HOSTMEM_TOOL");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(path, sizeof path, "%s/../tools/hostmem", dirname(self));
    ck_assert_msg(access(path, X_OK) == 0,
                  "no hostmem tool at %s (build with HOSTMEM_BUILD_TOOLS=ON or set HOSTMEM_TOOL)",
                  path);
    return path;
}

static char *slurp(FILE *f)
{
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    char *buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Runs `hostmem args...` (NULL-terminated) and collects its exit status and output. */
static run_t run_tool(const char *arg0, ...)
{
    const char *argv[16] = {"hostmem", arg0};
    va_list ap;
    va_start(ap, arg0);
    for (int i = 2; arg0 && i < 15 && (argv[i] = va_arg(ap, const char *)) != NULL; i++)
        ;
    va_end(ap);
    const char *path = tool_path();
    FILE *out = tmpfile(), *err = tmpfile();
    ck_assert(out && err);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(err), STDERR_FILENO);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    run_t r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp(out), slurp(err)};
    return r;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

/* ---- Golden files ------------------------------------------------------------------------ */

/* Replaces every hex address (0x followed by 8+ hex digits) with "0xADDRESS". */
static char *mask_addresses(const char *text)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, "0x[0-9a-fA-F]{8,}", REG_EXTENDED), 0);
    size_t cap = strlen(text) * 2 + 1, len = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    regmatch_t m;
    for (const char *s = text; *s;) {
        size_t keep = regexec(&re, s, 1, &m, 0) == 0 ? (size_t)m.rm_so : strlen(s);
        memcpy(out + len, s, keep);
        len += keep;
        if (!s[keep])
            break;
        len += (size_t)sprintf(out + len, "0xADDRESS");
        s += m.rm_eo;
    }
    out[len] = '\0';
    regfree(&re);
    return out;
}

static const char *golden_path(const char *name)
{
    static char path[PATH_MAX], src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(path, sizeof path, "%s/golden/%s", dirname(src), name);
    return path;
}

static char *read_golden(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open golden file %s", path);
    return slurp(f);
}

static void write_golden(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write golden file %s", path);
    fputs(text, f);
    fclose(f);
}

/* Fails at the first differing line, naming it. */
static void assert_same_lines(const char *want, const char *got)
{
    for (int line = 1;; line++) {
        size_t wl = strcspn(want, "\n"), gl = strcspn(got, "\n");
        ck_assert_msg(wl == gl && memcmp(want, got, wl) == 0,
                      "line %d differs:\n  want: %.*s\n  got:  %.*s", line, (int)wl, want, (int)gl,
                      got);
        if (!want[wl] || !got[gl]) {
            ck_assert_msg(!want[wl] && !got[gl], "output length differs after line %d", line);
            return;
        }
        want += wl + 1;
        got += gl + 1;
    }
}

/* ---- A JSON syntax checker (RFC 8259, no semantics) -------------------------------------- */

static const char *json_value(const char *p);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\' && !strchr("\"\\/bfnrtu", *++p))
            return NULL;
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    const char *start = p;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return NULL;
    while (isdigit((unsigned char)*p) || strchr(".eE+-", *p))
        p++;
    return p > start ? p : NULL;
}

/* Elements of an array (close ']') or members of an object (close '}'). */
static const char *json_items(const char *p, char close)
{
    p = json_ws(p);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            if (!(p = json_string(json_ws(p))) || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        if (!(p = json_value(p)))
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *json_value(const char *p)
{
    p = json_ws(p);
    if (*p == '{' || *p == '[')
        return json_items(p + 1, *p == '{' ? '}' : ']');
    if (*p == '"')
        return json_string(p);
    for (const char *const *w = (const char *const[]){"true", "false", "null", NULL}; *w; w++)
        if (!strncmp(p, *w, strlen(*w)))
            return p + strlen(*w);
    return json_number(p);
}

static bool json_valid(const char *text)
{
    const char *end = json_value(text);
    return end && *json_ws(end) == '\0';
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- Tests --------------------------------------------------------------------------------- */

START_TEST(version_prints_tool_and_library_versions)
{
    run_t r = run_tool("--version", NULL);
    ck_assert_int_eq(r.status, 0);
    char want[64];
    snprintf(want, sizeof want, "(libhostmem %s)", hm_version_string());
    ck_assert_msg(strncmp(r.out, "hostmem ", 8) == 0 && strstr(r.out, want), "got: %s", r.out);
    run_free(&r);
}
END_TEST

static void assert_help(run_t r, const char *usage)
{
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strncmp(r.out, usage, strlen(usage)) == 0, "no '%s' line in: %s", usage, r.out);
    ck_assert_msg(strstr(r.out, "\noptions:\n") && strstr(r.out, "\nexample:\n"),
                  "help lacks options or example: %s", r.out);
    run_free(&r);
}

START_TEST(help_of_every_command_has_usage_options_and_example)
{
    assert_help(run_tool("--help", NULL), "usage: hostmem <command>");
    assert_help(run_tool("-h", NULL), "usage: hostmem <command>");
    assert_help(run_tool("demo", "--help", NULL), "usage: hostmem demo\n");
    assert_help(run_tool("map", "--help", NULL), "usage: hostmem map [PID] [--json] [--all]\n");
    assert_help(run_tool("info", "--help", NULL), "usage: hostmem info [--json]\n");
    assert_help(run_tool("bench", "--help", NULL), "usage: hostmem bench [--json] [--quick]");
}
END_TEST

static void assert_usage_error(run_t r)
{
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "hostmem") != NULL, "no message on stderr");
    run_free(&r);
}

START_TEST(unknown_command_or_option_exits_2)
{
    assert_usage_error(run_tool("frobnicate", NULL));
    assert_usage_error(run_tool("--frobnicate", NULL));
    assert_usage_error(run_tool(NULL));
    assert_usage_error(run_tool("map", "--frobnicate", NULL));
    assert_usage_error(run_tool("demo", "extra", NULL));
    assert_usage_error(run_tool("map", "12x", NULL));
    assert_usage_error(run_tool("info", "--all", NULL));
    assert_usage_error(run_tool("bench", "--fast", NULL));
    assert_usage_error(run_tool("map", "1", "2", NULL));
}
END_TEST

START_TEST(demo_output_matches_golden_file)
{
    run_t r = run_tool("demo", NULL);
    ck_assert_msg(r.status == 0, "demo exited %d: %s", r.status, r.err);
    char *got = mask_addresses(r.out);
    const char *path = golden_path("demo.txt");
    if (getenv("HOSTMEM_UPDATE_GOLDEN"))
        write_golden(path, got);
    char *want = read_golden(path);
    assert_same_lines(want, got);
    ck_assert_int_le(count(r.out, "\n"), 110); /* two screens */
    free(want);
    free(got);
    run_free(&r);
}
END_TEST

START_TEST(map_json_is_valid_and_shows_an_image_and_the_stack)
{
    run_t r = run_tool("map", "--json", NULL);
    ck_assert_msg(r.status == 0, "map --json exited %d: %s", r.status, r.err);
    ck_assert_msg(json_valid(r.out), "not JSON:\n%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\"pid\": "));
    ck_assert_ptr_nonnull(strstr(r.out, "\"totals\": {\"regions\": "));
    ck_assert_int_ge(count(r.out, "\"type\": \"image\""), 1);
    ck_assert_int_eq(count(r.out, "\"label\": \"stack\""), 1);
    int regions = count(r.out, "{\"base\": \"0x");
    ck_assert_int_gt(regions, 0);
    ck_assert_int_eq(count(r.out, "\"alloc_protect_raw\": "), regions);
    ck_assert_int_eq(count(r.out, "\"state\": \"free\""), 0);
    run_free(&r);
}
END_TEST

START_TEST(map_table_lists_regions_then_totals)
{
    run_t r = run_tool("map", "--all", NULL);
    ck_assert_msg(r.status == 0, "map exited %d: %s", r.status, r.err);
    ck_assert_msg(strncmp(r.out, "base ", 5) == 0, "no header: %s", r.out);
    const char *last = r.out + strlen(r.out) - 1;
    while (last > r.out && last[-1] != '\n')
        last--;
    ck_assert_msg(strncmp(last, "total: ", 7) == 0, "last line: %s", last);
    ck_assert_ptr_nonnull(strstr(r.out, "  free  "));
    ck_assert_ptr_nonnull(strstr(r.out, " stack\n"));
    run_free(&r);
}
END_TEST

/* A child that maps a 1 MiB PROT_NONE range and 3 pages of a file, reports both
 * addresses through a pipe, and waits to be killed. */
typedef struct other {
    pid_t pid;
    uintptr_t reserved, file;
    char path[64];
} other_t;

static other_t start_other(void)
{
    other_t o = {0};
    snprintf(o.path, sizeof o.path, "/tmp/hm_cli_map_%d.dat", (int)getpid());
    int fd = open(o.path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 3 * 4096), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    o.pid = fork();
    ck_assert_int_ge(o.pid, 0);
    if (o.pid == 0) {
        uintptr_t a[2];
        a[0] = (uintptr_t)mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        a[1] = (uintptr_t)mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
        ((volatile char *)a[1])[0];
        if (write(p[1], a, sizeof a) != sizeof a)
            _exit(1);
        pause();
        _exit(0);
    }
    uintptr_t a[2];
    ck_assert_int_eq(read(p[0], a, sizeof a), (ssize_t)sizeof a);
    o.reserved = a[0];
    o.file = a[1];
    close(p[0]);
    close(p[1]);
    close(fd);
    return o;
}

static void stop_other(other_t *o)
{
    kill(o->pid, SIGKILL);
    waitpid(o->pid, NULL, 0);
    unlink(o->path);
}

START_TEST(map_of_another_process_translates_the_kernel_view)
{
    other_t o = start_other();
    char pid[16], want[256];
    snprintf(pid, sizeof pid, "%d", (int)o.pid);
    run_t r = run_tool("map", pid, "--json", NULL);
    ck_assert_msg(r.status == 0, "map PID exited %d: %s", r.status, r.err);
    ck_assert_msg(json_valid(r.out), "not JSON:\n%s", r.out);
    snprintf(want, sizeof want, "\"pid\": %d,", (int)o.pid);
    ck_assert_ptr_nonnull(strstr(r.out, want));
    /* The PROT_NONE range: reserved private memory, Protect 0. */
    snprintf(want, sizeof want,
             "{\"base\": \"0x%lx\", \"size\": 1048576, \"state\": \"reserve\", "
             "\"protect\": \"-\", \"protect_raw\": 0, ",
             (unsigned long)o.reserved);
    ck_assert_msg(strstr(r.out, want) != NULL, "no '%s' in:\n%s", want, r.out);
    /* The file: mapped, read-only, labelled by its name, resident (the page read). */
    snprintf(want, sizeof want, "{\"base\": \"0x%lx\", \"size\": 12288, \"state\": \"commit\", "
             "\"protect\": \"R\", \"protect_raw\": 2, ", (unsigned long)o.file);
    const char *at = strstr(r.out, want);
    ck_assert_msg(at != NULL, "no '%s' in:\n%s", want, r.out);
    ck_assert_ptr_nonnull(strstr(at, "\"type\": \"mapped\""));
    ck_assert_ptr_nonnull(strstr(at, strrchr(o.path, '/') + 1));
    const char *rss = strstr(at, "\"rss\": ");
    ck_assert_ptr_nonnull(rss);
    long resident = strtol(rss + 7, NULL, 10); /* the touched page, maybe its neighbours */
    ck_assert_int_ge(resident, 4096);
    ck_assert_int_le(resident, 12288);
    run_free(&r);
    r = run_tool("map", pid, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "total: "));
    run_free(&r);
    stop_other(&o);
    r = run_tool("map", pid, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "no such process"));
    run_free(&r);
}
END_TEST

START_TEST(info_reports_sizes_engine_and_limits)
{
    run_t r = run_tool("info", "--json", NULL);
    ck_assert_msg(r.status == 0, "info --json exited %d: %s", r.status, r.err);
    ck_assert_msg(json_valid(r.out), "not JSON:\n%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\"page_size\": 4096,"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"allocation_granularity\": 65536,"));
    ck_assert_ptr_nonnull(strstr(r.out, "\"large_page_minimum\": 2097152,"));
    const char *why;
    char want[200];
    snprintf(want, sizeof want, "\"write_watch_engine\": \"%s\",", hm_write_watch_engine(&why));
    if (!hm_test_under_valgrind("engine not compared: the tool runs natively, this test under "
                                "Valgrind (which picks mprotect)"))
        ck_assert_msg(strstr(r.out, want) != NULL, "no '%s' in:\n%s", want, r.out);
    run_free(&r);
    r = run_tool("info", NULL);
    ck_assert_int_eq(r.status, 0);
    static const char *const rows[] = {"page size ", "allocation granularity ", "large pages ",
                                       "write watch ", "kernel support ", "lock-memory right ",
                                       "commit ", "cgroup v2 ", "PSI "};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        ck_assert_msg(strstr(r.out, rows[i]) != NULL, "no '%s' row in:\n%s", rows[i], r.out);
    run_free(&r);
}
END_TEST

START_TEST(bench_runs_side_by_side_and_prints_ratios)
{
    run_t r = run_tool("bench", "--quick", "--only", "reserve_release", "--json", NULL);
    ck_assert_msg(r.status == 0, "bench exited %d: %s", r.status, r.err);
    ck_assert_msg(json_valid(r.out), "not JSON:\n%s", r.out);
    ck_assert_int_eq(count(r.out, "{\"id\": \""), 1);
    ck_assert_ptr_nonnull(strstr(r.out, "{\"id\": \"reserve_release_64k\""));
    ck_assert_ptr_nonnull(strstr(r.out, "\"raw\": {\"median\": "));
    ck_assert_ptr_nonnull(strstr(r.out, "\"hostmem\": {\"median\": "));
    ck_assert_ptr_nonnull(strstr(r.out, "\"ratio\": "));
    run_free(&r);
    r = run_tool("bench", "--quick", "--only", "reserve_release", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "reserve+release 64 KiB"));
    ck_assert_ptr_nonnull(strstr(r.out, "targets: "));
    run_free(&r);
}
END_TEST

static void add_case(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("hostmem_cli");
    add_case(s, tcase_create("cli_version_prints_tool_and_library_versions"),
             version_prints_tool_and_library_versions);
    add_case(s, tcase_create("cli_help_of_every_command_has_usage_options_and_example"),
             help_of_every_command_has_usage_options_and_example);
    add_case(s, tcase_create("cli_unknown_command_or_option_exits_2"),
             unknown_command_or_option_exits_2);
    add_case(s, tcase_create("cli_demo_output_matches_golden_file"),
             demo_output_matches_golden_file);
    add_case(s, tcase_create("cli_map_json_is_valid_and_shows_an_image_and_the_stack"),
             map_json_is_valid_and_shows_an_image_and_the_stack);
    add_case(s, tcase_create("cli_map_table_lists_regions_then_totals"),
             map_table_lists_regions_then_totals);
    add_case(s, tcase_create("cli_bench_runs_side_by_side_and_prints_ratios"),
             bench_runs_side_by_side_and_prints_ratios);
    add_case(s, tcase_create("cli_info_reports_sizes_engine_and_limits"),
             info_reports_sizes_engine_and_limits);
    add_case(s, tcase_create("cli_map_of_another_process_translates_the_kernel_view"),
             map_of_another_process_translates_the_kernel_view);
    return s;
}

HM_TEST_MAIN(make_suite)
