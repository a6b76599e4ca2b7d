/* api.c — the per-VM API served by the VMM (`vmkit run --api-sock`): a Firecracker-compatible subset
 * (machine-config, boot-source, drives, network-interfaces, actions, vm state, logger, metrics,
 * snapshot create/load) plus vmkit extensions (stats, live migration, a jail test hook). Request
 * bodies are validated strictly (unknown fields, types, ranges) and answered 400 + fault_message.
 * The API threads never run the guest: starting and restoring are handed to the thread waiting in
 * vmk_api_wait_vm. See docs/firecracker-api.md and the interface in vm.h. */
#include "vm_impl.h"
#include "../hv/hv.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define API_VERSION  "0.1.0"
#define API_MAX_CPUS 32u
#define API_MIN_MIB  32u
#define API_MAX_MIB  65536u
#define ID_MAX       64
#define NOT_AFTER_START "The requested operation is not supported after starting the microVM."

typedef struct api_drive { char *id, *path; bool root, ro; } api_drive;
typedef struct api_net { char *id, *host_dev, *vmkit_net, *mac_str; uint8_t mac[6]; } api_net;

enum { ST_IDLE, ST_BUSY, ST_UP, ST_DONE };      /* not started, starting/restoring, attached, exited */
enum { REQ_NONE, REQ_START, REQ_LOAD };

struct vmk_api {
    vmk_http_server *srv;
    pthread_mutex_t mu;            /* everything below */
    pthread_cond_t cv;
    pthread_mutex_t ctl;           /* one pause/resume/snapshot at a time */
    char *id;
    /* configuration (strings owned) */
    vmk_engine_kind engine;
    unsigned ncpus;
    uint64_t mem_mib;
    bool track_dirty;
    char *kernel, *initrd, *bios, *boot_args;
    bool boot_set;                 /* PUT /boot-source happened */
    api_drive drives[VMK_VM_MAX_DISKS];
    unsigned ndrives;
    api_net nets[VMK_VM_MAX_NETS];
    unsigned nnets;
    char *console, *restore_console;
    bool no_rng;
    char *x86_kernel, *x86_initrd, *x86_cmdline;
    vmk_vm_config cfg;             /* assembled for the start (strings owned) */
    /* lifecycle */
    int st;
    vmk_vm *vm;
    unsigned users;                /* requests using vm */
    bool waiting;                  /* a thread is in vmk_api_wait_vm */
    bool booted;                   /* the VM was built by InstanceStart (guest_mac applies) */
    int req;
    bool req_done;
    char req_err[VMK_ERRLEN];
    char *load_dir, *load_clone_dir;
    unsigned load_clone_index;
    bool load_force, load_resume;
    int pipe[2];
    volatile sig_atomic_t interrupted;
    /* metrics, migration */
    int metrics_fd;
    bool mig_active, migrated, mig_seen;
    vmk_migrate_progress mig;
    char mig_phase[16];
    void (*test_hook)(void);
};

/* ---------------- small helpers ---------------- */

static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? vmk_xstrdup(src) : NULL;
}

static char *json_out(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *r = vmk_xstrdup(s ? s : "{}");
    cJSON_free(s);
    return r;
}

static void reply_json(vmk_http_resp *resp, cJSON *o) { resp->status = 200; resp->body = json_out(o); }

/* A regular file we can read (and write when want_write); NULL or why not. */
static const char *check_file(const char *path, bool want_write)
{
    struct stat st;
    if (!*path) return "empty path";
    if (strlen(path) >= PATH_MAX) return "path too long";
    if (stat(path, &st) != 0) return strerror(errno);
    if (S_ISDIR(st.st_mode)) return "is a directory";
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) return "not a regular file";
    if (access(path, want_write ? (R_OK | W_OK) : R_OK) != 0) return strerror(errno);
    return NULL;
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > ID_MAX) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return -1;
    for (int i = 0; i < 6; i++) {
        if (!((s[i * 3] >= '0' && s[i * 3] <= '9') || strchr("abcdefABCDEF", s[i * 3]))) return -1;
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

/* ---------------- strict JSON bodies ---------------- */

/* The body as a JSON object whose members are all in known (NULL-terminated), none twice. */
/* One field of a request body. A request's table (ended by a NULL name) lists every field it knows
 * (any other is refused) and checks them in table order: 's' a string, 'b' a boolean, 'u' an integer
 * in [lo, hi], 'x' known but not supported (an error when present and not null; v.what says what),
 * 'o' checked by the handler. has (optional) is set when the field is present. */
typedef struct api_field {
    const char *name;
    char type;
    bool required;
    union { const char **s; bool *b; uint64_t *u; const char *what; } v;
    uint64_t lo, hi;
    bool *has;
} api_field;
#define F_STR(n, req, p, has)        { n, 's', req, { .s = p }, 0, 0, has }
#define F_BOOL(n, req, p, has)       { n, 'b', req, { .b = p }, 0, 0, has }
#define F_UINT(n, req, p, lo, hi, has) { n, 'u', req, { .u = p }, lo, hi, has }
#define F_UNSUP(n, w)                { n, 'x', false, { .what = w }, 0, 0, NULL }
#define F_OBJ(n)                     { n, 'o', false, { NULL }, 0, 0, NULL }
#define F_END                        { NULL, 0, false, { NULL }, 0, 0, NULL }

static cJSON *parse_obj(const vmk_http_req *req, const api_field *known, char *err, size_t errlen)
{
    if (!req->body_len) { vmk_seterr(err, errlen, "missing request body (a JSON object)"); return NULL; }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, false);
    if (j && end) {
        while (end < req->body + req->body_len && strchr(" \t\r\n", *end)) end++;
        if (end != req->body + req->body_len) { cJSON_Delete(j); j = NULL; }
    }
    if (!j) { vmk_seterr(err, errlen, "malformed JSON in the request body"); return NULL; }
    if (!cJSON_IsObject(j)) { vmk_seterr(err, errlen, "the request body must be a JSON object"); goto bad; }
    for (cJSON *c = j->child; c; c = c->next) {
        bool ok = false;
        for (const api_field *k = known; k->name && !ok; k++) ok = !strcmp(c->string, k->name);
        if (!ok) { vmk_seterr(err, errlen, "unknown field '%.64s'", c->string); goto bad; }
        for (cJSON *d = c->next; d; d = d->next)
            if (!strcmp(c->string, d->string)) { vmk_seterr(err, errlen, "duplicate field '%.64s'", c->string); goto bad; }
    }
    return j;
bad:
    cJSON_Delete(j);
    return NULL;
}

/* Field getters: 1 present (value stored), 0 absent (or null when allowed) and not required, -1 error. */
static int get_str(cJSON *o, const char *k, bool required, const char **out, char *err, size_t errlen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || (cJSON_IsNull(v) && !required)) {
        if (required) { vmk_seterr(err, errlen, "missing field '%s'", k); return -1; }
        return 0;
    }
    if (!cJSON_IsString(v)) { vmk_seterr(err, errlen, "field '%s' must be a string", k); return -1; }
    if (strlen(v->valuestring) >= PATH_MAX) { vmk_seterr(err, errlen, "field '%s' is too long", k); return -1; }
    *out = v->valuestring;
    return 1;
}

static int get_bool(cJSON *o, const char *k, bool required, bool *out, char *err, size_t errlen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) {
        if (required) { vmk_seterr(err, errlen, "missing field '%s'", k); return -1; }
        return 0;
    }
    if (!cJSON_IsBool(v)) { vmk_seterr(err, errlen, "field '%s' must be a boolean", k); return -1; }
    *out = cJSON_IsTrue(v);
    return 1;
}

