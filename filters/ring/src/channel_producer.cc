// The producing end of a channel: stages entries and bytes in free space,
// publishes them in batches, and learns from the consumer index (checked,
// since the consumer may be hostile) which entries and bytes are free again.
#include <cstddef>
#include <string>

#include "channel.h"
#include "shared_memory.h"

namespace hvkit::filter_ring {

ChannelProducer::ChannelProducer(const ChannelLayout& layout)
    : layout_(layout),
      mask_(layout.entry_count - 1),
      staged_(layout.start_index),
      published_(layout.start_index),
      released_(layout.start_index),
      data_end_(layout.entry_count, 0) {}

Status ChannelProducer::Violation(const std::string& detail) {
    broken_ = Error(ErrorCode::kRefused,
                    std::string(layout_.ring_name) + ": " + detail + "; the ring is broken");
    return broken_;
}

Status ChannelProducer::ReadConsumerIndex() {
    const uint32_t consumer =
        shared::Load<uint32_t>(ConsumerIndex(layout_), std::memory_order_acquire);
    // Unsigned differences from the last released index: the consumer may
    // only move forward, and only over published entries.
    const uint32_t advanced = consumer - released_;
    const uint32_t outstanding = published_ - released_;
    if (advanced > outstanding) {
        return Violation("consumer index " + std::to_string(consumer) + " is outside [" +
                         std::to_string(released_) + ", " + std::to_string(published_) +
                         "]: it may only advance, and not past the producer index");
    }
    if (advanced != 0) {
        data_tail_ = data_end_[(consumer - 1) & mask_];
        released_ = consumer;
    }
    return Status::Ok();
}

Result<StagedSlot> ChannelProducer::Stage(uint32_t length) {
    if (!broken_.ok()) return broken_;
    if (length > MaxItemBytes(layout_.data_size)) {
        return Error(ErrorCode::kInvalidArgument,
                     std::string(layout_.ring_name) + ": an item of " + std::to_string(length) +
                         " bytes exceeds " + std::to_string(MaxItemBytes(layout_.data_size)) +
                         ", half the " + std::to_string(layout_.data_size) + "-byte " +
                         layout_.data_name);
    }
    Placement place = PlaceBytes(data_head_, length, layout_.data_size);
    auto fits = [&] {
        return staged_ - released_ < layout_.entry_count &&
               place.start + length - data_tail_ <= layout_.data_size;
    };
    if (!fits()) {
        HVKIT_RETURN_IF_ERROR(ReadConsumerIndex());
        if (staged_ - released_ >= layout_.entry_count) {
            return Error(ErrorCode::kTooLarge, std::string(layout_.ring_name) + ": full (" +
                                                   std::to_string(layout_.entry_count) +
                                                   " entries not yet released by the consumer)");
        }
        if (!fits()) {
            return Error(ErrorCode::kTooLarge, std::string(layout_.data_name) + ": no room for " +
                                                   std::to_string(length) + " bytes (" +
                                                   std::to_string(data_head_ - data_tail_) +
                                                   " of " + std::to_string(layout_.data_size) +
                                                   " in use or padding)");
        }
    }
    const uint32_t slot = staged_ & mask_;
    StagedSlot staged;
    staged.entry = layout_.entries + static_cast<uint64_t>(slot) * layout_.entry_size;
    staged.data_offset = place.offset;
    staged.data = length == 0 ? nullptr : layout_.data + place.offset;
    if (length != 0) data_head_ = place.start + length;
    data_end_[slot] = data_head_;
    ++staged_;
    return staged;
}

Result<bool> ChannelProducer::Publish() {
    if (!broken_.ok()) return broken_;
    if (staged_ == published_) return false;
    const uint32_t before = published_;
    // Release: the entries and bytes written above become visible with it.
    shared::Store<uint32_t>(ProducerIndex(layout_), staged_, std::memory_order_release);
    published_ = staged_;
    shared::FullFence();
    // Kick only a consumer that armed its doorbell having taken everything
    // published before this batch: it sleeps, or is about to. A consumer
    // still working has entries to find; one already kicked for an earlier
    // batch is not kicked again. Both values are advisory here: a lying
    // consumer only loses or gains kicks.
    const uint32_t armed = shared::Load<uint32_t>(DoorbellArmed(layout_));
    const uint32_t consumer = shared::Load<uint32_t>(ConsumerIndex(layout_));
    return armed != 0 && consumer == before;
}

}  // namespace hvkit::filter_ring
