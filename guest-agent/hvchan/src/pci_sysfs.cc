// PCI functions through sysfs: find, enable decoding, map BARs.
#include "hvkit/pci_sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace hvkit::pci {

namespace {

constexpr uint16_t kPciCommand = 0x04;
constexpr uint16_t kPciCommandMemory = 1u << 1;

Status SysError(const std::string& what) {
    return Error(ErrorCode::kIo, what + ": " + strerror(errno));
}

// The ID in a sysfs "vendor"/"device" file ("0x1af4\n"), or -1.
long ReadId(const std::string& path) {
    auto text = ReadFile(path, 64);
    if (!text.ok()) return -1;
    char* end = nullptr;
    long v = strtol(text->c_str(), &end, 16);
    return end == text->c_str() ? -1 : v;
}

}  // namespace

Result<std::optional<DeviceDir>> FindDevice(uint16_t vendor, uint16_t device,
                                            const std::string& sysfs_root) {
    DIR* dir = opendir(sysfs_root.c_str());
    if (dir == nullptr) {
        return Error(ErrorCode::kNotFound,
                     "cannot list PCI devices in " + sysfs_root + " (is sysfs mounted?)");
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(dir)) {
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());  // the lowest address first, every time
    for (const auto& name : names) {
        std::string path = sysfs_root + "/" + name;
        if (ReadId(path + "/vendor") == vendor && ReadId(path + "/device") == device) {
            return std::optional<DeviceDir>(DeviceDir{path, name});
        }
    }
    return std::optional<DeviceDir>();
}

Status EnsureDecoding(const DeviceDir& dir) {
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

Result<MappedBar> MappedBar::Map(const std::string& resource_path) {
    MappedBar bar;
    bar.fd_ = UniqueFd(open(resource_path.c_str(), O_RDWR | O_SYNC | O_CLOEXEC));
    if (!bar.fd_.valid()) {
        return SysError("opening " + resource_path + " (root in the guest is needed)");
    }
    struct stat st {};
    if (fstat(bar.fd_.get(), &st) != 0) return SysError("stat " + resource_path);
    size_t size = static_cast<size_t>(st.st_size);
    if (size == 0)
        return Error(ErrorCode::kIo, resource_path + " is empty: the BAR is not assigned");
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, bar.fd_.get(), 0);
    if (p == MAP_FAILED) return SysError("mapping " + resource_path);
    bar.data_ = static_cast<uint8_t*>(p);
    bar.size_ = size;
    return bar;
}

MappedBar::~MappedBar() {
    if (data_ != nullptr) munmap(data_, size_);
}

MappedBar::MappedBar(MappedBar&& other) noexcept
    : fd_(std::move(other.fd_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedBar& MappedBar::operator=(MappedBar&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) munmap(data_, size_);
        fd_ = std::move(other.fd_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

}  // namespace hvkit::pci