static int get_uint(cJSON *o, const char *k, bool required, uint64_t lo, uint64_t hi, uint64_t *out,
                    char *err, size_t errlen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) {
        if (required) { vmk_seterr(err, errlen, "missing field '%s'", k); return -1; }
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0) {
        vmk_seterr(err, errlen, "field '%s' must be a non-negative integer", k);
        return -1;
    }
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        vmk_seterr(err, errlen, "field '%s' = %.6g is out of range (%llu..%llu)", k, v->valuedouble,
                   (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = (uint64_t)v->valuedouble;
    return 1;
}

/* A field vmkit knows but does not implement: present and not null -> error. */
static int unsupported(cJSON *o, const char *k, const char *what, char *err, size_t errlen)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (v && !cJSON_IsNull(v)) { vmk_seterr(err, errlen, "%s is not supported by vmkit", what); return -1; }
    return 0;
}


/* The body as a JSON object whose fields pass the table f; NULL with err set otherwise. */
static cJSON *parse_fields(const vmk_http_req *req, const api_field *f, char *err, size_t errlen)
{
    cJSON *j = parse_obj(req, f, err, errlen);
    for (; j && f->name; f++) {
        int r = 0;
        switch (f->type) {
        case 's': r = get_str(j, f->name, f->required, f->v.s, err, errlen); break;
        case 'b': r = get_bool(j, f->name, f->required, f->v.b, err, errlen); break;
        case 'u': r = get_uint(j, f->name, f->required, f->lo, f->hi, f->v.u, err, errlen); break;
        case 'x': r = unsupported(j, f->name, f->v.what, err, errlen); break;
        default: break;
        }
        if (r < 0) { cJSON_Delete(j); return NULL; }
        if (f->has) *f->has = r > 0;
    }
    return j;
}

/* Ends a request handler: frees the body; 204, or 400 with err. */
static void finish(vmk_http_resp *resp, cJSON *j, const char *err)
{
    cJSON_Delete(j);
    if (err) vmk_http_error(resp, 400, "%s", err);
    else resp->status = 204;
}

/* ---------------- the attached VM ---------------- */

static vmk_vm *use_vm(vmk_api *a)
{
    pthread_mutex_lock(&a->mu);
    vmk_vm *vm = a->st == ST_UP ? a->vm : NULL;
    if (vm) a->users++;
    pthread_mutex_unlock(&a->mu);
    return vm;
}

static void release_vm(vmk_api *a)
{
    pthread_mutex_lock(&a->mu);
    a->users--;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static const char *state_of(vmk_api *a)
{
    vmk_vm *vm = use_vm(a);
    if (vm) {
        const char *s = vmk_vm_is_paused(vm) ? "Paused" : "Running";
        release_vm(a);
        return s;
    }
    pthread_mutex_lock(&a->mu);
    int st = a->st;
    pthread_mutex_unlock(&a->mu);
    return st == ST_DONE ? "Stopped" : "Not started";
}

/* vmk_vm_stats as JSON (exact 64-bit integers), with "state". */
static char *stats_json(const vmk_vm_stats *s, const char *state)
{
    char *b = vmk_xmalloc(1024);
    snprintf(b, 1024,
             "{\"state\":\"%s\",\"uptime_ns\":%llu,\"cpu_ns\":%llu,\"instret\":%llu,\"mem_size\":%llu,"
             "\"rss_bytes\":%llu,\"disk_rd_bytes\":%llu,\"disk_wr_bytes\":%llu,\"disk_flushes\":%llu,"
             "\"net_rx_bytes\":%llu,\"net_tx_bytes\":%llu,\"ncpus\":%u,\"paused\":%s,\"broken_device\":%s}",
             state, (unsigned long long)s->uptime_ns, (unsigned long long)s->cpu_ns, (unsigned long long)s->instret,
             (unsigned long long)s->mem_size, (unsigned long long)s->rss_bytes, (unsigned long long)s->disk_rd_bytes,
             (unsigned long long)s->disk_wr_bytes, (unsigned long long)s->disk_flushes,
             (unsigned long long)s->net_rx_bytes, (unsigned long long)s->net_tx_bytes, s->ncpus,
             s->paused ? "true" : "false", s->broken_device ? "true" : "false");
    return b;
}

/* ---------------- configuration ---------------- */

static void cfg_clear(vmk_vm_config *c)
{
    free((char *)c->kernel);
    free((char *)c->initrd);
    free((char *)c->bios);
    free((char *)c->cmdline);
    free((char *)c->console);
    for (unsigned i = 0; i < c->ndisks; i++) free((char *)c->disks[i].path);
    for (unsigned i = 0; i < c->nnets; i++) free((char *)c->nets[i]);
    memset(c, 0, sizeof(*c));
}

static char *dup0(const char *s) { return s ? vmk_xstrdup(s) : NULL; }

/* The vmk_vm_config the API's settings describe (called with mu held). Firecracker semantics: the
 * root device is the first disk and "root=/dev/vda ro|rw" is appended unless boot_args name a root. */
static void assemble(vmk_api *a)
{
    vmk_vm_config *c = &a->cfg;
    cfg_clear(c);
    c->engine = a->engine;
    c->ncpus = a->ncpus;
    c->mem_size = a->mem_mib << 20;
    bool x86_default = a->engine == VMK_ENGINE_KVM_X86 && !a->boot_set && a->x86_kernel;
    c->kernel = dup0(x86_default ? a->x86_kernel : a->kernel);
    c->initrd = dup0(x86_default ? a->x86_initrd : a->initrd);
    c->bios = a->engine == VMK_ENGINE_KVM_X86 ? NULL : dup0(a->bios);
    const char *args = x86_default && a->x86_cmdline ? a->x86_cmdline : a->boot_args;
    const api_drive *root = NULL;
    for (unsigned i = 0; i < a->ndrives; i++)
        if (a->drives[i].root) root = &a->drives[i];
    if (root && (!args || !strstr(args, "root="))) {
        size_t n = (args ? strlen(args) : 0) + 32;
        char *s = vmk_xmalloc(n);
        snprintf(s, n, "%s%sroot=/dev/vda %s", args ? args : "", args && *args ? " " : "", root->ro ? "ro" : "rw");
        c->cmdline = s;
    } else {
        c->cmdline = dup0(args);
    }
    if (root) {
        c->disks[c->ndisks].path = vmk_xstrdup(root->path);
        c->disks[c->ndisks++].readonly = root->ro;
    }
    for (unsigned i = 0; i < a->ndrives; i++) {
        if (&a->drives[i] == root) continue;
        c->disks[c->ndisks].path = vmk_xstrdup(a->drives[i].path);
        c->disks[c->ndisks++].readonly = a->drives[i].ro;
    }
    for (unsigned i = 0; i < a->nnets; i++) {
        const api_net *n = &a->nets[i];
        if (n->host_dev) {
            size_t len = strlen(n->host_dev) + 5;
            char *s = vmk_xmalloc(len);
            snprintf(s, len, "tap=%s", n->host_dev);
            c->nets[c->nnets++] = s;
        } else {
            c->nets[c->nnets++] = vmk_xstrdup(n->vmkit_net);
        }
    }
    c->console = dup0(a->console);
    c->no_rng = a->no_rng;
}

/* Pre-boot configuration requests take mu and check the state with this. */
static bool lock_idle(vmk_api *a, vmk_http_resp *resp)
{
    pthread_mutex_lock(&a->mu);
    if (a->st == ST_IDLE) return true;
    pthread_mutex_unlock(&a->mu);
    vmk_http_error(resp, 400, NOT_AFTER_START);
    return false;
}

static cJSON *machine_json(vmk_api *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "vcpu_count", a->ncpus);
    cJSON_AddNumberToObject(o, "mem_size_mib", (double)a->mem_mib);
    cJSON_AddBoolToObject(o, "smt", false);
    cJSON_AddBoolToObject(o, "track_dirty_pages", a->track_dirty);
    cJSON_AddStringToObject(o, "vmkit_arch", vmk_engine_name(a->engine));
    return o;
}

static void put_machine_config(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp, bool patch)
{
    char err[VMK_ERRLEN];
    uint64_t cpus = 0, mib = 0;
    bool smt = false, track = false, hc, hm, ht, ha;
    const char *arch = NULL, *tmpl = NULL, *huge = NULL;
    vmk_engine_kind eng = VMK_ENGINE_RISCV;
    const api_field f[] = {
        F_UINT("vcpu_count", !patch, &cpus, 1, API_MAX_CPUS, &hc),
        F_UINT("mem_size_mib", !patch, &mib, API_MIN_MIB, API_MAX_MIB, &hm),
        F_BOOL("smt", false, &smt, NULL),
        F_BOOL("track_dirty_pages", false, &track, &ht),
        F_STR("cpu_template", false, &tmpl, NULL),
        F_STR("huge_pages", false, &huge, NULL),
        F_STR("vmkit_arch", false, &arch, &ha),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    if (smt) { vmk_seterr(err, sizeof(err), "smt is not supported by vmkit (must be false)"); goto bad; }
    if (tmpl && strcmp(tmpl, "None")) { vmk_seterr(err, sizeof(err), "CPU templates are not supported by vmkit"); goto bad; }
    if (huge && strcmp(huge, "None")) { vmk_seterr(err, sizeof(err), "huge pages are not supported by vmkit"); goto bad; }
    if (ha && vmk_engine_parse(arch, &eng) < 0) {
        vmk_seterr(err, sizeof(err), "vmkit_arch '%.32s' is not riscv64 or x86_64", arch);
        goto bad;
    }
    if (!lock_idle(a, resp)) { cJSON_Delete(j); return; }
    if (hc) a->ncpus = (unsigned)cpus;
    if (hm) a->mem_mib = mib;
    if (ht) a->track_dirty = track;
    if (ha) a->engine = eng;
    pthread_mutex_unlock(&a->mu);
    finish(resp, j, NULL);
    return;
bad:
    finish(resp, j, err);
}

static void put_boot_source(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    const char *kernel = NULL, *args = NULL, *initrd = NULL, *bios = NULL, *why;
    bool ha, hb;
    const api_field f[] = {
        F_STR("kernel_image_path", true, &kernel, NULL),
        F_STR("boot_args", false, &args, &ha),
        F_STR("initrd_path", false, &initrd, NULL),
        F_STR("vmkit_bios_path", false, &bios, &hb),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    if ((why = check_file(kernel, false))) { vmk_seterr(err, sizeof(err), "kernel_image_path '%.200s': %s", kernel, why); goto bad; }
    if (initrd && (why = check_file(initrd, false))) { vmk_seterr(err, sizeof(err), "initrd_path '%.200s': %s", initrd, why); goto bad; }
    if (bios && (why = check_file(bios, false))) { vmk_seterr(err, sizeof(err), "vmkit_bios_path '%.200s': %s", bios, why); goto bad; }
    if (args && strlen(args) > 4096) { vmk_seterr(err, sizeof(err), "boot_args is too long (at most 4096 bytes)"); goto bad; }
    if (!lock_idle(a, resp)) { cJSON_Delete(j); return; }
    set_str(&a->kernel, kernel);
    set_str(&a->initrd, initrd);
    if (ha) set_str(&a->boot_args, args);
    if (hb) set_str(&a->bios, bios);
    a->boot_set = true;
    pthread_mutex_unlock(&a->mu);
    finish(resp, j, NULL);
    return;
bad:
    finish(resp, j, err);
}

static void put_drive(vmk_api *a, const char *id, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    if (!id_ok(id)) { vmk_http_error(resp, 400, "invalid drive id (1-%d letters, digits, '_' or '-')", ID_MAX); return; }
    const char *did = NULL, *path = NULL, *cache = NULL, *io = NULL, *why;
    bool root = false, ro = false;
    const api_field f[] = {
        F_STR("drive_id", true, &did, NULL),
        F_STR("path_on_host", true, &path, NULL),
        F_BOOL("is_root_device", true, &root, NULL),
        F_BOOL("is_read_only", false, &ro, NULL),
        F_STR("cache_type", false, &cache, NULL),
        F_STR("io_engine", false, &io, NULL),
        F_UNSUP("rate_limiter", "rate_limiter"),
        F_UNSUP("partuuid", "partuuid"),
        F_UNSUP("socket", "vhost-user drives (socket)"),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    if (strcmp(did, id)) {
        vmk_seterr(err, sizeof(err), "the drive_id in the body ('%.64s') does not match the path ('%s')", did, id);
        goto bad;
    }
    if (cache && strcmp(cache, "Unsafe") && strcmp(cache, "Writeback")) {
        vmk_seterr(err, sizeof(err), "cache_type '%.32s' is not Unsafe or Writeback", cache);
        goto bad;
    }
    if (io && strcmp(io, "Sync")) { vmk_seterr(err, sizeof(err), "io_engine '%.32s' is not supported (only Sync)", io); goto bad; }
    if ((why = check_file(path, !ro))) { vmk_seterr(err, sizeof(err), "path_on_host '%.200s': %s", path, why); goto bad; }
    if (!lock_idle(a, resp)) { cJSON_Delete(j); return; }
    unsigned i;
    for (i = 0; i < a->ndrives && strcmp(a->drives[i].id, id); i++) {}
    for (unsigned k = 0; k < a->ndrives; k++)
        if (k != i && root && a->drives[k].root) {
            pthread_mutex_unlock(&a->mu);
            vmk_seterr(err, sizeof(err), "a root block device already exists ('%s')", a->drives[k].id);
            goto bad;
        }
    if (i == a->ndrives) {
        if (a->ndrives >= VMK_VM_MAX_DISKS) {
            pthread_mutex_unlock(&a->mu);
            vmk_seterr(err, sizeof(err), "too many drives (at most %d)", VMK_VM_MAX_DISKS);
            goto bad;
        }
        a->drives[a->ndrives++].id = vmk_xstrdup(id);
    }
    set_str(&a->drives[i].path, path);
    a->drives[i].root = root;
    a->drives[i].ro = ro;
    pthread_mutex_unlock(&a->mu);
    finish(resp, j, NULL);
    return;
bad:
    finish(resp, j, err);
}

static void put_net(vmk_api *a, const char *id, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN], perr[VMK_ERRLEN];
    if (!id_ok(id)) { vmk_http_error(resp, 400, "invalid interface id (1-%d letters, digits, '_' or '-')", ID_MAX); return; }
    const char *iid = NULL, *dev = NULL, *mac = NULL, *spec = NULL;
    uint8_t macb[6];
    const api_field f[] = {
        F_STR("iface_id", true, &iid, NULL),
        F_STR("host_dev_name", false, &dev, NULL),
        F_STR("guest_mac", false, &mac, NULL),
        F_STR("vmkit_net", false, &spec, NULL),
        F_UNSUP("rx_rate_limiter", "rx_rate_limiter"),
        F_UNSUP("tx_rate_limiter", "tx_rate_limiter"),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    if (strcmp(iid, id)) {
        vmk_seterr(err, sizeof(err), "the iface_id in the body ('%.64s') does not match the path ('%s')", iid, id);
        goto bad;
    }
    if (dev && spec) { vmk_seterr(err, sizeof(err), "give host_dev_name or vmkit_net, not both"); goto bad; }
    if (!dev && !spec) { vmk_seterr(err, sizeof(err), "missing field 'host_dev_name' (or the vmkit extension 'vmkit_net')"); goto bad; }
    if (dev) {
        char t[PATH_MAX + 8];
        snprintf(t, sizeof(t), "tap=%s", dev);
        if (virtio_net_parse_spec(t, perr, sizeof(perr)) < 0) { vmk_seterr(err, sizeof(err), "host_dev_name: %s", perr); goto bad; }
    } else if (virtio_net_parse_spec(spec, perr, sizeof(perr)) < 0) {
        vmk_seterr(err, sizeof(err), "vmkit_net: %s", perr);
        goto bad;
    }
    if (mac && parse_mac(mac, macb) < 0) { vmk_seterr(err, sizeof(err), "guest_mac '%.32s' is not a MAC address (xx:xx:xx:xx:xx:xx)", mac); goto bad; }
    if (mac && (macb[0] & 1)) { vmk_seterr(err, sizeof(err), "guest_mac '%s' is a multicast address", mac); goto bad; }
    if (!lock_idle(a, resp)) { cJSON_Delete(j); return; }
    unsigned i;
    for (i = 0; i < a->nnets && strcmp(a->nets[i].id, id); i++) {}
    if (i == a->nnets) {
        if (a->nnets >= VMK_VM_MAX_NETS) {
            pthread_mutex_unlock(&a->mu);
            vmk_seterr(err, sizeof(err), "too many network interfaces (at most %d)", VMK_VM_MAX_NETS);
            goto bad;
        }
        a->nets[a->nnets++].id = vmk_xstrdup(id);
    }
    api_net *n = &a->nets[i];
    set_str(&n->host_dev, dev);
    set_str(&n->vmkit_net, spec);
    set_str(&n->mac_str, mac);
    if (mac) memcpy(n->mac, macb, 6);
    pthread_mutex_unlock(&a->mu);
    finish(resp, j, NULL);
    return;
bad:
    finish(resp, j, err);
}

static void get_vm_config(vmk_api *a, vmk_http_resp *resp)
{
    pthread_mutex_lock(&a->mu);
    cJSON *o = cJSON_CreateObject();
    cJSON *b = cJSON_AddObjectToObject(o, "boot-source");
    if (a->kernel) cJSON_AddStringToObject(b, "kernel_image_path", a->kernel);
    if (a->initrd) cJSON_AddStringToObject(b, "initrd_path", a->initrd);
    if (a->boot_args) cJSON_AddStringToObject(b, "boot_args", a->boot_args);
    if (a->bios) cJSON_AddStringToObject(b, "vmkit_bios_path", a->bios);
    cJSON *d = cJSON_AddArrayToObject(o, "drives");
    for (unsigned i = 0; i < a->ndrives; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "drive_id", a->drives[i].id);
        cJSON_AddStringToObject(x, "path_on_host", a->drives[i].path);
        cJSON_AddBoolToObject(x, "is_root_device", a->drives[i].root);
        cJSON_AddBoolToObject(x, "is_read_only", a->drives[i].ro);
        cJSON_AddItemToArray(d, x);
    }
    cJSON_AddItemToObject(o, "machine-config", machine_json(a));
    cJSON *n = cJSON_AddArrayToObject(o, "network-interfaces");
    for (unsigned i = 0; i < a->nnets; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "iface_id", a->nets[i].id);
        if (a->nets[i].host_dev) cJSON_AddStringToObject(x, "host_dev_name", a->nets[i].host_dev);
        if (a->nets[i].vmkit_net) cJSON_AddStringToObject(x, "vmkit_net", a->nets[i].vmkit_net);
        if (a->nets[i].mac_str) cJSON_AddStringToObject(x, "guest_mac", a->nets[i].mac_str);
        cJSON_AddItemToArray(n, x);
    }
    pthread_mutex_unlock(&a->mu);
    reply_json(resp, o);
}

/* ---------------- logger and metrics ---------------- */

static void put_logger(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    (void)a;
    const char *path = NULL, *level = NULL, *module = NULL;
    bool b;
    int lv = vmk_log_level;
    const api_field f[] = {
        F_STR("log_path", false, &path, NULL),
        F_STR("level", false, &level, NULL),
        F_BOOL("show_level", false, &b, NULL),
        F_BOOL("show_log_origin", false, &b, NULL),
        F_STR("module", false, &module, NULL),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    if (level) {
        static const char *const names[] = { "Error", "Warning", "Info", "Debug", "Trace" };
        lv = -2;
        for (int i = 0; i < 5; i++)
            if (!strcasecmp(level, names[i])) lv = i < 4 ? i : VMK_LOG_DEBUG;
        if (!strcasecmp(level, "Off")) lv = -1;
        if (lv == -2) { vmk_seterr(err, sizeof(err), "level '%.32s' is not Error, Warning, Info, Debug, Trace or Off", level); goto bad; }
    }
    if (path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) { vmk_seterr(err, sizeof(err), "log_path '%.200s': %s", path, strerror(errno)); goto bad; }
        struct stat st;
        if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode) || dup2(fd, 2) < 0) {
            close(fd);
            vmk_seterr(err, sizeof(err), "log_path '%.200s': cannot log there", path);
            goto bad;
        }
        close(fd);
    }
    vmk_log_level = lv;
    finish(resp, j, NULL);
    return;
