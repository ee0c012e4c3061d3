// virtio-blk (virtio 1.x, 5.2) on a raw image. Requests are served
// synchronously on the vCPU thread that notified the queue: simple, ordered,
// and a FLUSH completes only after every earlier write reached the file.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "arch/x86_64/layout.h"
#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

constexpr uint64_t kSectorSize = 512;
constexpr uint64_t kHeaderSize = 16;  // type, reserved, sector
constexpr size_t kIdBytes = 20;       // VIRTIO_BLK_ID_BYTES

// Request types and status values (5.2.6).
constexpr uint32_t kTypeIn = 0;
constexpr uint32_t kTypeOut = 1;
constexpr uint32_t kTypeFlush = 4;
constexpr uint32_t kTypeGetId = 8;
constexpr uint8_t kStatusOk = 0;
constexpr uint8_t kStatusIoErr = 1;
constexpr uint8_t kStatusUnsupported = 2;

// Feature bits (5.2.3).
constexpr uint64_t kFeatureSegMax = 1ull << 2;
constexpr uint64_t kFeatureRo = 1ull << 5;
constexpr uint64_t kFeatureFlush = 1ull << 9;

constexpr uint32_t kClassStorageOther = 0x018000;
constexpr uint16_t kQueueSize = 256;

// Every byte of (spans) from or to (fd) at (offset); false on an I/O error
// or end of file.
bool TransferAll(int fd, const std::vector<std::span<uint8_t>>& spans, uint64_t offset,
                 bool to_file) {
    for (auto s : spans) {
        size_t done = 0;
        while (done < s.size()) {
            ssize_t n = to_file ? pwrite(fd, s.data() + done, s.size() - done,
                                         static_cast<off_t>(offset + done))
                                : pread(fd, s.data() + done, s.size() - done,
                                        static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            done += static_cast<size_t>(n);
        }
        offset += s.size();
    }
    return true;
}

class VirtioBlk final : public VirtioDevice {
  public:
    explicit VirtioBlk(DiskImage image) : image_(std::move(image)) {
        size_t slash = image_.path.rfind('/');
        std::string base = slash == std::string::npos ? image_.path : image_.path.substr(slash + 1);
        id_ = base.substr(0, kIdBytes);
    }
    std::string_view name() const override { return "virtio-blk"; }
    void ShareFds(std::vector<SharedFd>& out) const override {
        out.push_back({"virtio-blk.disk", image_.fd.get()});
    }
    uint16_t device_type() const override { return virtio::kTypeBlock; }
    uint32_t pci_class() const override { return kClassStorageOther; }
    uint64_t features() const override {
        return kFeatureSegMax | kFeatureFlush | (image_.read_only ? kFeatureRo : 0);
    }
    uint16_t queue_count() const override { return 1; }
    uint16_t queue_max_size() const override { return kQueueSize; }

    // struct virtio_blk_config: capacity, size_max (unused), seg_max.
    std::vector<uint8_t> config() const override {
        std::vector<uint8_t> c(16, 0);
        for (int i = 0; i < 8; ++i) c[i] = static_cast<uint8_t>(image_.sectors >> (8 * i));
        uint32_t seg_max = kQueueSize - 2;  // header and status take two
        for (int i = 0; i < 4; ++i) c[12 + i] = static_cast<uint8_t>(seg_max >> (8 * i));
        return c;
    }

    void QueueNotified(uint16_t, VirtQueue& queue, uint64_t) override {
        while (auto chain = queue.Pop()) {
            uint32_t written = Serve(queue.memory(), *chain);
            queue.Push(chain->head, written);
        }
    }

  private:
    // Serves one request; returns the bytes written into its writable part.
    uint32_t Serve(GuestMemory& memory, const DescriptorChain& chain) {
        if (chain.writable_bytes == 0) return 0;  // nowhere to put a status
        uint64_t status_at = chain.writable_bytes - 1;
        uint8_t header[kHeaderSize];
        uint8_t status = kStatusIoErr;
        uint64_t data_written = 0;
        if (ReadFromChain(memory, chain, 0, header).ok()) {
            uint32_t type;
            uint64_t sector;
            std::memcpy(&type, header, 4);
            std::memcpy(&sector, header + 8, 8);
            switch (type) {
                case kTypeIn:
                    data_written = status_at;
                    status = Transfer(memory, chain, sector, status_at, /*to_file=*/false);
                    if (status != kStatusOk) data_written = 0;
                    break;
                case kTypeOut:
                    status = image_.read_only ? kStatusIoErr
                                              : Transfer(memory, chain, sector,
                                                         chain.readable_bytes - kHeaderSize,
                                                         /*to_file=*/true);
                    break;
                case kTypeFlush:
                    status = fdatasync(image_.fd.get()) == 0 ? kStatusOk : kStatusIoErr;
                    break;
                case kTypeGetId: {
                    uint8_t id[kIdBytes] = {};
                    std::memcpy(id, id_.data(), id_.size());
                    size_t n = status_at < kIdBytes ? status_at : kIdBytes;
                    if (WriteToChain(memory, chain, 0, std::span<const uint8_t>(id, n)).ok()) {
                        data_written = n;
                        status = kStatusOk;
                    }
                    break;
                }
                default:
                    status = kStatusUnsupported;
            }
        }
        if (!WriteToChain(memory, chain, status_at, std::span<const uint8_t>(&status, 1)).ok()) {
            return 0;
        }
        return static_cast<uint32_t>(data_written + 1);
    }

    // Reads (to_file false: into the writable part) or writes (from the
    // readable part after the header) (len) bytes at (sector).
    uint8_t Transfer(GuestMemory& memory, const DescriptorChain& chain, uint64_t sector,
                     uint64_t len, bool to_file) {
        if (len % kSectorSize != 0) return kStatusIoErr;
        uint64_t count = len / kSectorSize;
        // Never past the end of the image, and no overflow on the way.
        if (sector > image_.sectors || count > image_.sectors - sector) return kStatusIoErr;
        if (len == 0) return kStatusOk;
        auto spans =
            ChainSpans(memory, chain, /*writable=*/!to_file, to_file ? kHeaderSize : 0, len);
        if (!spans.ok()) return kStatusIoErr;
        return TransferAll(image_.fd.get(), *spans, sector * kSectorSize, to_file) ? kStatusOk
                                                                                   : kStatusIoErr;
    }

    DiskImage image_;
    std::string id_;
};

}  // namespace

