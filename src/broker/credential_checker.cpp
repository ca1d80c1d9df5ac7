#include "credential_checker.hpp"

namespace petrel::broker {

CredentialChecker::CredentialChecker(std::shared_ptr<const auth::PasswordFile> passwords)
    : passwords_(std::move(passwords)), thread_([this] { run(); }) {}

CredentialChecker::~CredentialChecker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
    }
    wake_.notify_one();
    thread_.join();
}

void CredentialChecker::check(std::string username, std::string password, net::EventLoop& loop,
                              Done done) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_ && jobs_.size() < kMaxPending) {
            jobs_.push_back(Job{std::move(username), std::move(password), &loop, std::move(done)});
            wake_.notify_one();
            return;
        }
    }
    loop.post([done = std::move(done)] { done(Outcome::Busy); });
}

void CredentialChecker::run() {
    while (true) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) {
                return;
            }
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        const bool ok = passwords_->verify_password(job.username, job.password);
        job.loop->post(
            [done = std::move(job.done), ok] { done(ok ? Outcome::Accepted : Outcome::Refused); });
    }
}

}  // namespace petrel::broker
