/* The best passages of a question, document at a time over its postings (MaxScore).
 *
 * The compiled twin of rank.py's `_candidates`: the same passages and scores to the bit,
 * without a numpy call per step. A question is a list of terms (one-word units: a term's
 * postings times a factor; phrases: documents and scores computed by rank.py), each in a
 * group. A passage's group score is the best of the group's terms it holds (from 0), the
 * groups' scores are added in group order, and its final score is
 * score * (floor + share) + 1e-6 * share, where share is the weight of the groups it holds
 * over the total (rank.py's `_final`, the same operations in the same order).
 *
 * Light terms (thesaurus synonyms: factor <= `light`) are never walked: a bit per passage and
 * group says which passages hold one. First the passages that hold a heavy term: the heavy
 * terms are merged in document order, those of lowest bound only looked up once the passages
 * holding nothing else cannot reach the k-th best final score so far (MaxScore); a passage's
 * ceiling counts a group's synonyms only where its bit is set, and they are looked up only
 * where they can still change the sum. Then, if they can reach the k-th best at all, the
 * passages that hold synonyms only, from the bits. A first floor comes from the rarest heavy
 * terms' passages scored by the heavy terms alone (partial sums never exceed the final ones).
 * A question with many postings (`split`) is walked in two halves of the passages, the second
 * in a thread of its own, each pruning below the higher of the two's k-th best so far.
 *
 * Returns every passage whose final score is at least the k-th best (ties included), with its
 * score sum, held weight and a bit per group held, as four bytes objects (int64, float64,
 * float64, uint64), in no particular order. Factors and group weights must be at least 0 and
 * every argument is checked before the walk, which runs without the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "_args.h"

#define MAX_GROUPS 64

typedef struct {
    const int64_t *packed; /* kind 0: doc << 32 | float32 bits, documents ascending */
    const int64_t *docs;   /* kind 1: documents ascending */
    const double *vals;    /* kind 1: scores */
    Py_ssize_t first, pos, end; /* the postings walked: [first, end); pos: the cursor */
    int64_t cur;   /* the document at pos (INT64_MAX past the end) */
    double factor; /* kind 0: times the float32 weight */
    double bound;  /* the highest score it gives */
    int group;
    int kind;
} Term;

static inline int64_t doc_at(const Term *t, Py_ssize_t i) {
    return t->kind == 0 ? (int64_t)((uint64_t)t->packed[i] >> 32) : t->docs[i];
}

static inline double value_at(const Term *t, Py_ssize_t i) {
    if (t->kind == 1) return t->vals[i];
    uint32_t bits = (uint32_t)((uint64_t)t->packed[i] & 0xFFFFFFFFu);
    float w;
    memcpy(&w, &bits, sizeof w);
    return (double)w * t->factor;
}

/* Return the first position from lo on whose document is at least d (galloping search). */
static Py_ssize_t gallop(const Term *t, Py_ssize_t lo, int64_t d) {
    Py_ssize_t end = t->end;
    if (lo >= end || doc_at(t, lo) >= d) return lo;
    Py_ssize_t step = 1, hi = lo + 1;
    while (hi < end && doc_at(t, hi) < d) {
        lo = hi;
        step <<= 1;
        hi = lo + step;
    }
    if (hi > end) hi = end;
    while (hi - lo > 1) { /* doc_at(lo) < d, and hi == end or doc_at(hi) >= d */
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (doc_at(t, mid) < d) lo = mid;
        else hi = mid;
    }
    return hi;
}

/* A light term (a synonym): never walked, found from a bit per passage. */
static inline int is_light(const Term *t, double light) { return t->kind == 0 && t->factor <= light; }

static inline void set_cur(Term *t) { t->cur = t->pos < t->end ? doc_at(t, t->pos) : INT64_MAX; }

/* Move a term's cursor to its first posting at or after document d. */
static inline void seek(Term *t, int64_t d) {
    if (t->cur >= d) return;
    t->pos = gallop(t, t->pos, d);
    set_cur(t);
}

/* Sort a[0:ends[n_runs - 1]], made of runs a[0:ends[0]], a[ends[0]:ends[1]]... each ascending,
 * by merging each run into the sorted ones before it (a handful of runs of a few hundred). */
static void merge_runs(int64_t *a, int64_t *tmp, const Py_ssize_t *ends, Py_ssize_t n_runs) {
    for (Py_ssize_t r = 1; r < n_runs; r++) {
        Py_ssize_t i = 0, mid = ends[r - 1], j = mid, end = ends[r], o = 0;
        while (i < mid && j < end) tmp[o++] = a[j] < a[i] ? a[j++] : a[i++];
        while (i < mid) tmp[o++] = a[i++];
        while (j < end) tmp[o++] = a[j++];
        memcpy(a, tmp, (size_t)o * sizeof(int64_t));
    }
}

/* Return the k-th highest of values[0:n] (n >= k >= 1), with a min-heap of the k highest. */
static double kth_highest(const double *values, Py_ssize_t n, double *heap, Py_ssize_t k) {
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = values[i];
        if (i < k) { /* sift up */
            Py_ssize_t c = i;
            while (c > 0 && heap[(c - 1) / 2] > v) {
                heap[c] = heap[(c - 1) / 2];
                c = (c - 1) / 2;
            }
            heap[c] = v;
        } else if (v > heap[0]) { /* replace the least, sift down */
            Py_ssize_t c = 0;
            for (;;) {
                Py_ssize_t l = 2 * c + 1, m = c;
                double vm = v;
                if (l < k && heap[l] < vm) { m = l; vm = heap[l]; }
                if (l + 1 < k && heap[l + 1] < vm) { m = l + 1; }
                if (m == c) break;
                heap[c] = heap[m];
                c = m;
            }
            heap[c] = v;
        }
    }
    return heap[0];
}

