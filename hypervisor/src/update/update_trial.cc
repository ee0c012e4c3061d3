// The update service's side of a trial: COMMIT started it (update_service.cc);
// the takeover's verdict ends it here, and the new hvmm reports it meanwhile.
#include "update/update_service.h"

#include <cstring>

namespace hvkit::hvmm {

void UpdateService::SetTrialStarter(TrialStarter starter) {
    std::lock_guard lock(mu_);
    trial_starter_ = std::move(starter);
}

Status UpdateService::PassTrial() {
    std::lock_guard lock(mu_);
    Status st = store_->Commit();
    last_version_ = trial_version_;
    trial_version_.clear();
    if (!st.ok()) {
        last_state_ = HVCHAN_UPDATE_FAILED;
        last_message_ = "the trial passed but the commit failed: " + st.message();
        return st;
    }
    last_state_ = HVCHAN_UPDATE_COMMITTED;
    last_message_ = "committed " + last_version_ + " after its trial";
    return Status::Ok();
}

void UpdateService::FailTrial(const std::string& why) {
    std::lock_guard lock(mu_);
    Status st = store_->FailTrial(why);
    last_version_ = trial_version_;
    trial_version_.clear();
    last_state_ = HVCHAN_UPDATE_FAILED;
    last_message_ = "trial failed: " + why;
    if (!st.ok()) last_message_ += " (and dropping the release failed: " + st.message() + ")";
}

void UpdateService::SuccessorOnTrial(const std::string& version) {
    std::lock_guard lock(mu_);
    trial_version_ = version;
    last_version_ = version;
    last_state_ = HVCHAN_UPDATE_TRIAL;
    last_message_ = "on trial: hvmm " + version + " took the guest over; waiting for it to answer";
}

void UpdateService::SuccessorTrialPassed() {
    std::lock_guard lock(mu_);
    (void)store_->Reload();  // the predecessor committed it
    last_version_ = trial_version_;
    trial_version_.clear();
    last_state_ = HVCHAN_UPDATE_COMMITTED;
    last_message_ = "committed " + last_version_ + " after its trial";
}

void UpdateService::SuccessorTrialOrphaned() {
    std::lock_guard lock(mu_);
    Status st = store_->RecoverInterrupted();
    auto committed = store_->committed();
    last_version_ = trial_version_;
    trial_version_.clear();
    if (st.ok() && committed && committed->version.ToString() == last_version_) {
        last_state_ = HVCHAN_UPDATE_COMMITTED;
        last_message_ = "committed " + last_version_ +
                        " (the hvmm deciding its trial ended; "
                        "recovery finished the commit)";
        return;
    }
    last_state_ = HVCHAN_UPDATE_FAILED;
    last_message_ = "trial interrupted: the hvmm deciding it ended first; this hvmm (" +
                    last_version_ + ") runs the guest uncommitted, the next start runs " +
                    (committed ? committed->version.ToString() : "the running release") +
                    (st.ok() ? "" : " (recovery: " + st.message() + ")");
}

std::string UpdateService::trial_version() const {
    std::lock_guard lock(mu_);
    return trial_version_;
}

}  // namespace hvkit::hvmm
