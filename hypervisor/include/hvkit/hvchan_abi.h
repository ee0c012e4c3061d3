/* hvchan ABI: the hypercall channel between a guest and hvmm.
 *
 * Shared by hvmm (host) and the guest agent (a userspace driver over the PCI
 * device's BARs), so it is plain C, fixed-width, little-endian, with no
 * padding the compiler chooses. Versioned: a change an old peer cannot ignore
 * bumps HVCHAN_ABI_MAJOR; additions behind a feature bit bump MINOR.
 * docs/hvchan-abi.md explains the protocol.
 */
#ifndef HVKIT_HVCHAN_ABI_H
#define HVKIT_HVCHAN_ABI_H

#include <stdint.h>

#define HVCHAN_ABI_MAJOR 0u
#define HVCHAN_ABI_MINOR 3u
#define HVCHAN_ABI_VERSION ((HVCHAN_ABI_MAJOR << 16) | HVCHAN_ABI_MINOR)

/* PCI identity. PROVISIONAL: hvkit has no PCI vendor ID of its own yet; these
 * must be settled before the first release (docs/hvchan-abi.md). A guest
 * checks HVCHAN_REG_MAGIC as well, so a clash cannot go unnoticed. */
#define HVCHAN_PCI_VENDOR_ID 0x1af4u
#define HVCHAN_PCI_DEVICE_ID 0x11c0u
#define HVCHAN_PCI_REVISION 0x02u
#define HVCHAN_PCI_CLASS 0x058000u /* memory controller, other */

/* BAR0: registers, 4 KiB, trapped. 32-bit accesses only; an access of another
 * width, or at an offset not listed, reads as all-ones and writes are
 * ignored. Writing HVCHAN_REG_CALL is the hypercall. */
#define HVCHAN_BAR0_SIZE 0x1000u
#define HVCHAN_REG_MAGIC 0x000u            /* RO: HVCHAN_MAGIC */
#define HVCHAN_REG_ABI_VERSION 0x004u      /* RO: HVCHAN_ABI_VERSION of the host */
#define HVCHAN_REG_HOST_FEATURES_LO 0x008u /* RO: HVCHAN_F_* the host offers */
#define HVCHAN_REG_HOST_FEATURES_HI 0x00cu
#define HVCHAN_REG_GUEST_FEATURES_LO 0x010u /* RW: HVCHAN_F_* the guest uses (masked to host's) */
#define HVCHAN_REG_GUEST_FEATURES_HI 0x014u
#define HVCHAN_REG_STATUS 0x018u     /* RO: hvchan_status of the last call */
#define HVCHAN_REG_CALL 0x01cu       /* WO: a call number; runs the call in the call block */
#define HVCHAN_REG_SHMEM_SIZE 0x020u /* RO: BAR2's size in bytes */
#define HVCHAN_REG_SEQUENCE 0x024u   /* RO: low 32 bits of the completed-call count */
#define HVCHAN_MAGIC 0x48435648u     /* "HVCH" in memory order */

/* BAR2: shared memory (a memfd on the host, mapped as guest RAM: no traps).
 * The call block at offset 0, then the call input and output areas; the rest
 * of the BAR is unused. A call names bulk data by (offset, length) inside an
 * area; the host checks both against the area. (Filter traffic has its own
 * device, hvfilt: hvfilt_abi.h.) */
#define HVCHAN_BAR2_SIZE 0x200000u /* 2 MiB */
#define HVCHAN_BAR2_CALL_BLOCK_OFFSET 0x00000u
#define HVCHAN_BAR2_CALL_IN_OFFSET 0x10000u
#define HVCHAN_BAR2_CALL_IN_SIZE 0x40000u /* 256 KiB */
#define HVCHAN_BAR2_CALL_OUT_OFFSET 0x50000u
#define HVCHAN_BAR2_CALL_OUT_SIZE 0x10000u  /* 64 KiB */
#define HVCHAN_BAR2_CALL_AREAS_END 0x60000u /* first byte past the output area */

#define HVCHAN_NUM_ARGS 4u
#define HVCHAN_NUM_RETS 4u

