#include "hvkit/package/sign.h"

#include <memory>

#include "hvkit/package/writer.h"
#include "package_stream.h"

namespace hvkit {

namespace {

// Copies every entry into a new package whose manifest carries the new signatures.
class ResigningSink : public internal::PayloadSink {
  public:
    ResigningSink(std::string path, const std::vector<PrivateKey>& keys)
        : path_(std::move(path)), keys_(keys) {}

    Status OnManifest(const PackageInfo& info) override {
        envelope_ = info.envelope;
        for (const auto& key : keys_) HVKIT_RETURN_IF_ERROR(envelope_.Sign(key));
        HVKIT_ASSIGN_OR_RETURN(
            writer_, PackageWriter::Create(path_, WriterOptions{.compression = info.compression}));
        return writer_->AddManifest(envelope_);
    }
    Status BeginFile(const PackageFile& file) override { return writer_->BeginFile(file); }
    Status WriteData(const void* data, size_t size) override { return writer_->Write(data, size); }
    Status EndFile(const PackageFile&) override { return writer_->EndFile(); }

    Status Commit() { return writer_->Commit(); }
    const SignedEnvelope& envelope() const { return envelope_; }

  private:
    std::string path_;
    const std::vector<PrivateKey>& keys_;
    SignedEnvelope envelope_;
    std::unique_ptr<PackageWriter> writer_;
};

}  // namespace

Result<PackageInfo> SignPackageFile(const std::string& path, const std::vector<PrivateKey>& keys,
                                    const PackageLimits& limits) {
    HVKIT_ASSIGN_OR_RETURN(PackageInput input, PackageInput::OpenFile(path));
    ResigningSink sink(path, keys);
    internal::StreamRules rules{.trust = nullptr, .policy = {}, .read_payload = true};
    rules.policy.limits = limits;
    // The setuid policy belongs to whoever installs; a signer copies what is there.
    rules.policy.setuid_components = AllComponents();
    HVKIT_ASSIGN_OR_RETURN(PackageInfo info, internal::ReadPackageStream(input, rules, &sink));
    HVKIT_RETURN_IF_ERROR(sink.Commit());
    info.envelope = sink.envelope();
    return info;
}

}  // namespace hvkit
