// A scratch repository made with the hvrepository library, a clock the test
// moves, and readers for what the repository published.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/signed.h"
#include "hvkit/tuf/metadata.h"
#include "hvkit/tuf/trusted_set.h"
#include "hvrepo/repository.h"
#include "now_clock.h"
#include "temp_dir.h"

namespace hvkit::testing {

inline constexpr int64_t kRepoNow = 1'900'000'000;  // 2030-03-17
inline constexpr int64_t kDay = 24 * 60 * 60;

class RepoFixture : public ::testing::Test {
  protected:
    std::string RepoDir() const { return dir.Sub("repo"); }

    repo::RepositoryOptions Options() {
        repo::RepositoryOptions options;
        options.clock = &clock;
        return options;
    }

    // Creates the repository (failing the test on error).
    repo::Repository Init(const repo::InitOptions& init = {}) {
        auto repo = repo::Repository::Init(RepoDir(), init, Options());
        EXPECT_TRUE(repo.ok()) << repo.status().message();
        return std::move(repo).value();
    }

    // Opens the repository again, as a later hvrepo run does.
    repo::Repository Open() {
        auto repo = repo::Repository::Open(RepoDir(), Options());
        EXPECT_TRUE(repo.ok()) << repo.status().message();
        return std::move(repo).value();
    }

    std::string Metadata(const std::string& file) const {
        return ReadTestFile(RepoDir() + "/metadata/" + file);
    }

    static SignedEnvelope Envelope(const std::string& bytes) {
        return SignedEnvelope::FromJson(ParseJson(bytes, "test").value(), "test").value();
    }
    tuf::RootMeta Root(const std::string& file = "root.json") const {
        return tuf::ParseRoot(Envelope(Metadata(file)).signed_body, file).value();
    }
    tuf::TimestampMeta Timestamp() const {
        return tuf::ParseTimestamp(Envelope(Metadata("timestamp.json")).signed_body, "ts").value();
    }
    tuf::SnapshotMeta Snapshot() const {
        auto file = std::to_string(Timestamp().snapshot.version) + ".snapshot.json";
        return tuf::ParseSnapshot(Envelope(Metadata(file)).signed_body, file).value();
    }
    tuf::TargetsMeta Targets() const {
        auto file = std::to_string(Snapshot().meta.at("targets.json").version) + ".targets.json";
        return tuf::ParseTargets(Envelope(Metadata(file)).signed_body, file).value();
    }

    // Admits the whole published release into a TrustedSet that starts from
    // 1.root.json, as a client would (root chain, timestamp, snapshot, targets).
    Status VerifyAsClient() const {
        HVKIT_ASSIGN_OR_RETURN(tuf::TrustedSet set,
                               tuf::TrustedSet::Create(Metadata("1.root.json"), now));
        for (int64_t v = 2; PathExists(RepoDir() + "/metadata/" + std::to_string(v) + ".root.json");
             ++v) {
            HVKIT_RETURN_IF_ERROR(set.UpdateRoot(Metadata(std::to_string(v) + ".root.json")));
        }
        HVKIT_RETURN_IF_ERROR(set.CheckRootNotExpired());
        HVKIT_ASSIGN_OR_RETURN(bool changed, set.UpdateTimestamp(Metadata("timestamp.json")));
        EXPECT_TRUE(changed);
        const int64_t snapshot = set.timestamp()->meta.snapshot.version;
        HVKIT_RETURN_IF_ERROR(
            set.UpdateSnapshot(Metadata(std::to_string(snapshot) + ".snapshot.json")));
        const int64_t targets = set.snapshot()->meta.meta.at("targets.json").version;
        return set.UpdateTargets(Metadata(std::to_string(targets) + ".targets.json"), "targets",
                                 "root");
    }

    TempDir dir;
    int64_t now = kRepoNow;
    NowClock clock{now};
};

// Asserts (status_expr) failed with (code_value) and a message containing (fragment).
#define EXPECT_REPO_ERROR(status_expr, code_value, fragment)                         \
    do {                                                                             \
        ::hvkit::Status _st = (status_expr);                                         \
        EXPECT_FALSE(_st.ok()) << "expected failure containing: " << (fragment);     \
        EXPECT_EQ(_st.code(), (code_value)) << _st.message();                        \
        EXPECT_NE(_st.message().find(fragment), std::string::npos) << _st.message(); \
    } while (0)

}  // namespace hvkit::testing