/* The call block, at HVCHAN_BAR2_CALL_BLOCK_OFFSET. The guest writes args,
 * then the call number to HVCHAN_REG_CALL. The host reads args once (a copy:
 * later guest writes do not affect the running call), and before the vCPU
 * resumes writes rets, status and sequence here. So when the register write
 * retires, the guest reads the result from memory without another exit. */
struct hvchan_call_block {
    uint32_t call;     /* the host writes the number of the call it ran */
    uint32_t status;   /* hvchan_status */
    uint64_t sequence; /* completed calls, including this one */
    uint64_t args[HVCHAN_NUM_ARGS];
    uint64_t rets[HVCHAN_NUM_RETS];
};

/* Feature bits (64-bit mask). Bit 2 was planned for filter rings in BAR2 and
 * never offered; it stays unassigned. */
#define HVCHAN_F_UPDATE (1ull << 0) /* hypervisor update calls (0x10..) */

/* Call numbers: an index into the host's dispatch table. Numbers are never
 * reused; 0x10..0x1f belong to the update calls (HVCHAN_F_UPDATE). */
enum hvchan_call {
    HVCHAN_CALL_INFO = 0, /* -> out area: struct hvchan_info; ret0 = its size */
    /* args: in offset, length, out offset. Copies length bytes of the input
     * area to the output area; ret0 = length. Length 0 is a no-op call (the
     * round-trip benchmark's). */
    HVCHAN_CALL_ECHO = 1,

    /* The update family (HVCHAN_F_UPDATE; HVCHAN_E_DENIED unless hvmm runs
     * with --allow-hypervisor-update). One session at a time; a session idle
     * for HVCHAN_UPDATE_SESSION_TIMEOUT_S expires and another BEGIN replaces
     * it. The host verifies everything itself: the manifest's signature
     * against its own release keys and its anti-rollback floor at BEGIN, each
     * chunk's hash at WRITE, the whole package's hash and every file at END. */

    /* args: input offset and length of a struct hvchan_update_begin followed
     * by the manifest.json bytes. -> ret0 session id. */
    HVCHAN_CALL_UPDATE_BEGIN = 0x10,
    /* args: session, package offset, input offset, length of a struct
     * hvchan_update_chunk followed by the chunk. Chunks arrive in order:
     * package offset must equal the bytes received so far (no gaps, no
     * overlaps); length at most HVCHAN_UPDATE_MAX_CHUNK. -> ret0 received. */
    HVCHAN_CALL_UPDATE_WRITE = 0x11,
    /* args: session. Checks the size and hash announced at BEGIN, verifies
     * the package and stages its hypervisor files in the inactive slot. */
    HVCHAN_CALL_UPDATE_END = 0x12,
    /* args: session. Switches the committed release atomically; on a host
     * that takes the guest over on commit, puts it on trial first
     * (HVCHAN_UPDATE_TRIAL). */
    HVCHAN_CALL_UPDATE_COMMIT = 0x13,
    /* args: session. Drops the session and anything it staged. */
    HVCHAN_CALL_UPDATE_ABORT = 0x14,
    /* -> out area: struct hvchan_update_status (no session needed). */
    HVCHAN_CALL_UPDATE_STATUS = 0x15,
    /* No session: switches the committed release back to the one before it
     * (the other slot), if that is not below the floor. -> out area: struct
     * hvchan_update_status. */
    HVCHAN_CALL_UPDATE_ROLLBACK = 0x16,
};

#define HVCHAN_UPDATE_MAX_CHUNK 0x20000u    /* 128 KiB */
#define HVCHAN_UPDATE_MAX_MANIFEST 0x30000u /* what fits the input area with the header */
#define HVCHAN_UPDATE_SESSION_TIMEOUT_S 60u

/* UPDATE_BEGIN's input. */
struct hvchan_update_begin {
    uint64_t package_size;      /* bytes of the .hvpkg that will follow */
    uint8_t package_sha256[32]; /* SHA-256 of those bytes */
    uint32_t manifest_size;     /* bytes of manifest.json right after this struct */
    uint32_t reserved;          /* 0 */
};

/* UPDATE_WRITE's input: the chunk's SHA-256, then the chunk. */
struct hvchan_update_chunk {
    uint8_t sha256[32];
};

