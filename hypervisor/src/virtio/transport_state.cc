// The virtio-pci transport's saved state: config space, MSI-X, negotiation,
// status and every queue. Restore checks each field like guest input and
// changes nothing when any is wrong.
#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

constexpr int64_t kStateVersion = 1;
constexpr uint8_t kKnownStatus = virtio::kStatusAcknowledge | virtio::kStatusDriver |
                                 virtio::kStatusDriverOk | virtio::kStatusFeaturesOk |
                                 virtio::kStatusNeedsReset | virtio::kStatusFailed;

Status Bad(std::string_view device, const std::string& key, const std::string& why) {
    return Error(ErrorCode::kMalformed,
                 "saved " + std::string(device) + " state: \"" + key + "\" " + why);
}

// Integer member (key) of (object) in 0..(max).
Result<uint64_t> Uint(const Json& object, const std::string& key, uint64_t max,
                      std::string_view device) {
    const Json* v = object.Find(key);
    if (v == nullptr || !v->is_int()) return Bad(device, key, "is missing or not an integer");
    if (v->as_int() < 0 || static_cast<uint64_t>(v->as_int()) > max) {
        return Bad(device, key, "is out of range 0.." + std::to_string(max));
    }
    return static_cast<uint64_t>(v->as_int());
}

// A 64-bit register as [high 32 bits, low 32 bits] (JSON integers here are
// signed 64-bit; a driver may write any 64-bit ring address).
Json U64ToJson(uint64_t v) {
    Json pair = Json::MakeArray();
    pair.Push(Json(static_cast<int64_t>(v >> 32)));
    pair.Push(Json(static_cast<int64_t>(v & 0xffffffff)));
    return pair;
}

Result<uint64_t> U64(const Json& object, const std::string& key, std::string_view device) {
    const Json* v = object.Find(key);
    if (v == nullptr || !v->is_array() || v->as_array().size() != 2) {
        return Bad(device, key, "is not [high, low] 32-bit halves");
    }
    uint64_t value = 0;
    for (const Json& half : v->as_array()) {
        if (!half.is_int() || half.as_int() < 0 || half.as_int() > 0xffffffffll) {
            return Bad(device, key, "has a half that is not a 32-bit value");
        }
        value = value << 32 | static_cast<uint64_t>(half.as_int());
    }
    return value;
}

Json QueueToJson(const QueueState& q) {
    Json j = Json::MakeObject();
    j["size"] = Json(int64_t{q.size});
    j["enabled"] = Json(q.enabled);
    j["msix_vector"] = Json(int64_t{q.msix_vector});
    j["desc"] = U64ToJson(q.desc);
    j["driver"] = U64ToJson(q.driver);
    j["device"] = U64ToJson(q.device);
    j["next_avail"] = Json(int64_t{q.next_avail});
    j["next_used"] = Json(int64_t{q.next_used});
    j["broken"] = Json(q.broken);
    return j;
}

Result<QueueState> QueueFromJson(const Json& j, uint16_t max_size, uint16_t vectors,
                                 std::string_view device, const std::string& what) {
    if (!j.is_object()) return Bad(device, what, "is not an object");
    QueueState q;
    HVKIT_ASSIGN_OR_RETURN(uint64_t size, Uint(j, "size", max_size, device));
    HVKIT_ASSIGN_OR_RETURN(uint64_t vector, Uint(j, "msix_vector", 0xffff, device));
    HVKIT_ASSIGN_OR_RETURN(q.desc, U64(j, "desc", device));
    HVKIT_ASSIGN_OR_RETURN(q.driver, U64(j, "driver", device));
    HVKIT_ASSIGN_OR_RETURN(q.device, U64(j, "device", device));
    HVKIT_ASSIGN_OR_RETURN(uint64_t next_avail, Uint(j, "next_avail", 0xffff, device));
    HVKIT_ASSIGN_OR_RETURN(uint64_t next_used, Uint(j, "next_used", 0xffff, device));
    HVKIT_ASSIGN_OR_RETURN(q.enabled, StateBool(j, "enabled", device));
    HVKIT_ASSIGN_OR_RETURN(q.broken, StateBool(j, "broken", device));
    q.size = static_cast<uint16_t>(size);
    q.msix_vector = static_cast<uint16_t>(vector);
    q.next_avail = static_cast<uint16_t>(next_avail);
    q.next_used = static_cast<uint16_t>(next_used);
    if (q.msix_vector >= vectors && q.msix_vector != virtio::kNoVector) {
        return Bad(device, what + ".msix_vector", "names no MSI-X vector");
    }
    // An enabled, working queue must be one VirtQueue::Enable() accepts.
    if (q.enabled && !q.broken) {
        if (q.size == 0 || (q.size & (q.size - 1)) != 0) {
            return Bad(device, what + ".size", "is not a power of two");
        }
        if (q.desc % 16 != 0 || q.driver % 2 != 0 || q.device % 4 != 0) {
            return Bad(device, what, "has misaligned ring addresses");
        }
        uint16_t in_flight = static_cast<uint16_t>(q.next_avail - q.next_used);
        if (in_flight > q.size) {
            return Bad(device, what, "has more chains in flight than the queue holds");
        }
    }
    return q;
}

}  // namespace

Json VirtioPciFunction::Save() const {
    std::lock_guard lock(mu_);
    Json state = Json::MakeObject();
    state["version"] = Json(kStateVersion);
    SaveConfigTo(state);
    state["msix"] = msix_.Save();
    state["status"] = Json(int64_t{status_});
    state["device_feature_select"] = Json(int64_t{device_feature_select_});
    state["driver_feature_select"] = Json(int64_t{driver_feature_select_});
    state["driver_features"] = U64ToJson(driver_features_);
    state["config_vector"] = Json(int64_t{config_vector_});
    state["queue_select"] = Json(int64_t{queue_select_});
    state["isr"] = Json(int64_t{isr_});
    Json queues = Json::MakeArray();
    for (const VirtQueue& q : queues_) queues.Push(QueueToJson(q.state()));
    state["queues"] = std::move(queues);
    return state;
}

Status VirtioPciFunction::Restore(const Json& state) {
    std::string_view dev = name();
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kStateVersion, dev));
    HVKIT_ASSIGN_OR_RETURN(uint64_t status, Uint(state, "status", 0xff, dev));
    HVKIT_ASSIGN_OR_RETURN(uint64_t dfs, Uint(state, "device_feature_select", 0xffffffff, dev));
    HVKIT_ASSIGN_OR_RETURN(uint64_t gfs, Uint(state, "driver_feature_select", 0xffffffff, dev));
    HVKIT_ASSIGN_OR_RETURN(uint64_t features, U64(state, "driver_features", dev));
    HVKIT_ASSIGN_OR_RETURN(uint64_t config_vector, Uint(state, "config_vector", 0xffff, dev));
    HVKIT_ASSIGN_OR_RETURN(uint64_t queue_select, Uint(state, "queue_select", 0xffff, dev));
    HVKIT_ASSIGN_OR_RETURN(uint64_t isr, Uint(state, "isr", 3, dev));
    if (status & ~uint64_t{kKnownStatus}) return Bad(dev, "status", "has unknown bits");
    if (status & virtio::kStatusFeaturesOk) {
        if ((features & ~offered_) != 0 || !(features & virtio::kFeatureVersion1)) {
            return Bad(dev, "driver_features",
                       "were accepted (FEATURES_OK) but are not a subset of the offered ones "
                       "with VERSION_1");
        }
    }
    uint16_t vectors = msix_.count();
    if (config_vector >= vectors && config_vector != virtio::kNoVector) {
        return Bad(dev, "config_vector", "names no MSI-X vector");
    }
    const Json* queues = state.Find("queues");
    if (queues == nullptr || !queues->is_array() || queues->as_array().size() != queues_.size()) {
        return Bad(dev, "queues", "must be an array of " + std::to_string(queues_.size()));
    }
    std::vector<QueueState> restored;
    for (size_t i = 0; i < queues_.size(); ++i) {
        HVKIT_ASSIGN_OR_RETURN(
            QueueState q, QueueFromJson(queues->as_array()[i], queues_[i].max_size(), vectors, dev,
                                        "queues[" + std::to_string(i) + "]"));
        restored.push_back(q);
    }
    const Json* msix = state.Find("msix");
    if (msix == nullptr) return Bad(dev, "msix", "is missing");

    std::lock_guard lock(mu_);
    // Config space, then MSI-X (which reads its enable bits there); each
    // leaves itself unchanged on error, and the config goes back if MSI-X
    // refuses.
    std::vector<uint8_t> old_config(config_.bytes().begin(), config_.bytes().end());
    HVKIT_RETURN_IF_ERROR(RestoreConfigFrom(state));
    Status st = msix_.Restore(*msix, dev);
    if (!st.ok()) {
        (void)config_.RestoreBytes(old_config, dev);
        return st;
    }
    status_ = static_cast<uint8_t>(status);
    device_feature_select_ = static_cast<uint32_t>(dfs);
    driver_feature_select_ = static_cast<uint32_t>(gfs);
    driver_features_ = features;
    config_vector_ = static_cast<uint16_t>(config_vector);
    queue_select_ = static_cast<uint16_t>(queue_select);
    isr_ = static_cast<uint8_t>(isr);
    bool indirect =
        (status_ & virtio::kStatusFeaturesOk) && (features & virtio::kFeatureIndirectDesc);
    for (size_t i = 0; i < queues_.size(); ++i) {
        queues_[i].RestoreState(restored[i]);
        queues_[i].set_indirect_allowed(indirect);
    }
    device_->LivenessChanged();
    return Status::Ok();
}

void VirtioPciFunction::Reset() {
    std::lock_guard lock(mu_);
    config_.Reset();
    msix_.Reset();
    ResetTransport();
    device_->LivenessChanged();
}

}  // namespace hvkit::hvmm
