// A TUF client wired to a RepoSim through a SimFetcher and a real SQLite store.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "hvkit/tuf/client.h"
#include "now_clock.h"
#include "repo_sim.h"
#include "temp_dir.h"

namespace hvkit::testing {

class ClientFixture : public ::testing::Test {
  protected:
    ClientFixture() : fetcher(sim) {
        store = tuf::OpenSqliteTrustedStore(dir.Sub("tuf.db")).value();
        trusted_root = sim.RootBytes(1);
    }

    tuf::ClientConfig Config() {
        tuf::ClientConfig config;
        config.metadata_base_url = "http://sim/metadata";
        config.target_base_url = "http://sim/targets";
        config.clock = &clock;
        return config;
    }

    // A fresh client (as after a restart) over the same store.
    std::unique_ptr<tuf::Client> NewClient() {
        auto client = std::make_unique<tuf::Client>(Config(), fetcher, *store);
        EXPECT_TRUE(client->Initialize(trusted_root).ok());
        return client;
    }

    Status Refresh() { return NewClient()->Refresh(); }

    // Refresh, look up and download (path); returns the bytes or the error.
    Result<std::string> Download(const std::string& path) {
        auto client = NewClient();
        HVKIT_RETURN_IF_ERROR(client->Refresh());
        HVKIT_ASSIGN_OR_RETURN(tuf::TargetInfo info, client->GetTargetInfo(path));
        HVKIT_RETURN_IF_ERROR(client->DownloadTarget(info, dir.Sub("out")));
        return ReadTestFile(dir.Sub("out"));
    }

    int64_t StoredVersion(const std::string& role) {
        auto bytes = store->Load(role).value();
        if (!bytes) return 0;
        return ParseJson(*bytes, role).value().Find("signed")->Find("version")->as_int();
    }

    TempDir dir;
    RepoSim sim;
    SimFetcher fetcher;
    std::unique_ptr<tuf::TrustedStore> store;
    std::string trusted_root;
    int64_t now = kSimNow;
    NowClock clock{now};
};

// Asserts (status) failed with (code) and a message containing (fragment).
#define EXPECT_FAILS_WITH(status_expr, code_value, fragment)                         \
    do {                                                                             \
        ::hvkit::Status _st = (status_expr);                                         \
        EXPECT_FALSE(_st.ok()) << "expected failure containing: " << (fragment);     \
        EXPECT_EQ(_st.code(), (code_value)) << _st.message();                        \
        EXPECT_NE(_st.message().find(fragment), std::string::npos) << _st.message(); \
    } while (0)

}  // namespace hvkit::testing
