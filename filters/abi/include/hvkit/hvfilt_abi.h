/* The hvfilt PCI function: the device that maps the filter-ring region
 * (docs/filter-rings.md, "The device") into a guest. Shared by hvmm and the
 * guest side; C so either may include it. The region's own layout is
 * filter_ring_abi.h beside it.
 *
 *   BAR0  64-bit prefetchable memory: the region (a memfd, mapped as guest
 *         RAM; hvmm never reads or writes it)
 *   BAR2  32-bit memory, HVFILT_BAR2_SIZE: the registers below
 *   INTx  pin A, interrupt line HVFILT_PCI_IRQ (an ISA IRQ, edge-triggered
 *         as hvmm's MP table declares ISA IRQs); PCI 2.3 interrupt status
 *         and INTx disable in the config header (uio_pci_generic uses them)
 */
#ifndef HVKIT_HVFILT_ABI_H
#define HVKIT_HVFILT_ABI_H

#define HVFILT_PCI_VENDOR_ID 0x1af4u /* hvchan's vendor; the device ID below it */
#define HVFILT_PCI_DEVICE_ID 0x11c1u
#define HVFILT_PCI_REVISION 0x01u
#define HVFILT_PCI_CLASS 0x058000u /* memory controller, other */
#define HVFILT_PCI_IRQ 11u

#define HVFILT_REGION_BAR 0
#define HVFILT_REGISTER_BAR 2
#define HVFILT_BAR2_SIZE 0x1000u

/* Region sizes hvmm accepts: a power of two in [MIN, MAX]. */
#define HVFILT_MIN_REGION_SIZE 0x10000ull   /* 64 KiB */
#define HVFILT_MAX_REGION_SIZE 0x8000000ull /* 128 MiB */

/* BAR2 registers, 32-bit accesses only. */
#define HVFILT_REG_DOORBELL 0x000u       /* write: kick the host (any value) */
#define HVFILT_REG_REGION_SIZE_LO 0x004u /* read: BAR0's size */
#define HVFILT_REG_REGION_SIZE_HI 0x008u
#define HVFILT_REG_ABI_VERSION 0x00cu /* read: ring ABI major << 16 | minor */
#define HVFILT_REG_MAGIC 0x010u       /* read: HVFILT_MAGIC */
#define HVFILT_MAGIC 0x54464856u      /* "HVFT" in memory order */

#endif /* HVKIT_HVFILT_ABI_H */