bad:
    finish(resp, j, err);
}

static void put_metrics(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    const char *path = NULL;
    const api_field f[] = { F_STR("metrics_path", true, &path, NULL), F_END };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        vmk_seterr(err, sizeof(err), "metrics_path '%.200s': %s", path, fd < 0 ? strerror(errno) : "is a directory");
        if (fd >= 0) close(fd);
        goto bad;
    }
    pthread_mutex_lock(&a->mu);
    if (a->metrics_fd >= 0) close(a->metrics_fd);
    a->metrics_fd = fd;
    pthread_mutex_unlock(&a->mu);
    finish(resp, j, NULL);
    return;
bad:
    finish(resp, j, err);
}

static void flush_metrics(vmk_api *a, vmk_http_resp *resp)
{
    vmk_vm_stats s;
    memset(&s, 0, sizeof(s));
    const char *state = state_of(a);
    vmk_vm *vm = use_vm(a);
    if (vm) { vmk_vm_get_stats(vm, &s); release_vm(a); }
    char *st = stats_json(&s, state);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t n = strlen(st) + 96;
    char *line = vmk_xmalloc(n);
    int len = snprintf(line, n, "{\"utc_timestamp_ms\":%llu,\"vmkit\":%s}\n",
                       (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)(ts.tv_nsec / 1000000), st);
    free(st);
    pthread_mutex_lock(&a->mu);
    int fd = a->metrics_fd;
    bool ok = fd >= 0 && write(fd, line, (size_t)len) == len;
    pthread_mutex_unlock(&a->mu);
    free(line);
    if (fd < 0) vmk_http_error(resp, 400, "metrics are not configured (PUT /metrics first)");
    else if (!ok) vmk_http_error(resp, 400, "cannot write the metrics: %s", strerror(errno));
    else resp->status = 204;
}

/* ---------------- actions, state ---------------- */

/* Hands a start or load to the thread in vmk_api_wait_vm and waits for its answer (mu held). */
static void hand_to_main(vmk_api *a, int req, vmk_http_resp *resp)
{
    if (a->st != ST_IDLE) {
        pthread_mutex_unlock(&a->mu);
        vmk_http_error(resp, 400, a->st == ST_BUSY ? "the microVM is already being started" : NOT_AFTER_START);
        return;
    }
    if (!a->waiting) {
        pthread_mutex_unlock(&a->mu);
        vmk_http_error(resp, 400, "the VMM is not ready to start a microVM");
        return;
    }
    a->st = ST_BUSY;
    a->req = req;
    a->req_done = false;
    a->req_err[0] = 0;
    ssize_t w = write(a->pipe[1], "s", 1);
    (void)w;
    while (!a->req_done) pthread_cond_wait(&a->cv, &a->mu);
    if (a->req_err[0]) vmk_http_error(resp, 400, "%s", a->req_err);
    else resp->status = 204;
    pthread_mutex_unlock(&a->mu);
}

