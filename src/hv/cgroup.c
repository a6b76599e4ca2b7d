/* cgroup.c — one cgroup per VM for the daemon: cgroup v2 (/sys/fs/cgroup is cgroup2: cpu.max,
 * cpu.weight, memory.max, pids.max) or v1 (separate cpu, cpuacct, memory and pids hierarchies:
 * cpu.cfs_quota_us/cfs_period_us, cpu.shares, memory.limit_in_bytes, pids.max), always under
 * "<base>/<name>" (base "vmkit" for the default daemon, "vmkit/d-XXXXXXXX" for one with another state
 * directory, so that two daemons on a host never share a cgroup). Limits are read back from the
 * files for stats/inspect. */
#include "hv.h"
#include "../base/base.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CGROUP2_MAGIC 0x63677270
static const char *const v1_ctrls[] = { "cpu", "cpuacct", "memory", "pids" };
static char g_base[64] = "vmkit";

void hv_cg_set_base(const char *base) { snprintf(g_base, sizeof(g_base), "%s", base); }

static int cg_version(void)      /* 2, 1 or 0 (none usable) */
{
    static int v = -1;
    if (v >= 0) return v;
    struct statfs sf;
    if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_MAGIC) v = 2;
    else if (access(CG_ROOT "/memory/cgroup.procs", W_OK) == 0 && access(CG_ROOT "/cpu/cgroup.procs", W_OK) == 0 &&
             access(CG_ROOT "/pids/cgroup.procs", W_OK) == 0) v = 1;
    else v = 0;
    return v;
}

bool hv_cg_available(void) { return cg_version() != 0; }

static int write_str(const char *dir, const char *file, const char *val, char *err, size_t errlen);

static void cg_dir(char *out, size_t n, const char *ctrl, const char *name)
{
    if (cg_version() == 2) snprintf(out, n, CG_ROOT "/%s%s%s", g_base, name ? "/" : "", name ? name : "");
    else snprintf(out, n, CG_ROOT "/%s/%s%s%s", ctrl, g_base, name ? "/" : "", name ? name : "");
}

/* mkdir every level of the base under dir (v2: enabling the controllers for the level below) */
static void make_base(const char *ctrl)
{
    char dir[256], part[64];
    snprintf(part, sizeof(part), "%s", g_base);
    for (char *p = part;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (cg_version() == 2) snprintf(dir, sizeof(dir), CG_ROOT "/%s", part);
            else snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", ctrl, part);
            mkdir(dir, 0755);
            if (cg_version() == 2) write_str(dir, "cgroup.subtree_control", "+cpu +memory +pids", NULL, 0);
            *p = c;
            if (!c) break;
        }
    }
}

static int write_str(const char *dir, const char *file, const char *val, char *err, size_t errlen)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    ssize_t w = fd >= 0 ? write(fd, val, strlen(val)) : -1;
    int e = errno;
    if (fd >= 0) close(fd);
    if (w < 0) {
        vmk_seterr(err, errlen, "cgroup: cannot write '%s' to %s: %s", val, p, strerror(e));
        return -1;
    }
    return 0;
}

static int read_str(const char *dir, const char *file, char *buf, size_t n)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0) return -1;
    buf[r] = 0;
    while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' ')) buf[--r] = 0;
    return 0;
}

