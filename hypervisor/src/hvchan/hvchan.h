// hvchan, the hypercall channel: a PCI function whose BAR0 register write is
// a synchronous hypercall and whose BAR2 is memory shared with the guest.
// The ABI is hypervisor/include/hvkit/hvchan_abi.h (docs/hvchan-abi.md).
//
//   memory.cc   HvchanMemory: BAR2's memfd and the one checked accessor for
//               guest-named (offset, length) pairs
//   calls.cc    the dispatch table: the base rows (info, echo) and the
//               update family's rows, which live in update_calls.cc
//   update_calls.cc  the update calls (0x10..0x16), over update/'s
//               UpdateService
//   device.cc   HvchanDevice: config space, BAR0 registers, the call path,
//               save/restore
//   module.cc   its row in the device table: --hvchan,
//               --allow-hypervisor-update, --state-dir
//
// The guest is hostile: every offset and length it names passes
// HvchanMemory::Slice, call arguments are copied out of shared memory once
// before they are checked, and a bad call gets an error status while hvmm
// keeps running.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "hvkit/hvchan_abi.h"
#include "pci/pci.h"
#include "update/update_service.h"

namespace hvkit::hvmm {

// BAR2: a memfd (so a successor hvmm maps the same pages), cut into areas.
class HvchanMemory {
  public:
    enum class Area { kCallIn, kCallOut };
    // (size) bytes (a power of two >= HVCHAN_BAR2_SIZE), zeroed.
    static Result<std::unique_ptr<HvchanMemory>> Create(uint64_t size = HVCHAN_BAR2_SIZE);
    // BAR2 over (fd), the predecessor's memfd (live takeover).
    static Result<std::unique_ptr<HvchanMemory>> Adopt(UniqueFd fd,
                                                       uint64_t size = HVCHAN_BAR2_SIZE);
    ~HvchanMemory();
    HvchanMemory(const HvchanMemory&) = delete;
    HvchanMemory& operator=(const HvchanMemory&) = delete;

    // The one gate for guest-named ranges: (length) bytes at (offset) inside
    // (area), or nullopt when any byte lies outside it or offset + length
    // overflows. Length 0 is an empty span at a valid offset (<= area size).
    std::optional<std::span<uint8_t>> Slice(Area area, uint64_t offset, uint64_t length);

    // The call block: the host copies it in and out whole (the guest may
    // change it concurrently from another vCPU).
    hvchan_call_block ReadCallBlock() const;
    void WriteCallBlock(const hvchan_call_block& block);

    std::span<uint8_t> bytes() { return {mapping_.data(), mapping_.size()}; }
    int memfd() const { return mapping_.fd(); }

  private:
    HvchanMemory() = default;
    MemfdMapping mapping_;
};

// What the host tells the guest about itself (the info call), and what it
// permits.
struct HvchanHostInfo {
    uint32_t hv_version = 0;  // major << 16 | minor << 8 | patch
    std::string hv_version_string;
    // The host store's committed release ("" when none), refreshed from the
    // update service before each call.
    std::string committed_version_string;
    bool update_permitted = false;
};

// One call's view: its arguments (a copy), results, the memory and the host.
struct HvchanCall {
    HvchanMemory& memory;
    const HvchanHostInfo& host;
    UpdateService* update = nullptr;  // null unless this VM may update the hypervisor
    uint64_t guest_features = 0;
    std::array<uint64_t, HVCHAN_NUM_ARGS> args{};
    std::array<uint64_t, HVCHAN_NUM_RETS> rets{};
};

// A row of the dispatch table.
struct HvchanCallSpec {
    uint32_t number;
    const char* name;
    uint64_t required_features;  // HVCHAN_F_* the guest must have accepted
    hvchan_status (*handler)(HvchanCall& call);
};

// Every call hvmm answers, by number.
std::span<const HvchanCallSpec> HvchanCallTable();
// The update family's rows (update_calls.cc).
extern const HvchanCallSpec kHvchanUpdateCalls[7];
// The features the host offers (HVCHAN_F_*).
uint64_t HvchanHostFeatures(const HvchanHostInfo& host);

// Per-call-number and error counters, for status and tests.
struct HvchanCounters {
    uint64_t calls = 0;
    uint64_t errors = 0;  // calls that returned a status other than OK or PENDING
    uint64_t bad_register_accesses = 0;
};

// The PCI function (vendor/device in hvchan_abi.h) at fixed BAR addresses
// (layout.h), memory decoding on from power-on as firmware leaves it.
class HvchanDevice final : public PciFunction {
  public:
    // (update) serves the update calls; without it they return
    // HVCHAN_E_DENIED (the VM runs without --allow-hypervisor-update).
    static Result<std::shared_ptr<HvchanDevice>> Create(
        HvchanHostInfo host, std::shared_ptr<UpdateService> update = nullptr);
    // The same over (memory) (HvchanMemory::Adopt, live takeover).
    static std::shared_ptr<HvchanDevice> Create(HvchanHostInfo host,
                                                std::unique_ptr<HvchanMemory> memory,
                                                std::shared_ptr<UpdateService> update);

    std::string_view name() const override { return "hvchan"; }
    void BarRead(int bar, uint64_t offset, std::span<uint8_t> data) override;
    void BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) override;
    std::span<uint8_t> BarMemory(int bar) override;
    // Registers and config space. BAR2's contents are not in it: a successor
    // takes over the memfd itself.
    Json Save() const override;
    Status Restore(const Json& state) override;
    void Reset() override;
    void ShareFds(std::vector<SharedFd>& out) const override {
        out.push_back({"hvchan.memory", memory_->memfd()});
    }
    Status CanHandOver() const override { return update_ ? update_->CanHandOver() : Status::Ok(); }

    HvchanCounters counters() const;
    // The host store's committed release ("" without update permission or
    // before the first commit).
    std::string committed_version() const {
        return update_ ? update_->committed_version() : std::string();
    }
    HvchanMemory& memory() { return *memory_; }
    // Calls completed since the guest first booted (carried across a
    // takeover): a trial's sign that the guest answers.
    uint64_t sequence() const;
    // The update service, or null without update permission.
    const std::shared_ptr<UpdateService>& update_service() const { return update_; }

  private:
    HvchanDevice(HvchanHostInfo host, std::unique_ptr<HvchanMemory> memory,
                 std::shared_ptr<UpdateService> update);
    uint32_t ReadRegister(uint64_t offset);
    void WriteRegister(uint64_t offset, uint32_t value);
    // Runs call (number) with mu_ held: copies the call block in, dispatches,
    // writes results back.
    void RunCall(uint32_t number);

    HvchanHostInfo host_;
    std::unique_ptr<HvchanMemory> memory_;
    std::shared_ptr<UpdateService> update_;
    uint64_t guest_features_ = 0;
    uint32_t status_ = HVCHAN_OK;
    uint64_t sequence_ = 0;
    HvchanCounters counters_;
};

}  // namespace hvkit::hvmm
