/* Buffer arguments of the compiled modules (_topk.c, _typos.c): an object's C-contiguous
 * buffer of fixed-size items; the caller releases the views it holds (`held`). */
#ifndef BOT_CORE_ARGS_H
#define BOT_CORE_ARGS_H

#include <Python.h>

typedef struct {
    Py_buffer view;
    int held;
} Arg;

/* Take an object's buffer; 0 (an exception set) when it has none or its length is not a
 * whole number of `itemsize`-byte items (`name` says which argument). */
static int arg(PyObject *o, Arg *a, Py_ssize_t itemsize, const char *name) {
    if (PyObject_GetBuffer(o, &a->view, PyBUF_C_CONTIGUOUS) < 0) return 0;
    a->held = 1;
    if (a->view.len % itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: not an array of %zd-byte items", name, itemsize);
        return 0;
    }
    return 1;
}

#endif
