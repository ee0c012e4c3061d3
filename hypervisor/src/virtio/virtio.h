// virtio 1.x over PCI (the spec's "Virtio Over PCI Bus", modern devices only)
// and the devices behind it.
//
//   queue.cc          VirtQueue: the split virtqueue, read through GuestMemory
//   chain.cc          copying and scattering a descriptor chain's bytes
//   transport.cc      VirtioPciFunction: the PCI function, its BAR and capabilities
//   common_config.cc  the common configuration structure (features, status, queues)
//   transport_state.cc  the transport's saved state
//   blk.cc, disk_image.cc  virtio-blk on a raw image file
//   net.cc, tap.cc         virtio-net on a TAP device
//
// Everything in a ring, a descriptor or a request header is the guest's: a
// queue whose rings break the rules (an index out of range, a loop, a buffer
// outside RAM, an avail index that runs ahead by more than the queue size) is
// marked broken, the device sets DEVICE_NEEDS_RESET and the queue is not
// touched again until the driver resets the device.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hvmm.h"
#include "pci/pci.h"

namespace hvkit::hvmm {

namespace virtio {
// PCI identity (virtio 1.x, 4.1.2).
inline constexpr uint16_t kPciVendor = 0x1af4;
inline constexpr uint16_t kPciDeviceBase = 0x1040;  // + device type: modern-only devices
inline constexpr uint8_t kPciRevision = 1;
inline constexpr uint16_t kPciSubsystemId = 0x1100;

// Device types (5).
inline constexpr uint16_t kTypeNet = 1;
inline constexpr uint16_t kTypeBlock = 2;

// Device status bits (2.1).
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 0x40;
inline constexpr uint8_t kStatusFailed = 0x80;

// Reserved feature bits every device shares (6).
inline constexpr uint64_t kFeatureIndirectDesc = 1ull << 28;
inline constexpr uint64_t kFeatureEventIdx = 1ull << 29;
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32;

// Split virtqueue (2.7).
inline constexpr uint16_t kDescNext = 1;
inline constexpr uint16_t kDescWrite = 2;
inline constexpr uint16_t kDescIndirect = 4;
inline constexpr uint16_t kAvailNoInterrupt = 1;
inline constexpr uint16_t kUsedNoNotify = 1;
inline constexpr uint16_t kNoVector = 0xffff;  // VIRTIO_MSI_NO_VECTOR

// ISR bits (4.1.4.5).
inline constexpr uint8_t kIsrQueue = 1;
inline constexpr uint8_t kIsrConfig = 2;
}  // namespace virtio

// One buffer of a descriptor chain: guest-physical, checked to lie in RAM
// when the chain was taken (and sliced again whenever it is touched).
struct VirtBuffer {
    uint64_t gpa = 0;
    uint32_t len = 0;
    bool writable = false;  // device-writable (VIRTQ_DESC_F_WRITE)
};

// A chain the driver made available: the readable buffers first, then the
// writable ones (the queue refuses chains in another order).
struct DescriptorChain {
    uint16_t head = 0;
    std::vector<VirtBuffer> buffers;
    uint64_t readable_bytes = 0;
    uint64_t writable_bytes = 0;
};

// The (len) bytes at (offset) of (chain)'s readable (writable == false) or
// writable stream, as host spans into guest RAM (each through
// GuestMemory::Slice). Refused when the stream is shorter or a buffer is not
// in RAM; len 0 gives no spans.
Result<std::vector<std::span<uint8_t>>> ChainSpans(GuestMemory& memory,
                                                   const DescriptorChain& chain, bool writable,
                                                   uint64_t offset, uint64_t len);
// Copies (out.size()) readable bytes from (offset) / (bytes) into the writable
// stream at (offset); refused when the stream is too short.
Status ReadFromChain(GuestMemory& memory, const DescriptorChain& chain, uint64_t offset,
                     std::span<uint8_t> out);
Status WriteToChain(GuestMemory& memory, const DescriptorChain& chain, uint64_t offset,
                    std::span<const uint8_t> bytes);

// The driver-set configuration of one queue (the common config's queue_*
// fields) and the device's position in its rings.
struct QueueState {
    uint16_t size = 0;  // set to the maximum on reset; the driver may lower it
    bool enabled = false;
    uint16_t msix_vector = virtio::kNoVector;
    uint64_t desc = 0;    // descriptor table
    uint64_t driver = 0;  // available ring
    uint64_t device = 0;  // used ring
    uint16_t next_avail = 0;
    uint16_t next_used = 0;
    bool broken = false;  // hostile ring seen: never touched again until reset
};

// A split virtqueue (virtio 1.x, 2.7). Every ring and descriptor access goes
// through GuestMemory::Slice; descriptors are copied out once, so a driver
// changing them under the device changes nothing. Not locked: the transport
// calls it with its lock held.
class VirtQueue {
  public:
    // Chains longer than this (counting indirect entries) are refused; more
    // than any honest driver sends, and bounded so the device's work is too.
    static constexpr uint32_t kMaxChainBuffers = 1024;

