/*
 * monitor.h - the kernel monitor: a command line on the serial console.
 *
 * Adding a command is one line anywhere in the kernel:
 *
 *     MONITOR_COMMAND(meminfo, "", "total, available, reserved, free memory", cmd_meminfo);
 *
 * The linker gathers every such entry into one table (sorted by name), so
 * the monitor needs no list of its own.
 */
#ifndef KERNEL_MONITOR_H
#define KERNEL_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

struct monitor_command {
	const char *name;
	const char *args; /* usage, e.g. "<va> <va>"; "" for none */
	const char *help;
	void (*run)(int argc, char **argv);
};

#define MONITOR_COMMAND(name_, args_, help_, fn_)                                  \
	static const struct monitor_command monitor_command_##name_                \
		__attribute__((used, section(".monitor_cmds." #name_), aligned(4))) = \
			{ #name_, args_, help_, fn_ }

/* Read and run commands forever. */
__attribute__((noreturn)) void monitor_run(void);

/* Parse a number: 0x-prefixed hex or decimal.  False if `s` is not one. */
bool monitor_parse_u32(const char *s, uint32_t *out);

#define MONITOR_ARGS_MAX 16

/* Split `line` in place at spaces into at most `max` words; their count. */
int split_words(char *line, char **argv, int max);

/* Run one command line (used by monitor_run and by tests). */
void monitor_execute(char *line);

#endif
