/* Typo repair's inner loop: the choices within a word's edits, in one pass (typos.py).
 *
 * The compiled twin of TypoMatcher._match's numpy filters and rapidfuzz's OSA distance: the
 * choices of a length slice whose letter masks allow at most `edits` edits each way are
 * compared with the word (optimal string alignment distance: insertions, deletions,
 * substitutions and transpositions of two neighbours, each substring edited once), and those
 * within `edits` come back with their distance. The same choices and distances as numpy's
 * filters followed by rapidfuzz (typos.py's tests compare them), without a numpy call per
 * filter (~10 us each on a slice of the vocabulary). Words of up to 64 characters (a bit per
 * position); typos.py sends longer ones to rapidfuzz.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_args.h"

#define MAX_WORD 64 /* the longest word compared here: its positions are the bits of a word */

/* Per choice lo <= i < hi, whether its letters allow at most `edits` edits each way (letters
 * only the choice has, letters only the word has, counted with those held twice): ok[i - lo].
 * Branch-free, so that it vectorizes; built by GCC for x86-64, it takes AVX-512's popcount or the
 * popcount instruction where the processor has one (other builds: the plain loop, slower). */
#define LETTERS_ALLOW_BODY                                                                      \
    int wletters = __builtin_popcount(wonce);                                                  \
    for (Py_ssize_t i = lo; i < hi; i++) {                                                     \
        uint32_t c1 = once[i], c2 = twice[i];                                                  \
        int shared = __builtin_popcount(c1 & wonce);                                           \
        int more = __builtin_popcount(wonce & ~c1) + __builtin_popcount(wtwice & ~c2);         \
        int fewer = __builtin_popcount(c1 & ~wonce) + __builtin_popcount(c2 & ~wtwice);        \
        ok[i - lo] = (__builtin_popcount(c1) <= shared + edits) &                              \
                     (shared >= wletters - edits) & (more <= edits) & (fewer <= edits);        \
    }

static void letters_allow_plain(const uint32_t *once, const uint32_t *twice, Py_ssize_t lo,
                                Py_ssize_t hi, uint32_t wonce, uint32_t wtwice, int edits,
                                uint8_t *ok) {
    LETTERS_ALLOW_BODY
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WIDE 1
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vpopcntdq"), optimize("O3")))
static void letters_allow_wide(const uint32_t *once, const uint32_t *twice, Py_ssize_t lo,
                               Py_ssize_t hi, uint32_t wonce, uint32_t wtwice, int edits,
                               uint8_t *ok) {
    LETTERS_ALLOW_BODY
}

__attribute__((target("popcnt")))
static void letters_allow_popcnt(const uint32_t *once, const uint32_t *twice, Py_ssize_t lo,
                                 Py_ssize_t hi, uint32_t wonce, uint32_t wtwice, int edits,
                                 uint8_t *ok) {
    LETTERS_ALLOW_BODY
}
#endif

static void letters_allow(const uint32_t *once, const uint32_t *twice, Py_ssize_t lo,
                          Py_ssize_t hi, uint32_t wonce, uint32_t wtwice, int edits, uint8_t *ok) {
#ifdef WIDE
    static int kind = -1; /* 2: AVX-512's popcount, 1: the popcount instruction, 0: neither */
    if (kind < 0) {
        __builtin_cpu_init();
        kind = __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512bw") &&
                       __builtin_cpu_supports("avx512vl")
                   ? 2
                   : __builtin_cpu_supports("popcnt");
    }
    if (kind == 2) {
        letters_allow_wide(once, twice, lo, hi, wonce, wtwice, edits, ok);
        return;
    }
    if (kind == 1) {
        letters_allow_popcnt(once, twice, lo, hi, wonce, wtwice, edits, ok);
        return;
    }
#endif
    letters_allow_plain(once, twice, lo, hi, wonce, wtwice, edits, ok);
}

/* A word of at most MAX_WORD characters as the bit-parallel distance reads it: per character, a bit
 * for each of the word's positions holding it. */
typedef struct {
    uint64_t low[256]; /* characters below 256 */
    Py_UCS4 other[MAX_WORD]; /* the others, with their positions */
    uint64_t other_bits[MAX_WORD];
    int n_other;
    Py_ssize_t len;
} Pattern;

static void pattern_of(Pattern *p, const Py_UCS4 *w, Py_ssize_t n) {
    memset(p->low, 0, sizeof p->low);
    p->n_other = 0;
    p->len = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (w[i] < 256) {
            p->low[w[i]] |= (uint64_t)1 << i;
            continue;
        }
        int j = 0;
        while (j < p->n_other && p->other[j] != w[i]) j++;
        if (j == p->n_other) {
            p->other[j] = w[i];
            p->other_bits[j] = 0;
            p->n_other++;
        }
        p->other_bits[j] |= (uint64_t)1 << i;
    }
}

static inline uint64_t positions(const Pattern *p, uint32_t c) {
    if (c < 256) return p->low[c];
    for (int j = 0; j < p->n_other; j++)
        if (p->other[j] == c) return p->other_bits[j];
    return 0;
}

