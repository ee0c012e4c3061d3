// The internal map of the ring library. A channel is one direction of a
// filter region: an entry ring and the data area its entries name. The
// producer and consumer here know indexes, slots, byte placement and the
// doorbell, but not what an entry means; the request and verdict views
// (request_channel.cc, verdict_channel.cc) fill and read the entries.
//
// Data placement (both sides compute it, so the consumer can insist on it):
// bytes are allocated in order at a free-running position; an item whose
// bytes would cross the end of the area starts at offset 0 instead (the tail
// is padding); an item without bytes has offset 0 and takes no space. When
// the consumer releases entries (its index store), the bytes of those entries
// and any padding before them are released too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "hvkit/filter_region.h"
#include "hvkit/status.h"

namespace hvkit::filter_ring {

// One direction of a region, resolved to pointers. Built from a validated
// FilterRegion only.
struct ChannelLayout {
    const char* ring_name = "";  // "request ring", for messages
    const char* data_name = "";  // "request data area"
    uint8_t* control = nullptr;  // struct hvfilter_ring_control
    uint8_t* entries = nullptr;  // entry_count slots of entry_size bytes
    uint32_t entry_count = 0;
    uint32_t entry_size = 0;
    uint32_t start_index = 0;
    uint8_t* data = nullptr;
    uint32_t data_size = 0;
};

// Where the control block's shared fields lie.
inline uint8_t* ProducerIndex(const ChannelLayout& layout) {
    return layout.control + offsetof(hvfilter_ring_control, producer.producer_index);
}
inline uint8_t* ConsumerIndex(const ChannelLayout& layout) {
    return layout.control + offsetof(hvfilter_ring_control, consumer.consumer_index);
}
inline uint8_t* DoorbellArmed(const ChannelLayout& layout) {
    return layout.control + offsetof(hvfilter_ring_control, consumer.doorbell_armed);
}

ChannelLayout RequestChannel(const FilterRegion& region);
ChannelLayout VerdictChannel(const FilterRegion& region);

// Where in-order allocation puts (length) bytes when the next free data
// position is (position), in an area of (area_size) bytes (a power of two
// >= length): (start) is the free-running position, (offset) its place in
// the area; the bytes end at start + length.
struct Placement {
    uint64_t start = 0;
    uint32_t offset = 0;
};
Placement PlaceBytes(uint64_t position, uint32_t length, uint32_t area_size);

// An item's bytes take at most half of their data area, so an item always
// fits once the area is empty, whatever padding the wrap costs.
inline uint32_t MaxItemBytes(uint32_t area_size) {
    return area_size / 2;
}

// Where a staged entry and its bytes go. (data) is null for no bytes.
struct StagedSlot {
    uint8_t* entry = nullptr;
    uint32_t data_offset = 0;
    uint8_t* data = nullptr;
};

// The producing side of a channel.
class ChannelProducer {
  public:
    explicit ChannelProducer(const ChannelLayout& layout);

    const ChannelLayout& layout() const { return layout_; }

    // Takes the next entry slot and (length) bytes of data for an entry the
    // caller fills at once; it stays invisible until Publish. When either is
    // short it reads the consumer index (releasing what the consumer took)
    // and tries again. kTooLarge when still short, kInvalidArgument when
    // (length) exceeds MaxItemBytes, kRefused when broken.
    Result<StagedSlot> Stage(uint32_t length);

    // Stores the producer index once for everything staged, then reads the
    // consumer's doorbell. -> true when the consumer armed it and had taken
    // every entry published before this batch (so it sleeps): kick it.
    Result<bool> Publish();

  private:
    // Reads the consumer index once and checks it moved forward, not past
    // what was published; releases the entries and bytes it passed.
    Status ReadConsumerIndex();
    Status Violation(const std::string& detail);

    ChannelLayout layout_;
    uint32_t mask_;
    uint32_t staged_;                 // index of the next entry to stage
    uint32_t published_;              // producer index last stored
    uint32_t released_;               // consumer index last read (and checked)
    uint64_t data_head_ = 0;          // next free data position (free-running)
    uint64_t data_tail_ = 0;          // data position released by the consumer
    std::vector<uint64_t> data_end_;  // by slot: data position after that entry's bytes
    Status broken_;
};

// The consuming side of a channel.
class ChannelConsumer {
  public:
    explicit ChannelConsumer(const ChannelLayout& layout);

    const ChannelLayout& layout() const { return layout_; }

    // Disarms the doorbell if this side armed it, then reads the producer
    // index once and checks it. -> entries published and not yet released.
    Result<uint32_t> Available();

    // The free-running index and the slot of the entry (position) places
    // after the released ones; position < Available().
    uint32_t IndexAt(uint32_t position) const { return released_ + position; }
    const uint8_t* EntryAt(uint32_t position) const;

    // Checks that entry (index) places its bytes, (offset, length), inside
    // the data area exactly where in-order allocation puts them and not over
    // bytes still unreleased, then copies them to (out). Entries of a batch
    // are taken in order.
    Status TakeData(uint32_t index, uint32_t offset, uint32_t length, std::vector<uint8_t>& out);

    // Releases the first (count) entries and the data taken for them with one
    // index store.
    void Release(uint32_t count);

    // Arms the doorbell, then reads the producer index again. -> true when
    // nothing is published (the caller may sleep until kicked).
    Result<bool> PrepareToSleep();

    // Marks the channel broken by a peer's (detail) and returns the error.
    Status Violation(const std::string& detail);

  private:
    Result<uint32_t> ReadProducerIndex();

    ChannelLayout layout_;
    uint32_t mask_;
    uint32_t released_;           // consumer index last stored
    uint32_t producer_seen_;      // producer index last read (and checked)
    uint64_t data_taken_ = 0;     // data position after the last bytes taken
    uint64_t data_released_ = 0;  // data position at the last Release
    bool armed_ = false;
    Status broken_;
};

// Takes up to (max) published entries of (channel) as items: (read_entry)
// (entry, index) -> Result<Item> reads each field of one entry once and
// takes its data. Then releases them all with one index store and appends
// them to (out). On error nothing is released and (out) is unchanged.
template <typename Item, typename ReadEntry>
Result<size_t> ReceiveBatch(ChannelConsumer& channel, std::vector<Item>& out, size_t max,
                            ReadEntry read_entry) {
    HVKIT_ASSIGN_OR_RETURN(const uint32_t available, channel.Available());
    const auto count = static_cast<uint32_t>(std::min<size_t>(available, max));
    std::vector<Item> taken;
    taken.reserve(count);
    for (uint32_t position = 0; position < count; ++position) {
        HVKIT_ASSIGN_OR_RETURN(Item item,
                               read_entry(channel.EntryAt(position), channel.IndexAt(position)));
        taken.push_back(std::move(item));
    }
    channel.Release(count);
    out.insert(out.end(), std::make_move_iterator(taken.begin()),
               std::make_move_iterator(taken.end()));
    return static_cast<size_t>(count);
}

}  // namespace hvkit::filter_ring