static int by_double_down(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static inline double final_of(double score, double share, double floor_) {
    return score * (floor_ + share) + 1e-6 * share;
}

static inline double ceiling_of(double bound, double share, double floor_) {
    return final_of(bound, share, floor_) * (1 + 1e-9) + 1e-12;
}

/* -- the essential terms' cursors, a min-heap by current document ------------------------ */

static void cursor_down(Term *terms, Py_ssize_t *heap, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t x = heap[i];
    int64_t dx = terms[x].cur;
    for (;;) {
        Py_ssize_t l = 2 * i + 1, m = i;
        int64_t dm = dx;
        if (l < n) {
            int64_t dl = terms[heap[l]].cur;
            if (dl < dm) { m = l; dm = dl; }
            if (l + 1 < n) {
                int64_t dr = terms[heap[l + 1]].cur;
                if (dr < dm) { m = l + 1; dm = dr; }
            }
        }
        if (m == i) break;
        heap[i] = heap[m];
        i = m;
    }
    heap[i] = x;
}

static Py_ssize_t cursor_heap(Term *terms, const Py_ssize_t *order, Py_ssize_t from, Py_ssize_t n_terms, Py_ssize_t *heap) {
    Py_ssize_t n = 0;
    for (Py_ssize_t j = from; j < n_terms; j++)
        if (terms[order[j]].pos < terms[order[j]].end) heap[n++] = order[j];
    for (Py_ssize_t i = n / 2; i-- > 0;) cursor_down(terms, heap, n, i);
    return n;
}

/* -- the best passages so far: a min-heap of k by final score, and the ties of its least -- */

typedef struct {
    double final, score, covered;
    uint64_t mask;
    int64_t doc;
} Hit;

typedef struct {
    Hit *heap;
    Py_ssize_t n, k;
    Hit *ties;
    Py_ssize_t n_ties, cap_ties;
} Best;

static void best_down(Hit *h, Py_ssize_t n, Py_ssize_t i) {
    Hit x = h[i];
    for (;;) {
        Py_ssize_t l = 2 * i + 1, m = i;
        double fm = x.final;
        if (l < n && h[l].final < fm) { m = l; fm = h[l].final; }
        if (l + 1 < n && h[l + 1].final < fm) { m = l + 1; }
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static int add_tie(Best *b, Hit x) {
    if (b->n_ties == b->cap_ties) {
        Py_ssize_t cap = b->cap_ties ? 2 * b->cap_ties : 64;
        Hit *more = realloc(b->ties, (size_t)cap * sizeof(Hit));
        if (!more) return 0;
        b->ties = more;
        b->cap_ties = cap;
    }
    b->ties[b->n_ties++] = x;
    return 1;
}

/* Offer a scored passage; return 0 when out of memory. */
static int offer(Best *b, Hit x) {
    if (b->n < b->k) {
        Py_ssize_t i = b->n++;
        while (i > 0) {
            Py_ssize_t p = (i - 1) / 2;
            if (b->heap[p].final <= x.final) break;
            b->heap[i] = b->heap[p];
            i = p;
        }
        b->heap[i] = x;
        return 1;
    }
    double least = b->heap[0].final;
    if (x.final == least) return add_tie(b, x);
    if (x.final < least) return 1;
    Hit out = b->heap[0];
    b->heap[0] = x;
    best_down(b->heap, b->n, 0);
    double now = b->heap[0].final;
    if (now > least) {
        b->n_ties = 0; /* they equalled the old least: below the new one */
        return 1;
    }
    return add_tie(b, out); /* still tied with the least */
}

static inline double threshold(const Best *b) {
    return b->n < b->k ? -INFINITY : b->heap[0].final;
}

/* Count a term's posting `at` in its group: held, and the group's best so far (from 0). */
static inline void count(const Term *t, Py_ssize_t at, int *held, double *group_best) {
    double v = value_at(t, at);
    if (!held[t->group]) {
        held[t->group] = 1;
        group_best[t->group] = v > 0 ? v : 0;
    } else if (v > group_best[t->group]) {
        group_best[t->group] = v;
    }
}

/* -- a first floor -------------------------------------------------------------------------- */

#define SEED_MIN 200   /* seed postings at least (when there are that many) */
#define SEED_MAX 512   /* and at most, past the first term (1024: 100k rank p95 +8 %) */
#define SEED_TERMS 8   /* the heavy terms that score the seeds */

/* Return a floor under the k-th best final score (-inf when there is none): the passages of
 * the rarest heavy terms, scored by the heavy terms of highest bound alone. Partial sums, in
 * group order with some terms smaller, never exceed the final ones. Cursors do not move.
 * `order`: the heavy terms, by bound. */
static double seed_floor(const Term *terms, Py_ssize_t n_terms, const Py_ssize_t *order,
                         Py_ssize_t n_groups, const double *gweights, double total, double floor_,
                         Py_ssize_t k, int *failed) {
    Py_ssize_t heavy[SEED_TERMS], n_heavy = 0;
    for (Py_ssize_t j = n_terms; j-- > 0 && n_heavy < SEED_TERMS;) heavy[n_heavy++] = order[j];
    Py_ssize_t by_size[SEED_TERMS];
    memcpy(by_size, heavy, sizeof(Py_ssize_t) * (size_t)n_heavy);
    for (Py_ssize_t i = 1; i < n_heavy; i++) { /* rarest first */
        Py_ssize_t x = by_size[i], j = i;
        Py_ssize_t size = terms[x].end - terms[x].pos;
        while (j > 0 && terms[by_size[j - 1]].end - terms[by_size[j - 1]].pos > size) {
            by_size[j] = by_size[j - 1];
            j--;
        }
        by_size[j] = x;
    }
    Py_ssize_t n_seed = 0, postings = 0;
    for (; n_seed < n_heavy; n_seed++) {
        Py_ssize_t size = terms[by_size[n_seed]].end - terms[by_size[n_seed]].pos;
        if (n_seed && postings >= SEED_MIN && postings + size > SEED_MAX) break;
        postings += size;
    }
    if (postings > SEED_MAX) postings = SEED_MAX; /* any of their passages give a floor */
    if (postings < k) return -INFINITY;
    int64_t *docs = malloc((size_t)postings * sizeof(int64_t));
    int64_t *tmp = malloc((size_t)postings * sizeof(int64_t));
    double *finals = malloc((size_t)postings * sizeof(double));
    double *heap = malloc((size_t)k * sizeof(double));
    if (!docs || !tmp || !finals || !heap) {
        free(docs);
        free(tmp);
        free(finals);
        free(heap);
        *failed = 1;
        return -INFINITY;
    }
    Py_ssize_t m = 0, ends[SEED_TERMS], n_runs = 0;
    for (Py_ssize_t i = 0; i < n_seed && m < postings; i++) {
        const Term *t = &terms[by_size[i]];
        for (Py_ssize_t j = t->pos; j < t->end && m < postings; j++) docs[m++] = doc_at(t, j);
        ends[n_runs++] = m; /* each term's documents ascending: a run */
    }
    merge_runs(docs, tmp, ends, n_runs);
    Py_ssize_t distinct = 0, scored = 0;
    for (Py_ssize_t i = 0; i < m; i++)
        if (!distinct || docs[i] != docs[distinct - 1]) docs[distinct++] = docs[i];
    Py_ssize_t at[SEED_TERMS];
    for (Py_ssize_t h = 0; h < n_heavy; h++) at[h] = terms[heavy[h]].pos;
    for (Py_ssize_t i = 0; i < distinct; i++) { /* ascending: each term's search goes on */
        double group_best[MAX_GROUPS];
        int held[MAX_GROUPS];
        for (Py_ssize_t g = 0; g < n_groups; g++) {
            held[g] = 0;
            group_best[g] = 0;
        }
        for (Py_ssize_t h = 0; h < n_heavy; h++) {
            const Term *t = &terms[heavy[h]];
            at[h] = gallop(t, at[h], docs[i]);
            if (at[h] < t->end && doc_at(t, at[h]) == docs[i]) count(t, at[h], held, group_best);
        }
        double score = 0, covered = 0;
        for (Py_ssize_t g = 0; g < n_groups; g++) {
            if (!held[g]) continue;
            score += group_best[g];
            covered += gweights[g];
        }
        if (covered > 0) finals[scored++] = final_of(score, covered / total, floor_);
    }
    double out = scored >= k ? kth_highest(finals, scored, heap, k) : -INFINITY;
    free(docs);
    free(tmp);
    free(finals);
    free(heap);
    return out;
}

/* -- a question ------------------------------------------------------------------------------ */

typedef struct {
    Term *terms;
    Py_ssize_t n_terms, n_light, n_groups;
    Py_ssize_t *order;    /* the light terms by bound, then the heavy terms by bound */
    Py_ssize_t *heap;     /* the walked terms' cursors */
    Py_ssize_t *by_group; /* the light terms, group by group: by_group[light_at[g]:light_at[g + 1]] */
    Py_ssize_t light_at[MAX_GROUPS + 1];
    double light_bound[MAX_GROUPS]; /* per group, the highest bound of its light terms */
    uint64_t *bits;                 /* per group with light terms, a bit per passage holding one */
    Py_ssize_t words;               /* 64-bit words per group in `bits` */
    Py_ssize_t w_begin, w_end;      /* the words of bits (64 passages each) this walk covers */
    int64_t n_docs;                 /* passages: a document past them is in no bit */
    const double *gweights;
    double total, floor_, seed;
    double inv_total; /* for ceilings only: their margin covers the rounding */
    Best best;
    /* Split in halves: the highest k-th best of either so far (a floor for both), else NULL. */
    double *shared;
} Query;

static inline int light_here(const Query *q, Py_ssize_t g, int64_t d) {
    return q->light_at[g + 1] > q->light_at[g] && d < q->n_docs &&
           (q->bits[g * q->words + (d >> 6)] >> (d & 63)) & 1;
}

/* Count the light terms of group g at passage d (their cursors only move forward): highest
 * bound first, until the rest cannot raise the group's best. */
static void probe_light(Query *q, Py_ssize_t g, int64_t d, int *held, double *group_best) {
    for (Py_ssize_t j = q->light_at[g + 1]; j-- > q->light_at[g];) {
        Term *t = &q->terms[q->by_group[j]];
        if (held[g] && t->bound <= group_best[g]) break;
        seek(t, d);
        if (t->cur == d) count(t, t->pos, held, group_best);
    }
}

static inline double least_of(const Query *q) {
    double least = threshold(&q->best);
    if (q->shared) {
        double other;
        __atomic_load(q->shared, &other, __ATOMIC_RELAXED);
        if (other > least) least = other;
    }
    return q->seed > least ? q->seed : least;
}

/* Raise the shared floor to this half's k-th best, if higher. */
static void share_least(const Query *q) {
    double mine = threshold(&q->best), now;
    __atomic_load(q->shared, &now, __ATOMIC_RELAXED);
    while (mine > now &&
           !__atomic_compare_exchange(q->shared, &now, &mine, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* Offer a passage whose groups are all counted; return 0 when out of memory. */
static int offer_scored(Query *q, int64_t d, const int *held, const double *group_best) {
    Hit x = {0, 0, 0, 0, d};
    for (Py_ssize_t g = 0; g < q->n_groups; g++) { /* in group order, as rank.py adds them */
        if (!held[g]) continue;
        x.score += group_best[g];
        x.covered += q->gweights[g];
        x.mask |= (uint64_t)1 << g;
    }
    if (!(x.covered > 0)) return 1;
    x.final = final_of(x.score, x.covered / q->total, q->floor_);
    if (!offer(&q->best, x)) return 0;
    if (q->shared) share_least(q);
    return 1;
}

/* Return how many terms of `order` need not be walked, from ne on: the passages that hold
 * only them (light ones included: those are the other walk's) stay below `least`. ne_bound and
 * ne_has: per group, the highest bound of those terms and if any; heavy_*: of the heavy ones. */
static Py_ssize_t grow(const Query *q, Py_ssize_t ne, double least, double *ne_bound, int *ne_has,
                       double *heavy_bound, int *heavy_has) {
    while (ne < q->n_terms) {
        const Term *t = &q->terms[q->order[ne]];
        double bound = 0, weight = 0;
        for (Py_ssize_t g = 0; g < q->n_groups; g++) {
            double b = ne_bound[g];
            if (g == t->group && t->bound > b) b = t->bound;
            if (ne_has[g] || g == t->group) {
                bound += b;
                weight += q->gweights[g];
            }
        }
        if (!(ceiling_of(bound, weight * q->inv_total, q->floor_) < least)) break;
        ne_has[t->group] = heavy_has[t->group] = 1;
        if (t->bound > ne_bound[t->group]) ne_bound[t->group] = t->bound;
        if (t->bound > heavy_bound[t->group]) heavy_bound[t->group] = t->bound;
        ne++;
    }
    return ne;
}

#define TABLE_GROUPS 10 /* up to this many groups, a passage's first ceiling is two look-ups */

/* Per set of groups whose light bits a passage has (a bit each): what the looked-up terms add at
 * most, the highest of the heavy looked-up and, where the bit is, the light bounds; and per set
 * of groups, their weight. */
typedef struct {
    double extra[1 << TABLE_GROUPS];
    double weight[1 << TABLE_GROUPS];
    double without[TABLE_GROUPS], with[TABLE_GROUPS]; /* per group: no light bit, a light bit */
    uint64_t heavy; /* the groups with heavy terms looked up only */
} Tables;

static void fill_tables(const Query *q, Tables *tab, const double *heavy_bound, const int *heavy_has) {
    Py_ssize_t n = q->n_groups;
    tab->heavy = 0;
    for (Py_ssize_t g = 0; g < n; g++) {
        tab->without[g] = heavy_has[g] ? heavy_bound[g] : 0;
        tab->with[g] = q->light_bound[g] > tab->without[g] ? q->light_bound[g] : tab->without[g];
        if (heavy_has[g]) tab->heavy |= (uint64_t)1 << g;
    }
    for (uint64_t set = 0; set < ((uint64_t)1 << n); set++) {
        double extra = 0, weight = 0;
        for (Py_ssize_t g = 0; g < n; g++) {
            int in = (int)((set >> g) & 1);
            extra += in ? tab->with[g] : tab->without[g];
            if (in) weight += q->gweights[g];
        }
        tab->extra[set] = extra;
        tab->weight[set] = weight;
    }
}

/* The passages that hold a heavy term: the heavy terms of highest bound are walked in
 * document order, the others looked up, and the light terms looked up where a passage's
 * bits say it holds one, while its ceiling reaches the k-th best. Return 0: out of memory. */
static int walk_heavy(Query *q) {
    double ne_bound[MAX_GROUPS], heavy_bound[MAX_GROUPS], group_best[MAX_GROUPS];
    int ne_has[MAX_GROUPS], heavy_has[MAX_GROUPS], held[MAX_GROUPS];
    for (Py_ssize_t g = 0; g < q->n_groups; g++) {
        ne_bound[g] = q->light_bound[g];
        ne_has[g] = q->light_at[g + 1] > q->light_at[g];
        heavy_bound[g] = 0;
        heavy_has[g] = 0;
    }
    Py_ssize_t ne = q->n_light; /* order[n_light:ne]: heavy terms looked up only */
    double least = least_of(q);
    if (least > -INFINITY) ne = grow(q, ne, least, ne_bound, ne_has, heavy_bound, heavy_has);
    Term *terms = q->terms;
    Py_ssize_t *heap = q->heap;
    Py_ssize_t n_heap = cursor_heap(terms, q->order, ne, q->n_terms, heap);
    /* Few groups: a passage's first ceiling from tables (most passages stop there). */
    Tables *tab = q->n_groups <= TABLE_GROUPS ? malloc(sizeof(Tables)) : NULL;
    if (tab) fill_tables(q, tab, heavy_bound, heavy_has);
    for (Py_ssize_t g = 0; g < q->n_groups; g++) {
        held[g] = 0;
        group_best[g] = 0;
    }
    while (n_heap > 0) {
        int64_t d = terms[heap[0]].cur;
        uint64_t here = 0; /* the groups of the walked terms at d */
        while (n_heap > 0) { /* every walked term at d */
            Term *t = &terms[heap[0]];
            if (t->cur != d) break;
            count(t, t->pos, held, group_best);
            here |= (uint64_t)1 << t->group;
            t->pos++;
            set_cur(t);
            if (t->pos >= t->end) heap[0] = heap[--n_heap];
            if (n_heap > 0) cursor_down(terms, heap, n_heap, 0);
        }
        least = least_of(q);
        if (tab && least > -INFINITY) {
            uint64_t light = 0;
            for (Py_ssize_t g = 0; g < q->n_groups; g++) light |= (uint64_t)light_here(q, g, d) << g;
            double bound = tab->extra[light];
            for (uint64_t h = here; h; h &= h - 1) { /* a held group: its best, if higher */
                int g = __builtin_ctzll(h);
                double add = (light >> g) & 1 ? tab->with[g] : tab->without[g];
                if (group_best[g] > add) bound += group_best[g] - add;
            }
            double weight = tab->weight[light | here | tab->heavy];
            if (ceiling_of(bound, weight * q->inv_total, q->floor_) < least) {
                for (uint64_t h = here; h; h &= h - 1) {
                    held[__builtin_ctzll(h)] = 0;
                    group_best[__builtin_ctzll(h)] = 0;
                }
                continue;
            }
        } else if (least > -INFINITY) { /* what the other terms could add at most */
            double bound = 0, weight = 0;
            for (Py_ssize_t g = 0; g < q->n_groups; g++) {
                double ub = group_best[g];
                int may = held[g];
                if (heavy_has[g]) {
                    may = 1;
                    if (heavy_bound[g] > ub) ub = heavy_bound[g];
                }
                if (light_here(q, g, d)) {
                    may = 1;
                    if (q->light_bound[g] > ub) ub = q->light_bound[g];
                }
                bound += ub;
                if (may) weight += q->gweights[g];
            }
            if (ceiling_of(bound, weight * q->inv_total, q->floor_) < least) {
                for (Py_ssize_t g = 0; g < q->n_groups; g++) {
                    held[g] = 0;
                    group_best[g] = 0;
                }
                continue;
            }
        }
        for (Py_ssize_t j = q->n_light; j < ne; j++) {
            Term *t = &terms[q->order[j]];
            seek(t, d);
            if (t->cur == d) count(t, t->pos, held, group_best);
        }
        if (least > -INFINITY) { /* the heavy terms counted: what the light ones could add */
            double bound = 0, weight = 0;
            for (Py_ssize_t g = 0; g < q->n_groups; g++) {
                int light = light_here(q, g, d);
                double ub = group_best[g];
                if (light && q->light_bound[g] > ub) ub = q->light_bound[g];
                bound += ub;
                if (held[g] || light) weight += q->gweights[g];
            }
            if (ceiling_of(bound, weight * q->inv_total, q->floor_) < least) goto next;
        }
        for (Py_ssize_t g = 0; g < q->n_groups; g++) /* where they may change the sum */
            if (light_here(q, g, d) && (!held[g] || q->light_bound[g] > group_best[g]))
                probe_light(q, g, d, held, group_best);
        if (!offer_scored(q, d, held, group_best)) {
            free(tab);
            return 0;
        }
        {
            double now = least_of(q);
            if (now > least && ne < q->n_terms) {
                /* A higher k-th best: more of the lowest-bound heavy terms may be looked up. */
                Py_ssize_t was = ne;
                ne = grow(q, ne, now, ne_bound, ne_has, heavy_bound, heavy_has);
                if (ne > was) {
                    n_heap = cursor_heap(terms, q->order, ne, q->n_terms, heap);
                    if (tab) fill_tables(q, tab, heavy_bound, heavy_has);
                }
            }
        }
    next:
        for (Py_ssize_t g = 0; g < q->n_groups; g++) {
            held[g] = 0;
            group_best[g] = 0;
        }
    }
    free(tab);
    return 1;
}

/* The passages that hold light terms only, from their bits, in document order: those whose
 * ceiling reaches the k-th best and that hold no heavy term. Return 0: out of memory. */
static int walk_light(Query *q) {
    double group_best[MAX_GROUPS];
    int held[MAX_GROUPS];
    /* How many groups' light terms a passage must hold at least to reach the k-th best: the
     * highest bounds and weights of that many groups, each taken from any group, fall short. */
    double bounds[MAX_GROUPS], weights[MAX_GROUPS];
    Py_ssize_t n_light_groups = 0;
    for (Py_ssize_t g = 0; g < q->n_groups; g++) {
        if (q->light_at[g + 1] == q->light_at[g]) continue;
        bounds[n_light_groups] = q->light_bound[g];
        weights[n_light_groups++] = q->gweights[g];
    }
    qsort(bounds, (size_t)n_light_groups, sizeof(double), by_double_down);
    qsort(weights, (size_t)n_light_groups, sizeof(double), by_double_down);
    double start = least_of(q), bound = 0, weight = 0;
    int need = 1;
    if (start > -INFINITY) {
        for (need = 1; need <= n_light_groups; need++) {
            bound += bounds[need - 1];
            weight += weights[need - 1];
            if (ceiling_of(bound, weight * q->inv_total, q->floor_) >= start) break;
        }
        if (need > n_light_groups) return 1;
    }
    for (Py_ssize_t w = q->w_begin; w < q->w_end; w++) {
        uint64_t any = 0, planes[7] = {0}; /* per passage, how many groups: bit by bit */
        for (Py_ssize_t g = 0; g < q->n_groups; g++) {
            if (q->light_at[g + 1] == q->light_at[g]) continue;
            uint64_t carry = q->bits[g * q->words + w];
            any |= carry;
            for (int i = 0; i < 7 && carry; i++) {
                uint64_t next = planes[i] & carry;
                planes[i] ^= carry;
                carry = next;
            }
        }
        if (need > 1) { /* the passages counting at least `need` */
            uint64_t above = 0, equal = ~(uint64_t)0;
            for (int i = 6; i >= 0; i--) {
                if ((need >> i) & 1) {
                    equal &= planes[i];
                } else {
                    above |= equal & planes[i];
                    equal &= ~planes[i];
                }
            }
            any &= above | equal;
        }
        while (any) {
            int64_t d = (int64_t)w * 64 + __builtin_ctzll(any);
            any &= any - 1;
            double least = least_of(q), bound = 0, weight = 0;
            for (Py_ssize_t g = 0; g < q->n_groups; g++) {
                if (!light_here(q, g, d)) continue;
                bound += q->light_bound[g];
                weight += q->gweights[g];
            }
            if (least > -INFINITY && ceiling_of(bound, weight * q->inv_total, q->floor_) < least) continue;
            int heavy = 0;
            for (Py_ssize_t j = q->n_light; j < q->n_terms && !heavy; j++) {
                Term *t = &q->terms[q->order[j]];
                seek(t, d);
                heavy = t->cur == d;
            }
            if (heavy) continue; /* the other walk's */
            for (Py_ssize_t g = 0; g < q->n_groups; g++) {
                held[g] = 0;
                group_best[g] = 0;
            }
            for (Py_ssize_t g = 0; g < q->n_groups; g++)
                if (light_here(q, g, d)) probe_light(q, g, d, held, group_best);
            if (!offer_scored(q, d, held, group_best)) return 0;
        }
    }
    return 1;
}

/* -- both walks, over all passages or split in two halves walked side by side ------------ */

/* Set the light terms' bits, walk the passages that hold a heavy term, then, if they can
 * reach the k-th best at all, those holding light terms only. Return 0: out of memory. */
static int walk(Query *q) {
    for (Py_ssize_t j = 0; j < q->n_light; j++) { /* a bit per passage holding a light term */
        const Term *t = &q->terms[q->order[j]];
        /* Locals the stores below cannot alias: the loop keeps them in registers. */
        uint64_t *restrict bits = q->bits + t->group * q->words;
        const uint64_t *restrict packed = (const uint64_t *)t->packed;
        const uint64_t limit = (uint64_t)q->n_docs;
        for (Py_ssize_t i = t->first, end = t->end; i < end; i++) {
            uint64_t d = packed[i] >> 32;
            if (d < limit) bits[d >> 6] |= (uint64_t)1 << (d & 63); /* always, from an index */
        }
    }
    if (!walk_heavy(q)) return 0;
    double alone = 0, alone_weight = 0; /* at most, a passage holding light terms only */
    for (Py_ssize_t g = 0; g < q->n_groups; g++) {
        if (q->light_at[g + 1] == q->light_at[g]) continue;
        alone += q->light_bound[g];
        alone_weight += q->gweights[g];
    }
    double least = least_of(q);
    if (!q->n_light ||
        !(least == -INFINITY || ceiling_of(alone, alone_weight * q->inv_total, q->floor_) >= least))
        return 1;
    for (Py_ssize_t i = 0; i < q->n_terms; i++) {
        q->terms[i].pos = q->terms[i].first;
        set_cur(&q->terms[i]);
    }
    return walk_light(q);
}

static void *walk_thread(void *q) { return walk((Query *)q) ? q : NULL; }

/* Walk the passages in two halves, the second in a thread of its own, each half with its own
 * best passages, then offer the second half's to the first's. Each half prunes below the
 * higher of the halves' k-th best so far, never above the whole's: a passage of the whole's
 * best (or tied) is never pruned, and is among the best of its half. The halves split at a
 * multiple of 64 passages (a word of bits each writes alone), near the middle of the postings
 * of the term with most. Return 0: out of memory. */
static int walk_split(Query *q) {
    Py_ssize_t most = 0;
    for (Py_ssize_t i = 1; i < q->n_terms; i++)
        if (q->terms[i].end - q->terms[i].first > q->terms[most].end - q->terms[most].first) most = i;
    const Term *big = &q->terms[most];
    int64_t mid = doc_at(big, big->first + (big->end - big->first) / 2) & ~(int64_t)63;
    if (mid <= 0 || mid >= q->n_docs) return walk(q);
    double shared = -INFINITY;
    q->shared = &shared;
    Query h = *q; /* the second half */
    h.terms = malloc((size_t)q->n_terms * sizeof(Term));
    h.heap = malloc((size_t)q->n_terms * sizeof(Py_ssize_t));
    h.best.heap = malloc((size_t)q->best.k * sizeof(Hit));
    h.best.n = h.best.n_ties = h.best.cap_ties = 0;
    h.best.ties = NULL;
    int ok = h.terms && h.heap && h.best.heap;
    if (ok) {
        memcpy(h.terms, q->terms, (size_t)q->n_terms * sizeof(Term));
        for (Py_ssize_t i = 0; i < q->n_terms; i++) {
            Term *t = &q->terms[i], *u = &h.terms[i];
            t->end = u->first = u->pos = gallop(t, t->first, mid);
            set_cur(t);
            set_cur(u);
        }
        q->w_end = h.w_begin = mid >> 6;
        pthread_t thread;
        int started = pthread_create(&thread, NULL, walk_thread, &h) == 0;
        ok = walk(q);
        if (started) {
            void *done = NULL;
            pthread_join(thread, &done);
            ok = ok && done != NULL;
        } else {
            ok = ok && walk(&h);
        }
        for (Py_ssize_t i = 0; ok && i < h.best.n + h.best.n_ties; i++)
            ok = offer(&q->best, i < h.best.n ? h.best.heap[i] : h.best.ties[i - h.best.n]);
    }
    q->shared = NULL;
    free(h.terms);
    free(h.heap);
    free(h.best.heap);
    free(h.best.ties);
    return ok;
}

/* -- arguments (their buffers: _args.h) ---------------------------------------------------- */

typedef struct {
    double bound;
    Py_ssize_t term;
} ByBound;

static int by_bound(const void *a, const void *b) {
    const ByBound *x = a, *y = b;
    if (x->bound != y->bound) return x->bound < y->bound ? -1 : 1;
    return (x->term > y->term) - (x->term < y->term);
}

static PyObject *best_passages(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[9];
    double total, floor_, light;
    Py_ssize_t k, n_docs, split;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOddndnn", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7], &o[8], &total, &floor_, &k, &light, &n_docs, &split))
        return NULL;
    static const char *names[9] = {"offsets", "packed", "max_weight", "terms", "factors",
                                   "phrase_starts", "phrase_docs", "phrase_values", "group_weights"};
    Arg a[9];
    memset(a, 0, sizeof a);
    PyObject *result = NULL;
    Query q;
    memset(&q, 0, sizeof q);
    ByBound *ranked = NULL;
    for (int i = 0; i < 9; i++)
        if (!arg(o[i], &a[i], 8, names[i])) goto done;
    const int64_t *offsets = a[0].view.buf, *packed = a[1].view.buf, *spec = a[3].view.buf;
    const int64_t *xstarts = a[5].view.buf, *xdocs = a[6].view.buf;
    const double *max_weight = a[2].view.buf, *factors = a[4].view.buf, *xvals = a[7].view.buf;
    Py_ssize_t n_vocab = a[0].view.len / 8 - 1, n_packed = a[1].view.len / 8;
    Py_ssize_t n_terms = a[3].view.len / 24, n_x = a[5].view.len / 8 - 1;
    Py_ssize_t n_groups = a[8].view.len / 8, n_xpost = a[6].view.len / 8;
    if (a[3].view.len % 24 || a[4].view.len / 8 != n_terms || a[2].view.len / 8 != n_vocab ||
        n_vocab < 0 || n_x < 0 || a[7].view.len != a[6].view.len || n_groups > MAX_GROUPS ||
        k < 1 || !(total > 0) || n_docs < 0) {
        PyErr_SetString(PyExc_ValueError, "best_passages: inconsistent arguments");
        goto done;
    }
    q.n_terms = n_terms;
    q.n_groups = n_groups;
    q.gweights = a[8].view.buf;
    q.total = total;
    q.inv_total = 1.0 / total;
    q.floor_ = floor_;
    q.words = q.w_end = (n_docs + 63) / 64;
    q.n_docs = n_docs;
    size_t some = (size_t)(n_terms ? n_terms : 1);
    q.terms = PyMem_Calloc(some, sizeof(Term));
    q.order = PyMem_Calloc(some, sizeof(Py_ssize_t));
    q.heap = PyMem_Calloc(some, sizeof(Py_ssize_t));
    q.by_group = PyMem_Calloc(some, sizeof(Py_ssize_t));
    ranked = PyMem_Calloc(some, sizeof(ByBound));
    q.best.k = k;
    q.best.heap = PyMem_Calloc((size_t)k, sizeof(Hit));
    if (!q.terms || !q.order || !q.heap || !q.by_group || !ranked || !q.best.heap) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t g = 0; g < n_groups; g++)
        if (!(q.gweights[g] >= 0)) goto bad;
    Py_ssize_t postings = 0;
    for (Py_ssize_t i = 0; i < n_terms; i++) { /* checked here: the walks run without the GIL */
        int64_t g = spec[3 * i], kind = spec[3 * i + 1], at = spec[3 * i + 2];
        Term *t = &q.terms[i];
        if (g < 0 || g >= n_groups || !(factors[i] >= 0)) goto bad;
        t->group = (int)g;
        t->kind = (int)kind;
        t->factor = factors[i];
        if (kind == 0) {
            if (at < 0 || at >= n_vocab || offsets[at] < 0 || offsets[at] > offsets[at + 1] ||
                offsets[at + 1] > n_packed)
                goto bad;
            t->packed = packed;
            t->pos = offsets[at];
            t->end = offsets[at + 1];
            t->bound = max_weight[at] * t->factor;
            /* ascending within a term (the index's order): the first and last bound them all */
            if (t->end > t->pos && (doc_at(t, t->pos) < 0 || doc_at(t, t->end - 1) >= n_docs)) goto bad;
        } else if (kind == 1) {
            if (at < 0 || at >= n_x || xstarts[at] < 0 || xstarts[at] > xstarts[at + 1] ||
                xstarts[at + 1] > n_xpost)
                goto bad;
            t->docs = xdocs;
            t->vals = xvals;
            t->pos = xstarts[at];
            t->end = xstarts[at + 1];
            t->bound = 0;
            for (Py_ssize_t j = t->pos; j < t->end; j++) {
                if (xdocs[j] < 0 || xdocs[j] >= n_docs || (j > t->pos && xdocs[j] <= xdocs[j - 1]))
                    goto bad;
                if (xvals[j] > t->bound) t->bound = xvals[j];
            }
        } else {
            goto bad;
        }
        if (!(t->bound >= 0)) t->bound = 0; /* a score below 0 counts as 0 */
        t->first = t->pos;
        set_cur(t);
        postings += t->end - t->pos;
        ranked[i].bound = t->bound;
        ranked[i].term = i;
    }
    qsort(ranked, (size_t)n_terms, sizeof(ByBound), by_bound);
    /* The light terms first, then the heavy ones, each by bound; light terms by group too. */
    Py_ssize_t per_group[MAX_GROUPS + 1] = {0};
    for (Py_ssize_t i = 0; i < n_terms; i++) {
        const Term *t = &q.terms[ranked[i].term];
        if (is_light(t, light)) {
            q.order[q.n_light++] = ranked[i].term;
            per_group[t->group + 1]++;
            if (t->bound > q.light_bound[t->group]) q.light_bound[t->group] = t->bound;
        }
    }
    for (Py_ssize_t i = 0, j = q.n_light; i < n_terms; i++) {
        const Term *t = &q.terms[ranked[i].term];
        if (!is_light(t, light)) q.order[j++] = ranked[i].term;
    }
    for (Py_ssize_t g = 0; g < n_groups; g++) per_group[g + 1] += per_group[g];
    memcpy(q.light_at, per_group, sizeof(Py_ssize_t) * (size_t)(n_groups + 1));
    for (Py_ssize_t j = 0; j < q.n_light; j++) q.by_group[per_group[q.terms[q.order[j]].group]++] = q.order[j];
    if (q.n_light) {
        size_t cells = (size_t)n_groups * (size_t)q.words;
        q.bits = calloc(cells ? cells : 1, sizeof(uint64_t));
        if (!q.bits) {
            PyErr_NoMemory();
            goto done;
        }
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    q.seed = seed_floor(q.terms, n_terms - q.n_light, q.order + q.n_light, n_groups, q.gweights,
                        total, floor_, k, &failed);
    if (!failed) failed = !(split > 0 && postings >= split ? walk_split(&q) : walk(&q));
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n_out = q.best.n + q.best.n_ties;
    PyObject *out[4];
    for (int i = 0; i < 4; i++) out[i] = PyBytes_FromStringAndSize(NULL, n_out * 8);
    if (out[0] && out[1] && out[2] && out[3]) {
        int64_t *docs = (int64_t *)PyBytes_AS_STRING(out[0]);
        double *score = (double *)PyBytes_AS_STRING(out[1]);
        double *covered = (double *)PyBytes_AS_STRING(out[2]);
        uint64_t *mask = (uint64_t *)PyBytes_AS_STRING(out[3]);
        for (Py_ssize_t i = 0; i < n_out; i++) {
            const Hit *h = i < q.best.n ? &q.best.heap[i] : &q.best.ties[i - q.best.n];
            docs[i] = h->doc;
            score[i] = h->score;
            covered[i] = h->covered;
            mask[i] = h->mask;
        }
        result = PyTuple_Pack(4, out[0], out[1], out[2], out[3]);
    }
    for (int i = 0; i < 4; i++) Py_XDECREF(out[i]);
    goto done;
bad:
    PyErr_SetString(PyExc_ValueError, "best_passages: a term out of range");
done:
    for (int i = 0; i < 9; i++)
        if (a[i].held) PyBuffer_Release(&a[i].view);
    PyMem_Free(q.terms);
    PyMem_Free(q.order);
    PyMem_Free(q.heap);
    PyMem_Free(q.by_group);
    PyMem_Free(ranked);
    PyMem_Free(q.best.heap);
    free(q.best.ties);
    free(q.bits);
    return result;
}

/* -- the passages found, finished: families, final scores, the best first -------------------- */

typedef struct {
    double final, share;
    int64_t doc;
} Done;

static int by_final_then_doc(const void *a, const void *b) {
    const Done *x = a, *y = b;
    if (x->final != y->final) return x->final > y->final ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

/* rank.py's `_with_families` and `_best` over best_passages' output: in a passage that holds
 * none of a group's units (its bit), the group's best family member counts (its score, the
 * group's weight), groups in order; then final scores, and the k best, ties by document. */
static PyObject *finish(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[9];
    double total, floor_;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOddn", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7], &o[8], &total, &floor_, &k))
        return NULL;
    static const char *names[9] = {"offsets", "packed", "docs", "score", "covered", "mask",
                                   "family", "family_factors", "group_weights"};
    Arg a[9];
    memset(a, 0, sizeof a);
    PyObject *result = NULL, *out3[3] = {NULL, NULL, NULL};
    Done *done = NULL;
    for (int i = 0; i < 9; i++)
        if (!arg(o[i], &a[i], 8, names[i])) goto out;
    const int64_t *offsets = a[0].view.buf, *packed = a[1].view.buf, *docs = a[2].view.buf;
    const double *score = a[3].view.buf, *covered = a[4].view.buf;
    const uint64_t *mask = a[5].view.buf;
    const int64_t *family = a[6].view.buf;
    const double *factors = a[7].view.buf, *gweights = a[8].view.buf;
    Py_ssize_t n_vocab = a[0].view.len / 8 - 1, n_packed = a[1].view.len / 8;
    Py_ssize_t n = a[2].view.len / 8, n_family = a[7].view.len / 8, n_groups = a[8].view.len / 8;
    if (n_vocab < 0 || a[3].view.len / 8 != n || a[4].view.len / 8 != n ||
        a[5].view.len / 8 != n || a[6].view.len != 2 * a[7].view.len || n_groups > MAX_GROUPS ||
        k < 1 || !(total > 0)) {
        PyErr_SetString(PyExc_ValueError, "finish: inconsistent arguments");
        goto out;
    }
    for (Py_ssize_t j = 0; j < n_family; j++) { /* members in group order, checked */
        int64_t g = family[2 * j], tid = family[2 * j + 1];
        if (g < 0 || g >= n_groups || (j && g < family[2 * j - 2]) || tid < 0 || tid >= n_vocab ||
            offsets[tid] < 0 || offsets[tid] > offsets[tid + 1] || offsets[tid + 1] > n_packed) {
            PyErr_SetString(PyExc_ValueError, "finish: a family member out of range");
            goto out;
        }
    }
    done = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Done));
    if (!done) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double s = score[i], c = covered[i];
        for (Py_ssize_t j = 0; j < n_family;) { /* one group's members at a time */
            int64_t g = family[2 * j];
            int held = (mask[i] >> g) & 1; /* the group holds a unit here: no stand-in */
            double best = 0;
            for (; j < n_family && family[2 * j] == g; j++) {
                if (held) continue;
                int64_t tid = family[2 * j + 1];
                Term t = {.packed = packed, .pos = offsets[tid], .end = offsets[tid + 1],
                          .factor = factors[j]};
                Py_ssize_t at = gallop(&t, t.pos, docs[i]);
                double v = at < t.end && doc_at(&t, at) == docs[i] ? value_at(&t, at) : 0;
                if (v > best) best = v;
            }
            if (best > 0) {
                s += best;
                c += gweights[g];
            }
        }
        double share = c / total;
        done[i] = (Done){final_of(s, share, floor_), share, docs[i]};
    }
    qsort(done, (size_t)n, sizeof(Done), by_final_then_doc);
    Py_ssize_t n_out = n < k ? n : k;
    for (int i = 0; i < 3; i++) out3[i] = PyBytes_FromStringAndSize(NULL, n_out * 8);
    if (out3[0] && out3[1] && out3[2]) {
        int64_t *d = (int64_t *)PyBytes_AS_STRING(out3[0]);
        double *f = (double *)PyBytes_AS_STRING(out3[1]);
        double *coverage = (double *)PyBytes_AS_STRING(out3[2]);
        for (Py_ssize_t i = 0; i < n_out; i++) {
            d[i] = done[i].doc;
            f[i] = done[i].final;
            coverage[i] = done[i].share;
        }
        result = PyTuple_Pack(3, out3[0], out3[1], out3[2]);
    }
out:
    for (int i = 0; i < 3; i++) Py_XDECREF(out3[i]);
    for (int i = 0; i < 9; i++)
        if (a[i].held) PyBuffer_Release(&a[i].view);
    PyMem_Free(done);
    return result;
}

static PyMethodDef methods[] = {
    {"finish", finish, METH_VARARGS,
     "finish(offsets, packed, docs, score, covered, mask, family, family_factors, group_weights, "
     "total, floor, k) -> (docs, final, coverage): best_passages' passages with word families "
     "counted, the k best first (int64, float64, float64 bytes; see rank.py)"},
    {"best_passages", best_passages, METH_VARARGS,
     "best_passages(offsets, packed, max_weights, terms, factors, phrase_starts, phrase_docs, "
     "phrase_values, group_weights, total, floor, k, light, n_docs, split) -> (docs, score, "
     "covered, mask), four bytes objects of int64, float64, float64 and uint64 (see rank.py); "
     "with at least `split` postings (0: never) the passages are walked in two halves, side "
     "by side"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_topk", "The best passages of a question (MaxScore).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__topk(void) { return PyModule_Create(&module); }
