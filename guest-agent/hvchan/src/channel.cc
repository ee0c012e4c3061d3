// An open hvchan: BARs mapped from sysfs, calls through the call block.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "hvkit/hvchan_guest.h"

namespace hvkit::hvchan {

namespace {

constexpr uint16_t kPciCommand = 0x04;
constexpr uint16_t kPciCommandMemory = 1u << 1;

Status SysError(const std::string& what) {
    return Error(ErrorCode::kIo, what + ": " + strerror(errno));
}

// Maps sysfs resource file (path) whole, read-write.
Result<std::pair<UniqueFd, std::pair<void*, size_t>>> MapResource(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDWR | O_SYNC | O_CLOEXEC));
    if (!fd.valid()) return SysError("opening " + path + " (root in the guest is needed)");
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return SysError("stat " + path);
    size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) return Error(ErrorCode::kIo, path + " is empty: the BAR is not assigned");
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) return SysError("mapping " + path);
    return std::make_pair(std::move(fd), std::make_pair(p, size));
}

// Turns memory decoding on through sysfs "enable" when the guest's kernel
// left it off (the host powers the device on with it set).
Status EnsureDecoding(const PciDeviceDir& dir) {
    auto config = ReadFile(dir.path + "/config", 4096);
    if (!config.ok()) return config.status();
    if (config->size() < kPciCommand + 2) {
        return Error(ErrorCode::kIo, dir.path + "/config is too short");
    }
    if (static_cast<uint8_t>((*config)[kPciCommand]) & kPciCommandMemory) return Status::Ok();
    UniqueFd fd(open((dir.path + "/enable").c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || write(fd.get(), "1", 1) != 1) {
        return SysError("enabling " + dir.address + " through " + dir.path + "/enable");
    }
    return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Channel>> Channel::Open(const PciDeviceDir& dir) {
    std::unique_ptr<Channel> ch(new Channel());
    ch->dir_ = dir;
    HVKIT_RETURN_IF_ERROR(EnsureDecoding(dir));
    HVKIT_ASSIGN_OR_RETURN(auto regs, MapResource(dir.path + "/resource0"));
    ch->regs_fd_ = std::move(regs.first);
    ch->regs_ = static_cast<volatile uint8_t*>(regs.second.first);
    if (regs.second.second < HVCHAN_BAR0_SIZE) {
        return Error(ErrorCode::kMalformed, dir.address + ": BAR0 is smaller than the ABI's");
    }
    if (flock(ch->regs_fd_.get(), LOCK_EX) != 0) return SysError("locking " + dir.address);
    HVKIT_ASSIGN_OR_RETURN(auto shmem, MapResource(dir.path + "/resource2"));
    ch->shmem_fd_ = std::move(shmem.first);
    ch->shmem_ = static_cast<uint8_t*>(shmem.second.first);
    ch->shmem_size_ = shmem.second.second;

    uint32_t magic = ch->ReadRegister(HVCHAN_REG_MAGIC);
    if (magic != HVCHAN_MAGIC) {
        char text[96];
        snprintf(text, sizeof text, "%s: magic 0x%08x is not hvchan's 0x%08x", dir.address.c_str(),
                 magic, HVCHAN_MAGIC);
        return Error(ErrorCode::kMalformed, text);
    }
    ch->abi_version_ = ch->ReadRegister(HVCHAN_REG_ABI_VERSION);
    if ((ch->abi_version_ >> 16) != HVCHAN_ABI_MAJOR) {
        return Error(ErrorCode::kConflict,
                     dir.address + ": host ABI " + std::to_string(ch->abi_version_ >> 16) + "." +
                         std::to_string(ch->abi_version_ & 0xffff) + ", this build speaks " +
                         std::to_string(HVCHAN_ABI_MAJOR) + ".x");
    }
    if (ch->shmem_size_ < HVCHAN_BAR2_RINGS_OFFSET ||
        ch->ReadRegister(HVCHAN_REG_SHMEM_SIZE) != ch->shmem_size_) {
        return Error(ErrorCode::kMalformed,
                     dir.address + ": BAR2 size disagrees with the SHMEM_SIZE register");
    }
    return ch;
}

Result<std::unique_ptr<Channel>> Channel::OpenFirst(const std::string& sysfs_root) {
    HVKIT_ASSIGN_OR_RETURN(PciDeviceDir dir, FindHvchanDevice(sysfs_root));
    return Open(dir);
}

Channel::~Channel() {
    if (regs_ != nullptr) munmap(const_cast<uint8_t*>(regs_), HVCHAN_BAR0_SIZE);
    if (shmem_ != nullptr) munmap(shmem_, shmem_size_);
}

uint32_t Channel::ReadRegister(uint32_t offset) const {
    return *reinterpret_cast<const volatile uint32_t*>(regs_ + offset);
}

void Channel::WriteRegister(uint32_t offset, uint32_t value) {
    *reinterpret_cast<volatile uint32_t*>(regs_ + offset) = value;
}

uint32_t Channel::ReadRegisterNarrow(uint32_t offset, int width) const {
    if (width == 1) return *(regs_ + offset);
    return *reinterpret_cast<const volatile uint16_t*>(regs_ + offset);
}

CallResult Channel::Call(uint32_t number, const std::array<uint64_t, HVCHAN_NUM_ARGS>& args) {
    auto* block = reinterpret_cast<hvchan_call_block*>(shmem_ + HVCHAN_BAR2_CALL_BLOCK_OFFSET);
    memcpy(block->args, args.data(), sizeof block->args);
    // The arguments must be in memory before the register write traps.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    WriteRegister(HVCHAN_REG_CALL, number);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    CallResult r;
    hvchan_call_block out;
    memcpy(&out, block, sizeof out);
    r.status = out.status;
    r.sequence = out.sequence;
    memcpy(r.rets.data(), out.rets, sizeof out.rets);
    return r;
}

Result<hvchan_info> Channel::Info() {
    CallResult r = Call(HVCHAN_CALL_INFO);
    if (!r.ok()) {
        return Error(ErrorCode::kIo,
                     dir_.address + ": info call failed with " + StatusName(r.status));
    }
    hvchan_info info{};
    // A newer host may write a longer struct; an older one a shorter: take
    // what both know.
    size_t n = std::min<uint64_t>(r.rets[0], sizeof info);
    memcpy(&info, out_area().data(), n);
    info.hv_version_string[sizeof info.hv_version_string - 1] = '\0';
    info.committed_version_string[sizeof info.committed_version_string - 1] = '\0';
    return info;
}

std::span<uint8_t> Channel::in_area() {
    return {shmem_ + HVCHAN_BAR2_CALL_IN_OFFSET, HVCHAN_BAR2_CALL_IN_SIZE};
}

std::span<const uint8_t> Channel::out_area() const {
    return {shmem_ + HVCHAN_BAR2_CALL_OUT_OFFSET, HVCHAN_BAR2_CALL_OUT_SIZE};
}

}  // namespace hvkit::hvchan
