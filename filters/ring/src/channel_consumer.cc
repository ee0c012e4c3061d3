// The consuming end of a channel: reads the producer index (checked, since
// the producer may be hostile), hands out entries in order, copies their
// bytes out after checking where they lie, and releases them in batches.
#include <cstddef>
#include <string>

#include "channel.h"
#include "shared_memory.h"

namespace hvkit::filter_ring {

namespace {

// "[4000, +200)"
std::string Span(uint64_t offset, uint64_t length) {
    return "[" + std::to_string(offset) + ", +" + std::to_string(length) + ")";
}

}  // namespace

ChannelConsumer::ChannelConsumer(const ChannelLayout& layout)
    : layout_(layout),
      mask_(layout.entry_count - 1),
      released_(layout.start_index),
      producer_seen_(layout.start_index) {}

Status ChannelConsumer::Violation(const std::string& detail) {
    broken_ = Error(ErrorCode::kRefused,
                    std::string(layout_.ring_name) + ": " + detail + "; the ring is broken");
    return broken_;
}

Result<uint32_t> ChannelConsumer::ReadProducerIndex() {
    if (!broken_.ok()) return broken_;
    // Acquire: the entries and bytes published with this index are visible.
    const uint32_t producer =
        shared::Load<uint32_t>(ProducerIndex(layout_), std::memory_order_acquire);
    const uint32_t ahead = producer - released_;
    if (ahead > layout_.entry_count) {
        return Violation("producer index " + std::to_string(producer) + " is " +
                         std::to_string(ahead) + " entries ahead of consumer index " +
                         std::to_string(released_) + "; at most " +
                         std::to_string(layout_.entry_count) + " fit");
    }
    if (ahead < producer_seen_ - released_) {
        return Violation("producer index went back from " + std::to_string(producer_seen_) +
                         " to " + std::to_string(producer) + "; it may only advance");
    }
    producer_seen_ = producer;
    return ahead;
}

Result<uint32_t> ChannelConsumer::Available() {
    if (!broken_.ok()) return broken_;
    if (armed_) {
        shared::Store<uint32_t>(DoorbellArmed(layout_), 0);
        armed_ = false;
    }
    return ReadProducerIndex();
}

const uint8_t* ChannelConsumer::EntryAt(uint32_t position) const {
    const uint32_t slot = IndexAt(position) & mask_;
    return layout_.entries + static_cast<uint64_t>(slot) * layout_.entry_size;
}

Status ChannelConsumer::TakeData(uint32_t index, uint32_t offset, uint32_t length,
                                 std::vector<uint8_t>& out) {
    if (!broken_.ok()) return broken_;
    const uint32_t size = layout_.data_size;
    // Messages are built on failure only: this is the per-item path.
    auto entry = [&] { return "entry " + std::to_string(index) + " data "; };
    auto area = [&] { return "the " + std::to_string(size) + "-byte " + layout_.data_name; };
    // Written so that nothing can overflow: offset < size, then compare the
    // length with what is left after it.
    if (offset >= size || length > size - offset) {
        return Violation(entry() + Span(offset, length) + " leaves " + area());
    }
    if (length > MaxItemBytes(size)) {
        return Violation(entry() + "length " + std::to_string(length) + " exceeds " +
                         std::to_string(MaxItemBytes(size)) + ", half " + area());
    }
    const Placement place = PlaceBytes(data_taken_, length, size);
    if (offset != place.offset) {
        return Violation(entry() + Span(offset, length) +
                         " is not where in-order allocation puts it (" +
                         std::to_string(place.offset) + ")");
    }
    if (place.start + length - data_released_ > size) {
        return Violation(entry() + Span(offset, length) + " overruns bytes not yet released (" +
                         std::to_string(data_taken_ - data_released_) + " of " + area() +
                         " in use)");
    }
    out.resize(length);
    shared::CopyOut(out.data(), layout_.data + offset, length);
    if (length != 0) data_taken_ = place.start + length;
    return Status::Ok();
}

void ChannelConsumer::Release(uint32_t count) {
    if (count == 0 || !broken_.ok()) return;
    released_ += count;
    data_released_ = data_taken_;
    // Release: our reads of the entries and bytes finish before the producer
    // may reuse them.
    shared::Store<uint32_t>(ConsumerIndex(layout_), released_, std::memory_order_release);
}

Result<bool> ChannelConsumer::PrepareToSleep() {
    if (!broken_.ok()) return broken_;
    shared::Store<uint32_t>(DoorbellArmed(layout_), 1);
    armed_ = true;
    // The flag must be visible before we look at the producer index again;
    // the producer fences between its index store and its flag load. So
    // either it sees the flag and kicks, or we see its entries here.
    shared::FullFence();
    HVKIT_ASSIGN_OR_RETURN(const uint32_t available, ReadProducerIndex());
    return available == 0;
}

}  // namespace hvkit::filter_ring
