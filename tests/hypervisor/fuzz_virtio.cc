// Fuzz target: a virtio-pci function driven by a hostile driver. The input
// is a sequence of register accesses (BAR 0, config space) and guest memory
// writes, followed by the initial contents of guest RAM, so rings,
// descriptors and indirect tables are the fuzzer's. Whatever it does, hvmm
// must not crash, hang or touch memory outside RAM; every chain the queue
// hands out lies in RAM; and the function's saved state restores into a
// fresh one unchanged.
//
// Input: byte 0 = number of operations N; then N operations of 8 bytes
// (kind, offset u16, size code, value u32); the rest is copied to guest
// address 0.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "virtio/virtio.h"

namespace {

using hvkit::hvmm::DescriptorChain;
using hvkit::hvmm::GuestMemory;
using hvkit::hvmm::VirtioPciFunction;
using hvkit::hvmm::VirtQueue;

constexpr uint64_t kRam = 256 * 1024;

// Aborts naming the failed check's line (the fuzzer then keeps the input).
// A macro for __LINE__: clang 14 with libstdc++ 12 has no std::source_location.
void CheckAt(bool condition, int line) {
    if (condition) return;
    fprintf(stderr, "fuzz_virtio: check failed at line %d\n", line);
    abort();
}
#define Check(condition) CheckAt((condition), __LINE__)

// Serves every chain: checks it against RAM, reads its readable part and
// fills its writable part, as a device would.
class CheckingDevice final : public hvkit::hvmm::VirtioDevice {
  public:
    std::string_view name() const override { return "fuzz-virtio"; }
    uint16_t device_type() const override { return hvkit::hvmm::virtio::kTypeBlock; }
    uint32_t pci_class() const override { return 0x018000; }
    uint64_t features() const override { return 1ull << 9; }
    uint16_t queue_count() const override { return 2; }
    uint16_t queue_max_size() const override { return 16; }
    std::vector<uint8_t> config() const override { return {1, 2, 3, 4, 5, 6, 7, 8}; }
    void QueueNotified(uint16_t, VirtQueue& queue, uint64_t) override {
        while (auto chain = queue.Pop()) {
            Serve(queue.memory(), *chain);
            queue.Push(chain->head, static_cast<uint32_t>(chain->writable_bytes));
        }
    }

  private:
    static void Serve(GuestMemory& memory, const DescriptorChain& chain) {
        Check(chain.buffers.size() <= VirtQueue::kMaxChainBuffers);
        uint64_t readable = 0, writable = 0;
        for (const auto& b : chain.buffers) {
            Check(memory.Slice(b.gpa, b.len).ok());
            (b.writable ? writable : readable) += b.len;
        }
        Check(readable == chain.readable_bytes && writable == chain.writable_bytes);
        auto in = hvkit::hvmm::ChainSpans(memory, chain, false, 0, readable);
        auto out = hvkit::hvmm::ChainSpans(memory, chain, true, 0, writable);
        Check(in.ok() && out.ok());
        uint8_t sum = 0;
        for (auto s : *in) {
            for (uint8_t b : s) sum = static_cast<uint8_t>(sum + b);
        }
        for (auto s : *out) std::memset(s.data(), sum, s.size());
    }
};

std::unique_ptr<VirtioPciFunction> MakeFunction(GuestMemory& memory) {
    return std::make_unique<VirtioPciFunction>(
        std::make_unique<CheckingDevice>(), memory, [](uint64_t, uint32_t) {}, 0xc4000000);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static std::unique_ptr<GuestMemory> memory = std::move(GuestMemory::Create(kRam).value());
    auto ram = memory->Slice(0, kRam);
    Check(ram.ok());
    std::memset(ram->data(), 0, ram->size());
    if (size == 0) return 0;
    size_t ops = data[0];
    size_t ops_end = 1 + 8 * ops;
    if (ops_end > size) {
        ops = (size - 1) / 8;
        ops_end = 1 + 8 * ops;
    }
    size_t image = size - ops_end < kRam ? size - ops_end : kRam;
    std::memcpy(ram->data(), data + ops_end, image);

    auto fn = MakeFunction(*memory);
    for (size_t i = 0; i < ops; ++i) {
        const uint8_t* op = data + 1 + 8 * i;
        uint16_t offset = static_cast<uint16_t>(op[1] | op[2] << 8);
        size_t len = size_t{1} << (op[3] & 3);
        uint32_t value;
        std::memcpy(&value, op + 4, 4);
        uint8_t bytes[8] = {};
        std::memcpy(bytes, &value, 4);
        switch (op[0] % 5) {
            case 0:
                fn->BarWrite(0, offset % VirtioPciFunction::kBarSize,
                             std::span<const uint8_t>(bytes, len));
                break;
            case 1:
                fn->BarRead(0, offset % VirtioPciFunction::kBarSize,
                            std::span<uint8_t>(bytes, len));
                break;
            case 2:
                fn->ConfigWrite(offset & 0xff, len > 4 ? 4 : len, value);
                break;
            case 3:
                (void)fn->ConfigRead(offset & 0xff, len > 4 ? 4 : len);
                break;
            case 4:
                Check(memory->Write(uint64_t{offset} * 4, std::span<const uint8_t>(bytes, 4)).ok());
                break;
        }
    }
    if (getenv("HVKIT_FUZZ_VIRTIO_TRACE") != nullptr) {  // for checking seeds
        uint16_t used = 0;
        (void)memory->Read(0x3002, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&used), 2));
        fprintf(stderr, "status 0x%02x, queue 0 used idx at 0x3002: %u\n", fn->status(), used);
    }
    // Whatever state the driver left, it survives a save and restore.
    hvkit::Json saved = fn->Save();
    auto other = MakeFunction(*memory);
    Check(other->Restore(saved).ok());
    Check(other->Save() == saved);
    return 0;
}
