// The request ring's two ends: the host stages items for the guest's
// chains, the guest takes them out.
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>

#include "channel.h"
#include "hvkit/filter_ring.h"
#include "shared_memory.h"

namespace hvkit::filter_ring {

namespace {

bool KnownSource(uint16_t source) {
    return source == HVFILTER_SOURCE_NETWORK || source == HVFILTER_SOURCE_FILE;
}

// Reads each field of the request at (entry) once, checks it and copies its
// bytes out.
Result<FilterRequest> ReadRequest(ChannelConsumer& channel, const uint8_t* entry, uint32_t index) {
    FilterRequest request;
    request.item_id = shared::Load<uint64_t>(entry + offsetof(hvfilter_request, item_id));
    const auto source = shared::Load<uint16_t>(entry + offsetof(hvfilter_request, source));
    request.chain = shared::Load<uint16_t>(entry + offsetof(hvfilter_request, chain));
    request.flags = shared::Load<uint32_t>(entry + offsetof(hvfilter_request, flags));
    request.budget_us = shared::Load<uint32_t>(entry + offsetof(hvfilter_request, budget_us));
    const auto offset = shared::Load<uint32_t>(entry + offsetof(hvfilter_request, data_offset));
    const auto length = shared::Load<uint32_t>(entry + offsetof(hvfilter_request, data_length));
    if (!KnownSource(source)) {
        return channel.Violation("entry " + std::to_string(index) + " source " +
                                 std::to_string(source) + " is not network (1) or file (2)");
    }
    request.source = static_cast<ItemSource>(source);
    HVKIT_RETURN_IF_ERROR(channel.TakeData(index, offset, length, request.bytes));
    return request;
}

}  // namespace

RequestProducer::RequestProducer(const FilterRegion& region)
    : channel_(std::make_unique<ChannelProducer>(RequestChannel(region))) {}
RequestProducer::~RequestProducer() = default;
RequestProducer::RequestProducer(RequestProducer&&) noexcept = default;
RequestProducer& RequestProducer::operator=(RequestProducer&&) noexcept = default;

Status RequestProducer::Stage(const FilterRequest& request) {
    if (!KnownSource(static_cast<uint16_t>(request.source))) {
        return Error(ErrorCode::kInvalidArgument,
                     "request ring: item " + std::to_string(request.item_id) + " has source " +
                         std::to_string(static_cast<uint16_t>(request.source)) +
                         ", neither network nor file");
    }
    if (request.bytes.size() > std::numeric_limits<uint32_t>::max()) {
        return Error(ErrorCode::kInvalidArgument,
                     "request ring: item " + std::to_string(request.item_id) + " is over 4 GiB");
    }
    const auto length = static_cast<uint32_t>(request.bytes.size());
    HVKIT_ASSIGN_OR_RETURN(const StagedSlot slot, channel_->Stage(length));
    shared::CopyIn(slot.data, request.bytes.data(), length);
    hvfilter_request entry{};
    entry.item_id = request.item_id;
    entry.source = static_cast<uint16_t>(request.source);
    entry.chain = request.chain;
    entry.flags = request.flags;
    entry.budget_us = request.budget_us;
    entry.data_offset = slot.data_offset;
    entry.data_length = length;
    std::memcpy(slot.entry, &entry, sizeof(entry));
    return Status::Ok();
}

Result<bool> RequestProducer::Publish() {
    return channel_->Publish();
}

RequestConsumer::RequestConsumer(const FilterRegion& region)
    : channel_(std::make_unique<ChannelConsumer>(RequestChannel(region))) {}
RequestConsumer::~RequestConsumer() = default;
RequestConsumer::RequestConsumer(RequestConsumer&&) noexcept = default;
RequestConsumer& RequestConsumer::operator=(RequestConsumer&&) noexcept = default;

Result<size_t> RequestConsumer::Receive(std::vector<FilterRequest>& out, size_t max) {
    ChannelConsumer& channel = *channel_;
    return ReceiveBatch(channel, out, max, [&channel](const uint8_t* entry, uint32_t index) {
        return ReadRequest(channel, entry, index);
    });
}

Result<bool> RequestConsumer::PrepareToSleep() {
    return channel_->PrepareToSleep();
}

}  // namespace hvkit::filter_ring
