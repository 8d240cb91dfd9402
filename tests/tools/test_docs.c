/*
 * test_docs.c — the documentation stays true to the code:
 *   - man/hostmem.1 and man/hostmem.3 render with `groff -man -Tutf8 -ww` without one
 *     warning (skipped, with the reason printed, where groff is not installed);
 *   - hostmem.3 names every symbol of src/hostmem.map, and every function it documents
 *     (a .TP tag holding a prototype) is exported;
 *   - the environment tables of docs/porting.md, hostmem.1 and hostmem.3 name exactly the
 *     HOSTMEM_* variables the library and the tool read (string literals in src/, tools/);
 *   - hostmem.1 documents exactly the commands `hostmem --help` lists, and every option
 *     `hostmem <command> --help` lists;
 *   - every test case docs/porting.md points to (a backquoted name with three or more
 *     underscores that is not an hm_ function, `*` as a wildcard) exists as a
 *     tcase_create() under tests/.
 *
 * The source tree is found from this file's path (__FILE__); the tool as in
 * test_hostmem_cli.c: $HOSTMEM_TOOL, else <build>/tools/hostmem beside <build>/tests.
 * Commands run with fork + exec, their output in temporary files.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <libgen.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

typedef struct names {
    char **v;
    size_t n, cap;
} names_t;

/* ---- Files, names, commands ----------------------------------------------------------- */

/* The source tree: __FILE__ is <root>/tests/tools/test_docs.c. */
static const char *root(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *cut = strstr(path, "/tests/tools/test_docs.c");
    ck_assert_msg(cut != NULL && path[0] == '/', "cannot find the source tree from %s", __FILE__);
    *cut = '\0';
    return path;
}

static const char *in_root(const char *rel)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root(), rel);
    return path;
}

static char *slurp_file(FILE *f)
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

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    return slurp_file(f);
}

static bool names_has(const names_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], name))
            return true;
    return false;
}

/* Adds len bytes of name unless present. */
static void names_add(names_t *s, const char *name, size_t len)
{
    char *copy = strndup(name, len);
    ck_assert_ptr_nonnull(copy);
    if (names_has(s, copy)) {
        free(copy);
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        ck_assert_ptr_nonnull(s->v);
    }
    s->v[s->n++] = copy;
}

static void names_free(names_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    *s = (names_t){0};
}

/* Adds group 1 of every match of pattern (extended, newline-sensitive) in text. */
static void collect(names_t *s, const char *text, const char *pattern)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
    regmatch_t m[2];
    for (const char *p = text; regexec(&re, p, 2, m, p == text ? 0 : REG_NOTBOL) == 0;
         p += m[0].rm_eo > 0 ? m[0].rm_eo : 1)
        names_add(s, p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
    regfree(&re);
}

static bool is_ident(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* True if word occurs in text with no identifier character on either side. */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
        if ((p == text || !is_ident(p[-1])) && !is_ident(p[n]))
            return true;
    return false;
}

typedef struct run {
    int status; /* exit code, or 128 + signal */
    char *out, *err;
} run_t;

/* Runs argv (argv[0] searched in PATH) and collects its exit status and output. */
static run_t run(const char *const *argv)
{
    FILE *out = tmpfile(), *err = tmpfile();
    ck_assert(out && err);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(err), STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    run_t r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp_file(out),
               slurp_file(err)};
    return r;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

/* ---- Reading the documents ---------------------------------------------------------------- */

/* A man page's text with font escapes (\fB, \f(CW, \f[B]) and \& removed and \- read
 * as '-', so names and options can be searched as they print. */
