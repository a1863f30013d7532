/* The whitespace chunks of many texts, each coded once (loading's inner loop, compiled).
 *
 * The compiled twin of chunks.py's numpy table: `Coder(code_of).codes(encoded)` takes a list
 * of UTF-8 texts (encoded with "surrogatepass") and returns the code of every chunk that
 * `str.split()` would give, in order, and each text's chunk count. `code_of(chunk)` is asked
 * only about chunks never seen before, in order of first appearance; the others come from a
 * hash table of the chunks' bytes (a hit is compared byte for byte: the result is exact).
 *
 * Whitespace is str.split()'s: the ASCII \t\n\v\f\r, \x1c-\x1f and space, and in UTF-8
 * U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000. Their
 * lead bytes (\xc2, \xe1-\xe3) never occur inside another character, so looking at any byte
 * is safe.
 *
 * `term_spans(text, terms)` is text.py's Analyzer.term_spans compiled (a passage read for the
 * first time: its words, where they are and their index terms): (start, end, terms[word]) for
 * each run of word characters, re's `\w+` (Py_UNICODE_ISALNUM or '_'), whose term is not
 * None. `terms` is a dict; a word it lacks is asked through its __getitem__ (__missing__).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    Py_ssize_t at; /* where the chunk's bytes are in the store */
    Py_ssize_t size;
    int32_t code;
    int32_t used;
} Slot;

typedef struct {
    PyObject_HEAD
    PyObject *code_of;
    Slot *slots;
    Py_ssize_t capacity; /* a power of two */
    Py_ssize_t count;
    char *store;
    Py_ssize_t stored, store_capacity;
} Coder;

/* The width of the whitespace character at p (0: none); n bytes are left from p. */
static inline int space_at(const unsigned char *p, Py_ssize_t n) {
    unsigned char c = p[0];
    if (c < 0x80) return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f);
    if (c == 0xc2) return n >= 2 && (p[1] == 0x85 || p[1] == 0xa0) ? 2 : 0;
    if (c < 0xe1 || c > 0xe3 || n < 3) return 0;
    uint32_t code = (uint32_t)c << 16 | (uint32_t)p[1] << 8 | p[2];
    if (code == 0xe19a80 || code == 0xe38080) return 3;                 /* U+1680, U+3000 */
    if (code >= 0xe28080 && code <= 0xe2808a) return 3;                 /* U+2000-U+200A */
    if (code == 0xe280a8 || code == 0xe280a9 || code == 0xe280af) return 3; /* 2028 2029 202F */
    return code == 0xe2819f ? 3 : 0;                                    /* U+205F */
}

static inline uint64_t hash_bytes(const unsigned char *p, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 32);
}

static int grow_table(Coder *self) {
    Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 1 << 16;
    Slot *slots = PyMem_Calloc((size_t)capacity, sizeof(Slot));
    if (!slots) return -1;
    for (Py_ssize_t i = 0; i < self->capacity; i++) {
        Slot *s = &self->slots[i];
        if (!s->used) continue;
        Py_ssize_t j = (Py_ssize_t)(s->hash & (uint64_t)(capacity - 1));
        while (slots[j].used) j = (j + 1) & (capacity - 1);
        slots[j] = *s;
    }
    PyMem_Free(self->slots);
    self->slots = slots;
    self->capacity = capacity;
    return 0;
}

/* Find a chunk in the table: 1 and its slot, or 0 and the empty slot where it would go. */
static int find(const Coder *self, uint64_t h, const unsigned char *p, Py_ssize_t n,
                Py_ssize_t *at) {
    Py_ssize_t mask = self->capacity - 1, j = (Py_ssize_t)(h & (uint64_t)mask);
    for (; self->slots[j].used; j = (j + 1) & mask) {
        const Slot *s = &self->slots[j];
        if (s->hash == h && s->size == n && memcmp(self->store + s->at, p, (size_t)n) == 0) break;
    }
    *at = j;
    return self->slots[j].used;
}

