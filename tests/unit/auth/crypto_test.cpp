// The OpenSSL wrappers against published vectors, and base64's strictness (EVP_DecodeBlock
// alone returns pad characters as zero bytes and ignores surrounding whitespace).
#include "petrel/auth/crypto.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace petrel::auth {
namespace {

std::string hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : bytes) {
        out += kDigits[c >> 4];
        out += kDigits[c & 0xf];
    }
    return out;
}

TEST(Base64, EncodesWithPadding) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode("n,,"), "biws");
    EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64, DecodeDropsPaddingBytes) {
    EXPECT_EQ(base64_decode(""), "");
    EXPECT_EQ(base64_decode("Zg=="), "f");
    EXPECT_EQ(base64_decode("Zm8="), "fo");
    EXPECT_EQ(base64_decode("Zm9v"), "foo");
    EXPECT_EQ(base64_decode("//4A"), std::string("\xff\xfe\x00", 3));
    for (std::size_t size = 0; size < 40; ++size) {
        const std::string bytes(size, static_cast<char>(0xa5 + size));
        EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes) << size;
    }
}

TEST(Base64, DecodeRejectsMalformedInput) {
    for (const std::string_view bad : {"Zg", "Zg=", "Zm9", "Zg===", "====", "Z===", "Zg=a", "Z=g=",
                                       " Zm9v", "Zm9v ", "Zm9v\n", "Zm-v", "Zm_v", "Zm,v"}) {
        EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
    }
}

TEST(Digest, KnownVectors) {
    EXPECT_EQ(hex(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex(sha512("abc")).substr(0, 32), "ddaf35a193617abacc417349ae204131");
    // RFC 4231 test case 2.
    EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Pbkdf2, KnownVectors) {
    // RFC 7914 section 11.
    EXPECT_EQ(hex(pbkdf2_sha256("passwd", "salt", 1, 64)),
              "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
              "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    EXPECT_EQ(hex(pbkdf2_sha512("password", "salt", 1, 64)),
              "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
              "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
}

TEST(Pbkdf2, RejectsZeroIterations) {
    EXPECT_THROW(pbkdf2_sha256("p", "s", 0, 32), std::invalid_argument);
}

TEST(ConstantTimeEqual, ComparesLengthAndContent) {
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "ab"));
}

TEST(RandomBytes, ReturnsRequestedSizeAndVaries) {
    EXPECT_EQ(random_bytes(0).size(), 0u);
    EXPECT_EQ(random_bytes(18).size(), 18u);
    EXPECT_NE(random_bytes(16), random_bytes(16));
}

}  // namespace
}  // namespace petrel::auth