int hv_cg_create(const char *name, const hv_cg_limits *l, char *err, size_t errlen)
{
    int v = cg_version();
    if (!v) {
        vmk_seterr(err, errlen, "cgroups are not available (need root and %s)", CG_ROOT);
        return -1;
    }
    char dir[256], val[64];
    if (v == 2) {
        write_str(CG_ROOT, "cgroup.subtree_control", "+cpu", NULL, 0);
        write_str(CG_ROOT, "cgroup.subtree_control", "+memory", NULL, 0);
        write_str(CG_ROOT, "cgroup.subtree_control", "+pids", NULL, 0);
        make_base(NULL);
        cg_dir(dir, sizeof(dir), NULL, name);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            vmk_seterr(err, errlen, "cgroup: cannot create %s: %s", dir, strerror(errno));
            return -1;
        }
        if (l->cpu_limit > 0) snprintf(val, sizeof(val), "%llu 100000", (unsigned long long)(l->cpu_limit * 100000));
        else snprintf(val, sizeof(val), "max 100000");
        if (write_str(dir, "cpu.max", val, err, errlen) < 0) return -1;
        snprintf(val, sizeof(val), "%u", l->cpu_weight ? l->cpu_weight : 100);
        if (write_str(dir, "cpu.weight", val, err, errlen) < 0) return -1;
        if (l->mem_max) snprintf(val, sizeof(val), "%llu", (unsigned long long)l->mem_max);
        else snprintf(val, sizeof(val), "max");
        if (write_str(dir, "memory.max", val, err, errlen) < 0) return -1;
        if (l->pids_max) snprintf(val, sizeof(val), "%u", l->pids_max);
        else snprintf(val, sizeof(val), "max");
        return write_str(dir, "pids.max", val, err, errlen);
    }
    for (unsigned i = 0; i < 4; i++) {
        make_base(v1_ctrls[i]);
        cg_dir(dir, sizeof(dir), v1_ctrls[i], name);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            vmk_seterr(err, errlen, "cgroup: cannot create %s: %s", dir, strerror(errno));
            return -1;
        }
    }
    cg_dir(dir, sizeof(dir), "cpu", name);
    if (write_str(dir, "cpu.cfs_period_us", "100000", err, errlen) < 0) return -1;
    if (l->cpu_limit > 0) snprintf(val, sizeof(val), "%lld", (long long)(l->cpu_limit * 100000));
    else snprintf(val, sizeof(val), "-1");
    if (write_str(dir, "cpu.cfs_quota_us", val, err, errlen) < 0) return -1;
    snprintf(val, sizeof(val), "%u", (l->cpu_weight ? l->cpu_weight : 100) * 1024u / 100u);
    if (write_str(dir, "cpu.shares", val, err, errlen) < 0) return -1;
    cg_dir(dir, sizeof(dir), "memory", name);
    if (l->mem_max) snprintf(val, sizeof(val), "%llu", (unsigned long long)l->mem_max);
    else snprintf(val, sizeof(val), "-1");
    if (write_str(dir, "memory.limit_in_bytes", val, err, errlen) < 0) return -1;
    cg_dir(dir, sizeof(dir), "pids", name);
    if (l->pids_max) snprintf(val, sizeof(val), "%u", l->pids_max);
    else snprintf(val, sizeof(val), "max");
    return write_str(dir, "pids.max", val, err, errlen);
}

unsigned hv_cg_procs_paths(const char *name, char paths[][256], unsigned max)
{
    int v = cg_version();
    unsigned n = 0;
    char dir[200];
    if (v == 2 && max >= 1) {
        cg_dir(dir, sizeof(dir), NULL, name);
        snprintf(paths[n++], 256, "%s/cgroup.procs", dir);
    } else if (v == 1) {
        for (unsigned i = 0; i < 4 && n < max; i++) {
            cg_dir(dir, sizeof(dir), v1_ctrls[i], name);
            snprintf(paths[n++], 256, "%s/cgroup.procs", dir);
        }
    }
    return n;
}

int hv_cg_remove(const char *name)
{
    int v = cg_version(), rc = 0;
    char dir[256];
    if (v == 2) {
        cg_dir(dir, sizeof(dir), NULL, name);
        if (rmdir(dir) != 0 && errno != ENOENT) rc = -1;
    } else if (v == 1) {
        for (unsigned i = 0; i < 4; i++) {
            cg_dir(dir, sizeof(dir), v1_ctrls[i], name);
            if (rmdir(dir) != 0 && errno != ENOENT) rc = -1;
        }
    }
    return rc;
}

