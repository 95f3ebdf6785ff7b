/*
 * proccmds.c - monitor commands for processes: run, ps, vmas.
 *
 * `run NAME [args]` runs a program of the initrd in the foreground and
 * reports how it ended; with a last argument `&` it runs in the background
 * while the monitor waits for input, so `ps` and `vmas` can watch it.
 */
#include <string.h>

#include "monitor.h"
#include "printf.h"
#include "proc.h"

static void cmd_run(int argc, char **argv)
{
	bool background = argc > 2 && !strcmp(argv[argc - 1], "&");
	const char *args[MONITOR_ARGS_MAX];
	int status;

	if (argc < 2) {
		kprintf("usage: run NAME [args] [&]\n");
		return;
	}
	argc -= background;
	for (int i = 1; i < argc; i++)
		args[i - 1] = argv[i];
	args[argc - 1] = NULL;
	status = background ? proc_spawn(args) : proc_run(args);
	if (status < 0)
		kprintf("run: cannot start %s (error %d)\n", args[0], -status);
	else if (background)
		kprintf("[pid %d] %s started\n", status, args[0]);
	else
		kprintf("%s %s\n", args[0], proc_status_text(status));
}
MONITOR_COMMAND(run, "NAME [args] [&]", "run a program from the initrd", cmd_run);

static void cmd_ps(int argc, char **argv)
{
	(void)argc, (void)argv;
	proc_print_table();
}
MONITOR_COMMAND(ps, "", "list processes", cmd_ps);

static void cmd_vmas(int argc, char **argv)
{
	uint32_t pid;
	const struct proc *p;

	if (argc != 2 || !monitor_parse_u32(argv[1], &pid)) {
		kprintf("usage: vmas PID\n");
		return;
	}
	if (!(p = proc_find((int)pid)) || p->state == PROC_ZOMBIE) {
		kprintf("vmas: no live process %u\n", pid);
		return;
	}
	proc_print_regions(p);
}
MONITOR_COMMAND(vmas, "PID", "a process's memory regions and its faults", cmd_vmas);
