// The verdict ring's two ends: the guest stages its chains' verdicts, the
// host takes them out.
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>

#include "channel.h"
#include "hvkit/filter_ring.h"
#include "shared_memory.h"

namespace hvkit::filter_ring {

namespace {

bool KnownVerdict(uint16_t verdict) {
    return verdict == HVFILTER_VERDICT_PASS || verdict == HVFILTER_VERDICT_DROP ||
           verdict == HVFILTER_VERDICT_CHANGED;
}

// Reads each field of the verdict at (entry) once, checks it and, for
// CHANGED, copies its bytes out.
Result<FilterVerdict> ReadVerdict(ChannelConsumer& channel, const uint8_t* entry, uint32_t index) {
    FilterVerdict verdict;
    verdict.item_id = shared::Load<uint64_t>(entry + offsetof(hvfilter_verdict, item_id));
    const auto code = shared::Load<uint16_t>(entry + offsetof(hvfilter_verdict, verdict));
    verdict.module = shared::Load<uint16_t>(entry + offsetof(hvfilter_verdict, module));
    const auto offset = shared::Load<uint32_t>(entry + offsetof(hvfilter_verdict, data_offset));
    const auto length = shared::Load<uint32_t>(entry + offsetof(hvfilter_verdict, data_length));
    auto name = [index] { return "entry " + std::to_string(index); };
    if (!KnownVerdict(code)) {
        return channel.Violation(name() + " verdict " + std::to_string(code) +
                                 " is not PASS (1), DROP (2) or CHANGED (3)");
    }
    verdict.verdict = static_cast<Verdict>(code);
    if (verdict.verdict != Verdict::kChanged) {
        if (offset != 0 || length != 0) {
            return channel.Violation(name() + " is " +
                                     (code == HVFILTER_VERDICT_PASS ? "PASS" : "DROP") +
                                     " but names data [" + std::to_string(offset) + ", +" +
                                     std::to_string(length) + "); only CHANGED may");
        }
        return verdict;
    }
    HVKIT_RETURN_IF_ERROR(channel.TakeData(index, offset, length, verdict.changed_bytes));
    return verdict;
}

}  // namespace

VerdictProducer::VerdictProducer(const FilterRegion& region)
    : channel_(std::make_unique<ChannelProducer>(VerdictChannel(region))) {}
VerdictProducer::~VerdictProducer() = default;
VerdictProducer::VerdictProducer(VerdictProducer&&) noexcept = default;
VerdictProducer& VerdictProducer::operator=(VerdictProducer&&) noexcept = default;

Status VerdictProducer::Stage(const FilterVerdict& verdict) {
    const auto code = static_cast<uint16_t>(verdict.verdict);
    const std::string item = "verdict ring: item " + std::to_string(verdict.item_id);
    if (!KnownVerdict(code)) {
        return Error(ErrorCode::kInvalidArgument,
                     item + " has verdict " + std::to_string(code) + ", not PASS, DROP or CHANGED");
    }
    if (verdict.verdict != Verdict::kChanged && !verdict.changed_bytes.empty()) {
        return Error(ErrorCode::kInvalidArgument,
                     item + " carries changed bytes without a CHANGED verdict");
    }
    if (verdict.changed_bytes.size() > std::numeric_limits<uint32_t>::max()) {
        return Error(ErrorCode::kInvalidArgument, item + " changed bytes are over 4 GiB");
    }
    const auto length = static_cast<uint32_t>(verdict.changed_bytes.size());
    HVKIT_ASSIGN_OR_RETURN(const StagedSlot slot, channel_->Stage(length));
    shared::CopyIn(slot.data, verdict.changed_bytes.data(), length);
    hvfilter_verdict entry{};
    entry.item_id = verdict.item_id;
    entry.verdict = code;
    entry.module = verdict.module;
    entry.data_offset = slot.data_offset;
    entry.data_length = length;
    std::memcpy(slot.entry, &entry, sizeof(entry));
    return Status::Ok();
}

Result<bool> VerdictProducer::Publish() {
    return channel_->Publish();
}

VerdictConsumer::VerdictConsumer(const FilterRegion& region)
    : channel_(std::make_unique<ChannelConsumer>(VerdictChannel(region))) {}
VerdictConsumer::~VerdictConsumer() = default;
VerdictConsumer::VerdictConsumer(VerdictConsumer&&) noexcept = default;
VerdictConsumer& VerdictConsumer::operator=(VerdictConsumer&&) noexcept = default;

Result<size_t> VerdictConsumer::Receive(std::vector<FilterVerdict>& out, size_t max) {
    ChannelConsumer& channel = *channel_;
    return ReceiveBatch(channel, out, max, [&channel](const uint8_t* entry, uint32_t index) {
        return ReadVerdict(channel, entry, index);
    });
}

Result<bool> VerdictConsumer::PrepareToSleep() {
    return channel_->PrepareToSleep();
}

}  // namespace hvkit::filter_ring
