// Attaching to a VM's filter rings through hvmm's control socket
// (docs/filters.md, "Attaching to the VM"): one request line, one response
// line, and the region's fds passed with SCM_RIGHTS, in the manner of
// vhost-user. The data path then runs between hvfilterd and the guest
// without hvmm.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "hvkit/status.h"
#include "ring_guest_link.h"

namespace hvkit::filterd {

// The request hvfilterd sends, newline included.
inline constexpr std::string_view kFilterAttachRequest = "{\"cmd\":\"filter-attach\"}\n";

// The longest response line accepted, newline excluded.
inline constexpr size_t kMaxAttachResponse = 4096;

// Connects to hvmm's control socket (control_socket), asks for the VM's
// filter region and returns its memfd, doorbell eventfd, interrupt eventfd
// (in that order on the wire) and size. The round trip takes at most
// (timeout); a socket nobody listens on fails at once (kNotFound when it
// does not exist or refuses connections, so the caller retries). Every
// error names the socket and the rule: no fds, a count other than 3, an
// {"ok":false} response (hvmm's error text), an ABI major other than
// HVFILTER_ABI_MAJOR.
Result<RegionFds> AttachToVm(const std::string& control_socket,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

// Checks hvmm's response line (line) and returns the region size it names;
// (control_socket) is for errors.
Result<uint64_t> ParseAttachResponse(std::string_view line, const std::string& control_socket);

}  // namespace hvkit::filterd
