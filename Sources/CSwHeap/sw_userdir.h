/* Credential changes seen while still privileged (userdir.c): before a process's effective
 * user changes, the directory the new user will write to is prepared and handed over. */
#ifndef SW_USERDIR_H
#define SW_USERDIR_H

#include <stdbool.h>
#include <sys/types.h>

/* Before the program's own call that will make `target` the effective user (the hooks of
 * setuid, seteuid, setreuid, setresuid: credentials.c). Holds the dump lock until
 * sw_userdir_after, so no dump is half written across the change. */
void sw_userdir_before(uid_t target);
/* After that call; `changed`: it succeeded. Dumps go to the prepared directory from the next
 * epoch on, or stay where they were. */
void sw_userdir_after(bool changed);

#endif
