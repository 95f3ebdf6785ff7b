/*
 * mm_log.h - how the portable memory-manager code reports trouble.
 *
 * The code under mm/ runs in the kernel and in host test programs, so it
 * cannot call the kernel's printf directly.  Each side supplies mm_warn():
 * the kernel prints to its console, host tests capture the message so a test
 * can check that a bad call was refused with the right words.
 */
#ifndef MM_MM_LOG_H
#define MM_MM_LOG_H

/* Report a refused call or a repaired input.  One line, no trailing newline. */
void mm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
