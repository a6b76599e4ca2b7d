/* registry.c — the daemon's VM definitions: validation of a definition given as JSON (POST /vms),
 * its JSON form, and the SQLite store <state-dir>/vmkit.db (WAL, synchronous=FULL) holding the
 * definitions (table vms) and their runtime rows (table runtime). */
#include "hv.h"
#include "../base/base.h"
#include "../virtio/virtio.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool hv_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > HV_NAME_MAX) return false;
    if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= '0' && n[0] <= '9'))) return false;
    for (size_t i = 1; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
    }
    return true;
}

void hv_def_free(hv_def *d)
{
    free(d->kernel); free(d->initrd); free(d->bios); free(d->cmdline); free(d->append);
    for (unsigned i = 0; i < d->ndisks; i++) free(d->disks[i]);
    for (unsigned i = 0; i < d->nnets; i++) free(d->nets[i]);
    memset(d, 0, sizeof(*d));
}

/* An absolute path without "." or ".." components, an existing regular file, inside root if set. */
static int check_path(const char *what, const char *p, bool need_write, const char *root, char *err, size_t errlen)
{
    if (p[0] != '/' || strlen(p) >= PATH_MAX) {
        vmk_seterr(err, errlen, "%s path '%s' must be absolute", what, p);
        return -1;
    }
    for (const char *s = p; *s; ) {
        while (*s == '/') s++;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
            vmk_seterr(err, errlen, "%s path '%s' contains '.' or '..'", what, p);
            return -1;
        }
        s += n;
    }
    struct stat st;
    if (stat(p, &st) != 0) {
        vmk_seterr(err, errlen, "%s '%s': %s", what, p, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        vmk_seterr(err, errlen, "%s '%s' is not a regular file", what, p);
        return -1;
    }
    if (access(p, need_write ? (R_OK | W_OK) : R_OK) != 0) {
        vmk_seterr(err, errlen, "%s '%s': %s", what, p, strerror(errno));
        return -1;
    }
    if (root) {
        char rp[PATH_MAX], rr[PATH_MAX];
        if (!realpath(p, rp) || !realpath(root, rr)) {
            vmk_seterr(err, errlen, "%s '%s': %s", what, p, strerror(errno));
            return -1;
        }
        size_t rl = strlen(rr);
        if (strncmp(rp, rr, rl) != 0 || (rp[rl] != '/' && !(rl == 1 && rr[0] == '/'))) {
            vmk_seterr(err, errlen, "%s path '%s' is outside the allowed root %s", what, p, root);
            return -1;
        }
    }
    return 0;
}

static int get_str(const cJSON *j, const char *key, char **out, size_t maxlen, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) {
        vmk_seterr(err, errlen, "field '%s' must be a string", key);
        return -1;
    }
    if (strlen(v->valuestring) > maxlen) {
        vmk_seterr(err, errlen, "field '%s' is too long (at most %zu bytes)", key, maxlen);
        return -1;
    }
    *out = vmk_xstrdup(v->valuestring);
    return 0;
}

static int get_num(const cJSON *j, const char *key, double lo, double hi, bool integer, double *out,
                   char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v)) {
        vmk_seterr(err, errlen, "field '%s' must be a number", key);
        return -1;
    }
    double x = v->valuedouble;
    if (integer && x != (double)(long long)x) {
        vmk_seterr(err, errlen, "field '%s' must be an integer", key);
        return -1;
    }
    if (!(x >= lo && x <= hi)) {
        vmk_seterr(err, errlen, "field '%s' = %g is out of range (%g..%g)", key, x, lo, hi);
        return -1;
    }
    *out = x;
    return 1;
}

