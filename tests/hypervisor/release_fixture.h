// Release keys, a host store directory with its trust.json, and signed
// packages of any version: what the release-store and hvchan update tests
// share.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "hvkit/package/recipe.h"
#include "hvkit/package/trust_store.h"
#include "temp_dir.h"

namespace hvkit::hvmm::testing {

inline SemVer V(const char* text) {
    return *SemVer::Parse(text, "test");
}

class ReleaseFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        key_ = *PrivateKey::Generate();
        stranger_ = *PrivateKey::Generate();
        auto trust = PackageTrustStore::Create({key_.public_key()}, 1);
        ASSERT_TRUE(trust.ok());
        ASSERT_TRUE(MakeDirectories(store_dir()).ok());
        ASSERT_TRUE(trust->Save(store_dir() + "/trust.json").ok());
    }
    std::string store_dir() const { return tmp_.Sub("store"); }

    // A package of (version) signed by (key) (default: the release key), with
    // a hypervisor file whose content names the version and a guest file the
    // hypervisor must not install.
    // (padding) incompressible bytes go into a second hypervisor file, for
    // packages that take several chunks.
    std::string Package(const char* version, const PrivateKey* key = nullptr,
                        const char* min_installed = "0.0.0", size_t padding = 0) {
        std::string dir = tmp_.Sub(std::string("src-") + version);
        (void)MakeDirectories(dir);
        hvkit::testing::WriteTestFile(dir + "/hvmm", std::string("hvmm ") + version + "\n");
        std::string pad(padding, '\0');
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (char& c : pad) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            c = static_cast<char>(x);
        }
        hvkit::testing::WriteTestFile(dir + "/blob", pad);
        hvkit::testing::WriteTestFile(dir + "/agent", "guest part\n");
        Recipe recipe;
        recipe.name = "hvkit";
        recipe.version = V(version);
        recipe.min_installed_version = V(min_installed);
        recipe.files = {{Component::kHypervisor, dir + "/hvmm", "hypervisor/bin/hvmm", 0755},
                        {Component::kHypervisor, dir + "/blob", "hypervisor/share/blob", 0644},
                        {Component::kGuestExtension, dir + "/agent", "guest/bin/agent", 0755}};
        std::string out =
            tmp_.Sub(std::string("hvkit-") + version + (key ? "-other" : "") + ".hvpkg");
        auto built = BuildPackage(recipe, {key ? *key : key_}, out);
        EXPECT_TRUE(built.ok()) << built.status().message();
        return out;
    }

    // What `current` serves: the installed hvmm's content, or "" without one.
    std::string CurrentHvmm() {
        auto text = ReadFile(store_dir() + "/current/hypervisor/bin/hvmm", 1024);
        return text.ok() ? *text : "";
    }

    hvkit::testing::TempDir tmp_;
    PrivateKey key_, stranger_;
};

}  // namespace hvkit::hvmm::testing
