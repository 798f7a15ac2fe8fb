/*
 * vec.c: growth of SIM_VEC vectors (vec.h). The vector's data pointer is read and written
 * through memcpy, so one function serves vectors of every element type without reading a
 * T * through a void * lvalue.
 */
#include "core/vec.h"

#include <stdint.h>
#include <string.h>

/* Reallocates the block to ncap elements (ncap > *cap). */
static int resize(void *data_field, size_t *cap, size_t ncap, size_t elem_size)
{
    if (elem_size && ncap > SIZE_MAX / elem_size)
        return -1;
    void *old;
    memcpy(&old, data_field, sizeof old);
    void *p = realloc(old, ncap * elem_size);
    if (!p)
        return -1;
    memcpy(data_field, &p, sizeof p);
    *cap = ncap;
    return 0;
}

int sim_vec_reserve_(void *data_field, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap >= 8 ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    return resize(data_field, cap, ncap, elem_size);
}

int sim_vec_reserve_exact_(void *data_field, size_t *cap, size_t need, size_t elem_size)
{
    return need <= *cap ? 0 : resize(data_field, cap, need, elem_size);
}
