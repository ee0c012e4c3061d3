// The world the dispatcher sees, faked: a clock moved by hand, a guest link
// whose state the test sets, and replies that count their calls.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

#include "hvkit/filterd/clock.h"
#include "hvkit/filterd/guest_link.h"
#include "hvkit/filterd/item.h"

namespace hvkit::filterd::testing {

using FakeClock = ManualClock;

class FakeLink final : public GuestLink {
  public:
    bool Attached() const override { return attached; }
    SendOutcome Send(const Item& item) override {
        if (!attached) return SendOutcome::kAbsent;
        if (next != SendOutcome::kSent) return next;
        sent.push_back(item.id);
        if (on_send) on_send(item);
        return SendOutcome::kSent;
    }

    bool attached = true;
    SendOutcome next = SendOutcome::kSent;  // what Send answers while attached
    std::vector<ItemId> sent;
    std::function<void(const Item&)> on_send;  // runs inside a successful Send
};

// What one item's Reply saw: how often it ran, the last verdict and when.
struct ReplyRecord {
    int calls = 0;
    Verdict verdict;
    TimePoint at;
};

// A Reply that records into (record) and fails the test on a second call.
inline Reply RecordingReply(std::shared_ptr<ReplyRecord> record, const Clock& clock) {
    return [record, &clock](const Verdict& v) {
        ++record->calls;
        EXPECT_EQ(record->calls, 1) << "an item was answered twice";
        record->verdict = v;
        record->at = clock.Now();
    };
}

// Reply probe for a single item that also fails the test if never called.
class ExactlyOnce {
  public:
    explicit ExactlyOnce(const Clock& clock) : clock_(clock) {}
    ~ExactlyOnce() { EXPECT_EQ(record_->calls, 1) << "an item was never answered"; }
    Reply reply() { return RecordingReply(record_, clock_); }
    bool answered() const { return record_->calls > 0; }
    const Verdict& verdict() const { return record_->verdict; }
    TimePoint at() const { return record_->at; }

  private:
    const Clock& clock_;
    std::shared_ptr<ReplyRecord> record_ = std::make_shared<ReplyRecord>();
};

}  // namespace hvkit::filterd::testing
