// The hvfilt PCI function: config space, BAR2 registers, save/restore and
// the fds an attaching hvfilterd receives.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hvfilt/hvfilt.h"
#include "hvkit/filter_ring_abi.h"

namespace hvkit::hvmm {

namespace {

constexpr int64_t kStateVersion = 1;
constexpr uint32_t kAbiVersion = HVFILTER_ABI_MAJOR << 16 | HVFILTER_ABI_MINOR;

static_assert(HVFILT_MAX_REGION_SIZE <= UINT32_MAX, "BAR0 sizes are 32-bit in PciConfigSpace");

PciConfigSpace HvfiltConfigSpace(uint32_t region_size, uint32_t region_bar, uint32_t register_bar) {
    PciConfigSpace config(HVFILT_PCI_VENDOR_ID, HVFILT_PCI_DEVICE_ID, HVFILT_PCI_CLASS,
                          HVFILT_PCI_REVISION);
    config.SetSubsystem(HVFILT_PCI_VENDOR_ID, HVFILT_PCI_DEVICE_ID);
    config.DeclareMemoryBar64(HVFILT_REGION_BAR, region_size, region_bar);
    config.DeclareMemoryBar(HVFILT_REGISTER_BAR, HVFILT_BAR2_SIZE, register_bar);
    config.Set(pci::kInterruptPin, 1, 1);  // INTA#
    config.Set(pci::kInterruptLine, 1, HVFILT_PCI_IRQ);
    config.Set(pci::kCommand, 2, pci::kCommandMemory);
    config.SealPowerOnState();
    return config;
}

Result<UniqueFd> MakeEventfd(const char* what) {
    UniqueFd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid()) {
        return Error(ErrorCode::kIo,
                     std::string("hvfilt: eventfd for the ") + what + ": " + strerror(errno));
    }
    return fd;
}

Result<UniqueFd> Dup(int fd, const char* what) {
    UniqueFd copy(fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!copy.valid()) {
        return Error(ErrorCode::kIo,
                     std::string("hvfilt: duplicating the ") + what + ": " + strerror(errno));
    }
    return copy;
}

}  // namespace

Status CheckFilterRegionSize(uint64_t size) {
    if (size < HVFILT_MIN_REGION_SIZE || size > HVFILT_MAX_REGION_SIZE ||
        (size & (size - 1)) != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "--filter-rings " + std::to_string(size) +
                         " bytes: the region must be a power of two from 64K to 128M");
    }
    return Status::Ok();
}

Result<std::shared_ptr<HvfiltDevice>> HvfiltDevice::Create(uint64_t region_size,
                                                           uint32_t region_bar,
                                                           uint32_t register_bar,
                                                           KvmEventfdWiring wiring) {
    HVKIT_RETURN_IF_ERROR(CheckFilterRegionSize(region_size));
    HVKIT_ASSIGN_OR_RETURN(auto region,
                           MemfdMapping::Create("hvmm-filter-rings", region_size, true));
    HVKIT_ASSIGN_OR_RETURN(auto doorbell, MakeEventfd("doorbell"));
    HVKIT_ASSIGN_OR_RETURN(auto interrupt, MakeEventfd("interrupt"));
    HVKIT_ASSIGN_OR_RETURN(auto resample, MakeEventfd("interrupt resample"));
    std::shared_ptr<HvfiltDevice> device(
        new HvfiltDevice(std::move(region), std::move(doorbell), std::move(interrupt),
                         std::move(resample), region_bar, register_bar, std::move(wiring)));
    std::lock_guard lock(device->mu_);
    device->SyncWiring();
    return device;
}

Result<std::shared_ptr<HvfiltDevice>> HvfiltDevice::Adopt(HandoverFds& fds, uint64_t region_size,
                                                          uint32_t region_bar,
                                                          uint32_t register_bar,
                                                          KvmEventfdWiring wiring) {
    HVKIT_RETURN_IF_ERROR(CheckFilterRegionSize(region_size));
    HVKIT_ASSIGN_OR_RETURN(UniqueFd region_fd, fds.Take("hvfilt.region"));
    HVKIT_ASSIGN_OR_RETURN(auto region,
                           MemfdMapping::Adopt(std::move(region_fd), "hvfilt", region_size));
    HVKIT_ASSIGN_OR_RETURN(auto doorbell, fds.Take("hvfilt.doorbell"));
    HVKIT_ASSIGN_OR_RETURN(auto interrupt, fds.Take("hvfilt.interrupt"));
    HVKIT_ASSIGN_OR_RETURN(auto resample, fds.Take("hvfilt.resample"));
    std::shared_ptr<HvfiltDevice> device(
        new HvfiltDevice(std::move(region), std::move(doorbell), std::move(interrupt),
                         std::move(resample), region_bar, register_bar, std::move(wiring)));
    device->quiesced_ = true;  // wired to KVM at Unquiesce(), once the guest is ours
    return device;
}

