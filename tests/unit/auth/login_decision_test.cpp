// The login decision as a table: every combination of what a listener can check and what
// a client presents, with the outcome the specification and Mosquitto's documented
// behaviour call for. The broker test 31_auth_matrix_test checks the same table through
// the real binary and every protocol version.
#include "petrel/auth/login_decision.hpp"

#include <gtest/gtest.h>

#include <string>

namespace petrel::auth {
namespace {

using enum LoginDecision;

struct Row {
    bool allow_anonymous;
    bool password_file;
    bool username;
    bool password;
    LoginDecision expected;
};

// Without an Authentication Method or a TLS identity.
constexpr Row kPlainConnect[] = {
    // Anonymous allowed, nothing to check a password with: everyone in, a user name is
    // taken as given.
    {true, false, false, false, Admit},
    {true, false, false, true, Admit},  // MQTT 5 allows a password without a user name
    {true, false, true, false, Admit},
    {true, false, true, true, Admit},
    // Anonymous allowed, password file: a user name is a claim that must be proven.
    {true, true, false, false, Admit},
    {true, true, false, true, Admit},
    {true, true, true, false, RefuseBadCredentials},
    {true, true, true, true, CheckPassword},
    // Anonymous refused, nothing to check with: nobody gets in (the hole of issue 11: a
    // user name alone used to be enough).
    {false, false, false, false, RefuseNotAuthorized},
    {false, false, false, true, RefuseNotAuthorized},
    {false, false, true, false, RefuseNotAuthorized},
    {false, false, true, true, RefuseNotAuthorized},
    // Anonymous refused, password file.
    {false, true, false, false, RefuseNotAuthorized},
    {false, true, false, true, RefuseNotAuthorized},
    {false, true, true, false, RefuseBadCredentials},
    {false, true, true, true, CheckPassword},
};

TEST(LoginDecisionTest, PlainConnectFollowsTheTable) {
    for (const Row& row : kPlainConnect) {
        const LoginAttempt attempt{row.username, row.password, false, false};
        EXPECT_EQ(decide_login({row.allow_anonymous, row.password_file}, attempt), row.expected)
            << "allow_anonymous " << row.allow_anonymous << ", password_file " << row.password_file
            << ", user name " << row.username << ", password " << row.password << ": got "
            << to_string(decide_login({row.allow_anonymous, row.password_file}, attempt));
    }
}

TEST(LoginDecisionTest, AnAuthenticationMethodNeedsSomethingToAuthenticateWith) {
    for (const bool anonymous : {false, true}) {
        for (const bool username : {false, true}) {
            const LoginAttempt attempt{username, false, true, false};
            EXPECT_EQ(decide_login({anonymous, true}, attempt), Authenticate);
            // Never admitted without the exchange it asked for, even where anonymous
            // clients are welcome.
            EXPECT_EQ(decide_login({anonymous, false}, attempt), RefuseBadMethod);
        }
    }
}

TEST(LoginDecisionTest, ATlsIdentityIsItsOwnProof) {
    for (const bool anonymous : {false, true}) {
        for (const bool password_file : {false, true}) {
            EXPECT_EQ(decide_login({anonymous, password_file}, {true, false, false, true}), Admit);
        }
    }
}

TEST(LoginDecisionTest, NobodyCanLogInWithoutAnonymousOrAPasswordSource) {
    EXPECT_TRUE(nobody_can_log_in({false, false}, false));
    EXPECT_FALSE(nobody_can_log_in({false, false}, true));
    EXPECT_FALSE(nobody_can_log_in({true, false}, false));
    EXPECT_FALSE(nobody_can_log_in({false, true}, false));
}

}  // namespace
}  // namespace petrel::auth
