// The host bridge at 00:00.0. It has no BARs and no behaviour; Linux's
// direct-access probe (pci_sanity_check) looks for a host bridge on bus 0
// before it trusts configuration mechanism #1.
#include "hvkit/hvchan_abi.h"
#include "hvkit/hvfilt_abi.h"
#include "pci/pci.h"

namespace hvkit::hvmm {

namespace {

constexpr uint32_t kClassHostBridge = 0x060000;
// Under hvkit's provisional vendor ID, below hvchan's (docs/hvchan-abi.md).
// It once was hvchan's + 1, which hvfilt took later: a guest looking for
// hvfilt by its IDs found the host bridge first.
constexpr uint16_t kHostBridgeDeviceId = 0x11bf;
static_assert(kHostBridgeDeviceId != HVCHAN_PCI_DEVICE_ID &&
                  kHostBridgeDeviceId != HVFILT_PCI_DEVICE_ID,
              "every hvmm PCI function has its own device ID");

class HostBridge final : public PciFunction {
  public:
    HostBridge()
        : PciFunction(
              PciConfigSpace(HVCHAN_PCI_VENDOR_ID, kHostBridgeDeviceId, kClassHostBridge, 1)) {
        config_.SealPowerOnState();
    }
    std::string_view name() const override { return "pci-host-bridge"; }
    void BarRead(int, uint64_t, std::span<uint8_t> data) override {
        std::fill(data.begin(), data.end(), 0xff);
    }
    void BarWrite(int, uint64_t, std::span<const uint8_t>) override {}
    Json Save() const override {
        std::lock_guard lock(mu_);
        Json state = Json::MakeObject();
        state["version"] = Json(int64_t{1});
        SaveConfigTo(state);
        return state;
    }
    Status Restore(const Json& state) override {
        HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, 1, name()));
        std::lock_guard lock(mu_);
        return RestoreConfigFrom(state);
    }
    void Reset() override {
        std::lock_guard lock(mu_);
        config_.Reset();
    }
};

}  // namespace

std::shared_ptr<PciFunction> MakeHostBridge() {
    return std::make_shared<HostBridge>();
}

}  // namespace hvkit::hvmm