static void put_actions(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    const char *t = NULL;
    const api_field f[] = { F_STR("action_type", true, &t, NULL), F_END };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    if (!strcmp(t, "InstanceStart")) {
        pthread_mutex_lock(&a->mu);
        hand_to_main(a, REQ_START, resp);
    } else if (!strcmp(t, "SendCtrlAltDel")) {
        vmk_vm *vm = use_vm(a);
        if (!vm) vmk_http_error(resp, 400, "the microVM is not running");
        else { vmk_vm_request_shutdown(vm); release_vm(a); resp->status = 204; }
    } else if (!strcmp(t, "FlushMetrics")) {
        flush_metrics(a, resp);
    } else {
        vmk_http_error(resp, 400, "unknown action_type '%.32s' (InstanceStart, SendCtrlAltDel or FlushMetrics)", t);
    }
    cJSON_Delete(j);
}

static void patch_vm(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    const char *s = NULL;
    bool pause = false;
    const api_field f[] = { F_STR("state", true, &s, NULL), F_END };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    if (!strcmp(s, "Paused")) pause = true;
    else if (strcmp(s, "Resumed")) { vmk_seterr(err, sizeof(err), "state '%.32s' is not Paused or Resumed", s); goto bad; }
    vmk_vm *vm = use_vm(a);
    if (!vm) { vmk_seterr(err, sizeof(err), "cannot %s the microVM before it starts", pause ? "pause" : "resume"); goto bad; }
    pthread_mutex_lock(&a->ctl);
    if (pause && !vmk_vm_is_paused(vm)) vmk_vm_pause(vm);
    else if (!pause && vmk_vm_is_paused(vm)) vmk_vm_resume(vm);
    pthread_mutex_unlock(&a->ctl);
    release_vm(a);
    finish(resp, j, NULL);
    return;
bad:
    finish(resp, j, err);
}

/* ---------------- snapshots ---------------- */

