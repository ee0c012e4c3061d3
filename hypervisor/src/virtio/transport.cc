// The virtio-pci transport (virtio 1.x, 4.1): the PCI function, its vendor
// capabilities, BAR 0's regions, queue notifications and interrupts.
#include <cstdio>
#include <cstring>

#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

// virtio_pci_cap.cfg_type (4.1.4).
constexpr uint8_t kCapCommon = 1;
constexpr uint8_t kCapNotify = 2;
constexpr uint8_t kCapIsr = 3;
constexpr uint8_t kCapDevice = 4;
constexpr uint8_t kCapPciCfg = 5;

// Offsets inside virtio_pci_cfg_cap, from the capability's first byte.
constexpr uint16_t kPciCfgBar = 4;
constexpr uint16_t kPciCfgOffset = 8;
constexpr uint16_t kPciCfgLength = 12;
constexpr uint16_t kPciCfgData = 16;

void PutLe32(std::vector<uint8_t>& out, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// The body of a virtio_pci_cap (what follows cap_vndr and cap_next), with
// (extra) more bytes for the notify multiplier or the PCI_CFG window.
std::vector<uint8_t> CapBody(uint8_t cfg_type, uint32_t offset, uint32_t length, size_t extra) {
    std::vector<uint8_t> body(14 + extra, 0);
    body[0] = static_cast<uint8_t>(16 + extra);  // cap_len
    body[1] = cfg_type;
    body[2] = 0;  // bar
    PutLe32(body, 6, offset);
    PutLe32(body, 10, length);
    return body;
}

bool Overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
    return a < b + b_len && b < a + a_len;
}

}  // namespace

VirtioPciFunction::VirtioPciFunction(std::unique_ptr<VirtioDevice> device, GuestMemory& memory,
                                     MsiSink msi, uint32_t bar_address)
    : PciFunction(PciConfigSpace(
          virtio::kPciVendor, static_cast<uint16_t>(virtio::kPciDeviceBase + device->device_type()),
          device->pci_class(), virtio::kPciRevision)),
      device_(std::move(device)),
      memory_(memory),
      msix_(static_cast<uint16_t>(1 + device_->queue_count()), std::move(msi)),
      offered_(device_->features() | virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc) {
    config_.SetSubsystem(virtio::kPciVendor, virtio::kPciSubsystemId);
    config_.DeclareMemoryBar(0, kBarSize, bar_address);
    msix_.AddCapability(config_, 0, kMsixTableOffset, kMsixPbaOffset);
    uint16_t queues = device_->queue_count();
    config_.AddCapability(pci::kCapVendor, CapBody(kCapCommon, kCommonOffset, kCommonSize, 0));
    auto notify = CapBody(kCapNotify, kNotifyOffset, kNotifyMultiplier * queues, 4);
    PutLe32(notify, 14, kNotifyMultiplier);
    config_.AddCapability(pci::kCapVendor, notify);
    config_.AddCapability(pci::kCapVendor, CapBody(kCapIsr, kIsrOffset, 4, 0));
    config_.AddCapability(pci::kCapVendor,
                          CapBody(kCapDevice, kDeviceConfigOffset, kDeviceConfigSize, 0));
    // VIRTIO_PCI_CAP_PCI_CFG: bar, offset, length and the data window are the
    // driver's to write.
    auto window = CapBody(kCapPciCfg, 0, 0, 4);
    std::vector<uint8_t> writable(window.size(), 0);
    writable[kPciCfgBar - 2] = 0xff;
    for (int i = 0; i < 4; ++i) {
        writable[kPciCfgOffset - 2 + i] = 0xff;
        writable[kPciCfgLength - 2 + i] = 0xff;
        writable[kPciCfgData - 2 + i] = 0xff;
    }
    pci_cfg_cap_ = config_.AddCapability(pci::kCapVendor, window, writable);
    config_.SealPowerOnState();
    queues_.reserve(queues);
    for (uint16_t q = 0; q < queues; ++q) queues_.emplace_back(memory_, device_->queue_max_size());
    device_->Attach(*this);
}

VirtioPciFunction::~VirtioPciFunction() {
    device_->Shutdown();
}

uint8_t VirtioPciFunction::status() const {
    std::lock_guard lock(mu_);
    return status_;
}

// --- Config space: the PCI_CFG window and MSI-X control ------------------------

uint32_t VirtioPciFunction::ConfigRead(uint16_t offset, size_t size) {
    std::lock_guard lock(mu_);
    uint16_t data = pci_cfg_cap_ + kPciCfgData;
    if (Overlaps(offset, size, data, 4)) {
        uint8_t bar = static_cast<uint8_t>(config_.Read(pci_cfg_cap_ + kPciCfgBar, 1));
        uint32_t at = config_.Read(pci_cfg_cap_ + kPciCfgOffset, 4);
        uint32_t len = config_.Read(pci_cfg_cap_ + kPciCfgLength, 4);
        if (bar == 0 && (len == 1 || len == 2 || len == 4) && at % len == 0 && at < kBarSize) {
            uint8_t bytes[4] = {};
            BarReadLocked(at, std::span<uint8_t>(bytes, len));
            uint32_t value = 0;
            for (uint32_t i = 0; i < len; ++i) value |= uint32_t{bytes[i]} << (8 * i);
            config_.Set(data, len, value);
        }
    }
    return config_.Read(offset, size);
}