    VirtQueue(GuestMemory& memory, uint16_t max_size);

    uint16_t max_size() const { return max_size_; }
    GuestMemory& memory() { return memory_; }
    QueueState& state() { return state_; }
    const QueueState& state() const { return state_; }
    // Whether indirect descriptors were negotiated (else one is a violation).
    void set_indirect_allowed(bool allowed) { indirect_allowed_ = allowed; }

    // Checks the driver's configuration as the driver enables the queue
    // (size a power of two up to the maximum, ring alignment); on failure
    // the queue is broken with that reason.
    void Enable();

    // The next chain the driver made available, or nullopt when there is
    // none or the queue is (or just became) broken.
    std::optional<DescriptorChain> Pop();
    // Returns the chain Pop() just gave back to the available ring (nothing
    // of it was used).
    void Unpop();
    // Whether a chain is available (false when broken).
    bool HasAvailable();
    // Publishes (head) as used with (written) bytes written into its
    // writable buffers (release order: ring entry before the index).
    void Push(uint16_t head, uint32_t written);
    // True once after chains were pushed when the driver did not suppress
    // interrupts (VRING_AVAIL_F_NO_INTERRUPT).
    bool TakeInterrupt();

    // Replaces the queue's state with a saved one (checked by the caller).
    void RestoreState(const QueueState& state);

    bool broken() const { return state_.broken; }
    // Why the queue broke (empty while it is not).
    const std::string& error() const { return error_; }

    void Reset();

  private:
    struct Desc {
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        uint16_t next;
    };
    // Marks the queue broken with (why); returns nullopt for Pop's convenience.
    std::nullopt_t Break(std::string why);
    std::optional<uint16_t> AvailIdx();
    std::optional<Desc> ReadDesc(uint64_t table, uint32_t count, uint32_t index);
    bool AddBuffer(DescriptorChain& chain, const Desc& d);

