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
    const char *slash = strrchr(base, '/');
    int k = slash ? snprintf(out, n, "%.*s/%s", (int)(slash - base), base, rel)
                  : snprintf(out, n, "./%s", rel);
    if (k < 0 || (size_t)k >= n) {
        snprintf(out, n, "%s", rel);
        return 0;
    }
    return 1;
}