int hv_def_from_json(const cJSON *j, hv_def *d, const char *root, char *err, size_t errlen)
{
    static const char *const known[] = { "name", "engine", "vcpus", "mem_mib", "kernel", "initrd", "bios",
                                         "cmdline", "append", "disks", "nets", "cpu_limit", "cpu_weight",
                                         "pids_max", "created_at", NULL };
    memset(d, 0, sizeof(*d));
    if (!cJSON_IsObject(j)) {
        vmk_seterr(err, errlen, "the VM definition must be a JSON object");
        return -1;
    }
    for (const cJSON *it = j->child; it; it = it->next) {
        bool ok = false;
        for (int i = 0; known[i]; i++) if (it->string && !strcmp(it->string, known[i])) ok = true;
        if (!ok) {
            vmk_seterr(err, errlen, "unknown field '%s'", it->string ? it->string : "?");
            return -1;
        }
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (!cJSON_IsString(n)) {
        vmk_seterr(err, errlen, n ? "field 'name' must be a string" : "missing field 'name'");
        return -1;
    }
    if (!hv_name_ok(n->valuestring)) {
        vmk_seterr(err, errlen, "invalid VM name '%.80s' (use 1-63 of a-z 0-9 _ . -, starting with a letter or digit)",
                   n->valuestring);
        return -1;
    }
    snprintf(d->name, sizeof(d->name), "%s", n->valuestring);
    snprintf(d->engine, sizeof(d->engine), "riscv64");
    d->vcpus = 1;
    d->mem_mib = 256;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "engine");
    if (e) {
        if (!cJSON_IsString(e) || (strcmp(e->valuestring, "riscv64") && strcmp(e->valuestring, "x86_64"))) {
            vmk_seterr(err, errlen, "field 'engine' must be \"riscv64\" or \"x86_64\"");
            goto fail;
        }
        snprintf(d->engine, sizeof(d->engine), "%s", e->valuestring);
    }
    double x;
    int r;
    if ((r = get_num(j, "vcpus", 1, HV_MAX_VCPUS, true, &x, err, errlen)) < 0) goto fail;
    if (r) d->vcpus = (unsigned)x;
    if ((r = get_num(j, "mem_mib", HV_MIN_MEM_MIB, HV_MAX_MEM_MIB, true, &x, err, errlen)) < 0) goto fail;
    if (r) d->mem_mib = (uint64_t)x;
    if ((r = get_num(j, "cpu_limit", 0, HV_MAX_VCPUS, false, &x, err, errlen)) < 0) goto fail;
    if (r) {
        if (x != 0 && x < 0.01) {
            vmk_seterr(err, errlen, "field 'cpu_limit' = %g is too small (at least 0.01 CPU)", x);
            goto fail;
        }
        d->cpu_limit = x;
    }
    if ((r = get_num(j, "cpu_weight", 1, 10000, true, &x, err, errlen)) < 0) goto fail;
    if (r) d->cpu_weight = (unsigned)x;
    if ((r = get_num(j, "pids_max", 16, 1000000, true, &x, err, errlen)) < 0) goto fail;
    if (r) d->pids_max = (unsigned)x;
    if ((r = get_num(j, "created_at", 0, 1e12, true, &x, err, errlen)) < 0) goto fail;
    d->created_at = r ? (int64_t)x : (int64_t)time(NULL);
    if (get_str(j, "kernel", &d->kernel, PATH_MAX, err, errlen) < 0 ||
        get_str(j, "initrd", &d->initrd, PATH_MAX, err, errlen) < 0 ||
        get_str(j, "bios", &d->bios, PATH_MAX, err, errlen) < 0 ||
        get_str(j, "cmdline", &d->cmdline, 4096, err, errlen) < 0 ||
        get_str(j, "append", &d->append, 4096, err, errlen) < 0) goto fail;
    if (d->kernel && check_path("kernel", d->kernel, false, root, err, errlen) < 0) goto fail;
    if (d->initrd && strcmp(d->initrd, "none") && check_path("initrd", d->initrd, false, root, err, errlen) < 0) goto fail;
    if (d->bios && check_path("bios", d->bios, false, root, err, errlen) < 0) goto fail;
    const cJSON *disks = cJSON_GetObjectItemCaseSensitive(j, "disks");
    if (disks) {
        if (!cJSON_IsArray(disks)) { vmk_seterr(err, errlen, "field 'disks' must be an array"); goto fail; }
        if (cJSON_GetArraySize(disks) > HV_MAX_DISKS) {
            vmk_seterr(err, errlen, "at most %d disks", HV_MAX_DISKS);
            goto fail;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, disks) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path"), *ro = cJSON_GetObjectItemCaseSensitive(it, "ro");
            if (!cJSON_IsObject(it) || !cJSON_IsString(p) || (ro && !cJSON_IsBool(ro)) ||
                cJSON_GetArraySize(it) != 1 + (ro != NULL)) {
                vmk_seterr(err, errlen, "each disk must be {\"path\": string, \"ro\": bool}");
                goto fail;
            }
            bool rdonly = ro && cJSON_IsTrue(ro);
            if (strchr(p->valuestring, ',')) {
                vmk_seterr(err, errlen, "disk path '%s' must not contain ','", p->valuestring);
                goto fail;
            }
            if (check_path("drive", p->valuestring, !rdonly, root, err, errlen) < 0) goto fail;
            d->disk_ro[d->ndisks] = rdonly;
            d->disks[d->ndisks++] = vmk_xstrdup(p->valuestring);
        }
    }
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(j, "nets");
    if (nets) {
        if (!cJSON_IsArray(nets)) { vmk_seterr(err, errlen, "field 'nets' must be an array"); goto fail; }
        if (cJSON_GetArraySize(nets) > HV_MAX_NETS) {
            vmk_seterr(err, errlen, "at most %d networks", HV_MAX_NETS);
            goto fail;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, nets) {
            char nerr[VMK_ERRLEN];
            if (!cJSON_IsString(it) || strlen(it->valuestring) > 1024) {
                vmk_seterr(err, errlen, "each entry of 'nets' must be a string");
                goto fail;
            }
            if (virtio_net_parse_spec(it->valuestring, nerr, sizeof(nerr)) < 0) {
                vmk_seterr(err, errlen, "net '%s': %s", it->valuestring, nerr);
                goto fail;
            }
            d->nets[d->nnets++] = vmk_xstrdup(it->valuestring);
        }
    } else {
        d->nets[d->nnets++] = vmk_xstrdup("user");
    }
    return 0;