/* The code of one chunk: from the table, or asked of code_of and remembered. -1: an error. */
static int code_chunk(Coder *self, const unsigned char *p, Py_ssize_t n, int32_t *code) {
    uint64_t h = hash_bytes(p, n);
    Py_ssize_t j;
    if (find(self, h, p, n, &j)) {
        *code = self->slots[j].code;
        return 0;
    }
    PyObject *chunk = PyUnicode_DecodeUTF8((const char *)p, n, "surrogatepass");
    if (!chunk) return -1;
    PyObject *found = PyObject_CallOneArg(self->code_of, chunk);
    Py_DECREF(chunk);
    if (!found) return -1;
    long value = PyLong_AsLong(found);
    Py_DECREF(found);
    if (value == -1 && PyErr_Occurred()) return -1;
    if (value < INT32_MIN || value > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "Coder: a code out of int32 range");
        return -1;
    }
    if (self->stored + n > self->store_capacity) {
        Py_ssize_t capacity = (self->store_capacity + n) * 2;
        char *store = PyMem_Realloc(self->store, (size_t)capacity);
        if (!store) {
            PyErr_NoMemory();
            return -1;
        }
        self->store = store;
        self->store_capacity = capacity;
    }
    if (2 * (self->count + 1) > self->capacity && grow_table(self) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    /* Found again: code_of ran Python, which may have coded chunks (even this one) meanwhile. */
    if (find(self, h, p, n, &j)) {
        *code = self->slots[j].code;
        return 0;
    }
    memcpy(self->store + self->stored, p, (size_t)n);
    self->slots[j] = (Slot){h, self->stored, n, (int32_t)value, 1};
    self->stored += n;
    self->count++;
    *code = (int32_t)value;
    return 0;
}

