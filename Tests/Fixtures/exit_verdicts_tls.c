/* A module loaded with dlopen by exit_verdicts: its thread-local storage is dynamic TLS,
 * allocated by glibc on first use, so the block it keeps is reached only through the DTV. */
static __thread void *volatile kept[16];

void hold_in_dynamic_tls(void *(*make)(void)) {
    for (int i = 0; i < 16; i++) kept[i] = make();
}
