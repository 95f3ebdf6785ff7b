/*
 * hello.c - the first user program: prints a greeting and its arguments,
 * exits 0.  `init=hello a b` on the kernel's command line runs it with
 * argv = { "hello", "a", "b" }.
 */
#include "lib/ulib.h"

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	printf("hello from user mode\n");
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = \"%s\"\n", i, argv[i]);
	return 0;
}
