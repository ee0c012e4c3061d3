// The states of an update transaction: one vocabulary for the guest's
// journal (hvupdate history), hvmm's release store journal, hvmm's status
// and the docs. Each layer passes through the states it owns, in this order:
//
//   guest (apply):   downloading -> downloaded -> transferring -> staged
//                    -> committing -> committed
//   hvmm (update):   staging -> staged -> committing -> committed
//   either rollback: committing -> committed
//
// and every transaction that does not commit ends in one of two words:
//   failed   a step refused or broke; what it staged was dropped at once
//   undone   it was interrupted (a crash, a kill, a reset, an abort from the
//            other side) and the next run dropped what it had staged
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "hvkit/status.h"

namespace hvkit {

enum class TxState {
    kDownloading,   // guest: the package is coming through the guest's network
    kDownloaded,    // guest: it is on the guest's disk, not yet verified
    kTransferring,  // guest: the hypervisor's part is going down over hvchan
    kStaging,       // hvmm: verifying and extracting into the free slot
    kStaged,        // both: verified and staged; nothing committed
    kCommitting,    // both: the switch is decided; recovery finishes it
    kCommitted,
    kFailed,
    kUndone,
};

// What a transaction does: install a newer release, or go back one.
enum class TxKind { kApply, kRollback };
std::string_view TxKindName(TxKind kind);  // "apply", "rollback"
Result<TxKind> ParseTxKind(std::string_view text, std::string_view what);

// "downloading", "staged", ... as stored in both journals.
std::string_view TxStateName(TxState state);
// The state named (text); kMalformed naming (what) and the word otherwise.
Result<TxState> ParseTxState(std::string_view text, std::string_view what);
// committed, failed or undone: the transaction is over.
bool IsFinal(TxState state);
// The SQL list of (state)s' names for a CHECK or IN clause: 'a', 'b', ...
std::string TxStateSqlList(std::initializer_list<TxState> states);

}  // namespace hvkit