void VirtioPciFunction::ConfigWritten(uint16_t offset, size_t size) {
    msix_.ConfigWritten();
    uint16_t data = pci_cfg_cap_ + kPciCfgData;
    if (!Overlaps(offset, size, data, 4)) return;
    uint8_t bar = static_cast<uint8_t>(config_.Read(pci_cfg_cap_ + kPciCfgBar, 1));
    uint32_t at = config_.Read(pci_cfg_cap_ + kPciCfgOffset, 4);
    uint32_t len = config_.Read(pci_cfg_cap_ + kPciCfgLength, 4);
    if (bar != 0 || (len != 1 && len != 2 && len != 4) || at % len != 0 || at >= kBarSize) return;
    uint32_t value = config_.Read(data, len);
    uint8_t bytes[4];
    for (uint32_t i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    BarWriteLocked(at, std::span<const uint8_t>(bytes, len));
}

// --- BAR 0 -------------------------------------------------------------------

void VirtioPciFunction::BarRead(int bar, uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mu_);
    if (bar != 0) {
        std::memset(data.data(), 0xff, data.size());
        return;
    }
    BarReadLocked(offset, data);
}

void VirtioPciFunction::BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) {
    std::lock_guard lock(mu_);
    if (bar == 0) BarWriteLocked(offset, data);
}

void VirtioPciFunction::BarReadLocked(uint64_t offset, std::span<uint8_t> data) {
    size_t len = data.size();
    if (msix_.BarRead(offset, data)) return;
    std::memset(data.data(), 0, len);
    if (offset >= kCommonOffset && offset + len <= kCommonOffset + kCommonSize) {
        CommonRead(offset - kCommonOffset, data);
    } else if (offset >= kIsrOffset && offset + len <= kIsrOffset + 4) {
        // Reading the ISR acknowledges it (4.1.4.5).
        if (offset == kIsrOffset) {
            data[0] = isr_;
            isr_ = 0;
        }
    } else if (offset >= kDeviceConfigOffset &&
               offset + len <= kDeviceConfigOffset + kDeviceConfigSize) {
        std::vector<uint8_t> config = device_->config();
        uint64_t rel = offset - kDeviceConfigOffset;
        for (size_t i = 0; i < len; ++i) {
            if (rel + i < config.size()) data[i] = config[rel + i];
        }
    } else if (!(offset >= kNotifyOffset &&
                 offset + len <= kNotifyOffset + kNotifyMultiplier * queues_.size())) {
        std::memset(data.data(), 0xff, len);
    }
}

void VirtioPciFunction::BarWriteLocked(uint64_t offset, std::span<const uint8_t> data) {
    size_t len = data.size();
    if (msix_.BarWrite(offset, data)) return;
    if (offset >= kCommonOffset && offset + len <= kCommonOffset + kCommonSize) {
        CommonWrite(offset - kCommonOffset, data);
    } else if (offset >= kNotifyOffset &&
               offset + len <= kNotifyOffset + kNotifyMultiplier * queues_.size()) {
        // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index;
        // the address already says which queue, so the value is not trusted.
        ServiceQueue(static_cast<uint16_t>((offset - kNotifyOffset) / kNotifyMultiplier));
    }
    // The ISR and the device config are read-only here; other writes drop.
}

// --- Queues and interrupts -----------------------------------------------------

bool VirtioPciFunction::QueueLive(uint16_t index) const {
    if (index >= queues_.size()) return false;
    const uint8_t live = virtio::kStatusDriverOk | virtio::kStatusFeaturesOk;
    if ((status_ & live) != live || (status_ & virtio::kStatusNeedsReset)) return false;
    if (!config_.bus_master()) return false;
    const VirtQueue& q = queues_[index];
    return q.state().enabled && !q.broken();
}

void VirtioPciFunction::ServiceQueue(uint16_t index) {
    if (!QueueLive(index)) return;
    device_->QueueNotified(index, queues_[index], driver_features_);
    AfterQueueWork(index);
}

bool VirtioPciFunction::WithLiveQueue(
    uint16_t index, const std::function<void(VirtQueue&, uint64_t features)>& fn) {
    std::lock_guard lock(mu_);
    if (!QueueLive(index)) return false;
    fn(queues_[index], driver_features_);
    AfterQueueWork(index);
    return true;
}

void VirtioPciFunction::AfterQueueWork(uint16_t index) {
    VirtQueue& q = queues_[index];
    bool interrupt = q.TakeInterrupt();
    if (q.broken()) {
        if (!(status_ & virtio::kStatusNeedsReset)) {
            fprintf(stderr, "hvmm: %s queue %u: %s; the device stops until the driver resets it\n",
                    std::string(device_->name()).c_str(), index, q.error().c_str());
            SetNeedsReset();
        }
        return;
    }
    if (interrupt) {
        isr_ |= virtio::kIsrQueue;
        msix_.Notify(q.state().msix_vector);
    }
}

void VirtioPciFunction::SetNeedsReset() {
    status_ |= virtio::kStatusNeedsReset;
    // A configuration change notification tells the driver (4.1.5.3).
    isr_ |= virtio::kIsrConfig;
    msix_.Notify(config_vector_);
    device_->LivenessChanged();
}

}  // namespace hvkit::hvmm
