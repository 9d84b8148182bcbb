/* suggest.h — "did you mean ...?": the valid name nearest to a misspelt one, and the valid
 * names as a list for a message. Used wherever a name is looked up in a fixed set: functions,
 * named arguments, train settings, optimisers, commands and options. */
#ifndef DLC_SUGGEST_H
#define DLC_SUGGEST_H
#include <stddef.h>

/* Edits that turn a into b: inserting, deleting or replacing a letter, or swapping two
 * adjacent ones (optimal string alignment), each 1; letters compare without case. */
int suggest_distance(const char *a, const char *b);

/* The name among names[0..n) (NULL entries skipped) that `word` most likely misspells, or
 * NULL if none is near: at most one edit per three letters of the longer of the two (so
 * names of one or two letters may only differ in case), or, failing that, one of them
 * starting or containing the other, both of at least three letters ("padding" -> "pad",
 * "num_epochs" -> "epochs"). The nearest wins, then the first. */
const char *suggest_nearest(const char *word, const char *const *names, int n);

/* The end of a message: "; did you mean 'NAME<suffix>'?" for the nearest name, or "" when
 * none is near. Returns buf. */
const char *suggest_hint(const char *word, const char *const *names, int n, const char *suffix, char *buf,
                         size_t len);

/* "a, b, c or d" (with `last` between the last two: "or", "and") into buf, each name with
 * `suffix` after it ("pad:"); NULL entries skipped. Returns buf. */
const char *suggest_list(const char *const *names, int n, const char *suffix, const char *last, char *buf,
                         size_t len);
#endif