static void put_snapshot_create(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    const char *type = NULL, *path = NULL, *mem = NULL, *ver = NULL, *record_as = NULL;
    bool resume = false;
    const api_field f[] = {
        F_STR("snapshot_type", false, &type, NULL),
        F_STR("snapshot_path", true, &path, NULL),
        F_STR("mem_file_path", false, &mem, NULL),
        F_STR("version", false, &ver, NULL),
        F_BOOL("vmkit_resume", false, &resume, NULL),
        F_STR("vmkit_record_as", false, &record_as, NULL),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    /* vmkit_record_as: where the caller will move the snapshot (a jailed VMM writes inside its
     * jail, the daemon moves it out): later diffs of this VM name that path as their parent */
    if (record_as && (record_as[0] != '/' || strlen(record_as) >= PATH_MAX)) {
        vmk_seterr(err, sizeof(err), "vmkit_record_as must be an absolute path");
        goto bad;
    }
    if (type && strcmp(type, "Full") && strcmp(type, "Diff")) {
        vmk_seterr(err, sizeof(err), "snapshot_type '%.32s' is not Full or Diff", type);
        goto bad;
    }
    if (!*path) { vmk_seterr(err, sizeof(err), "snapshot_path is empty"); goto bad; }
    vmk_vm *vm = use_vm(a);
    if (!vm) { vmk_seterr(err, sizeof(err), "the microVM is not running"); goto bad; }
    pthread_mutex_lock(&a->ctl);
    int r = -1;
    if (!vmk_vm_is_paused(vm)) {
        vmk_seterr(err, sizeof(err), "the microVM must be paused to create a snapshot (PATCH /vm {\"state\": \"Paused\"})");
    } else {
        vmk_snapshot_opts o = { .diff = type && !strcmp(type, "Diff"), .leave_paused = true };
        r = vmk_vm_snapshot(vm, path, &o, err, sizeof(err));
        if (r == 0 && record_as) {
            pthread_mutex_lock(&vm->snap_mtx);
            free(vm->last_snap_dir);
            vm->last_snap_dir = vmk_xstrdup(record_as);
            pthread_mutex_unlock(&vm->snap_mtx);
        }
        if (r == 0 && resume && vmk_vm_is_paused(vm)) vmk_vm_resume(vm);
    }
    pthread_mutex_unlock(&a->ctl);
    release_vm(a);
    finish(resp, j, r < 0 ? err : NULL);
    return;
bad:
    finish(resp, j, err);
}

/* mem_backend / mem_file_path: vmkit maps <dir>/memory; another file cannot be used. */
static int check_mem_path(const char *dir, const char *mem, char *err, size_t errlen)
{
    char a[PATH_MAX], b[PATH_MAX], m[PATH_MAX + 8];
    snprintf(m, sizeof(m), "%s/memory", dir);
    if (!realpath(mem, a)) { vmk_seterr(err, errlen, "memory file '%.200s': %s", mem, strerror(errno)); return -1; }
    if ((realpath(m, b) && !strcmp(a, b)) || (realpath(dir, b) && !strcmp(a, b))) return 0;
    vmk_seterr(err, errlen, "vmkit maps guest memory from the snapshot directory's 'memory' file: the memory "
               "path must name %.200s (or be omitted)", m);
    return -1;
}

static void put_snapshot_load(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    static const char *const known_mb[] = { "backend_type", "backend_path", NULL };
    char err[VMK_ERRLEN];
    const char *dir = NULL, *mem = NULL, *clone = NULL, *bt = NULL, *bp = NULL;
    bool resume = false, force = false, b;
    uint64_t idx = 0;
    struct stat st;
    const api_field f[] = {
        F_STR("snapshot_path", true, &dir, NULL),
        F_STR("mem_file_path", false, &mem, NULL),
        F_BOOL("enable_diff_snapshots", false, &b, NULL),
        F_BOOL("track_dirty_pages", false, &b, NULL),
        F_BOOL("resume_vm", false, &resume, NULL),
        F_STR("vmkit_clone_dir", false, &clone, NULL),
        F_UINT("vmkit_clone_index", false, &idx, 0, 65535, NULL),
        F_BOOL("vmkit_force_disks", false, &force, NULL),
        F_OBJ("mem_backend"),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    cJSON *mb = cJSON_GetObjectItemCaseSensitive(j, "mem_backend");
    if (mb) {
        if (!cJSON_IsObject(mb)) { vmk_seterr(err, sizeof(err), "field 'mem_backend' must be an object"); goto bad; }
        for (cJSON *c = mb->child; c; c = c->next) {
            bool ok = false;
            for (const char *const *k = known_mb; *k; k++) ok |= !strcmp(c->string, *k);
            if (!ok) { vmk_seterr(err, sizeof(err), "unknown field 'mem_backend.%.64s'", c->string); goto bad; }
        }
        if (get_str(mb, "backend_type", true, &bt, err, sizeof(err)) < 0 ||
            get_str(mb, "backend_path", true, &bp, err, sizeof(err)) < 0)
            goto bad;
        if (strcmp(bt, "File")) { vmk_seterr(err, sizeof(err), "mem_backend.backend_type '%.32s' is not supported (only File)", bt); goto bad; }
        if (mem) { vmk_seterr(err, sizeof(err), "give mem_backend or mem_file_path, not both"); goto bad; }
        mem = bp;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        vmk_seterr(err, sizeof(err), "snapshot_path '%.200s' is not a directory (vmkit snapshots are directories)", dir);
        goto bad;
    }
    if (mem && check_mem_path(dir, mem, err, sizeof(err)) < 0) goto bad;
    if (clone && !*clone) { vmk_seterr(err, sizeof(err), "vmkit_clone_dir is empty"); goto bad; }
    pthread_mutex_lock(&a->mu);
    set_str(&a->load_dir, dir);
    set_str(&a->load_clone_dir, clone);
    a->load_clone_index = (unsigned)idx;
    a->load_force = force;
    a->load_resume = resume;
    hand_to_main(a, REQ_LOAD, resp);
    cJSON_Delete(j);
    return;
bad:
    cJSON_Delete(j);
    vmk_http_error(resp, 400, "%s", err);
}

/* ---------------- migration (vmkit extension) ---------------- */

static void mig_progress(void *opaque, const vmk_migrate_progress *p)
{
    vmk_api *a = opaque;
    pthread_mutex_lock(&a->mu);
    a->mig = *p;
    snprintf(a->mig_phase, sizeof(a->mig_phase), "%s", p->phase ? p->phase : "");
    a->mig.phase = NULL;
    pthread_mutex_unlock(&a->mu);
}

static void mig_phase(vmk_api *a, const char *phase)
{
    pthread_mutex_lock(&a->mu);
    snprintf(a->mig_phase, sizeof(a->mig_phase), "%s", phase);
    pthread_mutex_unlock(&a->mu);
}

/* Connects to HOST:PORT (or [V6]:PORT) within timeout_ms; a blocking socket or -1 with err. */
static int tcp_connect(const char *dest, int timeout_ms, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(dest, ':');
    if (!colon || colon == dest || !colon[1] || (size_t)(colon - dest) >= sizeof(host)) {
        vmk_seterr(err, errlen, "destination '%.200s' is not HOST:PORT", dest);
        return -1;
    }
    memcpy(host, dest, (size_t)(colon - dest));
    host[colon - dest] = 0;
    char *h = host;
    if (*h == '[' && h[strlen(h) - 1] == ']') { h[strlen(h) - 1] = 0; h++; }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535) { vmk_seterr(err, errlen, "destination '%.200s': bad port", dest); return -1; }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
    int g = getaddrinfo(h, colon + 1, &hints, &res);
    if (g) { vmk_seterr(err, errlen, "destination '%.200s': %s", dest, gai_strerror(g)); return -1; }
    int fd = -1;
    vmk_seterr(err, errlen, "cannot connect to %.200s", dest);
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) continue;
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen), e = r < 0 ? errno : 0;
        if (r < 0 && e == EINPROGRESS) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            socklen_t l = sizeof(e);
            if (poll(&p, 1, timeout_ms) != 1) e = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) e = errno;
        }
        if (e) {
            vmk_seterr(err, errlen, "cannot connect to %.200s: %s", dest, strerror(e));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static bool read_full(int fd, void *buf, size_t n, int timeout_ms)
{
    uint8_t *p = buf;
    uint64_t end = vmk_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (n) {
        uint64_t now = vmk_now_ns();
        struct pollfd q = { .fd = fd, .events = POLLIN };
        if (now >= end || poll(&q, 1, (int)((end - now) / 1000000 + 1)) <= 0) return false;
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void put_le32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

/* Sends the hello (hv.h) and reads the answer: 0 accepted, -1 with err. */
static int mig_hello(int fd, const char *name, const cJSON *def, char *err, size_t errlen)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddItemToObject(o, "definition", def ? cJSON_Duplicate(def, true) : cJSON_CreateObject());
    char *js = json_out(o);
    size_t n = strlen(js);
    if (n > VMK_MIG_HELLO_MAX) { free(js); vmk_seterr(err, errlen, "the definition is too large"); return -1; }
    uint8_t hdr[16];
    memcpy(hdr, VMK_MIG_MAGIC, 8);
    put_le32(hdr + 8, VMK_MIG_VERSION);
    put_le32(hdr + 12, (uint32_t)n);
    bool ok = send(fd, hdr, 16, MSG_NOSIGNAL) == 16 && send(fd, js, n, MSG_NOSIGNAL) == (ssize_t)n;
    free(js);
    if (!ok) { vmk_seterr(err, errlen, "cannot send the migration hello: %s", strerror(errno)); return -1; }
    uint8_t ans;
    if (!read_full(fd, &ans, 1, 30000)) { vmk_seterr(err, errlen, "the destination did not answer the migration hello"); return -1; }
    if (ans == 'A') return 0;
    if (ans != 'R') { vmk_seterr(err, errlen, "the destination answered the hello with 0x%02x", ans); return -1; }
    uint8_t lb[4];
    char msg[512];
    if (!read_full(fd, lb, 4, 5000)) { vmk_seterr(err, errlen, "the destination refused the migration"); return -1; }
    uint32_t len = (uint32_t)lb[0] | (uint32_t)lb[1] << 8 | (uint32_t)lb[2] << 16 | (uint32_t)lb[3] << 24;
    size_t take = len < sizeof(msg) - 1 ? len : sizeof(msg) - 1;
    if (len > VMK_MIG_HELLO_MAX || !read_full(fd, msg, take, 5000)) take = 0;
    msg[take] = 0;
    for (size_t i = 0; i < take; i++)
        if ((unsigned char)msg[i] < 0x20) msg[i] = ' ';
    vmk_seterr(err, errlen, "the destination refused the migration: %s", take ? msg : "(no reason given)");
    return -1;
}

/* The VM as a daemon definition (hv.h's JSON shape), for a hello without one: the destination
 * daemon registers the VM under this name and configuration. */
static cJSON *definition_of(vmk_api *a, vmk_vm *vm)
{
    const vmk_vm_config *c = vmk_vm_config_of(vm);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", a->id);
    cJSON_AddStringToObject(o, "engine", vmk_engine_name(c->engine));
    cJSON_AddNumberToObject(o, "vcpus", c->ncpus);
    cJSON_AddNumberToObject(o, "mem_mib", (double)(c->mem_size >> 20));
    if (c->kernel) cJSON_AddStringToObject(o, "kernel", c->kernel);
    cJSON_AddStringToObject(o, "initrd", c->initrd ? c->initrd : "none");
    if (c->bios) cJSON_AddStringToObject(o, "bios", c->bios);
    if (c->cmdline) cJSON_AddStringToObject(o, "cmdline", c->cmdline);
    cJSON *d = cJSON_AddArrayToObject(o, "disks");
    for (unsigned i = 0; i < c->ndisks; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "path", c->disks[i].path);
        cJSON_AddBoolToObject(x, "ro", c->disks[i].readonly);
        cJSON_AddItemToArray(d, x);
    }
    cJSON *n = cJSON_AddArrayToObject(o, "nets");
    for (unsigned i = 0; i < c->nnets; i++) cJSON_AddItemToArray(n, cJSON_CreateString(c->nets[i]));
    return o;
}

static void put_migrate(vmk_api *a, const vmk_http_req *req, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN];
    const char *dest = NULL;
    uint64_t rounds = 30, downtime_pages = 0;      /* 0: vmk_vm_migrate_send's default */
    bool copy = false;
    const api_field f[] = {
        F_STR("destination", true, &dest, NULL),
        F_UINT("max_rounds", false, &rounds, 1, 1000, NULL),
        F_UINT("max_downtime_pages", false, &downtime_pages, 1, 1ull << 32, NULL),
        F_BOOL("copy_disks", false, &copy, NULL),
        F_OBJ("definition"),
        F_END,
    };
    cJSON *j = parse_fields(req, f, err, sizeof(err));
    if (!j) { vmk_http_error(resp, 400, "%s", err); return; }
    cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "definition");
    if (def && !cJSON_IsObject(def)) { vmk_seterr(err, sizeof(err), "field 'definition' must be an object"); goto bad; }
    vmk_vm *vm = use_vm(a);
    if (!vm) { vmk_seterr(err, sizeof(err), "the microVM is not running"); goto bad; }
    pthread_mutex_lock(&a->mu);
    bool busy = a->mig_active;
    if (!busy) {
        a->mig_active = a->mig_seen = true;
        memset(&a->mig, 0, sizeof(a->mig));
        snprintf(a->mig_phase, sizeof(a->mig_phase), "connect");
    }
    pthread_mutex_unlock(&a->mu);
    if (busy) { release_vm(a); vmk_seterr(err, sizeof(err), "a migration is already in progress"); goto bad; }
    int r = -1;
    int fd = tcp_connect(dest, 10000, err, sizeof(err));
    cJSON *mydef = def ? NULL : definition_of(a, vm);
    if (fd >= 0 && mig_hello(fd, a->id, def ? def : mydef, err, sizeof(err)) == 0) {
        vmk_migrate_opts o = { .max_rounds = (unsigned)rounds, .max_downtime_pages = downtime_pages, .copy_disks = copy, .cb = mig_progress, .cb_opaque = a };
        vmk_migrate_progress out;
        memset(&out, 0, sizeof(out));
        r = vmk_vm_migrate_send(vm, fd, &o, &out, err, sizeof(err));
        if (r == 0) mig_progress(a, &out);
    }
    cJSON_Delete(mydef);
    if (fd >= 0) close(fd);
    mig_phase(a, r == 0 ? "done" : "failed");
    pthread_mutex_lock(&a->mu);
    a->mig_active = false;
    if (r == 0) a->migrated = true;
    pthread_mutex_unlock(&a->mu);
    if (r == 0) vmk_vm_request_stop(vm, 0);     /* the VMM exits 0; the response goes out first */
    release_vm(a);
    finish(resp, j, r < 0 ? err : NULL);
    return;