void HvfiltDevice::ShareFds(std::vector<SharedFd>& out) const {
    out.push_back({"hvfilt.region", region_.fd()});
    out.push_back({"hvfilt.doorbell", doorbell_.get()});
    out.push_back({"hvfilt.interrupt", interrupt_.get()});
    out.push_back({"hvfilt.resample", resample_.get()});
}

void HvfiltDevice::Quiesce() {
    std::lock_guard lock(mu_);
    quiesced_ = true;
    SyncWiring();
}

void HvfiltDevice::Unquiesce() {
    std::lock_guard lock(mu_);
    quiesced_ = false;
    SyncWiring();
}

HvfiltDevice::HvfiltDevice(MemfdMapping region, UniqueFd doorbell, UniqueFd interrupt,
                           UniqueFd resample, uint32_t region_bar, uint32_t register_bar,
                           KvmEventfdWiring wiring)
    : PciFunction(
          HvfiltConfigSpace(static_cast<uint32_t>(region.size()), region_bar, register_bar)),
      region_(std::move(region)),
      doorbell_(std::move(doorbell)),
      interrupt_(std::move(interrupt)),
      resample_(std::move(resample)),
      wiring_(std::move(wiring)) {}

std::span<uint8_t> HvfiltDevice::BarMemory(int bar) {
    return bar == HVFILT_REGION_BAR ? std::span<uint8_t>(region_.data(), region_.size())
                                    : std::span<uint8_t>();
}

void HvfiltDevice::BarRead(int bar, uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mu_);
    if (bar != HVFILT_REGISTER_BAR || data.size() != 4 || offset % 4 != 0) {
        // BAR0 reaches here only while it is not mapped.
        if (bar == HVFILT_REGISTER_BAR) ++counters_.bad_register_accesses;
        memset(data.data(), 0xff, data.size());
        return;
    }
    uint32_t v = ReadRegister(offset);
    memcpy(data.data(), &v, sizeof v);
}

void HvfiltDevice::BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) {
    std::lock_guard lock(mu_);
    if (bar == HVFILT_REGISTER_BAR && offset == HVFILT_REG_DOORBELL && data.size() == 4) {
        // The ioeventfd normally takes this write in the kernel; when it is
        // not registered the kick still reaches hvfilterd, only slower.
        ++counters_.doorbell_exits;
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(doorbell_.get(), &one, sizeof one);
        return;
    }
    if (bar == HVFILT_REGISTER_BAR) ++counters_.bad_register_accesses;
}

uint32_t HvfiltDevice::ReadRegister(uint64_t offset) {
    switch (offset) {
        case HVFILT_REG_REGION_SIZE_LO:
            return static_cast<uint32_t>(region_.size());
        case HVFILT_REG_REGION_SIZE_HI:
            return static_cast<uint32_t>(region_.size() >> 32);
        case HVFILT_REG_ABI_VERSION:
            return kAbiVersion;
        case HVFILT_REG_MAGIC:
            return HVFILT_MAGIC;
        default:
            ++counters_.bad_register_accesses;
            return 0xffffffffu;
    }
}

Result<FilterAttachment> HvfiltDevice::Attach() const {
    FilterAttachment a;
    a.region_size = region_.size();
    a.abi_major = HVFILTER_ABI_MAJOR;
    a.abi_minor = HVFILTER_ABI_MINOR;
    HVKIT_ASSIGN_OR_RETURN(a.fds[0], Dup(region_.fd(), "region memfd"));
    HVKIT_ASSIGN_OR_RETURN(a.fds[1], Dup(doorbell_.get(), "doorbell eventfd"));
    HVKIT_ASSIGN_OR_RETURN(a.fds[2], Dup(interrupt_.get(), "interrupt eventfd"));
    return a;
}

HvfiltCounters HvfiltDevice::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

Json HvfiltDevice::Save() const {
    std::lock_guard lock(mu_);
    Json state = Json::MakeObject();
    state["version"] = Json(kStateVersion);
    SaveConfigTo(state);
    state["interrupt_latched"] = Json(latched_);
    return state;
}

Status HvfiltDevice::Restore(const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kStateVersion, "hvfilt"));
    HVKIT_ASSIGN_OR_RETURN(bool latched, StateBool(state, "interrupt_latched", "hvfilt"));
    std::lock_guard lock(mu_);
    HVKIT_RETURN_IF_ERROR(RestoreConfigFrom(state));
    latched_ = latched;
    SyncWiring();
    return Status::Ok();
}

void HvfiltDevice::Reset() {
    std::lock_guard lock(mu_);
    config_.Reset();
    latched_ = false;
    SyncWiring();
}

}  // namespace hvkit::hvmm