static char *man_plain(const char *path)
{
    char *src = slurp(path);
    char *out = malloc(strlen(src) + 1), *o = out;
    ck_assert_ptr_nonnull(out);
    for (const char *p = src; *p;) {
        if (p[0] == '\\' && p[1] == 'f') {
            p += 2;
            if (*p == '(')
                p += *(p + 1) && *(p + 2) ? 3 : 1;
            else if (*p == '[')
                p = strchr(p, ']') ? strchr(p, ']') + 1 : p + 1;
            else if (*p)
                p++;
        } else if (p[0] == '\\' && p[1] == '&') {
            p += 2;
        } else if (p[0] == '\\' && p[1] == '-') {
            *o++ = '-';
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    free(src);
    return out;
}

/* The section of a man page that starts with the line ".SH <title>", up to the next .SH. */
static char *man_section(const char *text, const char *title)
{
    char head[128];
    snprintf(head, sizeof head, "\n.SH %s\n", title);
    const char *s = strstr(text, head);
    ck_assert_msg(s != NULL, "no section %s", title);
    s += strlen(head);
    const char *e = strstr(s, "\n.SH ");
    char *sec = strndup(s, e ? (size_t)(e - s) : strlen(s));
    ck_assert_ptr_nonnull(sec);
    return sec;
}

/* The first word of every .TP tag (the line after ".TP") in text, after its font macro:
 * ".B HOSTMEM_VERBOSE" gives HOSTMEM_VERBOSE, '.BR map " [PID]"' gives map. */
static void man_tags(const char *text, names_t *out)
{
    collect(out, text, "^\\.TP\n\\.[BI]?[BIR]? +\"?([^ \"\n]+)");
}

/* The function named by every prototype tag in text: '.BI "LPVOID VirtualAlloc(LPVOID "
 * ...' gives VirtualAlloc. */
static void man_functions(const char *text, names_t *out)
{
    collect(out, text, "^\\.TP\n\\.BI? +\"[^(\n]*[ *]([A-Za-z_][A-Za-z0-9_]*)\\(");
}

/* The first cell of every row of the table under the markdown heading that says
 * "Environment variables" (up to the next heading), backquotes dropped. */
static void md_env_table(const char *md, names_t *out)
{
    regex_t re;
    regmatch_t m;
    ck_assert_int_eq(regcomp(&re, "^#+ .*Environment variables", REG_EXTENDED | REG_NEWLINE), 0);
    int found = regexec(&re, md, 1, &m, 0);
    regfree(&re);
    ck_assert_msg(found == 0, "docs/porting.md has no \"Environment variables\" heading");
    const char *h = md + m.rm_eo;
    const char *end = strstr(h, "\n#");
    char *sec = strndup(h, end ? (size_t)(end - h) : strlen(h));
    ck_assert_ptr_nonnull(sec);
    names_t cells = {0};
    collect(&cells, sec, "^\\| *`?([^`|]*[^`| ])`? *\\|");
    ck_assert_msg(cells.n >= 2, "no table under \"Environment variables\"");
    for (size_t i = 1; i < cells.n; i++) /* the first row is the header */
        if (strspn(cells.v[i], "-:") != strlen(cells.v[i]))
            names_add(out, cells.v[i], strlen(cells.v[i]));
    names_free(&cells);
    free(sec);
}

/* ---- What the code says ---------------------------------------------------------------------- */

static void exported_symbols(names_t *out)
{
    char *map = slurp(in_root("src/hostmem.map"));
    collect(out, map, "^[[:space:]]+([A-Za-z_][A-Za-z0-9_]*);");
    free(map);
    ck_assert_msg(names_has(out, "VirtualAlloc"), "src/hostmem.map was not parsed");
}

static bool source_file(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

/* Group 1 of every match of pattern in the .c and .h files under dir (recursively). */
static void scan_sources(const char *dir, const char *pattern, names_t *out)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        DIR *sub = opendir(path);
        if (sub) {
            closedir(sub);
            scan_sources(path, pattern, out);
        } else if (source_file(e->d_name)) {
            char *text = slurp(path);
            collect(out, text, pattern);
            free(text);
        }
    }
    closedir(d);
}

static void variables_read(names_t *out)
{
    char src[PATH_MAX], tools[PATH_MAX];
    snprintf(src, sizeof src, "%s", in_root("src"));
    snprintf(tools, sizeof tools, "%s", in_root("tools"));
    scan_sources(src, "\"(HOSTMEM_[A-Z0-9_]+)\"", out);
    scan_sources(tools, "\"(HOSTMEM_[A-Z0-9_]+)\"", out);
    ck_assert_msg(names_has(out, "HOSTMEM_COMMIT_LIMIT"), "the source scan found nothing");
}

/* The three environment tables: [0] docs/porting.md, [1] hostmem.1, [2] hostmem.3. */
static const char *const table_names[3] = {"docs/porting.md", "man/hostmem.1", "man/hostmem.3"};

static void env_tables(names_t tables[3])
{
    char *md = slurp(in_root("docs/porting.md"));
    md_env_table(md, &tables[0]);
    free(md);
    for (int i = 1; i < 3; i++) {
        char *man = man_plain(in_root(table_names[i]));
        char *sec = man_section(man, "ENVIRONMENT");
        man_tags(sec, &tables[i]);
        free(sec);
        free(man);
    }
}

/* ---- The tool ---------------------------------------------------------------------------------- */

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

static char *tool_help(const char *command)
{
    const char *argv[] = {tool_path(), command ? command : "--help", command ? "--help" : NULL,
                          NULL};
    run_t r = run(argv);
    ck_assert_msg(r.status == 0, "hostmem %s --help exited %d", command ? command : "",
                  r.status);
    free(r.err);
    return r.out;
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static bool groff_installed(void)
{
    const char *argv[] = {"groff", "--version", NULL};
    run_t r = run(argv);
    bool ok = r.status == 0;
    run_free(&r);
    return ok;
}

/* groff's warnings about one file (empty if none); fails if groff itself fails. */
static char *groff_warnings(const char *path)
{
    const char *argv[] = {"groff", "-man", "-Tutf8", "-ww", "-z", path, NULL};
    run_t r = run(argv);
    ck_assert_msg(r.status == 0, "groff failed on %s (exit %d): %s", path, r.status, r.err);
    free(r.out);
    return r.err;
}

START_TEST(man_pages_render_without_warnings)
{
    if (!groff_installed()) {
        fprintf(stderr, "test_docs: SKIPPED: groff is not installed "
                        "(Debian: apt-get install groff-base)\n");
        return;
    }
    /* The check can fail: an undefined macro is a warning. */
    char bad[] = "/tmp/hm_docs_XXXXXX";
    int fd = mkstemp(bad);
    ck_assert_int_ge(fd, 0);
    static const char page[] = ".TH X 1\n.SH NAME\nx\n.NOSUCHMACRO\n";
    ck_assert_int_eq(write(fd, page, sizeof page - 1), (ssize_t)(sizeof page - 1));
    close(fd);
    char *w = groff_warnings(bad);
    unlink(bad);
    ck_assert_msg(*w != '\0', "groff -ww reported nothing for an undefined macro");
    free(w);

    for (int i = 1; i < 3; i++) {
        w = groff_warnings(in_root(table_names[i]));
        ck_assert_msg(*w == '\0', "%s renders with warnings:\n%s", table_names[i], w);
        free(w);
    }
}
END_TEST

START_TEST(hostmem3_names_every_exported_symbol)
{
    names_t syms = {0};
    exported_symbols(&syms);
    char *man = man_plain(in_root("man/hostmem.3"));
    for (size_t i = 0; i < syms.n; i++)
        ck_assert_msg(has_word(man, syms.v[i]), "man/hostmem.3 does not name %s (src/hostmem.map)",
                      syms.v[i]);
    free(man);
    names_free(&syms);
}
END_TEST

START_TEST(hostmem3_documents_only_exported_functions)
{
    names_t syms = {0}, fns = {0};
    exported_symbols(&syms);
    char *man = man_plain(in_root("man/hostmem.3"));
    char *sec = man_section(man, "FUNCTIONS");
    man_functions(sec, &fns);
    ck_assert_msg(names_has(&fns, "VirtualAlloc") && names_has(&fns, "hm_runtime_name"),
                  "the prototypes of man/hostmem.3 were not parsed");
    for (size_t i = 0; i < fns.n; i++)
        ck_assert_msg(names_has(&syms, fns.v[i]),
                      "man/hostmem.3 documents %s, which src/hostmem.map does not export",
                      fns.v[i]);
    free(sec);
    free(man);
    names_free(&fns);
    names_free(&syms);
}
END_TEST

START_TEST(environment_tables_name_every_variable_the_sources_read)
{
    names_t vars = {0};
    names_t tables[3];
    memset(tables, 0, sizeof tables);
    variables_read(&vars);
    env_tables(tables);
    for (int t = 0; t < 3; t++) {
        for (size_t i = 0; i < vars.n; i++)
            ck_assert_msg(names_has(&tables[t], vars.v[i]),
                          "the environment table of %s lacks %s", table_names[t], vars.v[i]);
        names_free(&tables[t]);
    }
    names_free(&vars);
}
END_TEST

START_TEST(environment_tables_name_only_variables_the_sources_read)
{
    names_t vars = {0};
    names_t tables[3];
    memset(tables, 0, sizeof tables);
    variables_read(&vars);
    env_tables(tables);
    for (int t = 0; t < 3; t++) {
        ck_assert_msg(tables[t].n > 0, "the environment table of %s is empty", table_names[t]);
        for (size_t i = 0; i < tables[t].n; i++)
            ck_assert_msg(names_has(&vars, tables[t].v[i]),
                          "%s documents %s, which no source in src/ or tools/ reads",
                          table_names[t], tables[t].v[i]);
        names_free(&tables[t]);
    }
    names_free(&vars);
}
END_TEST

/* The commands `hostmem --help` lists: the first word of each line under "commands:". */
static void tool_commands(names_t *out)
{
    char *help = tool_help(NULL);
    const char *s = strstr(help, "commands:\n");
    ck_assert_msg(s != NULL, "hostmem --help lists no commands");
    const char *e = strstr(s, "\n\n");
    char *block = strndup(s, e ? (size_t)(e - s) : strlen(s));
    ck_assert_ptr_nonnull(block);
    collect(out, block, "^  ([a-z][a-z0-9-]*) ");
    ck_assert_msg(out->n > 0, "no command under \"commands:\" in hostmem --help");
    free(block);
    free(help);
}

START_TEST(hostmem1_documents_every_command_and_option)
{
    names_t cmds = {0}, tags = {0}, opts = {0};
    tool_commands(&cmds);
    char *man = man_plain(in_root("man/hostmem.1"));
    char *sec = man_section(man, "COMMANDS");
    man_tags(sec, &tags);
    char *main_help = tool_help(NULL);
    collect(&opts, main_help, "(--[a-z][a-z0-9-]*)");
    for (size_t k = 0; k < opts.n; k++)
        ck_assert_msg(has_word(man, opts.v[k]), "man/hostmem.1 does not mention %s", opts.v[k]);
    names_free(&opts);
    free(main_help);
    for (size_t i = 0; i < cmds.n; i++) {
        ck_assert_msg(names_has(&tags, cmds.v[i]),
                      "man/hostmem.1 has no entry under COMMANDS for '%s'", cmds.v[i]);
        char *help = tool_help(cmds.v[i]);
        collect(&opts, help, "(--[a-z][a-z0-9-]*)");
        for (size_t k = 0; k < opts.n; k++)
            ck_assert_msg(has_word(man, opts.v[k]), "man/hostmem.1 does not mention %s of '%s'",
                          opts.v[k], cmds.v[i]);
        names_free(&opts);
        free(help);
    }
    for (size_t i = 0; i < tags.n; i++)
        if (tags.v[i][0] != '-')
            ck_assert_msg(names_has(&cmds, tags.v[i]),
                          "man/hostmem.1 documents a command '%s' that hostmem --help lacks",
                          tags.v[i]);
    free(sec);
    free(man);
    names_free(&tags);
    names_free(&cmds);
}
END_TEST

static bool matches_any(const names_t *names, const char *glob)
{
    for (size_t i = 0; i < names->n; i++)
        if (fnmatch(glob, names->v[i], 0) == 0)
            return true;
    return false;
}

START_TEST(porting_points_only_to_existing_tests)
{
    names_t cases = {0}, refs = {0};
    char tests[PATH_MAX];
    snprintf(tests, sizeof tests, "%s", in_root("tests"));
    scan_sources(tests, "tcase_create\\(\"([A-Za-z0-9_]+)\"\\)", &cases);
    ck_assert_msg(names_has(&cases, "docs_porting_points_only_to_existing_tests"),
                  "the scan of tests/ found no test case names");
    char *md = slurp(in_root("docs/porting.md"));
    collect(&refs, md, "`([a-z0-9*]+_[a-z0-9*]+_[a-z0-9*]+_[a-z0-9_*]+)`");
    ck_assert_msg(refs.n > 0, "docs/porting.md points to no test");
    for (size_t i = 0; i < refs.n; i++)
        ck_assert_msg(!strncmp(refs.v[i], "hm_", 3) || matches_any(&cases, refs.v[i]),
                      "docs/porting.md points to a test '%s' that tests/ does not have",
                      refs.v[i]);
    free(md);
    names_free(&refs);
    names_free(&cases);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("docs");
    hm_add(s, tcase_create("docs_man_pages_render_without_warnings"),
           man_pages_render_without_warnings);
    hm_add(s, tcase_create("docs_hostmem3_names_every_exported_symbol"),
           hostmem3_names_every_exported_symbol);
    hm_add(s, tcase_create("docs_hostmem3_documents_only_exported_functions"),
           hostmem3_documents_only_exported_functions);
    hm_add(s, tcase_create("docs_environment_tables_name_every_variable_the_sources_read"),
           environment_tables_name_every_variable_the_sources_read);
    hm_add(s, tcase_create("docs_environment_tables_name_only_variables_the_sources_read"),
           environment_tables_name_only_variables_the_sources_read);
    hm_add(s, tcase_create("docs_hostmem1_documents_every_command_and_option"),
           hostmem1_documents_every_command_and_option);
    hm_add(s, tcase_create("docs_porting_points_only_to_existing_tests"),
           porting_points_only_to_existing_tests);
    return s;
}

HM_TEST_MAIN(make_suite)