/* UPDATE_STATUS's output. */
enum hvchan_update_state {
    HVCHAN_UPDATE_IDLE = 0,
    HVCHAN_UPDATE_TRANSFERRING = 1, /* BEGIN accepted; chunks arriving (was RECEIVING) */
    HVCHAN_UPDATE_STAGED = 2,       /* END verified and staged it */
    HVCHAN_UPDATE_COMMITTED = 3,    /* the last session committed */
    HVCHAN_UPDATE_FAILED = 4,       /* the last session ended in an error */
    /* COMMIT put the release on trial: its hvmm takes the running guest
     * over and must see the guest answer on hvchan; then COMMITTED (it
     * passed; committed_version names it) or FAILED (the previous release
     * runs on; message says why). Poll UPDATE_STATUS meanwhile: those calls
     * are the answer the new hvmm waits for. */
    HVCHAN_UPDATE_TRIAL = 5
};
struct hvchan_update_status {
    uint32_t state;             /* hvchan_update_state */
    uint32_t last_status;       /* hvchan_status of the session's last call */
    uint64_t session;           /* current or last session id, 0 = none */
    uint64_t received;          /* package bytes received */
    uint64_t total;             /* package bytes announced */
    char version[32];           /* the session's package version */
    char committed_version[32]; /* the host's committed release ("" = none) */
    char message[128];          /* NUL-terminated, for people */
};

/* Status codes in HVCHAN_REG_STATUS and the call block. 0 is success. */
enum hvchan_status {
    HVCHAN_OK = 0,
    HVCHAN_PENDING = 1,        /* accepted; poll the call's status call */
    HVCHAN_E_UNKNOWN_CALL = 2, /* call number not in the table */
    HVCHAN_E_INVALID = 3,      /* an argument is malformed */
    HVCHAN_E_RANGE = 4,        /* (offset, length) outside its area, or overflowing */
    HVCHAN_E_DENIED = 5,       /* this VM was not started with update permission */
    HVCHAN_E_STATE = 6,        /* call out of order (e.g. commit before end) */
    HVCHAN_E_BAD_SIGNATURE = 7,
    HVCHAN_E_HASH_MISMATCH = 8,
    HVCHAN_E_ROLLBACK = 9, /* below the host's anti-rollback floor */
    HVCHAN_E_TOO_LARGE = 10,
    HVCHAN_E_IO = 11,      /* the host failed to store or read */
    HVCHAN_E_BUSY = 12,    /* another session is active; retry later */
    HVCHAN_E_FEATURE = 13, /* the call needs a feature the guest did not accept */
    /* Minor 3: the update calls' refusals keep their kind (before, all four
     * came back as HVCHAN_E_INVALID). hvchan_status_table.h maps each status
     * to the error the guest reports. */
    HVCHAN_E_REFUSED = 14,   /* the input breaks a rule (package policy, extraction) */
    HVCHAN_E_MALFORMED = 15, /* the input (manifest, package) could not be parsed */
    HVCHAN_E_NOT_FOUND = 16, /* something the call names does not exist */
    HVCHAN_E_EXPIRED = 17    /* signed input past its expiry */
};

/* HVCHAN_CALL_INFO's output, at HVCHAN_BAR2_CALL_OUT_OFFSET. Grows only at its
 * end; ret0 says how many bytes the host wrote. */
struct hvchan_info {
    uint32_t abi_version;              /* HVCHAN_ABI_VERSION */
    uint32_t hv_version;               /* running hvmm: major << 16 | minor << 8 | patch */
    uint64_t host_features;            /* HVCHAN_F_* */
    uint32_t reserved;                 /* 0 (was committed_version, never set; retired in 0.3) */
    uint32_t update_permitted;         /* 1 when this VM may update the hypervisor */
    char hv_version_string[32];        /* NUL-terminated, e.g. "0.1.0" */
    char committed_version_string[32]; /* NUL-terminated; empty when none */
};

#ifdef __cplusplus
static_assert(sizeof(struct hvchan_call_block) == 80, "hvchan_call_block layout");
static_assert(sizeof(struct hvchan_info) == 88, "hvchan_info layout");
static_assert(sizeof(struct hvchan_update_begin) == 48, "hvchan_update_begin layout");
static_assert(sizeof(struct hvchan_update_status) == 224, "hvchan_update_status layout");
#endif

#endif /* HVKIT_HVCHAN_ABI_H */
