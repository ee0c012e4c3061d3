// The steps of an update as the agent reports them: what a person sees
// (`hvupdate: downloading ...`), where the test stop points and kill tests
// cut a transaction (keyed on these values, never on the text), and the
// progress labels.
#pragma once

#include <cstdint>
#include <string_view>

namespace hvkit::agent {

enum class UpdateStep {
    kRecover,   // settling a transaction an earlier run left unfinished
    kRefresh,   // the repository's metadata (TUF)
    kDownload,  // the package, through the guest's network
    kVerify,    // the package against the guest's trust store
    kTransfer,  // the hypervisor's part, down over hvchan
    kStage,     // hvmm verifies and stages it
    kInstall,   // the guest extensions, staged beside the current ones
    kCommit,    // hvmm commits (or rolls back)
    kSwitch,    // the guest extensions switch to match the hypervisor
    kDone,      // committed, or nothing to do
};

// "download", "transfer", ...: the step's progress label and its name in
// messages.
std::string_view UpdateStepName(UpdateStep step);

// How the agent tells a person what it does (the CLI prints; tests record).
class Reporter {
  public:
    virtual ~Reporter() = default;
    // (step) begins; (what) says it for a person.
    virtual void Step(UpdateStep step, std::string_view what) = 0;
    // (done) of (total) bytes of (step) (kDownload, kTransfer).
    virtual void Progress(UpdateStep step, uint64_t done, uint64_t total) = 0;
};

}  // namespace hvkit::agent
