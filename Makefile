# The kernel, its host-side tests and its benchmarks.
#   make            build/kernel.elf
#   make run        boot it in QEMU, serial console on this terminal (monitor)
#   make test       host tests, fuzzing, and the QEMU boot matrix
#   make bench      host benchmarks (frame allocators)
#   make iso        build/kernel.iso (GRUB rescue image); make run-iso boots it
#   make debug      QEMU halted with a gdb stub, and gdb attached
# `make setup` installs missing Debian packages; run/test/iso call it as needed.

BUILD   := build
HOST    := $(BUILD)/host
CC      := gcc
CLANG   := clang
QEMU    := qemu-system-i386
MEM     ?= 128M
MACHINE ?= pc
CMDLINE ?=

# ---- kernel -------------------------------------------------------------
KCFLAGS := -m32 -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-omit-frame-pointer \
	-mgeneral-regs-only -mno-red-zone -fno-builtin-printf \
	-nostdinc -isystem $(shell $(CC) -print-file-name=include) -Ilib/include -I.
KASFLAGS := -m32 -g -I. -D__ASSEMBLY__
# Expanded when the kernel is linked, after `tools` may have installed gcc-multilib.
LIBGCC   = $(shell $(CC) -m32 -print-libgcc-file-name)
KSRC    := $(sort $(wildcard arch/x86/*.c arch/x86/*.S kernel/*.c mm/*.c lib/*.c tests/kernel/*.c bench/guest/*.c))
KOBJ    := $(patsubst %,$(BUILD)/k/%.o,$(KSRC))

all: $(BUILD)/kernel.elf

# A target whose recipe fails (say, grub-file rejecting the kernel) is removed.
.DELETE_ON_ERROR:

$(BUILD)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KASFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/kernel.elf: $(KOBJ) arch/x86/linker.ld
	ld -m elf_i386 -T arch/x86/linker.ld -o $@ $(KOBJ) $(LIBGCC)
	@if command -v grub-file >/dev/null; then \
		grub-file --is-x86-multiboot $@ || { echo "$@: not a Multiboot kernel"; exit 1; }; fi

# The same kernel with fork copying every page at once (FORK_EAGER in
# mm/uvm.c): the baseline `make bench` measures copy-on-write against.
$(BUILD)/k-eager/mm/uvm.c.o: mm/uvm.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -DFORK_EAGER -MMD -MP -c $< -o $@

$(BUILD)/kernel-eager.elf: $(filter-out $(BUILD)/k/mm/uvm.c.o,$(KOBJ)) $(BUILD)/k-eager/mm/uvm.c.o arch/x86/linker.ld
	ld -m elf_i386 -T arch/x86/linker.ld -o $@ $(filter %.o,$^) $(LIBGCC)

-include $(shell find $(BUILD)/k $(BUILD)/k-eager -name '*.d' 2>/dev/null)

# ---- user programs and initrd (user/) -----------------------------------
# Static Linux i386 programs (user/*.c, one program each) linked with the
# user library (user/lib/: _start, system calls, printf, checks); they run
# unchanged on the host Linux (tests/user/run_host.sh) and on our kernel.
# build/initrd.tar is the USTAR archive the kernel receives as Multiboot
# module 0: the programs by name ("hello", "test-cow", ...) plus the
# deliberately broken ELF files bad-* from user/mkbad.py, whose expected
# refusal reasons are listed in build/initrd-bad.txt.
# -mgeneral-regs-only: no x87/SSE code, so the kernel need not save FPU state.
UCFLAGS  := -m32 -std=gnu11 -static -nostdlib -fno-pic -no-pie -ffreestanding \
	-fno-stack-protector -fno-tree-loop-distribute-patterns -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -O2 -Wall -Wextra -Werror -Iuser
UBUILD   := $(BUILD)/user
ULIB_SRC := user/lib/start.S $(filter-out user/lib/start.S,$(sort $(wildcard user/lib/*.c user/lib/*.S)))
# The kernel's freestanding string functions serve user programs too.
ULIB_OBJ := $(patsubst user/lib/%,$(UBUILD)/lib/%.o,$(ULIB_SRC)) $(UBUILD)/lib/kernel-string.o
UPROGS   := $(sort $(patsubst user/%.c,%,$(wildcard user/*.c)))

all: $(BUILD)/initrd.tar

$(UBUILD)/lib/%.o: user/lib/%
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) -MMD -MP -c $< -o $@

$(UBUILD)/lib/kernel-string.o: lib/string.c
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) -Ilib/include -MMD -MP -c $< -o $@

$(UBUILD)/%.o: user/%.c
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) -MMD -MP -c $< -o $@

# start.S.o comes first in ULIB_OBJ, so _start leads the text.
$(addprefix $(UBUILD)/,$(UPROGS)): $(UBUILD)/%: $(UBUILD)/%.o $(ULIB_OBJ)
	$(CC) $(UCFLAGS) -o $@ $(ULIB_OBJ) $<

# The bad-* files and their reasons, derived from hello (deterministic).
$(BUILD)/initrd-bad.txt: $(UBUILD)/hello user/mkbad.py
	python3 user/mkbad.py $(UBUILD)/hello $(UBUILD) $@

# Fixed owner, mode and time, sorted names: the same inputs give the same bytes.
$(BUILD)/initrd.tar: $(addprefix $(UBUILD)/,$(UPROGS)) $(BUILD)/initrd-bad.txt
	tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=a+rX,u+w,go-w \
		-C $(UBUILD) -cf $@ $(UPROGS) $$(cd $(UBUILD) && ls bad-* | LC_ALL=C sort)

-include $(shell find $(UBUILD) -name '*.d' 2>/dev/null)

.PRECIOUS: $(UBUILD)/%.o $(UBUILD)/lib/%.o

# ---- host builds of the portable memory-manager code --------------------
MM_CORE     := mm/memmap.c mm/pmm.c mm/pmm_index.c mm/hbitmap.c mm/pagetable.c \
	mm/heap.c mm/slab.c mm/kmalloc.c
# Portable kernel code for processes: ELF and USTAR checks, address-space
# regions.  On the host, tests/host/ksnprintf.c stands in for kernel/printf.c.
USER_CORE   := kernel/elf.c kernel/ustar.c mm/vma.c tests/host/ksnprintf.c
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HOST_TESTS  := $(patsubst tests/host/%.c,$(HOST)/%,$(wildcard tests/host/test_*.c))
FUZZERS     := $(patsubst tests/host/%.c,$(HOST)/%,$(wildcard tests/host/fuzz_*.c))
BENCHES     := $(patsubst bench/%.c,$(HOST)/%,$(wildcard bench/bench_*.c))

$(HOST)/test_%: tests/host/test_%.c tests/host/check.c tests/host/*.h $(MM_CORE) $(USER_CORE) mm/*.h kernel/*.h arch/x86/*.h
	@mkdir -p $(HOST)
	$(CC) $(HOST_CFLAGS) -o $@ $< tests/host/check.c $(MM_CORE) $(USER_CORE)

$(HOST)/fuzz_%: tests/host/fuzz_%.c tests/host/fuzz.h $(MM_CORE) $(USER_CORE) mm/*.h kernel/*.h arch/x86/*.h
	@mkdir -p $(HOST)
	$(CLANG) -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(MM_CORE) $(USER_CORE)

$(HOST)/bench_%: bench/bench_%.c $(MM_CORE) mm/*.h arch/x86/*.h
	@mkdir -p $(HOST)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -o $@ $< $(MM_CORE)

# The heap's long randomized run: -O2, no sanitizers; heap_check every 100k operations.
$(HOST)/soak_heap: tests/host/soak_heap.c mm/heap.c mm/heap.h mm/mm_log.h
	@mkdir -p $(HOST)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -o $@ tests/host/soak_heap.c mm/heap.c

# 10 million operations (make test runs a time-bounded share of it).
heap-soak: $(HOST)/soak_heap
	$(HOST)/soak_heap

host-tests: $(HOST_TESTS) $(FUZZERS) $(HOST)/soak_heap

# ---- the allocator as an LD_PRELOAD malloc (preload/) --------------------
# `make preload`: build/host/libkheap.so, mm/kmalloc.c and its layers behind
# the malloc family.  Only the malloc family is exported; -fno-builtin keeps
# gcc from turning the library's own calls into calls of malloc/calloc.
HEAP_CORE      := mm/heap.c mm/slab.c mm/kmalloc.c
PRELOAD_LIB    := $(HOST)/libkheap.so
PRELOAD_SRC    := $(wildcard preload/*.c) $(HEAP_CORE)
PRELOAD_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -fPIC -fvisibility=hidden \
	-fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free
PRELOAD_CHECKS := $(HOST)/preload_api $(HOST)/preload_atfork
HEAP_BENCH_SRC := bench/bench_heap.c $(wildcard bench/heap_*.c) preload/region.c

$(PRELOAD_LIB): $(PRELOAD_SRC) preload/*.h mm/heap.h mm/slab.h mm/kmalloc.h
	@mkdir -p $(HOST)
	$(CC) $(PRELOAD_CFLAGS) -shared -Wl,-z,defs -o $@ $(PRELOAD_SRC) -lpthread

$(HOST)/preload_%: tests/preload/%.c mm/heap.h
	@mkdir -p $(HOST)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. -o $@ $< -lpthread

# The fork check needs its handler in a library of its own (atfork_hook.c says why).
$(HOST)/libatfork_hook.so: tests/preload/atfork_hook.c
	@mkdir -p $(HOST)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -lpthread

$(HOST)/preload_atfork: tests/preload/atfork.c $(HOST)/libatfork_hook.so
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -o $@ $< -L$(HOST) -latfork_hook \
		-Wl,-rpath,'$$ORIGIN' -lpthread

# The heap benchmark runs programs on the library, so it needs it built.
$(HOST)/bench_heap: $(HEAP_BENCH_SRC) bench/*.h $(HEAP_CORE) mm/*.h $(PRELOAD_LIB)
	@mkdir -p $(HOST)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -o $@ $(HEAP_BENCH_SRC) $(HEAP_CORE) -lpthread -ldl -lm

preload: $(PRELOAD_LIB) $(PRELOAD_CHECKS)

.PHONY: preload

# ---- running -------------------------------------------------------------
QEMU_FLAGS := -machine $(MACHINE) -m $(MEM) -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04

setup:
	@bash scripts/setup.sh

# Quick when everything is there: setup.sh only probes for each tool.
tools:
	@bash scripts/setup.sh --quiet

run: tools
	@$(MAKE) --no-print-directory all
	@echo "Booting; quit with Ctrl-A X (or the monitor's 'halt')."
	$(QEMU) $(QEMU_FLAGS) -nographic -kernel $(BUILD)/kernel.elf -initrd $(BUILD)/initrd.tar \
		$(if $(CMDLINE),-append "$(CMDLINE)") || [ $$? -eq 1 ]

iso: tools $(BUILD)/kernel.iso

$(BUILD)/kernel.iso: $(BUILD)/kernel.elf $(BUILD)/initrd.tar scripts/mkiso.sh
	bash scripts/mkiso.sh $@ "$(CMDLINE)" "" $(BUILD)/initrd.tar

run-iso: iso
	$(QEMU) $(QEMU_FLAGS) -nographic -cdrom $(BUILD)/kernel.iso -boot d || [ $$? -eq 1 ]

debug: tools all
	bash scripts/debug.sh $(BUILD)/kernel.elf "$(QEMU_FLAGS) -initrd $(BUILD)/initrd.tar" "$(CMDLINE)"

test: tools
	@$(MAKE) --no-print-directory all host-tests preload $(BENCHES)
	@bash tests/run.sh

bench: tools all $(BUILD)/kernel-eager.elf $(BENCHES)
	@bash bench/run.sh

clean:
	rm -rf $(BUILD)

.PHONY: all host-tests heap-soak setup tools run iso run-iso debug test bench clean