    GuestMemory& memory_;
    uint16_t max_size_;
    bool indirect_allowed_ = false;
    QueueState state_;
    bool pushed_ = false;
    std::string error_;
};

// Gives a device with its own thread (virtio-net's receiver) a live queue.
class VirtioQueueHost {
  public:
    virtual ~VirtioQueueHost() = default;
    // Calls (fn) with queue (index) under the transport's lock when the queue
    // is live, then delivers its interrupt if it needs one; false (fn not
    // called) when it is not live.
    virtual bool WithLiveQueue(uint16_t index,
                               const std::function<void(VirtQueue&, uint64_t features)>& fn) = 0;
};

// What a virtio device type implements behind the transport. The transport
// owns feature negotiation, status, queues and interrupts; the device sees a
// queue only while it is live (DRIVER_OK, bus mastering on, queue enabled and
// not broken), always with the transport's lock held.
class VirtioDevice {
  public:
    virtual ~VirtioDevice() = default;
    virtual std::string_view name() const = 0;
    virtual uint16_t device_type() const = 0;
    // PCI class code (class << 16 | subclass << 8 | prog-if).
    virtual uint32_t pci_class() const = 0;
    // Device-type feature bits offered; the transport adds VERSION_1 and
    // INDIRECT_DESC.
    virtual uint64_t features() const = 0;
    virtual uint16_t queue_count() const = 0;
    virtual uint16_t queue_max_size() const { return 256; }
    // The device-specific configuration structure: reads of bytes past its
    // end see zero; writes are ignored unless the device overrides them.
    virtual std::vector<uint8_t> config() const = 0;
    // The driver made buffers available on queue (index), which is live.
    // (features) are the negotiated ones.
    virtual void QueueNotified(uint16_t index, VirtQueue& queue, uint64_t features) = 0;
    // The transport that owns the device, once it is built (before any
    // guest access): a device with its own thread keeps (host).
    virtual void Attach(VirtioQueueHost& host) { (void)host; }
    // The device went live (DRIVER_OK) or stopped being (reset, restore).
    virtual void LivenessChanged() {}
    // Stops the device's own threads (before guest memory goes away).
    virtual void Shutdown() {}
    // Live takeover (DeviceState's contracts): the backend's fds, and its
    // own thread stopped and started again.
    virtual void ShareFds(std::vector<SharedFd>& out) const { (void)out; }
    virtual void Quiesce() {}
    virtual void Unquiesce() {}
};

// The virtio-pci transport: one PCI function whose BAR 0 holds the common
// config, ISR, device config and notify regions and the MSI-X table (vector
// 0 for configuration changes by convention of the driver; one per queue).
// Queue notifications are handled synchronously on the notifying vCPU thread.
class VirtioPciFunction final : public PciFunction, public VirtioQueueHost {
  public:
    static constexpr uint32_t kBarSize = 0x8000;
    // BAR 0 layout.
    static constexpr uint32_t kCommonOffset = 0x0000;
    static constexpr uint32_t kCommonSize = 0x40;
    static constexpr uint32_t kIsrOffset = 0x1000;
    static constexpr uint32_t kDeviceConfigOffset = 0x2000;
    static constexpr uint32_t kDeviceConfigSize = 0x100;
    static constexpr uint32_t kNotifyOffset = 0x3000;
    static constexpr uint32_t kNotifyMultiplier = 4;
    static constexpr uint32_t kMsixTableOffset = 0x4000;
    static constexpr uint32_t kMsixPbaOffset = 0x5000;

    // (device) behind BAR 0 at (bar_address) (kBarSize-aligned), rings in
    // (memory), MSI-X messages through (msi).
    VirtioPciFunction(std::unique_ptr<VirtioDevice> device, GuestMemory& memory, MsiSink msi,
                      uint32_t bar_address);
    ~VirtioPciFunction() override;

    std::string_view name() const override { return device_->name(); }
    uint32_t ConfigRead(uint16_t offset, size_t size) override;
    void BarRead(int bar, uint64_t offset, std::span<uint8_t> data) override;
    void BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) override;
    Json Save() const override;
    Status Restore(const Json& state) override;
    void Reset() override;
    void Shutdown() override { device_->Shutdown(); }
    void ShareFds(std::vector<SharedFd>& out) const override { device_->ShareFds(out); }
    void Quiesce() override { device_->Quiesce(); }
    void Unquiesce() override { device_->Unquiesce(); }

    bool WithLiveQueue(uint16_t index,
                       const std::function<void(VirtQueue&, uint64_t features)>& fn) override;

    // Feature bits offered to the driver.
    uint64_t offered_features() const { return offered_; }
    uint8_t status() const;
    VirtioDevice& device() { return *device_; }

  protected:
    void ConfigWritten(uint16_t offset, size_t size) override;

