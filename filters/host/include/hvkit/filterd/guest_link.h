// The path from hvfilterd to the guest's filter modules: in production the
// request ring of the VM's filter region (filters/ring), in tests a fake.
#pragma once

#include "hvkit/filterd/item.h"

namespace hvkit::filterd {

// What became of an item handed to the link. The dispatcher only needs the
// class of failure to pick a policy; the link logs the detail itself.
enum class SendOutcome {
    kSent,    // on its way; a verdict may follow
    kFull,    // no room now (ring full): an overflow
    kAbsent,  // no guest attached, or its ring broke: nothing will answer
};

class GuestLink {
  public:
    virtual ~GuestLink() = default;

    // Whether a guest is attached and its rings are usable. When this turns
    // false the event loop calls Dispatcher::OnGuestGone.
    virtual bool Attached() const = 0;

    // Hands (item)'s id, source and payload to the guest without blocking.
    virtual SendOutcome Send(const Item& item) = 0;
};

}  // namespace hvkit::filterd
