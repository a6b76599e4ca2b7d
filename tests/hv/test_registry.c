/* test_registry.c — the daemon's registry (src/hv/registry.c): VM names, validation of definitions
 * given as JSON (types, ranges, unknown fields, paths), the JSON round trip, and the SQLite store
 * (insert, duplicate refused, runtime updates, delete, everything back after a reopen). */
#include "hv/hv.h"
#include "base/base.h"
#include "../test.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

static int from(const char *json, hv_def *d, const char *root, char *err)
{
    cJSON *j = cJSON_Parse(json);
    int rc = hv_def_from_json(j, d, root, err, VMK_ERRLEN);
    cJSON_Delete(j);
    return rc;
}

static hv_def g_loaded[4];
static hv_rt g_rt[4];
static int g_n;
static void load_cb(void *o, hv_def *d, hv_rt *rt)
{
    (void)o;
    if (g_n < 4) { g_loaded[g_n] = *d; g_rt[g_n++] = *rt; }
    else hv_def_free(d);
}

int main(void)
{
    char err[VMK_ERRLEN], dir[] = "/tmp/vmkit-testreg.XXXXXX", path[256], disk[256];
    if (!mkdtemp(dir)) return 1;
    snprintf(disk, sizeof(disk), "%s/disk.img", dir);
    FILE *f = fopen(disk, "w");
    if (f) { fputs("x", f); fclose(f); }

    TEST_BEGIN("hv_name_ok");
    CHECK(hv_name_ok("a") && hv_name_ok("web-1.prod_2") && hv_name_ok("0abc"));
    CHECK(!hv_name_ok("") && !hv_name_ok("-a") && !hv_name_ok(".a") && !hv_name_ok("A") && !hv_name_ok("a/b"));
    CHECK(!hv_name_ok("a b") && !hv_name_ok(".."));
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = 0;
    CHECK(!hv_name_ok(longname));
    longname[63] = 0;
    CHECK(hv_name_ok(longname));
    TEST_END();

    TEST_BEGIN("hv_def_validation");
    hv_def d;
    CHECK(from("{\"name\":\"a\"}", &d, NULL, err) == 0 && d.vcpus == 1 && d.mem_mib == 256 && d.nnets == 1 &&
          !strcmp(d.nets[0], "user") && !strcmp(d.engine, "riscv64"));
    hv_def_free(&d);
    CHECK(from("{\"name\":\"a\",\"nets\":[]}", &d, NULL, err) == 0 && d.nnets == 0);
    hv_def_free(&d);
    CHECK(from("[]", &d, NULL, err) < 0 && strstr(err, "object"));
    CHECK(from("{\"name\":\"a\",\"x\":1}", &d, NULL, err) < 0 && strstr(err, "unknown field 'x'"));
    CHECK(from("{\"name\":1}", &d, NULL, err) < 0 && strstr(err, "'name' must be a string"));
    CHECK(from("{\"name\":\"a\",\"vcpus\":33}", &d, NULL, err) < 0 && strstr(err, "out of range"));
    CHECK(from("{\"name\":\"a\",\"vcpus\":0}", &d, NULL, err) < 0);
    CHECK(from("{\"name\":\"a\",\"vcpus\":true}", &d, NULL, err) < 0 && strstr(err, "must be a number"));
    CHECK(from("{\"name\":\"a\",\"mem_mib\":65537}", &d, NULL, err) < 0);
    CHECK(from("{\"name\":\"a\",\"mem_mib\":1e300}", &d, NULL, err) < 0);
    CHECK(from("{\"name\":\"a\",\"cpu_limit\":0.001}", &d, NULL, err) < 0 && strstr(err, "too small"));
    CHECK(from("{\"name\":\"a\",\"kernel\":\"rel/Image\"}", &d, NULL, err) < 0 && strstr(err, "absolute"));
    CHECK(from("{\"name\":\"a\",\"kernel\":\"/tmp/../etc/passwd\"}", &d, NULL, err) < 0 && strstr(err, "'..'"));
    CHECK(from("{\"name\":\"a\",\"disks\":[{\"path\":\"/nonexistent/d\"}]}", &d, NULL, err) < 0 && strstr(err, "No such file"));
    CHECK(from("{\"name\":\"a\",\"disks\":[\"/x\"]}", &d, NULL, err) < 0 && strstr(err, "each disk"));
    CHECK(from("{\"name\":\"a\",\"nets\":[\"tap=\"]}", &d, NULL, err) < 0 && strstr(err, "net 'tap='"));
    CHECK(from("{\"name\":\"a\",\"engine\":\"arm64\"}", &d, NULL, err) < 0);
    char js[600];
    snprintf(js, sizeof(js), "{\"name\":\"a\",\"disks\":[{\"path\":\"%s\",\"ro\":true}]}", disk);
    CHECK(from(js, &d, NULL, err) == 0 && d.ndisks == 1 && d.disk_ro[0]);
    hv_def_free(&d);
    CHECK(from(js, &d, "/usr", err) < 0 && strstr(err, "outside the allowed root"));
    CHECK(from(js, &d, dir, err) == 0);
    hv_def_free(&d);
    TEST_END();

    TEST_BEGIN("hv_def_json_round_trip");
    snprintf(js, sizeof(js), "{\"name\":\"rt\",\"vcpus\":2,\"mem_mib\":128,\"cmdline\":\"console=ttyS0\",\"append\":\"x=1\","
             "\"disks\":[{\"path\":\"%s\",\"ro\":false}],\"nets\":[\"user,hostfwd=tcp::8080-:80\"],\"cpu_limit\":0.5,"
             "\"cpu_weight\":200,\"pids_max\":64,\"engine\":\"x86_64\"}", disk);
    CHECK(from(js, &d, NULL, err) == 0);
    cJSON *j = hv_def_to_json(&d);
    hv_def d2;
    CHECK(hv_def_from_json(j, &d2, NULL, err, sizeof(err)) == 0);
    cJSON_Delete(j);
    CHECK(d2.vcpus == 2 && d2.mem_mib == 128 && d2.cpu_limit == 0.5 && d2.cpu_weight == 200 && d2.pids_max == 64 &&
          !strcmp(d2.engine, "x86_64") && !strcmp(d2.append, "x=1") && d2.nnets == 1 && d2.ndisks == 1 &&
          d2.created_at == d.created_at);
    hv_def_free(&d2);
    TEST_END();

    TEST_BEGIN("hv_db_store");
    snprintf(path, sizeof(path), "%s/vmkit.db", dir);
    hv_db *db = hv_db_open(path, err, sizeof(err));
    CHECK(db != NULL);
    hv_rt rt = { .state = "created" };
    CHECK(db && hv_db_insert(db, &d, &rt, err, sizeof(err)) == 0);
    CHECK(db && hv_db_insert(db, &d, &rt, err, sizeof(err)) < 0 && strstr(err, "already exists"));
    hv_def e;
    CHECK(from("{\"name\":\"second\",\"nets\":[]}", &e, NULL, err) == 0);
    CHECK(db && hv_db_insert(db, &e, &rt, err, sizeof(err)) == 0);
    hv_rt r2 = { .state = "running", .pid = 1234, .pid_start = 99, .vmm_pid = 1235, .vmm_start = 100,
                 .started_at = 1700000000, .reason = "", .jailed = true };
    CHECK(db && hv_db_set_rt(db, "rt", &r2, err, sizeof(err)) == 0);
    CHECK(db && hv_db_delete(db, "second", err, sizeof(err)) == 0);
    hv_db_close(db);
    db = hv_db_open(path, err, sizeof(err));
    g_n = 0;
    CHECK(db && hv_db_load(db, load_cb, NULL, err, sizeof(err)) == 0);
    CHECK(g_n == 1 && !strcmp(g_loaded[0].name, "rt") && g_loaded[0].vcpus == 2 && g_loaded[0].ndisks == 1 &&
          !strcmp(g_loaded[0].disks[0], disk) && !g_loaded[0].disk_ro[0] && g_loaded[0].nnets == 1 &&
          g_loaded[0].cpu_limit == 0.5 && !strcmp(g_rt[0].state, "running") && g_rt[0].pid == 1234 &&
          g_rt[0].pid_start == 99 && g_rt[0].vmm_pid == 1235 && g_rt[0].jailed);
    for (int i = 0; i < g_n; i++) hv_def_free(&g_loaded[i]);
    hv_db_close(db);
    hv_def_free(&d);
    hv_def_free(&e);
    TEST_END();

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {}
    TEST_EXIT();
}