fail:
    hv_def_free(d);
    return -1;
}

cJSON *hv_def_to_json(const hv_def *d)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", d->name);
    cJSON_AddStringToObject(j, "engine", d->engine);
    cJSON_AddNumberToObject(j, "vcpus", d->vcpus);
    cJSON_AddNumberToObject(j, "mem_mib", (double)d->mem_mib);
    if (d->kernel) cJSON_AddStringToObject(j, "kernel", d->kernel);
    if (d->initrd) cJSON_AddStringToObject(j, "initrd", d->initrd);
    if (d->bios) cJSON_AddStringToObject(j, "bios", d->bios);
    if (d->cmdline) cJSON_AddStringToObject(j, "cmdline", d->cmdline);
    if (d->append) cJSON_AddStringToObject(j, "append", d->append);
    cJSON *disks = cJSON_AddArrayToObject(j, "disks");
    for (unsigned i = 0; i < d->ndisks; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", d->disks[i]);
        cJSON_AddBoolToObject(o, "ro", d->disk_ro[i]);
        cJSON_AddItemToArray(disks, o);
    }
    cJSON *nets = cJSON_AddArrayToObject(j, "nets");
    for (unsigned i = 0; i < d->nnets; i++) cJSON_AddItemToArray(nets, cJSON_CreateString(d->nets[i]));
    if (d->cpu_limit > 0) cJSON_AddNumberToObject(j, "cpu_limit", d->cpu_limit);
    if (d->cpu_weight) cJSON_AddNumberToObject(j, "cpu_weight", d->cpu_weight);
    if (d->pids_max) cJSON_AddNumberToObject(j, "pids_max", d->pids_max);
    cJSON_AddNumberToObject(j, "created_at", (double)d->created_at);
    return j;
}

/* ---------------- SQLite ---------------- */
struct hv_db { sqlite3 *db; };