  private:
    // Register access with mu_ held (the PCI_CFG capability window reuses them).
    void BarReadLocked(uint64_t offset, std::span<uint8_t> data);
    void BarWriteLocked(uint64_t offset, std::span<const uint8_t> data);
    // common_config.cc
    void CommonRead(uint64_t offset, std::span<uint8_t> data) const;
    void CommonWrite(uint64_t offset, std::span<const uint8_t> data);
    void WriteStatus(uint8_t value);
    void ResetTransport();
    // Queue (index) was notified or became live: let the device work on it.
    void ServiceQueue(uint16_t index);
    bool QueueLive(uint16_t index) const;
    // After the device used queue (index): interrupts, and DEVICE_NEEDS_RESET
    // when the queue broke.
    void AfterQueueWork(uint16_t index);
    void SetNeedsReset();
    uint8_t PciCfgCapability() const { return pci_cfg_cap_; }

    std::unique_ptr<VirtioDevice> device_;
    GuestMemory& memory_;
    MsixVectors msix_;
    uint64_t offered_;
    uint8_t pci_cfg_cap_ = 0;
    // Guest-visible transport state (saved).
    uint8_t status_ = 0;
    uint32_t device_feature_select_ = 0;
    uint32_t driver_feature_select_ = 0;
    uint64_t driver_features_ = 0;
    uint16_t config_vector_ = virtio::kNoVector;
    uint16_t queue_select_ = 0;
    uint8_t isr_ = 0;
    std::vector<VirtQueue> queues_;
};

// virtio-blk's view of its image: an open, locked raw file.
struct DiskImage {
    UniqueFd fd;
    std::string path;
    uint64_t sectors = 0;  // 512-byte sectors
    bool read_only = false;
};

// Opens (path) O_RDWR (O_RDONLY when (read_only)) and takes flock
// LOCK_EX|LOCK_NB (LOCK_SH when read-only). Refuses a missing file, a locked
// one, an empty one and a size that is not a multiple of 512, naming the file.
Result<DiskImage> OpenDiskImage(const std::string& path, bool read_only);
// The image (path) as the predecessor opened and locked it, on (fd) (live
// takeover: the lock belongs to the open file, so it carries over). The
// same checks as OpenDiskImage but the lock's.
Result<DiskImage> AdoptDiskImage(UniqueFd fd, const std::string& path, bool read_only);

// virtio-blk on (image): IN, OUT (IOERR when read-only, which VIRTIO_BLK_F_RO
// also says), FLUSH (fdatasync), GET_ID; requests are served synchronously on
// the notifying vCPU thread.
std::unique_ptr<VirtioDevice> MakeVirtioBlk(DiskImage image);

// A TAP device opened for virtio-net: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with
// a 12-byte virtio_net_hdr_v1, no offloads, non-blocking.
struct TapDevice {
    UniqueFd fd;
    std::string name;
};

// Opens the existing TAP (name); errors say whether it is missing, busy, not
// a TAP or needs CAP_NET_ADMIN.
Result<TapDevice> OpenTap(const std::string& name);
// The TAP (name) as the predecessor attached it, on (fd) (live takeover);
// refuses an fd that is not a TAP attached to (name) as OpenTap sets it up.
Result<TapDevice> AdoptTap(UniqueFd fd, const std::string& name);

// A stable locally administered MAC for (tap_name): 52:54:00 and three bytes
// of its hash.
std::array<uint8_t, 6> MacForTap(std::string_view tap_name);

// virtio-net on (tap) with (mac): TX on notify (on the vCPU thread), RX on
// a thread that polls the TAP and an eventfd the device kicks when the driver
// adds receive buffers. With mergeable buffers off, a frame that does not fit
// one receive chain is dropped and counted. The thread starts in Attach() and
// stops in Shutdown().
// With (quiesced), the thread starts at Unquiesce() instead (a successor
// must not read the TAP while its predecessor still runs the guest).
std::unique_ptr<VirtioDevice> MakeVirtioNet(TapDevice tap, std::array<uint8_t, 6> mac,
                                            bool quiesced = false);

}  // namespace hvkit::hvmm