void hv_cg_remove_base(void)
{
    if (!strcmp(g_base, "vmkit") || !cg_version()) return;     /* the shared top level stays */
    char dir[256];
    if (cg_version() == 2) {
        snprintf(dir, sizeof(dir), CG_ROOT "/%s", g_base);
        rmdir(dir);
    } else {
        for (unsigned i = 0; i < 4; i++) {
            snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", v1_ctrls[i], g_base);
            rmdir(dir);
        }
    }
}

unsigned hv_cg_pids(const char *name, int *pids, unsigned max)
{
    int v = cg_version();
    if (!v) return 0;
    char dir[256], p[300];
    cg_dir(dir, sizeof(dir), v == 2 ? NULL : "pids", name);
    snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
    FILE *f = fopen(p, "re");
    if (!f) return 0;
    unsigned n = 0;
    int pid;
    while (n < max && fscanf(f, "%d", &pid) == 1) pids[n++] = pid;
    fclose(f);
    return n;
}

static void add_num_file(cJSON *o, const char *key, const char *dir, const char *file)
{
    char buf[128];
    if (read_str(dir, file, buf, sizeof(buf)) < 0) return;
    char *end;
    long long x = strtoll(buf, &end, 10);
    if (end != buf && *end == 0) cJSON_AddNumberToObject(o, key, (double)x);
    else cJSON_AddStringToObject(o, key, buf);
}

void hv_cg_report(const char *name, cJSON *obj)
{
    int v = cg_version();
    if (!v) return;
    cJSON *o = cJSON_AddObjectToObject(obj, "cgroup");
    char dir[256];
    cJSON_AddNumberToObject(o, "version", v);
    if (v == 2) {
        cg_dir(dir, sizeof(dir), NULL, name);
        cJSON_AddStringToObject(o, "path", dir);
        add_num_file(o, "cpu.max", dir, "cpu.max");
        add_num_file(o, "cpu.weight", dir, "cpu.weight");
        add_num_file(o, "memory.max", dir, "memory.max");
        add_num_file(o, "memory.current", dir, "memory.current");
        add_num_file(o, "pids.max", dir, "pids.max");
        add_num_file(o, "pids.current", dir, "pids.current");
        char buf[512];
        if (read_str(dir, "cpu.stat", buf, sizeof(buf)) == 0) {
            unsigned long long us;
            const char *u = strstr(buf, "usage_usec ");
            if (u && sscanf(u + 11, "%llu", &us) == 1) cJSON_AddNumberToObject(o, "cpu_usage_ns", (double)us * 1000.0);
        }
        return;
    }
    cg_dir(dir, sizeof(dir), "memory", name);
    cJSON_AddStringToObject(o, "path", dir);
    cg_dir(dir, sizeof(dir), "cpu", name);
    add_num_file(o, "cpu.cfs_quota_us", dir, "cpu.cfs_quota_us");
    add_num_file(o, "cpu.cfs_period_us", dir, "cpu.cfs_period_us");
    add_num_file(o, "cpu.shares", dir, "cpu.shares");
    cg_dir(dir, sizeof(dir), "cpuacct", name);
    char buf[64];
    if (read_str(dir, "cpuacct.usage", buf, sizeof(buf)) == 0)
        cJSON_AddNumberToObject(o, "cpu_usage_ns", strtod(buf, NULL));
    cg_dir(dir, sizeof(dir), "memory", name);
    add_num_file(o, "memory.limit_in_bytes", dir, "memory.limit_in_bytes");
    add_num_file(o, "memory.usage_in_bytes", dir, "memory.usage_in_bytes");
    add_num_file(o, "memory.max_usage_in_bytes", dir, "memory.max_usage_in_bytes");
    cg_dir(dir, sizeof(dir), "pids", name);
    add_num_file(o, "pids.max", dir, "pids.max");
    add_num_file(o, "pids.current", dir, "pids.current");
}
