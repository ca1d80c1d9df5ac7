// Checks CONNECT passwords off the event loops. A password hash costs ~0.1 s of CPU on
// purpose (PBKDF2, 101 000 iterations): done on a worker's loop it would stall every
// client of that worker, and a flood of logins would stall them all. One thread checks
// the logins in turn; a backlog beyond kMaxPending is refused at once (Server busy).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "petrel/auth/password_file.hpp"
#include "petrel/net/event_loop.hpp"

namespace petrel::broker {

class CredentialChecker {
  public:
    enum class Outcome { Accepted, Refused, Busy };
    using Done = std::function<void(Outcome)>;

    static constexpr std::size_t kMaxPending = 256;

    explicit CredentialChecker(std::shared_ptr<const auth::PasswordFile> passwords);
    ~CredentialChecker();  // checks still queued are dropped: their loops are stopping
    CredentialChecker(const CredentialChecker&) = delete;
    CredentialChecker& operator=(const CredentialChecker&) = delete;

    // Thread-safe. Checks the password on the checker's thread, then runs `done` on `loop`.
    void check(std::string username, std::string password, net::EventLoop& loop, Done done);

  private:
    struct Job {
        std::string username;
        std::string password;
        net::EventLoop* loop;
        Done done;
    };
    void run();

    std::shared_ptr<const auth::PasswordFile> passwords_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;   // guarded by mutex_
    bool stopping_ = false;  // guarded by mutex_
    std::thread thread_;
};

}  // namespace petrel::broker
