/*
 * path.c: see path.h. Plain string work: no file system access.
 */
#include "core/path.h"

#include <stdio.h>
#include <string.h>

void sim_path_dir(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, n, ".");
    else
        snprintf(buf, n, "%.*s", (int)(slash - path), path);
}

int sim_path_join(const char *base, const char *rel, char *out, size_t n)
{
    if (rel[0] == '/') {
        snprintf(out, n, "%s", rel);
        return strlen(rel) < n;
    }
    /* Each leading "../" of rel cancels the last directory of base's, when that is a plain
     * name: "configs/quickstart.yaml" + "../results.db" is "results.db". */
    const char *slash = strrchr(base, '/');
    size_t dlen = slash ? (size_t)(slash - base) : 0;
    while (dlen > 0 && !strncmp(rel, "../", 3)) {
        size_t start = dlen;
        while (start > 0 && base[start - 1] != '/')
            start--;
        size_t clen = dlen - start;
        if ((clen == 2 && !strncmp(base + start, "..", 2)) ||
            (clen == 1 && base[start] == '.'))
            break;
        rel += 3;
        dlen = start > 0 ? start - 1 : 0;
        if (start == 0) {
            slash = NULL;
            break;
        }
    }
    int k;
    if (dlen > 0)
        k = snprintf(out, n, "%.*s/%s", (int)dlen, base, rel);
    else if (slash && base[0] == '/') /* the directory was the root */
        k = snprintf(out, n, "/%s", rel);
    else
        k = snprintf(out, n, "%s", rel);
    if (k < 0 || (size_t)k >= n) {
        snprintf(out, n, "%s", rel);
        return 0;
    }
    return 1;
}
