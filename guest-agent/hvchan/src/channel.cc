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

Status SysError(const std::string& what) {
    return Error(ErrorCode::kIo, what + ": " + strerror(errno));
}

}  // namespace

Result<std::unique_ptr<Channel>> Channel::Open(const PciDeviceDir& dir) {
    std::unique_ptr<Channel> ch(new Channel());
    ch->dir_ = dir;
    HVKIT_RETURN_IF_ERROR(pci::EnsureDecoding(dir));
    HVKIT_ASSIGN_OR_RETURN(ch->regs_bar_, pci::MappedBar::Map(dir.path + "/resource0"));
    ch->regs_ = ch->regs_bar_.data();
    if (ch->regs_bar_.size() < HVCHAN_BAR0_SIZE) {
        return Error(ErrorCode::kMalformed, dir.address + ": BAR0 is smaller than the ABI's");
    }
    if (flock(ch->regs_bar_.fd(), LOCK_EX) != 0) return SysError("locking " + dir.address);
    HVKIT_ASSIGN_OR_RETURN(ch->shmem_bar_, pci::MappedBar::Map(dir.path + "/resource2"));
    ch->shmem_ = ch->shmem_bar_.data();
    ch->shmem_size_ = ch->shmem_bar_.size();

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
    if (ch->shmem_size_ < HVCHAN_BAR2_CALL_AREAS_END ||
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

Channel::~Channel() = default;

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
