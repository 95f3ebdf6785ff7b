/*
 * pic.h - the two 8259A interrupt controllers of the PC.
 *
 * At reset the master PIC delivers IRQ 0-7 on vectors 8-15, on top of the
 * CPU's exceptions; pic_init() moves IRQ 0-15 to vectors 32-47 (TRAP_IRQ0)
 * and masks them all.  A driver unmasks its line once its handler is in
 * place (trap_set_handler(TRAP_IRQ0 + irq, ...)) and acknowledges each
 * interrupt with pic_eoi().
 */
#ifndef ARCH_X86_PIC_H
#define ARCH_X86_PIC_H

void pic_init(void);
void pic_unmask(unsigned irq);
/* End of interrupt: the PIC may deliver this line (and lower ones) again. */
void pic_eoi(unsigned irq);

#endif
