/* A process's note (note.c): the trace a process leaves where a reader will look before it
 * changes credentials, so that a process that then cannot write its dumps is still listed,
 * with the reason, instead of missing from the report. */
#ifndef SW_NOTE_H
#define SW_NOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Creates <pid>.<epoch>.note in the directory `dir` (a descriptor) with `text`, and keeps
 * it open (write-only, append) so later lines reach it after the process lost the right to
 * open it. Any note held before is closed first. */
bool sw_note_open(int dir, uint32_t pid, uint32_t epoch, const char *text);
/* Appends one line to the held note, if any (its descriptor checked first). */
void sw_note_append(const char *line);
/* Removes the note just opened (the credential change it announced failed). */
void sw_note_discard(int dir);
/* A forked child: the held note is its parent's; closes the child's copy. */
void sw_note_postfork_child(void);

#endif