bad:
    finish(resp, j, err);
}

static void get_migration(vmk_api *a, vmk_http_resp *resp)
{
    pthread_mutex_lock(&a->mu);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "phase", a->mig_seen ? a->mig_phase : "none");
    cJSON_AddNumberToObject(o, "round", a->mig.round);
    cJSON_AddNumberToObject(o, "bytes_sent", (double)a->mig.bytes_sent);
    cJSON_AddNumberToObject(o, "pages_remaining", (double)a->mig.pages_remaining);
    cJSON_AddNumberToObject(o, "dirty_rate_pps", (double)a->mig.dirty_rate_pps);
    cJSON_AddNumberToObject(o, "total_ms", (double)(a->mig.total_ns / 1000000));
    cJSON_AddNumberToObject(o, "downtime_ms", (double)(a->mig.downtime_ns / 1000000));
    pthread_mutex_unlock(&a->mu);
    reply_json(resp, o);
}

/* ---------------- routing ---------------- */

static void handle(void *opaque, const vmk_http_req *req, vmk_http_resp *resp)
{
    vmk_api *a = opaque;
    const char *m = req->method, *p = req->path;
    bool get = !strcmp(m, "GET"), put = !strcmp(m, "PUT"), patch = !strcmp(m, "PATCH");
    vmk_debug("api: %s %s", m, p);
    if (get && !strcmp(p, "/")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", a->id);
        cJSON_AddStringToObject(o, "state", state_of(a));
        cJSON_AddStringToObject(o, "vmm_version", API_VERSION);
        cJSON_AddStringToObject(o, "app_name", "vmkit");
        reply_json(resp, o);
    } else if (get && !strcmp(p, "/version")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "firecracker_version", API_VERSION);
        reply_json(resp, o);
    } else if (!strcmp(p, "/machine-config") && (get || put || patch)) {
        if (get) {
            pthread_mutex_lock(&a->mu);
            cJSON *o = machine_json(a);
            pthread_mutex_unlock(&a->mu);
            reply_json(resp, o);
        } else {
            put_machine_config(a, req, resp, patch);
        }
    } else if (get && !strcmp(p, "/vm/config")) {
        get_vm_config(a, resp);
    } else if (put && !strcmp(p, "/boot-source")) {
        put_boot_source(a, req, resp);
    } else if (put && !strncmp(p, "/drives/", 8)) {
        put_drive(a, p + 8, req, resp);
    } else if (patch && !strncmp(p, "/drives/", 8)) {
        vmk_http_error(resp, 400, "updating a drive (PATCH /drives) is not supported by vmkit");
    } else if (put && !strncmp(p, "/network-interfaces/", 20)) {
        put_net(a, p + 20, req, resp);
    } else if (put && !strcmp(p, "/actions")) {
        put_actions(a, req, resp);
    } else if (patch && !strcmp(p, "/vm")) {
        patch_vm(a, req, resp);
    } else if (put && !strcmp(p, "/logger")) {
        put_logger(a, req, resp);
    } else if (put && !strcmp(p, "/metrics")) {
        put_metrics(a, req, resp);
    } else if (put && !strcmp(p, "/snapshot/create")) {
        put_snapshot_create(a, req, resp);
    } else if (put && !strcmp(p, "/snapshot/load")) {
        put_snapshot_load(a, req, resp);
    } else if (get && !strcmp(p, "/vmkit/stats")) {
        vmk_vm_stats s;
        memset(&s, 0, sizeof(s));
        const char *state = state_of(a);
        vmk_vm *vm = use_vm(a);
        if (vm) { vmk_vm_get_stats(vm, &s); release_vm(a); }
        resp->body = stats_json(&s, state);
    } else if (put && !strcmp(p, "/vmkit/migrate")) {
        put_migrate(a, req, resp);
    } else if (get && !strcmp(p, "/vmkit/migration")) {
        get_migration(a, resp);
    } else if (put && !strcmp(p, "/vmkit/test/forbidden-syscall")) {
        const char *env = getenv("VMKIT_TEST_HOOKS");
        if (!env || strcmp(env, "1") || !a->test_hook) { vmk_http_error(resp, 404, "test hooks are disabled"); return; }
        a->test_hook();                          /* jailed: the process dies here (SIGSYS) */
        resp->status = 204;
    } else if (!strncmp(p, "/balloon", 8) || !strcmp(p, "/vsock") || !strncmp(p, "/mmds", 5) || !strcmp(p, "/entropy") ||
               !strcmp(p, "/cpu-config") || !strncmp(p, "/hotplug", 8) || !strcmp(p, "/serial")) {
        vmk_http_error(resp, 400, "%s is not supported by vmkit", p);
    } else {
        vmk_http_error(resp, 400, "Invalid request method and/or path: %s %s.", m, p);
    }
}

/* ---------------- lifecycle ---------------- */

