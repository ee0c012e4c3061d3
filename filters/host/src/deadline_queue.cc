// An ordered set of (deadline, id): logarithmic add and remove, and the due
// entries are a prefix.
#include "hvkit/filterd/deadline_queue.h"

namespace hvkit::filterd {

void DeadlineQueue::Add(ItemId id, TimePoint deadline) {
    entries_.emplace(deadline, id);
}

bool DeadlineQueue::Remove(ItemId id, TimePoint deadline) {
    return entries_.erase({deadline, id}) == 1;
}

std::vector<ItemId> DeadlineQueue::TakeDue(TimePoint now) {
    std::vector<ItemId> due;
    auto it = entries_.begin();
    while (it != entries_.end() && it->first <= now) {
        due.push_back(it->second);
        it = entries_.erase(it);
    }
    return due;
}

std::optional<TimePoint> DeadlineQueue::Next() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.begin()->first;
}

}  // namespace hvkit::filterd
