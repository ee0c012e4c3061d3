// The pending items ordered by deadline, so the dispatcher finds the next
// one due, and every one past due, without looking at the rest.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "hvkit/filterd/clock.h"
#include "hvkit/filterd/item.h"

namespace hvkit::filterd {

class DeadlineQueue {
  public:
    // Adds (id) due at (deadline); ids are unique among queued entries.
    void Add(ItemId id, TimePoint deadline);

    // Removes (id) due at (deadline); false when it was not queued.
    bool Remove(ItemId id, TimePoint deadline);

    // Removes and returns every id due at or before (now), earliest first
    // (ties in id order).
    std::vector<ItemId> TakeDue(TimePoint now);

    // The earliest deadline queued, if any.
    std::optional<TimePoint> Next() const;

    void Clear() { entries_.clear(); }
    size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }

  private:
    std::set<std::pair<TimePoint, ItemId>> entries_;
};

}  // namespace hvkit::filterd
