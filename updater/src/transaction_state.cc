// Names of the update transaction states (transaction_state.h).
#include "hvkit/transaction_state.h"

#include <array>
#include <string>

namespace hvkit {

namespace {

struct Named {
    TxState state;
    std::string_view name;
};

constexpr std::array<Named, 9> kNames = {{
    {TxState::kDownloading, "downloading"},
    {TxState::kDownloaded, "downloaded"},
    {TxState::kTransferring, "transferring"},
    {TxState::kStaging, "staging"},
    {TxState::kStaged, "staged"},
    {TxState::kCommitting, "committing"},
    {TxState::kCommitted, "committed"},
    {TxState::kFailed, "failed"},
    {TxState::kUndone, "undone"},
}};

}  // namespace

std::string_view TxStateName(TxState state) {
    for (const Named& n : kNames) {
        if (n.state == state) return n.name;
    }
    return "?";
}

Result<TxState> ParseTxState(std::string_view text, std::string_view what) {
    for (const Named& n : kNames) {
        if (n.name == text) return n.state;
    }
    return Error(ErrorCode::kMalformed,
                 std::string(what) + ": \"" + std::string(text) + "\" is not a transaction state");
}

std::string_view TxKindName(TxKind kind) {
    return kind == TxKind::kApply ? "apply" : "rollback";
}

Result<TxKind> ParseTxKind(std::string_view text, std::string_view what) {
    if (text == "apply") return TxKind::kApply;
    if (text == "rollback") return TxKind::kRollback;
    return Error(ErrorCode::kMalformed, std::string(what) + ": \"" + std::string(text) +
                                            "\" is not a transaction kind (apply, rollback)");
}

bool IsFinal(TxState state) {
    return state == TxState::kCommitted || state == TxState::kFailed || state == TxState::kUndone;
}

std::string TxStateSqlList(std::initializer_list<TxState> states) {
    std::string out;
    for (TxState s : states) {
        out += (out.empty() ? "'" : ", '") + std::string(TxStateName(s)) + "'";
    }
    return out;
}

}  // namespace hvkit
