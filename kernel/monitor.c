/*
 * monitor.c - read a line, split it into words, run the command it names.
 *
 * Input is polled from COM1 and echoed; backspace and DEL edit the line.
 * While it waits for a key, processes started in the background (`run
 * NAME &`) get the CPU.
 * The command table is the .monitor_cmds section (see monitor.h).
 */
#include "monitor.h"

#include <string.h>

#include "arch/x86/machine.h"
#include "console.h"
#include "proc.h"
#include "printf.h"

#define LINE_MAX 128

extern const struct monitor_command __monitor_cmds_start[], __monitor_cmds_end[];

static const struct monitor_command *find_command(const char *name)
{
	for (const struct monitor_command *c = __monitor_cmds_start; c < __monitor_cmds_end; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int split_words(char *line, char **argv, int max)
{
	int argc = 0;

	for (char *p = line; *p && argc < max;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return argc;
}

bool monitor_parse_u32(const char *s, uint32_t *out)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	uint64_t v = 0;

	s += hex ? 2 : 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (hex && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (unsigned)((*s | 0x20) - 'a' + 10);
		else
			return false;
		v = v * (hex ? 16 : 10) + d;
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

void monitor_execute(char *line)
{
	char *argv[MONITOR_ARGS_MAX];
	int argc = split_words(line, argv, MONITOR_ARGS_MAX);

	if (argc == 0)
		return;
	const struct monitor_command *c = find_command(argv[0]);
	if (!c) {
		kprintf("unknown command '%s' (try 'help')\n", argv[0]);
		return;
	}
	c->run(argc, argv);
}

static void read_line(char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		proc_poll();
		char c = console_getc();
		if (c == '\r' || c == '\n') {
			console_putc('\n');
			buf[n] = '\0';
			return;
		}
		if (c == '\b' || c == 0x7f) {
			if (n) {
				n--;
				kprintf("\b \b");
			}
		} else if (c >= ' ' && n + 1 < size) {
			buf[n++] = c;
			console_putc(c);
		}
	}
}

void monitor_run(void)
{
	char line[LINE_MAX];

	kprintf("Kernel monitor. Type 'help' for the commands.\n");
	for (;;) {
		kprintf("K> ");
		read_line(line, sizeof(line));
		monitor_execute(line);
	}
}

static void cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (const struct monitor_command *c = __monitor_cmds_start; c < __monitor_cmds_end; c++)
		kprintf("  %-10s %-14s %s\n", c->name, c->args, c->help);
}
MONITOR_COMMAND(help, "", "list the commands", cmd_help);

static void cmd_halt(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kprintf("halting\n");
	machine_exit(EXIT_PASS);
}
MONITOR_COMMAND(halt, "", "stop the machine (ends QEMU)", cmd_halt);