static PyObject *Coder_codes(Coder *self, PyObject *texts) {
    if (!PyList_Check(texts)) {
        PyErr_SetString(PyExc_TypeError, "codes: a list of bytes");
        return NULL;
    }
    if (!self->slots || !self->code_of) {
        PyErr_SetString(PyExc_ValueError, "codes: the Coder was not initialised");
        return NULL;
    }
    Py_ssize_t n_texts = PyList_GET_SIZE(texts), room = 0;
    for (Py_ssize_t t = 0; t < n_texts; t++) {
        PyObject *b = PyList_GET_ITEM(texts, t);
        if (!PyBytes_Check(b)) {
            PyErr_SetString(PyExc_TypeError, "codes: a list of bytes");
            return NULL;
        }
        room += PyBytes_GET_SIZE(b) / 2 + 1; /* a chunk and its space take two bytes or more */
    }
    PyObject *counts = PyBytes_FromStringAndSize(NULL, n_texts * (Py_ssize_t)sizeof(int64_t));
    int32_t *codes = PyMem_Malloc((size_t)room * sizeof(int32_t));
    if (!counts || !codes) {
        Py_XDECREF(counts);
        PyMem_Free(codes);
        return PyErr_NoMemory();
    }
    int64_t *count = (int64_t *)PyBytes_AS_STRING(counts);
    Py_ssize_t n_codes = 0;
    for (Py_ssize_t t = 0; t < n_texts; t++) {
        PyObject *b = PyList_GET_ITEM(texts, t);
        Py_INCREF(b); /* code_of runs Python: the list may change meanwhile */
        const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(b);
        Py_ssize_t n = PyBytes_GET_SIZE(b), i = 0, before = n_codes;
        while (i < n) {
            int w;
            while (i < n && (w = space_at(p + i, n - i)) != 0) i += w;
            if (i >= n) break;
            Py_ssize_t start = i;
            while (i < n && space_at(p + i, n - i) == 0) i++;
            if (code_chunk(self, p + start, i - start, &codes[n_codes]) < 0) {
                Py_DECREF(b);
                Py_DECREF(counts);
                PyMem_Free(codes);
                return NULL;
            }
            n_codes++;
        }
        count[t] = n_codes - before;
        Py_DECREF(b);
    }
    PyObject *found = PyBytes_FromStringAndSize((const char *)codes, n_codes * 4);
    PyMem_Free(codes);
    if (!found) {
        Py_DECREF(counts);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(2, found, counts);
    Py_DECREF(found);
    Py_DECREF(counts);
    return result;
}

static int Coder_init(Coder *self, PyObject *args, PyObject *kwds) {
    PyObject *code_of;
    static char *names[] = {"code_of", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Coder", names, &code_of)) return -1;
    if (!PyCallable_Check(code_of)) {
        PyErr_SetString(PyExc_TypeError, "Coder: code_of must be callable");
        return -1;
    }
    Py_INCREF(code_of);
    Py_XSETREF(self->code_of, code_of);
    if (!self->slots && grow_table(self) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int Coder_traverse(Coder *self, visitproc visit, void *arg) {
    Py_VISIT(self->code_of);
    return 0;
}

static int Coder_clear(Coder *self) {
    Py_CLEAR(self->code_of);
    return 0;
}

static void Coder_dealloc(Coder *self) {
    PyObject_GC_UnTrack(self);
    Coder_clear(self);
    PyMem_Free(self->slots);
    PyMem_Free(self->store);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Coder_len(Coder *self, void *closure) { return PyLong_FromSsize_t(self->count); }

static PyMethodDef Coder_methods[] = {
    {"codes", (PyCFunction)Coder_codes, METH_O,
     "codes(texts: list[bytes]) -> (codes, counts): every chunk's int32 code and each text's "
     "int64 chunk count, as bytes"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Coder_getset[] = {
    {"size", (getter)Coder_len, NULL, "how many distinct chunks the table holds", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "bot.core._chunks.Coder",
    .tp_basicsize = sizeof(Coder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Coder(code_of): whitespace chunk -> code, code_of asked once per distinct chunk",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Coder_init,
    .tp_dealloc = (destructor)Coder_dealloc,
    .tp_traverse = (traverseproc)Coder_traverse,
    .tp_clear = (inquiry)Coder_clear,
    .tp_methods = Coder_methods,
    .tp_getset = Coder_getset,
};

static inline int is_word(Py_UCS4 c) { return c == '_' || Py_UNICODE_ISALNUM(c); }

/* The (start, end, term) tuple of a word, or NULL with an exception set. */
static PyObject *span(Py_ssize_t start, Py_ssize_t end, PyObject *term) {
    PyObject *item = PyTuple_New(3);
    if (!item) return NULL;
    Py_INCREF(term);
    PyTuple_SET_ITEM(item, 2, term);
    PyObject *a = PyLong_FromSsize_t(start);
    if (!a) goto fail;
    PyTuple_SET_ITEM(item, 0, a);
    PyObject *b = PyLong_FromSsize_t(end);
    if (!b) goto fail;
    PyTuple_SET_ITEM(item, 1, b);
    return item;
fail:
    Py_DECREF(item); /* releases what was set; unset items are NULL */
    return NULL;
}

static PyObject *term_spans(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "term_spans(text, terms) takes two arguments");
        return NULL;
    }
    PyObject *text = args[0], *terms = args[1];
    if (!PyUnicode_Check(text) || !PyDict_Check(terms)) {
        PyErr_SetString(PyExc_TypeError, "term_spans(text, terms): a str and a dict");
        return NULL;
    }
    if (PyUnicode_READY(text) < 0) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        if (!is_word(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && is_word(PyUnicode_READ(kind, data, i))) i++;
        PyObject *word = PyUnicode_Substring(text, start, i);
        if (!word) goto fail;
        PyObject *term = PyDict_GetItemWithError(terms, word); /* borrowed */
        if (term) {
            Py_INCREF(term);
        } else if (!PyErr_Occurred()) {
            term = PyObject_GetItem(terms, word); /* a miss: the mapping's __missing__ */
        }
        Py_DECREF(word);
        if (!term) goto fail;
        if (term != Py_None) {
            PyObject *item = span(start, i, term);
            Py_DECREF(term);
            if (!item) goto fail;
            int appended = PyList_Append(out, item);
            Py_DECREF(item);
            if (appended < 0) goto fail;
        } else {
            Py_DECREF(term);
        }
    }
    PyObject *found = PyList_AsTuple(out);
    Py_DECREF(out);
    return found;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"term_spans", (PyCFunction)(void (*)(void))term_spans, METH_FASTCALL,
     "term_spans(text: str, terms: dict) -> tuple of (start, end, term): each word of the "
     "text (re's \\w+) whose term (terms[word], __missing__ on a miss) is not None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chunks", "Whitespace chunks coded once each (compiled).", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__chunks(void) {
    if (PyType_Ready(&CoderType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&CoderType);
    if (PyModule_AddObject(m, "Coder", (PyObject *)&CoderType) < 0) {
        Py_DECREF(&CoderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
