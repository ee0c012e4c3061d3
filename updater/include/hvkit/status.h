// Errors as values. No exception crosses a module boundary in hvkit: every
// fallible operation returns a Status or a Result<T> whose message is written
// for the person reading it ("names the thing, the rule, and what to do").
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace hvkit {

// Broad classes of failure; callers branch on the code, people read the message.
enum class ErrorCode {
    kOk = 0,
    kInvalidArgument,  // caller or config supplied something malformed
    kNotFound,         // a file, key, role or target does not exist
    kIo,               // the operating system refused a read or write
    kBadSignature,     // signatures missing, invalid, or below threshold
    kHashMismatch,     // content does not match its declared hash or length
    kRollback,         // a version went backwards
    kExpired,          // metadata past its expiry at the reference time
    kRefused,          // input breaks a safety rule (paths, limits, modes)
    kMalformed,        // input could not be parsed
    kNetwork,          // a transfer failed or timed out
    kTooLarge,         // a size cap was reached
    kConflict,         // state does not allow the operation now
};

const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status Ok() { return Status(); }

    bool ok() const { return code_ == ErrorCode::kOk; }
    ErrorCode code() const { return code_; }
    const std::string& message() const { return message_; }

    // Prefixes the message with context ("while loading root.json: ...").
    Status WithContext(const std::string& context) const {
        if (ok()) return *this;
        return Status(code_, context + ": " + message_);
    }

  private:
    ErrorCode code_ = ErrorCode::kOk;
    std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
    Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

    bool ok() const { return value_.has_value(); }
    const Status& status() const { return status_; }
    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    T& operator*() & { return *value_; }
    const T& operator*() const& { return *value_; }

  private:
    std::optional<T> value_;
    Status status_;
};

inline Status Error(ErrorCode code, std::string message) {
    return Status(code, std::move(message));
}

}  // namespace hvkit

// Propagates a failed Status from an expression returning Status.
#define HVKIT_RETURN_IF_ERROR(expr)            \
    do {                                       \
        ::hvkit::Status _hvkit_st = (expr);    \
        if (!_hvkit_st.ok()) return _hvkit_st; \
    } while (0)

#define HVKIT_CONCAT_INNER(a, b) a##b
#define HVKIT_CONCAT(a, b) HVKIT_CONCAT_INNER(a, b)

// Declares `lhs` from a Result expression, returning its Status on failure.
#define HVKIT_ASSIGN_OR_RETURN(lhs, expr) \
    HVKIT_ASSIGN_OR_RETURN_IMPL(HVKIT_CONCAT(_hvkit_res_, __LINE__), lhs, expr)
#define HVKIT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
    auto tmp = (expr);                              \
    if (!tmp.ok()) return tmp.status();             \
    lhs = std::move(tmp).value()