static int exec_sql(hv_db *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        vmk_seterr(err, errlen, "database: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

hv_db *hv_db_open(const char *path, char *err, size_t errlen)
{
    hv_db *db = vmk_xcalloc(1, sizeof(*db));
    if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL)
        != SQLITE_OK) {
        vmk_seterr(err, errlen, "cannot open database %s: %s", path, db->db ? sqlite3_errmsg(db->db) : "no memory");
        goto fail;
    }
    sqlite3_busy_timeout(db->db, 5000);
    if (exec_sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                     "CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY, engine TEXT NOT NULL,"
                     " vcpus INTEGER NOT NULL, mem_mib INTEGER NOT NULL, kernel TEXT, initrd TEXT, bios TEXT,"
                     " cmdline TEXT, append TEXT, disks TEXT NOT NULL, nets TEXT NOT NULL, cpu_limit REAL,"
                     " cpu_weight INTEGER, pids_max INTEGER, created_at INTEGER NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS runtime (name TEXT PRIMARY KEY REFERENCES vms(name) ON DELETE CASCADE,"
                     " state TEXT NOT NULL, pid INTEGER, pid_start INTEGER, vmm_pid INTEGER, vmm_start INTEGER,"
                     " started_at INTEGER, exit_reason TEXT, jailed INTEGER);", err, errlen) < 0)
        goto fail;
    return db;
fail:
    if (db->db) sqlite3_close(db->db);
    free(db);
    return NULL;
}

void hv_db_close(hv_db *db)
{
    if (!db) return;
    sqlite3_close(db->db);
    free(db);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

static int bind_rt(sqlite3_stmt *st, int first, const hv_rt *rt)
{
    sqlite3_bind_text(st, first, rt->state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, first + 1, rt->pid);
    sqlite3_bind_int64(st, first + 2, (sqlite3_int64)rt->pid_start);
    sqlite3_bind_int(st, first + 3, rt->vmm_pid);
    sqlite3_bind_int64(st, first + 4, (sqlite3_int64)rt->vmm_start);
    sqlite3_bind_int64(st, first + 5, rt->started_at);
    sqlite3_bind_text(st, first + 6, rt->reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, first + 7, rt->jailed);
    return 0;
}

static int step_done(hv_db *db, sqlite3_stmt *st, char *err, size_t errlen)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        vmk_seterr(err, errlen, "database: %s", sqlite3_errmsg(db->db));
        return -1;
    }
    return 0;
}

int hv_db_insert(hv_db *db, const hv_def *d, const hv_rt *rt, char *err, size_t errlen)
{
    if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) < 0) return -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "INSERT INTO vms VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    cJSON *j = hv_def_to_json(d);
    char *disks = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "disks"));
    char *nets = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "nets"));
    cJSON_Delete(j);
    sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, d->engine, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, (int)d->vcpus);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)d->mem_mib);
    bind_text(st, 5, d->kernel);
    bind_text(st, 6, d->initrd);
    bind_text(st, 7, d->bios);
    bind_text(st, 8, d->cmdline);
    bind_text(st, 9, d->append);
    sqlite3_bind_text(st, 10, disks, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, nets, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 12, d->cpu_limit);
    sqlite3_bind_int(st, 13, (int)d->cpu_weight);
    sqlite3_bind_int(st, 14, (int)d->pids_max);
    sqlite3_bind_int64(st, 15, d->created_at);
    cJSON_free(disks);
    cJSON_free(nets);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_CONSTRAINT) {
        vmk_seterr(err, errlen, "a VM named '%s' already exists", d->name);
        exec_sql(db, "ROLLBACK", NULL, 0);
        return -1;
    }
    if (rc != SQLITE_DONE) goto dberr;
    if (sqlite3_prepare_v2(db->db, "INSERT INTO runtime VALUES (?,?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
    bind_rt(st, 2, rt);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE) goto dberr;
    return exec_sql(db, "COMMIT", err, errlen);
dberr:
    vmk_seterr(err, errlen, "database: %s", sqlite3_errmsg(db->db));
    if (st) sqlite3_finalize(st);
    exec_sql(db, "ROLLBACK", NULL, 0);
    return -1;
}

