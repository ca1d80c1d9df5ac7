// SCRAM-SHA-256 server exchange: the RFC 7677 known answer, full exchanges against the test
// client, and every way a client can get it wrong. Unknown users must look like known ones.
#include "petrel/auth/scram.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "petrel/auth/crypto.hpp"
#include "support/scram_client.hpp"

namespace petrel::auth {
namespace {

using Kind = AuthStep::Kind;
using test::ScramClient;

// RFC 7677 section 3.
constexpr std::string_view kClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// A password file written the way petrel-passwd will write it, read back by the parser.
std::shared_ptr<const PasswordFile> users() {
    std::string text;
    const auto add = [&](const std::string& name, const std::string& password, bool scram) {
        UserRecord record{name, make_password_hash(password, 1), std::nullopt};
        if (scram) {
            record.scram = make_scram_verifier(password);
        }
        text += format_user_line(record) + "\n";
    };
    UserRecord rfc{"user", make_password_hash("pencil", 1),
                   derive_scram_verifier("pencil", *base64_decode(kSalt), 4096)};
    text += format_user_line(rfc) + "\n";
    add("alice", "wonderland", true);
    add("a,b=c", "escaped", true);
    add("plain", "only-hash", false);
    return std::make_shared<PasswordFile>(PasswordFile::parse(text, "users.txt"));
}

ScramAuthenticator rfc_authenticator() {
    return ScramAuthenticator(users(), [] { return std::string(kServerNonce); });
}

struct Exchange {
    AuthStep first;
    AuthStep final;
};

// Runs the whole exchange for `client`; `final` is a Failure if the client gave up.
Exchange run(const Authenticator& server, ScramClient& client) {
    auto exchange = server.begin(kScramSha256);
    Exchange out{exchange->start(client.client_first()), {}};
    if (out.first.kind != Kind::Continue) {
        return out;
    }
    const auto final_message = client.client_final(out.first.data);
    out.final = final_message ? exchange->next(*final_message)
                              : AuthStep::failure(FailureReason::Malformed, "client gave up");
    return out;
}

// Splits a server-first into its r=, s= and i= values.
struct ServerFirst {
    std::string nonce, salt, iterations;
};
ServerFirst split(std::string_view text) {
    ServerFirst out;
    const auto comma1 = text.find(','), comma2 = text.find(',', comma1 + 1);
    out.nonce = std::string(text.substr(2, comma1 - 2));
    out.salt = std::string(text.substr(comma1 + 3, comma2 - comma1 - 3));
    out.iterations = std::string(text.substr(comma2 + 3));
    return out;
}

TEST(Scram, Rfc7677KnownAnswer) {
    const auto server = rfc_authenticator();
    auto exchange = server.begin("SCRAM-SHA-256");
    ASSERT_NE(exchange, nullptr);
    const AuthStep first = exchange->start(kClientFirst);
    ASSERT_EQ(first.kind, Kind::Continue) << first.detail;
    EXPECT_EQ(first.data, kServerFirst);
    const AuthStep final = exchange->next(kClientFinal);
    ASSERT_EQ(final.kind, Kind::Success) << final.detail;
    EXPECT_EQ(final.data, kServerFinal);
    EXPECT_EQ(final.username, "user");
}

TEST(Scram, TestClientReproducesRfc7677) {
    ScramClient client("user", "pencil", std::string(kClientNonce));
    EXPECT_EQ(client.client_first(), kClientFirst);
    EXPECT_FALSE(client.verify_server_final(kServerFinal));  // nothing to verify yet
    EXPECT_EQ(client.client_final(kServerFirst), kClientFinal);
    EXPECT_TRUE(client.verify_server_final(kServerFinal));
    EXPECT_FALSE(client.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="));
}

TEST(Scram, OffersOneMethod) {
    const ScramAuthenticator server(users());
    EXPECT_EQ(server.methods(), std::vector<std::string>{"SCRAM-SHA-256"});
    EXPECT_EQ(server.begin("SCRAM-SHA-1"), nullptr);
    EXPECT_EQ(server.begin("scram-sha-256"), nullptr);
    EXPECT_EQ(server.begin(""), nullptr);
}

TEST(Scram, FullExchangeSucceeds) {
    const ScramAuthenticator server(users());
    ScramClient client("alice", "wonderland");
    const auto result = run(server, client);
    ASSERT_EQ(result.final.kind, Kind::Success) << result.final.detail;
    EXPECT_EQ(result.final.username, "alice");
    EXPECT_TRUE(client.verify_server_final(result.final.data));

    // Server nonces are fresh per exchange.
    ScramClient again("alice", "wonderland", "fixed");
    ScramClient twice("alice", "wonderland", "fixed");
    EXPECT_NE(run(server, again).first.data, run(server, twice).first.data);
}

TEST(Scram, WrongPasswordIsBadCredentials) {
    const ScramAuthenticator server(users());
    ScramClient client("alice", "Wonderland");
    const auto result = run(server, client);
    ASSERT_EQ(result.final.kind, Kind::Failure);
    EXPECT_EQ(result.final.reason, FailureReason::BadCredentials);
    EXPECT_EQ(result.final.data, "e=invalid-proof");
    EXPECT_EQ(result.final.username, "alice");
    EXPECT_FALSE(client.verify_server_final(result.final.data));
}

TEST(Scram, TamperedProofIsBadCredentials) {
    const ScramAuthenticator server(users());
    ScramClient client("alice", "wonderland");
    auto exchange = server.begin(kScramSha256);
    const AuthStep first = exchange->start(client.client_first());
    std::string final_message = *client.client_final(first.data);
    const auto proof_at = final_message.find(",p=") + 3;
    auto proof = *base64_decode(final_message.substr(proof_at));
    proof[5] = static_cast<char>(proof[5] ^ 1);
    final_message = final_message.substr(0, proof_at) + base64_encode(proof);
    const AuthStep final = exchange->next(final_message);
    EXPECT_EQ(final.kind, Kind::Failure);
    EXPECT_EQ(final.reason, FailureReason::BadCredentials);
}

TEST(Scram, UnknownUserLooksLikeAKnownOne) {
    const ScramAuthenticator server(users());
    ScramClient known("alice", "wonderland");
    ScramClient unknown("mallory", "wonderland");
    ScramClient no_verifier("plain", "only-hash");
    const auto known_result = run(server, known);
    const auto unknown_result = run(server, unknown);
    const auto no_verifier_result = run(server, no_verifier);

    const ServerFirst k = split(known_result.first.data);
    for (const auto* result : {&unknown_result, &no_verifier_result}) {
        ASSERT_EQ(result->first.kind, Kind::Continue);
        const ServerFirst u = split(result->first.data);
        EXPECT_EQ(u.nonce.size(), k.nonce.size());
        EXPECT_EQ(u.salt.size(), k.salt.size());
        EXPECT_EQ(u.iterations, k.iterations);
        EXPECT_TRUE(base64_decode(u.salt));

        ASSERT_EQ(result->final.kind, Kind::Failure);
        EXPECT_EQ(result->final.reason, FailureReason::BadCredentials);
        EXPECT_EQ(result->final.data, "e=invalid-proof");
    }
    EXPECT_NE(unknown_result.final.detail, no_verifier_result.final.detail);  // log tells

    // The fake salt is stable per username, as a real one would be, and differs by name.
    ScramClient unknown_again("mallory", "other");
    ScramClient someone_else("trudy", "other");
    EXPECT_EQ(split(run(server, unknown_again).first.data).salt,
              split(unknown_result.first.data).salt);
    EXPECT_NE(split(run(server, someone_else).first.data).salt,
              split(unknown_result.first.data).salt);
}

TEST(Scram, SaslnameEscapes) {
    EXPECT_EQ(escape_saslname("a,b=c"), "a=2Cb=3Dc");
    EXPECT_EQ(unescape_saslname("a=2Cb=3Dc"), "a,b=c");
    EXPECT_EQ(unescape_saslname("=2c=3d"), ",=");
    for (const std::string_view bad : std::initializer_list<std::string_view>{
             "", "=", "a=", "a=2", "a=2D", "a=3C", "a=41", "a,b", std::string_view("a\0b", 3)}) {
        EXPECT_EQ(unescape_saslname(bad), std::nullopt) << bad;
    }

    const ScramAuthenticator server(users());
    ScramClient client("a,b=c", "escaped");
    EXPECT_EQ(client.client_first_bare().substr(0, 12), "n=a=2Cb=3Dc,");
    const auto result = run(server, client);
    ASSERT_EQ(result.final.kind, Kind::Success) << result.final.detail;
    EXPECT_EQ(result.final.username, "a,b=c");

    const AuthStep bad = server.begin(kScramSha256)->start("n,,n=a=2Xb,r=abc");
    EXPECT_EQ(bad.kind, Kind::Failure);
    EXPECT_EQ(bad.reason, FailureReason::Malformed);
    EXPECT_EQ(bad.data, "e=invalid-username-encoding");
}

TEST(Scram, ChannelBindingIsRefused) {
    const ScramAuthenticator server(users());
    const AuthStep step = server.begin(kScramSha256)->start("p=tls-unique,,n=user,r=abc");
    EXPECT_EQ(step.kind, Kind::Failure);
    EXPECT_EQ(step.reason, FailureReason::NotAuthorized);
    EXPECT_EQ(step.data, "e=channel-binding-not-supported");
}

TEST(Scram, ClientFirstVariants) {
    const ScramAuthenticator server(users());
    const auto start = [&](std::string_view message) {
        return server.begin(kScramSha256)->start(message);
    };
    // "y": the client supports channel binding but believes we do not.
    EXPECT_EQ(start("y,,n=user,r=abc").kind, Kind::Continue);
    EXPECT_EQ(start("n,a=user,n=user,r=abc").kind, Kind::Continue);
    EXPECT_EQ(start("n,,n=user,r=abc,x=ignored,y=too").kind, Kind::Continue);

    const AuthStep other = start("n,a=admin,n=user,r=abc");
    EXPECT_EQ(other.kind, Kind::Failure);
    EXPECT_EQ(other.reason, FailureReason::NotAuthorized);

    const AuthStep mext = start("n,,m=ext,n=user,r=abc");
    EXPECT_EQ(mext.kind, Kind::Failure);
    EXPECT_EQ(mext.data, "e=extensions-not-supported");

    for (const std::string_view bad :
         {"", "n", "n,", "n,,", "n,,n=user", "n,,n=user,", "n,,n=user,r=", "n,,r=abc,n=user",
          "x,,n=user,r=abc", "n,,n=,r=abc", "n,,u=user,r=abc", "n,a=,n=user,r=abc",
          "n,a=user;n=user,r=abc", "n,,n=user,r=ab c", "n,,n=user,r=abc,", "n,,n=user,r=abc,x",
          "n,,n=user,r=abc,1=x", "N,,n=user,r=abc"}) {
        const AuthStep step = start(bad);
        EXPECT_EQ(step.kind, Kind::Failure) << bad;
        EXPECT_EQ(step.reason, FailureReason::Malformed) << bad;
    }
}

// Starts an RFC 7677 exchange and returns the outcome of `client_final`.
AuthStep finish_rfc(std::string_view client_first, std::string_view client_final) {
    const auto server = rfc_authenticator();
    auto exchange = server.begin(kScramSha256);
    EXPECT_EQ(exchange->start(client_first).kind, Kind::Continue);
    return exchange->next(client_final);
}

TEST(Scram, ChannelBindingAttributeMustRepeatTheHeader) {
    const std::string tail = std::string(kClientFinal.substr(6));  // after "c=biws"
    for (const std::string_view c : {"c=eSws", "c=", "c=biw", "c=bix3", "c=biwsbiws"}) {
        const AuthStep step = finish_rfc(kClientFirst, std::string(c) + tail);
        EXPECT_EQ(step.kind, Kind::Failure) << c;
        EXPECT_EQ(step.reason, FailureReason::Malformed) << c;
    }
    EXPECT_EQ(finish_rfc(kClientFirst, "c=eSws" + tail).data, "e=channel-bindings-dont-match");
    // With "y,,", c= must carry "y,," too; the RFC's "biws" (n,,) no longer matches.
    const AuthStep y = finish_rfc("y,,n=user,r=rOprNGfwEbeRWgbNEkqO", kClientFinal);
    EXPECT_EQ(y.kind, Kind::Failure);
    EXPECT_EQ(y.data, "e=channel-bindings-dont-match");
}

TEST(Scram, NonceMustBeTheCombinedOne) {
    std::string final_message(kClientFinal);
    const std::string nonce = "r=" + std::string(kClientNonce) + std::string(kServerNonce);
    for (const std::string& other :
         {"r=" + std::string(kClientNonce), nonce.substr(0, nonce.size() - 1) + "1", nonce + "x"}) {
        std::string message = final_message;
        message.replace(message.find(nonce), nonce.size(), other);
        const AuthStep step = finish_rfc(kClientFirst, message);
        EXPECT_EQ(step.kind, Kind::Failure) << other;
        EXPECT_EQ(step.reason, FailureReason::Malformed) << other;
    }
}

TEST(Scram, MalformedClientFinal) {
    const std::string r = "r=" + std::string(kClientNonce) + std::string(kServerNonce);
    for (const std::string& bad :
         {std::string(""), "c=biws," + r, "c=biws," + r + ",p=", "c=biws," + r + ",p=AAAA",
          "c=biws," + r + ",p=!!!!", r + ",c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
          std::string(kClientFinal) + ",x=1"}) {
        const AuthStep step = finish_rfc(kClientFirst, bad);
        EXPECT_EQ(step.kind, Kind::Failure) << bad;
        EXPECT_EQ(step.reason, FailureReason::Malformed) << bad;
    }
    // Extensions before the proof are part of AuthMessage: accepted but the RFC proof no
    // longer matches.
    std::string with_extension(kClientFinal);
    with_extension.insert(with_extension.find(",p="), ",x=1");
    EXPECT_EQ(finish_rfc(kClientFirst, with_extension).reason, FailureReason::BadCredentials);
}

TEST(Scram, CallsOutOfOrderFail) {
    const auto server = rfc_authenticator();
    const auto expect_malformed = [](const AuthStep& step) {
        EXPECT_EQ(step.kind, Kind::Failure);
        EXPECT_EQ(step.reason, FailureReason::Malformed);
    };

    expect_malformed(server.begin(kScramSha256)->next(kClientFinal));  // next before start

    auto twice = server.begin(kScramSha256);
    EXPECT_EQ(twice->start(kClientFirst).kind, Kind::Continue);
    expect_malformed(twice->start(kClientFirst));
    expect_malformed(twice->next(kClientFinal));  // a failure finishes the exchange

    auto done = server.begin(kScramSha256);
    EXPECT_EQ(done->start(kClientFirst).kind, Kind::Continue);
    EXPECT_EQ(done->next(kClientFinal).kind, Kind::Success);
    expect_malformed(done->next(kClientFinal));
    expect_malformed(done->start(kClientFirst));

    auto failed = server.begin(kScramSha256);
    EXPECT_EQ(failed->start("garbage").kind, Kind::Failure);
    expect_malformed(failed->next(kClientFinal));
}

TEST(Scram, ClientRejectsBadServerFirst) {
    for (const std::string_view bad :
         {"", "r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
          "r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "r=abcdef,s=!!!,i=4096",
          "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4x",
          "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=abcdef,i=1"}) {
        ScramClient client("user", "pencil", "abc");
        EXPECT_EQ(client.client_final(bad), std::nullopt) << bad;
    }
}

}  // namespace
}  // namespace petrel::auth