std::unique_ptr<VirtioDevice> MakeVirtioBlk(DiskImage image) {
    return std::make_unique<VirtioBlk>(std::move(image));
}

// --- virtio-blk's row in the device table -------------------------------------

namespace {

constexpr DeviceOption kBlkOptions[] = {{"--disk", true}};
constexpr const char* kBlkState[] = {"virtio-blk"};

// "--disk FILE[,ro]".
Status ParseBlkOptions(const cli::Args& args, DeviceConfigs& config) {
    HVKIT_ASSIGN_OR_RETURN(auto value, args.One("--disk"));
    if (!value) return Status::Ok();
    std::string path = *value;
    bool read_only = false;
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ",ro") == 0) {
        path.resize(path.size() - 3);
        read_only = true;
    }
    if (path.empty() || path.find(',') != std::string::npos) {
        return Error(ErrorCode::kMalformed,
                     "--disk '" + *value + "': expected FILE or FILE,ro (no other options)");
    }
    config.disk = {.path = path, .read_only = read_only};
    return Status::Ok();
}

// virtio-blk at 00:03.0 on --disk's raw image (none without --disk).
Status SetupVirtioBlk(DeviceContext& ctx) {
    const VirtioBlkConfig& disk = ctx.config.devices.disk;
    if (disk.path.empty()) return Status::Ok();
    DiskImage image;
    if (ctx.adopted != nullptr) {
        HVKIT_ASSIGN_OR_RETURN(UniqueFd fd, ctx.adopted->Take("virtio-blk.disk"));
        HVKIT_ASSIGN_OR_RETURN(image, AdoptDiskImage(std::move(fd), disk.path, disk.read_only));
    } else {
        HVKIT_ASSIGN_OR_RETURN(image, OpenDiskImage(disk.path, disk.read_only));
    }
    HVKIT_ASSIGN_OR_RETURN(uint32_t bar, ctx.pci->AllocateMmio(VirtioPciFunction::kBarSize));
    auto fn = std::make_shared<VirtioPciFunction>(MakeVirtioBlk(std::move(image)), ctx.memory,
                                                  ctx.signal_msi, bar);
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotVirtioBlk, fn));
    ctx.devices.push_back(std::move(fn));
    return Status::Ok();
}

}  // namespace

extern const DeviceModule kVirtioBlkModule = {
    .name = "virtio-blk",
    .options = kBlkOptions,
    .synopsis = "[--disk FILE[,ro]]",
    .help =
        "--disk FILE[,ro]: virtio-blk (PCI 00:03.0, /dev/vda) on a raw image,\n"
        "locked with flock (shared with ,ro, which also makes it read-only).",
    .parse = ParseBlkOptions,
    .setup = SetupVirtioBlk,
    .saved_state = kBlkState,
};

}  // namespace hvkit::hvmm