vmk_api *vmk_api_new(const vmk_api_opts *o, char *err, size_t errlen)
{
    vmk_api *a = vmk_xcalloc(1, sizeof(*a));
    const vmk_vm_config *c = o->initial;
    a->id = vmk_xstrdup(o->vm_id && *o->vm_id ? o->vm_id : "vmkit");
    a->engine = c->engine;
    a->ncpus = c->ncpus ? c->ncpus : 1;
    a->mem_mib = c->mem_size ? c->mem_size >> 20 : 256;
    a->kernel = dup0(c->kernel);
    a->initrd = dup0(c->initrd);
    a->bios = dup0(c->bios);
    a->boot_args = dup0(c->cmdline);
    for (unsigned i = 0; i < c->ndisks && i < VMK_VM_MAX_DISKS; i++) {
        char id[16];
        snprintf(id, sizeof(id), "drive%u", i);
        a->drives[i] = (api_drive){ .id = vmk_xstrdup(id), .path = vmk_xstrdup(c->disks[i].path), .ro = c->disks[i].readonly };
        a->ndrives++;
    }
    for (unsigned i = 0; i < c->nnets && i < VMK_VM_MAX_NETS; i++) {
        char id[16];
        snprintf(id, sizeof(id), "net%u", i);
        bool tap = !strncmp(c->nets[i], "tap=", 4);
        a->nets[i] = (api_net){ .id = vmk_xstrdup(id), .host_dev = tap ? vmk_xstrdup(c->nets[i] + 4) : NULL,
                                .vmkit_net = tap ? NULL : vmk_xstrdup(c->nets[i]) };
        a->nnets++;
    }
    a->console = dup0(c->console);
    a->restore_console = dup0(o->restore_console ? o->restore_console : c->console);
    a->no_rng = c->no_rng;
    a->x86_kernel = dup0(o->x86_kernel);
    a->x86_initrd = dup0(o->x86_initrd);
    a->x86_cmdline = dup0(o->x86_cmdline);
    a->test_hook = o->test_forbidden_syscall;
    a->metrics_fd = -1;
    a->st = o->external_start ? ST_BUSY : ST_IDLE;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->ctl, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (pipe2(a->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        vmk_seterr(err, errlen, "pipe: %s", strerror(errno));
        a->pipe[0] = a->pipe[1] = -1;
        vmk_api_free(a);
        return NULL;
    }
    if (!(a->srv = vmk_http_listen_unix(o->sock_path, 0600, handle, a, err, errlen))) {
        vmk_api_free(a);
        return NULL;
    }
    return a;
}

void vmk_api_interrupt(vmk_api *a)
{
    if (!a) return;
    a->interrupted = 1;
    ssize_t w = write(a->pipe[1], "i", 1);
    (void)w;
}

/* Applies the guest_mac settings to the new VM's net devices (in configuration order). */
static void apply_macs(vmk_api *a, vmk_vm *vm)
{
    unsigned k = 0;
    for (unsigned i = 0; i < vm->ndevs; i++) {
        if (vm->dev_kind[i] != VM_DEV_NET) continue;
        if (k < a->nnets && a->nets[k].mac_str) virtio_net_set_mac(vm->devs[i], a->nets[k].mac);
        k++;
    }
}

/* One start or load request, taken with mu held; returns with mu held. NULL (answered 400) on failure. */
static vmk_vm *serve_request(vmk_api *a);

vmk_vm *vmk_api_wait_vm(vmk_api *a)
{
    pthread_mutex_lock(&a->mu);
    a->waiting = true;
    for (;;) {
        if (a->interrupted) {
            a->waiting = false;
            if (a->req && !a->req_done) {
                a->req = REQ_NONE;
                a->st = ST_IDLE;
                snprintf(a->req_err, sizeof(a->req_err), "the VMM is shutting down");
                a->req_done = true;
                pthread_cond_broadcast(&a->cv);
            }
            pthread_mutex_unlock(&a->mu);
            return NULL;
        }
        if (a->req) {
            vmk_vm *vm = serve_request(a);
            if (vm) {
                a->waiting = false;
                pthread_mutex_unlock(&a->mu);
                return vm;
            }
            continue;                          /* answered 400; wait for the next attempt */
        }
        pthread_mutex_unlock(&a->mu);
        struct pollfd p = { .fd = a->pipe[0], .events = POLLIN };
        poll(&p, 1, 1000);
        char buf[64];
        while (read(a->pipe[0], buf, sizeof(buf)) > 0) {}
        pthread_mutex_lock(&a->mu);
    }
}

static vmk_vm *serve_request(vmk_api *a)
{
    int req = a->req;
    char err[VMK_ERRLEN] = "";
    vmk_vm *vm = NULL;
    if (req == REQ_START) {
        assemble(a);                           /* the config cannot change while ST_BUSY */
        pthread_mutex_unlock(&a->mu);
        const char *why = NULL;
        if (!a->cfg.kernel) vmk_seterr(err, sizeof(err), "no boot source: PUT /boot-source first");
        else if ((why = check_file(a->cfg.kernel, false)))
            vmk_seterr(err, sizeof(err), "kernel '%.200s': %s", a->cfg.kernel, why);
        else
            vm = vmk_vm_new(&a->cfg, err, sizeof(err));
    } else {
        vmk_restore_opts ro;
        memset(&ro, 0, sizeof(ro));
        ro.console = a->restore_console;
        ro.force_disks = a->load_force;
        ro.clone_dir = a->load_clone_dir;
        ro.clone_index = a->load_clone_index;
        char *nets[VMK_VM_MAX_NETS] = { 0 };
        for (unsigned i = 0; i < a->nnets; i++) {
            if (a->nets[i].host_dev) {
                size_t n = strlen(a->nets[i].host_dev) + 5;
                nets[i] = vmk_xmalloc(n);
                snprintf(nets[i], n, "tap=%s", a->nets[i].host_dev);
            } else {
                nets[i] = vmk_xstrdup(a->nets[i].vmkit_net);
            }
            ro.nets[i] = nets[i];
        }
        ro.nnets = a->nnets;
        ro.nets_set = a->nnets > 0;
        bool resume = a->load_resume;
        char *dir = vmk_xstrdup(a->load_dir);
        pthread_mutex_unlock(&a->mu);
        vm = vmk_vm_restore(dir, &ro, err, sizeof(err));
        if (vm && !resume) vmk_vm_pause(vm);  /* Paused until PATCH /vm Resumed */
        free(dir);
        for (unsigned i = 0; i < VMK_VM_MAX_NETS; i++) free(nets[i]);
    }
    pthread_mutex_lock(&a->mu);
    a->req = REQ_NONE;
    if (vm) {
        a->vm = vm;
        a->st = ST_UP;
        a->booted = req == REQ_START;
        if (a->booted) apply_macs(a, vm);
    } else {
        a->st = ST_IDLE;
        snprintf(a->req_err, sizeof(a->req_err), "%s", err[0] ? err : "cannot start the microVM");
    }
    a->req_done = true;
    pthread_cond_broadcast(&a->cv);
    return vm;
}

void vmk_api_attach(vmk_api *a, vmk_vm *vm)
{
    pthread_mutex_lock(&a->mu);
    if (a->booted && a->vm != vm) apply_macs(a, vm);    /* a reboot of a VM started by InstanceStart */
    a->vm = vm;
    a->st = ST_UP;
    pthread_mutex_unlock(&a->mu);
}

bool vmk_api_detach(vmk_api *a)
{
    pthread_mutex_lock(&a->mu);
    a->st = ST_DONE;
    while (a->users) pthread_cond_wait(&a->cv, &a->mu);
    a->vm = NULL;                      /* (a reboot attaches a new VM: MACs are applied again) */
    bool m = a->migrated;
    pthread_mutex_unlock(&a->mu);
    return m;
}

const vmk_vm_config *vmk_api_config(vmk_api *a)
{
    pthread_mutex_lock(&a->mu);
    assemble(a);
    pthread_mutex_unlock(&a->mu);
    return &a->cfg;
}

void vmk_api_free(vmk_api *a)
{
    if (!a) return;
    vmk_http_server_free(a->srv);              /* joins every request first */
    if (a->pipe[0] >= 0) close(a->pipe[0]);
    if (a->pipe[1] >= 0) close(a->pipe[1]);
    if (a->metrics_fd >= 0) close(a->metrics_fd);
    cfg_clear(&a->cfg);
    for (unsigned i = 0; i < a->ndrives; i++) { free(a->drives[i].id); free(a->drives[i].path); }
    for (unsigned i = 0; i < a->nnets; i++) {
        free(a->nets[i].id);
        free(a->nets[i].host_dev);
        free(a->nets[i].vmkit_net);
        free(a->nets[i].mac_str);
    }
    char **strs[] = { &a->id, &a->kernel, &a->initrd, &a->bios, &a->boot_args, &a->console, &a->restore_console,
                      &a->x86_kernel, &a->x86_initrd, &a->x86_cmdline, &a->load_dir, &a->load_clone_dir };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) free(*strs[i]);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->ctl);
    pthread_cond_destroy(&a->cv);
    free(a);
}
