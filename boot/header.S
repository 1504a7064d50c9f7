/* Multiboot2 header (Multiboot2 spec 3.1). It asks for nothing beyond the
 * defaults: no framebuffer tag, because GRUB's multiboot2 loader has been seen
 * to corrupt its heap under Bochs's LGPL VGA BIOS when one is requested. */
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    /* end tag: type 0, flags 0, size 8 */
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:
