// The hvchan PCI function: config space, BAR0 registers, the call path.
#include <cstring>

#include "arch/x86_64/layout.h"
#include "hvchan/hvchan.h"

namespace hvkit::hvmm {

namespace {

constexpr int kRegisterBar = 0;
constexpr int kMemoryBar = 2;
constexpr int64_t kStateVersion = 1;

static_assert(HVCHAN_BAR0_SIZE == layout::kHvchanBar0Size);
static_assert(HVCHAN_BAR2_SIZE <= layout::kHvchanBar2MaxSize);

PciConfigSpace HvchanConfigSpace() {
    PciConfigSpace config(HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID, HVCHAN_PCI_CLASS,
                          HVCHAN_PCI_REVISION);
    config.SetSubsystem(HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID);
    config.DeclareMemoryBar(kRegisterBar, HVCHAN_BAR0_SIZE,
                            static_cast<uint32_t>(layout::kHvchanBar0Start));
    config.DeclareMemoryBar(kMemoryBar, HVCHAN_BAR2_SIZE,
                            static_cast<uint32_t>(layout::kHvchanBar2Start));
    // Decoding on, as firmware leaves a device whose BARs it assigned: the
    // guest agent maps the BARs through sysfs without a kernel driver.
    config.Set(pci::kCommand, 2, pci::kCommandMemory);
    config.SealPowerOnState();
    return config;
}

uint32_t Load32(std::span<const uint8_t> data) {
    uint32_t v;
    memcpy(&v, data.data(), sizeof v);
    return v;
}

Result<uint64_t> StateU64(const Json& state, std::string_view key) {
    const Json* v = state.Find(key);
    if (v == nullptr || !v->is_int() || v->as_int() < 0) {
        return Error(ErrorCode::kMalformed,
                     "hvchan: saved \"" + std::string(key) + "\" is not a non-negative integer");
    }
    return static_cast<uint64_t>(v->as_int());
}

}  // namespace

Result<std::shared_ptr<HvchanDevice>> HvchanDevice::Create(HvchanHostInfo host,
                                                           std::shared_ptr<UpdateService> update) {
    HVKIT_ASSIGN_OR_RETURN(auto memory, HvchanMemory::Create());
    return Create(std::move(host), std::move(memory), std::move(update));
}

std::shared_ptr<HvchanDevice> HvchanDevice::Create(HvchanHostInfo host,
                                                   std::unique_ptr<HvchanMemory> memory,
                                                   std::shared_ptr<UpdateService> update) {
    host.update_permitted = update != nullptr;
    return std::shared_ptr<HvchanDevice>(
        new HvchanDevice(std::move(host), std::move(memory), std::move(update)));
}

HvchanDevice::HvchanDevice(HvchanHostInfo host, std::unique_ptr<HvchanMemory> memory,
                           std::shared_ptr<UpdateService> update)
    : PciFunction(HvchanConfigSpace()),
      host_(std::move(host)),
      memory_(std::move(memory)),
      update_(std::move(update)) {}

std::span<uint8_t> HvchanDevice::BarMemory(int bar) {
    return bar == kMemoryBar ? memory_->bytes() : std::span<uint8_t>();
}

void HvchanDevice::BarRead(int bar, uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mu_);
    if (bar != kRegisterBar || data.size() != 4 || offset % 4 != 0) {
        // BAR2 reaches here only while it is not mapped (decoding off).
        if (bar == kRegisterBar) ++counters_.bad_register_accesses;
        memset(data.data(), 0xff, data.size());
        return;
    }
    uint32_t v = ReadRegister(offset);
    memcpy(data.data(), &v, sizeof v);
}

void HvchanDevice::BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) {
    std::lock_guard lock(mu_);
    if (bar != kRegisterBar || data.size() != 4 || offset % 4 != 0) {
        if (bar == kRegisterBar) ++counters_.bad_register_accesses;
        return;
    }
    WriteRegister(offset, Load32(data));
}

uint32_t HvchanDevice::ReadRegister(uint64_t offset) {
    uint64_t features = HvchanHostFeatures(host_);
    switch (offset) {
        case HVCHAN_REG_MAGIC:
            return HVCHAN_MAGIC;
        case HVCHAN_REG_ABI_VERSION:
            return HVCHAN_ABI_VERSION;
        case HVCHAN_REG_HOST_FEATURES_LO:
            return static_cast<uint32_t>(features);
        case HVCHAN_REG_HOST_FEATURES_HI:
            return static_cast<uint32_t>(features >> 32);
        case HVCHAN_REG_GUEST_FEATURES_LO:
            return static_cast<uint32_t>(guest_features_);
        case HVCHAN_REG_GUEST_FEATURES_HI:
            return static_cast<uint32_t>(guest_features_ >> 32);
        case HVCHAN_REG_STATUS:
            return status_;
        case HVCHAN_REG_SHMEM_SIZE:
            return static_cast<uint32_t>(memory_->bytes().size());
        case HVCHAN_REG_SEQUENCE:
            return static_cast<uint32_t>(sequence_);
        default:
            ++counters_.bad_register_accesses;
            return 0xffffffffu;
    }
}

void HvchanDevice::WriteRegister(uint64_t offset, uint32_t value) {
    uint64_t offered = HvchanHostFeatures(host_);
    switch (offset) {
        case HVCHAN_REG_GUEST_FEATURES_LO:
            guest_features_ = ((guest_features_ & ~uint64_t{0xffffffff}) | value) & offered;
            return;
        case HVCHAN_REG_GUEST_FEATURES_HI:
            guest_features_ = ((guest_features_ & 0xffffffff) | (uint64_t{value} << 32)) & offered;
            return;
        case HVCHAN_REG_CALL:
            RunCall(value);
            return;
        default:
            ++counters_.bad_register_accesses;
            return;
    }
}

void HvchanDevice::RunCall(uint32_t number) {
    hvchan_call_block block = memory_->ReadCallBlock();
    if (update_) host_.committed_version_string = update_->committed_version();
    HvchanCall call{*memory_, host_, update_.get(), guest_features_, {}, {}};
    memcpy(call.args.data(), block.args, sizeof block.args);
    hvchan_status status = HVCHAN_E_UNKNOWN_CALL;
    for (const HvchanCallSpec& spec : HvchanCallTable()) {
        if (spec.number != number) continue;
        if ((spec.required_features & ~guest_features_) != 0) {
            status = HVCHAN_E_FEATURE;
        } else {
            status = spec.handler(call);
        }
        break;
    }
    ++sequence_;
    ++counters_.calls;
    if (status != HVCHAN_OK && status != HVCHAN_PENDING) ++counters_.errors;
    status_ = status;
    hvchan_call_block result{};
    result.call = number;
    result.status = status;
    result.sequence = sequence_;
    memcpy(result.args, call.args.data(), sizeof result.args);
    memcpy(result.rets, call.rets.data(), sizeof result.rets);
    memory_->WriteCallBlock(result);
}

uint64_t HvchanDevice::sequence() const {
    std::lock_guard lock(mu_);
    return sequence_;
}

HvchanCounters HvchanDevice::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

Json HvchanDevice::Save() const {
    std::lock_guard lock(mu_);
    Json state = Json::MakeObject();
    state["version"] = Json(kStateVersion);
    SaveConfigTo(state);
    state["guest_features"] = Json(static_cast<int64_t>(guest_features_ & INT64_MAX));
    state["status"] = Json(static_cast<int64_t>(status_));
    state["sequence"] = Json(static_cast<int64_t>(sequence_ & INT64_MAX));
    return state;
}

Status HvchanDevice::Restore(const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kStateVersion, "hvchan"));
    HVKIT_ASSIGN_OR_RETURN(uint64_t features, StateU64(state, "guest_features"));
    HVKIT_ASSIGN_OR_RETURN(uint64_t status, StateU64(state, "status"));
    HVKIT_ASSIGN_OR_RETURN(uint64_t sequence, StateU64(state, "sequence"));
    if ((features & ~HvchanHostFeatures(host_)) != 0) {
        return Error(ErrorCode::kMalformed,
                     "hvchan: saved guest features include ones this hvmm does not offer");
    }
    if (status > UINT32_MAX) return Error(ErrorCode::kMalformed, "hvchan: saved status too large");
    std::lock_guard lock(mu_);
    HVKIT_RETURN_IF_ERROR(RestoreConfigFrom(state));
    guest_features_ = features;
    status_ = static_cast<uint32_t>(status);
    sequence_ = sequence;
    return Status::Ok();
}

void HvchanDevice::Reset() {
    std::lock_guard lock(mu_);
    config_.Reset();
    guest_features_ = 0;
    status_ = HVCHAN_OK;
    sequence_ = 0;
}

}  // namespace hvkit::hvmm
