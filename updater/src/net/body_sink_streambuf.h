// A write-only cpprestsdk stream buffer that hands each piece of a response body
// to a BodyHandler, and only after the caller has looked at the response head.
//
// Why: by default cpprestsdk copies a response body into an unbounded
// producer/consumer buffer while the caller is still reading the headers, so an
// "endless" body would grow without limit. With this buffer as the response
// stream, cpprestsdk waits for each write to finish before it reads the next
// step from the socket, so at most one step is in memory, and a refused write
// aborts the transfer. Included only by http_transfer.cc (cpprestsdk headers
// are heavy).
//
// Lifetime: cpprestsdk's request context (through the request and the
// response), the continuations it has pending and the caller all hold the sink
// by shared_ptr, so the sink is destroyed only once cpprestsdk is completely
// done with the request. Make() reports that moment; RequestOnce waits for it.
#pragma once

#include <cpprest/astreambuf.h>
#include <pplx/pplxtasks.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "http_transfer.h"

namespace hvkit::net {

class BodySinkStreambuf final
    : public concurrency::streams::details::streambuf_state_manager<uint8_t> {
  public:
    // A sink for (handler). (*destroyed) becomes ready when the sink has been
    // destroyed, that is when nothing holds it any more.
    static std::shared_ptr<BodySinkStreambuf> Make(BodyHandler handler,
                                                   std::future<void>* destroyed) {
        auto signal = std::make_shared<std::promise<void>>();
        *destroyed = signal->get_future();
        return std::shared_ptr<BodySinkStreambuf>(new BodySinkStreambuf(std::move(handler)),
                                                  [signal](BodySinkStreambuf* sink) {
                                                      delete sink;
                                                      signal->set_value();
                                                  });
    }

    ~BodySinkStreambuf() override { alive_.fetch_sub(1); }

    // Sinks not yet destroyed, in the whole process.
    static int64_t alive() { return alive_.load(); }

    // Lets body pieces through to the handler (those waiting and those to come).
    void Open() {
        armed_ = true;
        gate_.set();
    }

    // Refuses every further piece and, once a delivery in progress returns,
    // never calls the handler again. Safe to call more than once.
    void Close() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            handler_ = nullptr;
        }
        armed_ = true;
        gate_.set();
    }

    // The error the handler returned, if it refused a piece.
    Status failure() const {
        std::lock_guard<std::mutex> lock(mu_);
        return failure_;
    }

    bool can_seek() const override { return false; }
    bool has_size() const override { return false; }
    size_t buffer_size(std::ios_base::openmode) const override { return 0; }
    void set_buffer_size(size_t, std::ios_base::openmode) override {}
    size_t in_avail() const override { return 0; }
    pos_type getpos(std::ios_base::openmode) const override { return pos_type(-1); }
    pos_type seekpos(pos_type, std::ios_base::openmode) override { return pos_type(-1); }
    pos_type seekoff(off_type, std::ios_base::seekdir, std::ios_base::openmode) override {
        return pos_type(-1);
    }
    bool acquire(uint8_t*& ptr, size_t& count) override {
        ptr = nullptr;
        count = 0;
        return false;
    }
    void release(uint8_t*, size_t) override {}

  protected:
    pplx::task<size_t> _putn(const uint8_t* ptr, size_t count) override {
        if (armed_) return DeliverAsTask(ptr, count);
        // cpprestsdk keeps (ptr) valid until the returned task completes.
        auto self = std::static_pointer_cast<BodySinkStreambuf>(shared_from_this());
        return pplx::create_task(gate_).then(
            [self, ptr, count] { return self->DeliverAsTask(ptr, count); });
    }
    pplx::task<int_type> _putc(uint8_t ch) override {
        auto byte = std::make_shared<uint8_t>(ch);
        return _putn(byte.get(), 1).then([byte](size_t) { return static_cast<int_type>(*byte); });
    }

    // Reading is not supported: this buffer only ever receives.
    pplx::task<int_type> _bumpc() override { return pplx::task_from_result(traits::eof()); }
    int_type _sbumpc() override { return traits::eof(); }
    pplx::task<int_type> _getc() override { return pplx::task_from_result(traits::eof()); }
    int_type _sgetc() override { return traits::eof(); }
    pplx::task<int_type> _nextc() override { return pplx::task_from_result(traits::eof()); }
    pplx::task<int_type> _ungetc() override { return pplx::task_from_result(traits::eof()); }
    pplx::task<size_t> _getn(uint8_t*, size_t) override {
        return pplx::task_from_result<size_t>(0);
    }
    size_t _scopy(uint8_t*, size_t) override { return 0; }
    pplx::task<bool> _sync() override { return pplx::task_from_result(true); }
    uint8_t* _alloc(size_t) override { return nullptr; }
    void _commit(size_t) override {}

  private:
    explicit BodySinkStreambuf(BodyHandler handler)
        : streambuf_state_manager<uint8_t>(std::ios_base::out), handler_(std::move(handler)) {
        alive_.fetch_add(1);
    }

    // Calls the handler under the lock, so Close() waits for a delivery in
    // progress; a refusal becomes a failed task, which makes cpprestsdk abort.
    pplx::task<size_t> DeliverAsTask(const uint8_t* ptr, size_t count) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!handler_) {
            return pplx::task_from_exception<size_t>(
                std::runtime_error("hvkit: response body refused"));
        }
        Status st;
        try {
            st = handler_(reinterpret_cast<const char*>(ptr), count);
        } catch (const std::exception& e) {
            st = Error(ErrorCode::kIo, std::string("response body handler threw: ") + e.what());
        } catch (...) {
            st = Error(ErrorCode::kIo, "response body handler threw");
        }
        if (!st.ok()) {
            failure_ = st;
            handler_ = nullptr;
            return pplx::task_from_exception<size_t>(std::runtime_error(st.message()));
        }
        return pplx::task_from_result(count);
    }

    mutable std::mutex mu_;
    BodyHandler handler_;
    Status failure_;
    std::atomic<bool> armed_{false};
    pplx::task_completion_event<void> gate_;

    static inline std::atomic<int64_t> alive_{0};
};

}  // namespace hvkit::net
