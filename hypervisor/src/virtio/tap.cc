// Attaching to a TAP device for virtio-net, and the MAC derived from its name.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

// struct virtio_net_hdr_v1: what virtio 1.x drivers exchange with the device,
// passed through the TAP unchanged.
constexpr int kVnetHeaderSize = 12;

Status TapError(const std::string& name, const std::string& what, int err) {
    return Error(ErrorCode::kIo, "TAP " + name + ": " + what + ": " + strerror(err));
}

}  // namespace

Result<TapDevice> OpenTap(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) {
        return Error(ErrorCode::kMalformed, "TAP name '" + name + "' must have 1 to " +
                                                std::to_string(IFNAMSIZ - 1) + " bytes");
    }
    // hvmm attaches to a TAP the administrator made; it never creates one
    // (a typo would otherwise make a new, unconnected interface).
    if (access(("/sys/class/net/" + name).c_str(), F_OK) != 0) {
        return Error(ErrorCode::kNotFound, "no network interface " + name +
                                               " (create the TAP first: ip tuntap add dev " + name +
                                               " mode tap user $USER)");
    }
    TapDevice tap;
    tap.name = name;
    tap.fd = UniqueFd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!tap.fd.valid()) {
        int err = errno;
        return TapError(name,
                        err == ENOENT ? "no /dev/net/tun (load the tun module: modprobe tun)"
                                      : "cannot open /dev/net/tun",
                        err);
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(tap.fd.get(), TUNSETIFF, &ifr) != 0) {
        int err = errno;
        switch (err) {
            case EPERM:
                return TapError(name,
                                "attaching needs CAP_NET_ADMIN, or a TAP created for this user "
                                "(ip tuntap add dev " +
                                    name + " mode tap user $USER)",
                                err);
            case EBUSY:
                return TapError(name, "in use by another process", err);
            case EINVAL:
                return TapError(name, "is not a TAP device (a TUN, or another kind of interface)",
                                err);
            default:
                return TapError(name, "TUNSETIFF failed", err);
        }
    }
    int header = kVnetHeaderSize;
    if (ioctl(tap.fd.get(), TUNSETVNETHDRSZ, &header) != 0) {
        return TapError(name, "cannot set the virtio-net header size", errno);
    }
    // No offloads: the guest is offered none, so the TAP must not hand it
    // GSO frames or partial checksums.
    if (ioctl(tap.fd.get(), TUNSETOFFLOAD, 0) != 0) {
        return TapError(name, "cannot turn offloads off", errno);
    }
    return tap;
}

Result<TapDevice> AdoptTap(UniqueFd fd, const std::string& name) {
    ifreq ifr{};
    if (ioctl(fd.get(), TUNGETIFF, &ifr) != 0) {
        return Error(ErrorCode::kMalformed, "handed-over TAP " + name + " is not a TAP fd");
    }
    ifr.ifr_name[IFNAMSIZ - 1] = '\0';
    int header = 0;
    if (name != ifr.ifr_name ||
        (ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
            (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) ||
        ioctl(fd.get(), TUNGETVNETHDRSZ, &header) != 0 || header != kVnetHeaderSize) {
        return Error(ErrorCode::kMalformed, "handed-over TAP fd is attached to '" +
                                                std::string(ifr.ifr_name) +
                                                "' or set up otherwise; --net names " + name);
    }
    return TapDevice{std::move(fd), name};
}

std::array<uint8_t, 6> MacForTap(std::string_view tap_name) {
    uint32_t hash = 2166136261u;  // FNV-1a
    for (char c : tap_name) {
        hash ^= static_cast<uint8_t>(c);
        hash *= 16777619u;
    }
    // 52:54:00 is locally administered (bit 1 of the first byte) and unicast.
    return {0x52,
            0x54,
            0x00,
            static_cast<uint8_t>(hash >> 16),
            static_cast<uint8_t>(hash >> 8),
            static_cast<uint8_t>(hash)};
}

}  // namespace hvkit::hvmm