/* The OSA distance of the word and b, bit-parallel (Hyyrö 2003, as rapidfuzz computes it). */
static Py_ssize_t osa_bits(const Pattern *p, const uint32_t *b, Py_ssize_t lb) {
    Py_ssize_t m = p->len;
    if (m == 0) return lb;
    uint64_t vp = m == MAX_WORD ? ~(uint64_t)0 : ((uint64_t)1 << m) - 1, vn = 0, d0 = 0, old = 0;
    uint64_t last = (uint64_t)1 << (m - 1);
    Py_ssize_t dist = m;
    for (Py_ssize_t j = 0; j < lb; j++) {
        uint64_t pm = positions(p, b[j]);
        uint64_t tr = (((~d0) & pm) << 1) & old;
        d0 = (((pm & vp) + vp) ^ vp) | pm | vn;
        d0 |= tr;
        uint64_t hp = vn | ~(d0 | vp);
        uint64_t hn = d0 & vp;
        dist += (hp & last) != 0;
        dist -= (hn & last) != 0;
        hp = (hp << 1) | 1;
        hn = hn << 1;
        vp = hn | ~(d0 | hp);
        vn = hp & d0;
        old = pm;
    }
    return dist;
}

static PyObject *within(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *word, *o[4];
    unsigned long long mask, again;
    Py_ssize_t lo, hi, edits;
    if (!PyArg_ParseTuple(args, "UOOOOKKnnn", &word, &o[0], &o[1], &o[2], &o[3], &mask, &again,
                          &lo, &hi, &edits))
        return NULL;
    static const char *names[4] = {"codes", "starts", "once", "twice"};
    static const Py_ssize_t sizes[4] = {4, 8, 4, 4};
    Arg a[4];
    memset(a, 0, sizeof a);
    PyObject *result = NULL;
    Py_UCS4 *w = NULL;
    uint8_t *allowed = NULL;
    Py_ssize_t *picked = NULL;
    for (int i = 0; i < 4; i++)
        if (!arg(o[i], &a[i], sizes[i], names[i])) goto done;
    const uint32_t *codes = a[0].view.buf, *once = a[2].view.buf, *twice = a[3].view.buf;
    const int64_t *starts = a[1].view.buf;
    Py_ssize_t n = a[2].view.len / 4, n_codes = a[0].view.len / 4;
    Py_ssize_t lw = PyUnicode_GET_LENGTH(word);
    if (a[1].view.len / 8 != n + 1 || a[3].view.len / 4 != n || lo < 0 || hi < lo || hi > n ||
        edits < 0 || mask > UINT32_MAX || again > UINT32_MAX || lw > MAX_WORD) {
        PyErr_SetString(PyExc_ValueError, "within: inconsistent arguments");
        goto done;
    }
    w = PyUnicode_AsUCS4Copy(word);
    result = PyList_New(0);
    allowed = malloc((size_t)(hi - lo + 1));
    picked = malloc((size_t)(hi - lo + 1) * sizeof(Py_ssize_t));
    if (!w || !result || !allowed || !picked) {
        if (w && result) PyErr_NoMemory();
        goto fail;
    }
    /* Masks hold 32 letters: past 64 edits the filter lets everything through, as with 64. */
    int filter_edits = edits > 64 ? 64 : (int)edits;
    letters_allow(once, twice, lo, hi, (uint32_t)mask, (uint32_t)again, filter_edits, allowed);
    Pattern pattern;
    pattern_of(&pattern, w, lw);
    /* The allowed choices (about 1 in 100: eight bytes at a time), then their bounds and their
     * letters fetched ahead, then compared: the memory of scattered choices is read in parallel. */
    Py_ssize_t n_picked = 0;
    for (Py_ssize_t i = lo; i < hi; i++) {
        uint64_t eight;
        if (i + 8 <= hi && (memcpy(&eight, allowed + (i - lo), 8), eight == 0)) {
            i += 7;
            continue;
        }
        if (allowed[i - lo]) {
            picked[n_picked++] = i;
            __builtin_prefetch(starts + i);
        }
    }
    for (Py_ssize_t at = 0; at < n_picked; at++) {
        Py_ssize_t i = picked[at];
        if (starts[i] < 0 || starts[i] > starts[i + 1] || starts[i + 1] > n_codes) {
            PyErr_SetString(PyExc_ValueError, "within: a choice out of range");
            goto fail;
        }
        __builtin_prefetch(codes + starts[i]);
    }
    for (Py_ssize_t at = 0; at < n_picked; at++) {
        Py_ssize_t i = picked[at];
        Py_ssize_t lb = (Py_ssize_t)(starts[i + 1] - starts[i]);
        if (lb - lw > edits || lw - lb > edits) continue;
        Py_ssize_t d = osa_bits(&pattern, codes + starts[i], lb);
        if (d > edits) continue;
        PyObject *hit = Py_BuildValue("(nn)", d, i);
        if (!hit || PyList_Append(result, hit) < 0) {
            Py_XDECREF(hit);
            goto fail;
        }
        Py_DECREF(hit);
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    for (int i = 0; i < 4; i++)
        if (a[i].held) PyBuffer_Release(&a[i].view);
    PyMem_Free(w);
    free(allowed);
    free(picked);
    return result;
}

static PyMethodDef methods[] = {
    {"within", within, METH_VARARGS,
     "within(word, codes, starts, once, twice, mask, again, lo, hi, edits) -> [(distance, i)]: "
     "the choices lo <= i < hi (code points codes[starts[i]:starts[i + 1]], letter masks once[i] "
     "and twice[i]) within `edits` OSA edits of the word (masks: typos.word_masks), in order; "
     "a word of at most 64 characters"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_typos", "Typo repair's inner loop (compiled).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__typos(void) { return PyModule_Create(&module); }