int hv_db_set_rt(hv_db *db, const char *name, const hv_rt *rt, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "UPDATE runtime SET state=?, pid=?, pid_start=?, vmm_pid=?, vmm_start=?,"
                                   " started_at=?, exit_reason=?, jailed=? WHERE name=?", -1, &st, NULL) != SQLITE_OK) {
        vmk_seterr(err, errlen, "database: %s", sqlite3_errmsg(db->db));
        return -1;
    }
    bind_rt(st, 1, rt);
    sqlite3_bind_text(st, 9, name, -1, SQLITE_TRANSIENT);
    return step_done(db, st, err, errlen);
}

int hv_db_delete(hv_db *db, const char *name, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "DELETE FROM vms WHERE name=?", -1, &st, NULL) != SQLITE_OK) {
        vmk_seterr(err, errlen, "database: %s", sqlite3_errmsg(db->db));
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    return step_done(db, st, err, errlen);
}

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? vmk_xstrdup((const char *)t) : NULL;
}

int hv_db_load(hv_db *db, void (*cb)(void *, hv_def *, hv_rt *), void *opaque, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT v.name, engine, vcpus, mem_mib, kernel, initrd, bios, cmdline, append,"
                                   " disks, nets, cpu_limit, cpu_weight, pids_max, created_at, state, pid, pid_start,"
                                   " vmm_pid, vmm_start, started_at, exit_reason, jailed FROM vms v"
                                   " LEFT JOIN runtime r ON r.name = v.name ORDER BY v.created_at, v.name",
                           -1, &st, NULL) != SQLITE_OK) {
        vmk_seterr(err, errlen, "database: %s", sqlite3_errmsg(db->db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hv_def d;
        hv_rt rt;
        memset(&d, 0, sizeof(d));
        memset(&rt, 0, sizeof(rt));
        snprintf(d.name, sizeof(d.name), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(d.engine, sizeof(d.engine), "%s", (const char *)sqlite3_column_text(st, 1));
        d.vcpus = (unsigned)sqlite3_column_int(st, 2);
        d.mem_mib = (uint64_t)sqlite3_column_int64(st, 3);
        d.kernel = col_str(st, 4);
        d.initrd = col_str(st, 5);
        d.bios = col_str(st, 6);
        d.cmdline = col_str(st, 7);
        d.append = col_str(st, 8);
        cJSON *disks = cJSON_Parse((const char *)sqlite3_column_text(st, 9));
        cJSON *nets = cJSON_Parse((const char *)sqlite3_column_text(st, 10));
        const cJSON *it;
        cJSON_ArrayForEach(it, disks) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");
            if (!cJSON_IsString(p) || d.ndisks >= HV_MAX_DISKS) continue;
            d.disk_ro[d.ndisks] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "ro"));
            d.disks[d.ndisks++] = vmk_xstrdup(p->valuestring);
        }
        cJSON_ArrayForEach(it, nets)
            if (cJSON_IsString(it) && d.nnets < HV_MAX_NETS) d.nets[d.nnets++] = vmk_xstrdup(it->valuestring);
        cJSON_Delete(disks);
        cJSON_Delete(nets);
        d.cpu_limit = sqlite3_column_double(st, 11);
        d.cpu_weight = (unsigned)sqlite3_column_int(st, 12);
        d.pids_max = (unsigned)sqlite3_column_int(st, 13);
        d.created_at = sqlite3_column_int64(st, 14);
        const unsigned char *state = sqlite3_column_text(st, 15);
        snprintf(rt.state, sizeof(rt.state), "%s", state ? (const char *)state : "created");
        rt.pid = sqlite3_column_int(st, 16);
        rt.pid_start = (uint64_t)sqlite3_column_int64(st, 17);
        rt.vmm_pid = sqlite3_column_int(st, 18);
        rt.vmm_start = (uint64_t)sqlite3_column_int64(st, 19);
        rt.started_at = sqlite3_column_int64(st, 20);
        const unsigned char *reason = sqlite3_column_text(st, 21);
        snprintf(rt.reason, sizeof(rt.reason), "%s", reason ? (const char *)reason : "");
        rt.jailed = sqlite3_column_int(st, 22) != 0;
        cb(opaque, &d, &rt);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        vmk_seterr(err, errlen, "database: %s", sqlite3_errmsg(db->db));
        return -1;
    }
    return 0;
}
