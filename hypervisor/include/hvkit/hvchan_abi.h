/* hvchan ABI: the hypercall channel between a guest and hvmm.
 *
 * Shared by hvmm (host) and the guest agent (userspace driver over the PCI
 * device's BARs), so it is plain C, fixed-width, little-endian, with no
 * padding the compiler chooses. Versioned: a change that an old peer cannot
 * ignore bumps HVCHAN_ABI_MAJOR; additions behind a feature bit bump MINOR.
 * docs/hvchan-abi.md explains the protocol. Status: design, version 0.1; no
 * device implements it yet.
 */
#ifndef HVKIT_HVCHAN_ABI_H
#define HVKIT_HVCHAN_ABI_H

#include <stdint.h>

#define HVCHAN_ABI_MAJOR 0u
#define HVCHAN_ABI_MINOR 1u
#define HVCHAN_ABI_VERSION ((HVCHAN_ABI_MAJOR << 16) | HVCHAN_ABI_MINOR)

/* PCI identity. PROVISIONAL: hvkit has no PCI vendor ID of its own yet; these
 * must be settled before the first release (docs/hvchan-abi.md). */
#define HVCHAN_PCI_VENDOR_ID 0x1af4u
#define HVCHAN_PCI_DEVICE_ID 0x11c0u
#define HVCHAN_PCI_REVISION 0x01u

/* BAR0: registers, 4 KiB, 32-bit accesses only (64-bit values are LO/HI pairs).
 * A register access of another width, or at an offset not listed, reads as
 * all-ones and writes are ignored. */
#define HVCHAN_BAR0_SIZE 0x1000u
#define HVCHAN_REG_MAGIC 0x000u            /* RO: HVCHAN_MAGIC */
#define HVCHAN_REG_ABI_VERSION 0x004u      /* RO: HVCHAN_ABI_VERSION of the host */
#define HVCHAN_REG_HOST_FEATURES_LO 0x008u /* RO: HVCHAN_F_* the host offers */
#define HVCHAN_REG_HOST_FEATURES_HI 0x00cu
#define HVCHAN_REG_GUEST_FEATURES_LO 0x010u /* RW: HVCHAN_F_* the guest uses (subset) */
#define HVCHAN_REG_GUEST_FEATURES_HI 0x014u
#define HVCHAN_REG_STATUS 0x018u   /* RO: hvchan_status of the last call */
#define HVCHAN_REG_CALL 0x01cu     /* WO: writing a call number is the hypercall */
#define HVCHAN_REG_ARG0 0x020u     /* RW: 4 x 64-bit arguments, 0x020..0x03f */
#define HVCHAN_REG_RET0 0x040u     /* RO: 4 x 64-bit results, 0x040..0x05f */
#define HVCHAN_REG_SEQUENCE 0x060u /* RO: incremented by every completed call */
#define HVCHAN_NUM_ARGS 4u
#define HVCHAN_MAGIC 0x48435648u /* "HVCH" in memory order */

/* BAR2: shared memory. Call input and output areas at fixed offsets; the rest
 * holds rings (filters) described by later minor versions. A call names data
 * by (offset, length) inside an area; the host checks both against the area. */
#define HVCHAN_BAR2_CALL_IN_OFFSET 0x00000u
#define HVCHAN_BAR2_CALL_IN_SIZE 0x10000u /* 64 KiB */
#define HVCHAN_BAR2_CALL_OUT_OFFSET 0x10000u
#define HVCHAN_BAR2_CALL_OUT_SIZE 0x10000u /* 64 KiB */
#define HVCHAN_BAR2_RINGS_OFFSET 0x20000u

/* Feature bits (64-bit mask). */
#define HVCHAN_F_UPDATE (1ull << 0)       /* update begin/chunk/end/commit/abort/status */
#define HVCHAN_F_PENDING (1ull << 1)      /* calls may return PENDING and be polled */
#define HVCHAN_F_FILTER_RINGS (1ull << 2) /* filter rings in BAR2 */
#define HVCHAN_F_IRQ (1ull << 3)          /* completion interrupt (MSI-X vector 0) */

/* Call numbers: an index into the host's dispatch table. */
enum hvchan_call {
    HVCHAN_CALL_INFO = 0,         /* -> out: struct hvchan_info */
    HVCHAN_CALL_UPDATE_BEGIN = 1, /* arg0 total package bytes -> ret0 transfer id */
    HVCHAN_CALL_UPDATE_CHUNK =
        2,                      /* arg0 id, arg1 package offset, arg2 in-area offset, arg3 length */
    HVCHAN_CALL_UPDATE_END = 3, /* arg0 id: verify and stage (may be PENDING) */
    HVCHAN_CALL_UPDATE_COMMIT = 4, /* arg0 id: switch slots atomically */
    HVCHAN_CALL_UPDATE_ABORT = 5,  /* arg0 id: drop the transfer or staged update */
    HVCHAN_CALL_UPDATE_STATUS = 6, /* arg0 id -> out: struct hvchan_update_status */
    HVCHAN_CALL_COUNT = 7
};

/* Status codes in HVCHAN_REG_STATUS. 0 is success; every failure is final for
 * that call except PENDING and BUSY. */
enum hvchan_status {
    HVCHAN_OK = 0,
    HVCHAN_PENDING = 1,        /* accepted; poll UPDATE_STATUS (HVCHAN_F_PENDING) */
    HVCHAN_E_UNKNOWN_CALL = 2, /* call number not in the table */
    HVCHAN_E_INVALID = 3,      /* an argument is malformed */
    HVCHAN_E_RANGE = 4,        /* (offset, length) outside its area, or overflowing */
    HVCHAN_E_DENIED = 5,       /* this VM was not started with update permission */
    HVCHAN_E_STATE = 6,        /* call out of order (e.g. COMMIT before END) */
    HVCHAN_E_BAD_SIGNATURE = 7,
    HVCHAN_E_HASH_MISMATCH = 8,
    HVCHAN_E_ROLLBACK = 9, /* below the host's anti-rollback floor */
    HVCHAN_E_TOO_LARGE = 10,
    HVCHAN_E_IO = 11,     /* the host failed to store or read */
    HVCHAN_E_BUSY = 12,   /* another transfer is active; retry later */
    HVCHAN_E_FEATURE = 13 /* the call needs a feature the guest did not accept */
};

/* HVCHAN_CALL_INFO's output, at HVCHAN_BAR2_CALL_OUT_OFFSET. */
struct hvchan_info {
    uint32_t abi_version;       /* HVCHAN_ABI_VERSION */
    uint32_t hv_version;        /* major << 16 | minor << 8 | patch */
    uint64_t host_features;     /* HVCHAN_F_* */
    uint32_t active_slot;       /* 0 = A, 1 = B */
    uint32_t update_permitted;  /* 1 when this VM may update the hypervisor */
    char hv_version_string[32]; /* NUL-terminated, e.g. "0.1.0" */
};

/* HVCHAN_CALL_UPDATE_STATUS's output. */
struct hvchan_update_status {
    uint32_t state;       /* 0 idle, 1 receiving, 2 verifying, 3 staged, 4 committed, 5 failed */
    uint32_t last_status; /* hvchan_status of the step that ended it */
    uint64_t received;    /* package bytes received */
    uint64_t total;       /* package bytes announced */
    char message[64];     /* NUL-terminated, for people */
};

#ifdef __cplusplus
static_assert(sizeof(struct hvchan_info) == 56, "hvchan_info layout");
static_assert(sizeof(struct hvchan_update_status) == 88, "hvchan_update_status layout");
#endif

#endif /* HVKIT_HVCHAN_ABI_H */
