// The common configuration structure (virtio 1.x, 4.1.4.3): feature
// negotiation, device status and reset, and the selected queue's setup.
#include <array>
#include <cstring>

#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

// struct virtio_pci_common_cfg offsets.
constexpr uint64_t kDeviceFeatureSelect = 0x00;
constexpr uint64_t kDeviceFeature = 0x04;
constexpr uint64_t kDriverFeatureSelect = 0x08;
constexpr uint64_t kDriverFeature = 0x0c;
constexpr uint64_t kConfigMsixVector = 0x10;
constexpr uint64_t kNumQueues = 0x12;
constexpr uint64_t kDeviceStatus = 0x14;
constexpr uint64_t kQueueSelect = 0x16;
constexpr uint64_t kQueueSize = 0x18;
constexpr uint64_t kQueueMsixVector = 0x1a;
constexpr uint64_t kQueueEnable = 0x1c;
constexpr uint64_t kQueueNotifyOff = 0x1e;
constexpr uint64_t kQueueDesc = 0x20;
constexpr uint64_t kQueueDriver = 0x28;
constexpr uint64_t kQueueDevice = 0x30;

using Image = std::array<uint8_t, VirtioPciFunction::kCommonSize>;

void Put(Image& image, uint64_t offset, size_t size, uint64_t value) {
    for (size_t i = 0; i < size; ++i) image[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t Get(const Image& image, uint64_t offset, size_t size) {
    uint64_t value = 0;
    for (size_t i = 0; i < size; ++i) value |= uint64_t{image[offset + i]} << (8 * i);
    return value;
}

// The fields a driver writes, in the order a wide write applies them.
struct Field {
    uint64_t offset;
    size_t size;
};
constexpr Field kWritable[] = {
    {kDeviceFeatureSelect, 4}, {kDriverFeatureSelect, 4}, {kDriverFeature, 4},
    {kConfigMsixVector, 2},    {kDeviceStatus, 1},        {kQueueSelect, 2},
    {kQueueSize, 2},           {kQueueMsixVector, 2},     {kQueueEnable, 2},
    {kQueueDesc, 8},           {kQueueDriver, 8},         {kQueueDevice, 8},
};

}  // namespace

void VirtioPciFunction::CommonRead(uint64_t offset, std::span<uint8_t> data) const {
    Image image{};
    Put(image, kDeviceFeatureSelect, 4, device_feature_select_);
    if (device_feature_select_ < 2) {
        Put(image, kDeviceFeature, 4, offered_ >> (32 * device_feature_select_));
    }
    Put(image, kDriverFeatureSelect, 4, driver_feature_select_);
    if (driver_feature_select_ < 2) {
        Put(image, kDriverFeature, 4, driver_features_ >> (32 * driver_feature_select_));
    }
    Put(image, kConfigMsixVector, 2, config_vector_);
    Put(image, kNumQueues, 2, queues_.size());
    Put(image, kDeviceStatus, 1, status_);
    Put(image, kQueueSelect, 2, queue_select_);
    if (queue_select_ < queues_.size()) {
        const QueueState& q = queues_[queue_select_].state();
        Put(image, kQueueSize, 2, q.size);
        Put(image, kQueueMsixVector, 2, q.msix_vector);
        Put(image, kQueueEnable, 2, q.enabled ? 1 : 0);
        Put(image, kQueueNotifyOff, 2, queue_select_);
        Put(image, kQueueDesc, 8, q.desc);
        Put(image, kQueueDriver, 8, q.driver);
        Put(image, kQueueDevice, 8, q.device);
    } else {
        Put(image, kQueueMsixVector, 2, virtio::kNoVector);
    }
    std::memcpy(data.data(), image.data() + offset, data.size());
}

void VirtioPciFunction::CommonWrite(uint64_t offset, std::span<const uint8_t> data) {
    // Merge the write into the current image, then apply each field it
    // touched: any access width works the same way (Linux writes the 64-bit
    // ring addresses as two 32-bit halves).
    Image image{};
    CommonRead(0, image);
    std::memcpy(image.data() + offset, data.data(), data.size());
    for (const Field& f : kWritable) {
        if (offset >= f.offset + f.size || f.offset >= offset + data.size()) continue;
        uint64_t value = Get(image, f.offset, f.size);
        VirtQueue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
        // Queue setup is frozen once the queue is enabled (4.1.4.3.2).
        bool setup_open = q != nullptr && !q->state().enabled;
        switch (f.offset) {
            case kDeviceFeatureSelect:
                device_feature_select_ = static_cast<uint32_t>(value);
                break;
            case kDriverFeatureSelect:
                driver_feature_select_ = static_cast<uint32_t>(value);
                break;
            case kDriverFeature:
                if (driver_feature_select_ < 2 && !(status_ & virtio::kStatusFeaturesOk)) {
                    int shift = 32 * static_cast<int>(driver_feature_select_);
                    driver_features_ =
                        (driver_features_ & ~(uint64_t{0xffffffff} << shift)) | (value << shift);
                }
                break;
            case kConfigMsixVector:
                config_vector_ =
                    value < msix_.count() ? static_cast<uint16_t>(value) : virtio::kNoVector;
                break;
            case kDeviceStatus:
                WriteStatus(static_cast<uint8_t>(value));
                break;
            case kQueueSelect:
                queue_select_ = static_cast<uint16_t>(value);
                break;
            case kQueueSize:
                // Never above the maximum (4.1.4.3.2): ignored, so the
                // driver reads back the size in force.
                if (setup_open && value <= q->max_size()) {
                    q->state().size = static_cast<uint16_t>(value);
                }
                break;
            case kQueueMsixVector:
                if (q != nullptr) {
                    q->state().msix_vector =
                        value < msix_.count() ? static_cast<uint16_t>(value) : virtio::kNoVector;
                }
                break;
            case kQueueEnable:
                // Only 1 is meaningful; a driver disables a queue by reset.
                if (setup_open && value == 1) {
                    q->Enable();
                    if (q->broken()) AfterQueueWork(queue_select_);
                }
                break;
            case kQueueDesc:
                if (setup_open) q->state().desc = value;
                break;
            case kQueueDriver:
                if (setup_open) q->state().driver = value;
                break;
            case kQueueDevice:
                if (setup_open) q->state().device = value;
                break;
        }
    }
}

void VirtioPciFunction::WriteStatus(uint8_t value) {
    if (value == 0) {
        ResetTransport();
        device_->LivenessChanged();
        return;
    }
    constexpr uint8_t kDriverBits = virtio::kStatusAcknowledge | virtio::kStatusDriver |
                                    virtio::kStatusDriverOk | virtio::kStatusFeaturesOk |
                                    virtio::kStatusFailed;
    // The driver sets bits one step at a time and clears them only by reset.
    uint8_t next = static_cast<uint8_t>(status_ | (value & kDriverBits));
    if ((next & virtio::kStatusFeaturesOk) && !(status_ & virtio::kStatusFeaturesOk)) {
        bool subset = (driver_features_ & ~offered_) == 0;
        bool modern = driver_features_ & virtio::kFeatureVersion1;
        if (!subset || !modern) {
            // Left clear: the driver reads it back and gives up (3.1.1).
            next &= static_cast<uint8_t>(~virtio::kStatusFeaturesOk);
        } else {
            for (VirtQueue& q : queues_) {
                q.set_indirect_allowed(driver_features_ & virtio::kFeatureIndirectDesc);
            }
        }
    }
    bool went_live = (next & virtio::kStatusDriverOk) && !(status_ & virtio::kStatusDriverOk);
    status_ = next;
    if (went_live) {
        device_->LivenessChanged();
        // Buffers made available before DRIVER_OK are served now.
        for (uint16_t i = 0; i < queues_.size(); ++i) {
            if (!QueueLive(i)) continue;
            if (queues_[i].HasAvailable()) {
                ServiceQueue(i);
            } else {
                AfterQueueWork(i);  // reports a ring that broke just now
            }
        }
    }
}

void VirtioPciFunction::ResetTransport() {
    status_ = 0;
    device_feature_select_ = 0;
    driver_feature_select_ = 0;
    driver_features_ = 0;
    config_vector_ = virtio::kNoVector;
    queue_select_ = 0;
    isr_ = 0;
    for (VirtQueue& q : queues_) q.Reset();
}

}  // namespace hvkit::hvmm
