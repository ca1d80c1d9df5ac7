// The TLS-PSK key file: Mosquitto's identity:hexkey lines, comments and blank lines, and
// errors that name FILE:LINE.
#include "petrel/net/psk_file.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "tls_test_util.hpp"

namespace petrel::net {
namespace {

// The message of the std::runtime_error that parsing `text` throws ("" if none).
std::string parse_error(const std::string& text) {
    try {
        PskFile::parse(text, "keys.psk");
    } catch (const std::runtime_error& error) {
        return error.what();
    }
    return "";
}

TEST(PskFileTest, ReadsIdentitiesAndKeysSkippingCommentsAndBlankLines) {
    const PskFile keys = PskFile::parse(
        "# devices\n"
        "\n"
        "sensor-1:00112233\n"
        "   # an indented comment\n"
        "sensor-2:DEADbeef\r\n"  // CRLF, upper-case digits
        "  spaced : 0a0b  \n"    // spaces around the parts
        "urn:dev:7:ff\n"         // the last ':' separates the key
        "last:01",               // no final newline
        "keys.psk");
    EXPECT_EQ(keys.size(), 5U);
    ASSERT_NE(keys.find("sensor-1"), nullptr);
    EXPECT_EQ(*keys.find("sensor-1"), std::string("\x00\x11\x22\x33", 4));
    ASSERT_NE(keys.find("sensor-2"), nullptr);
    EXPECT_EQ(*keys.find("sensor-2"), "\xde\xad\xbe\xef");
    ASSERT_NE(keys.find("spaced"), nullptr);
    EXPECT_EQ(*keys.find("spaced"), "\x0a\x0b");
    ASSERT_NE(keys.find("urn:dev:7"), nullptr);
    EXPECT_EQ(*keys.find("urn:dev:7"), "\xff");
    ASSERT_NE(keys.find("last"), nullptr);
}

TEST(PskFileTest, LookupIsExact) {
    const PskFile keys = PskFile::parse("device:0102\n", "keys.psk");
    EXPECT_NE(keys.find("device"), nullptr);
    EXPECT_EQ(keys.find("Device"), nullptr);
    EXPECT_EQ(keys.find("devic"), nullptr);
    EXPECT_EQ(keys.find("device "), nullptr);
    EXPECT_EQ(keys.find(""), nullptr);
}

TEST(PskFileTest, AnEmptyFileHasNoIdentities) {
    EXPECT_EQ(PskFile::parse("", "keys.psk").size(), 0U);
    EXPECT_EQ(PskFile::parse("# nobody yet\n\n", "keys.psk").size(), 0U);
}

TEST(PskFileTest, EachBadLineIsNamedByFileAndLine) {
    EXPECT_EQ(parse_error("ok:00\nno colon here\n"), "keys.psk:2: expected identity:hexkey");
    EXPECT_EQ(parse_error("# c\n:0011\n"), "keys.psk:2: empty identity");
    EXPECT_EQ(parse_error("device:\n"), "keys.psk:1: empty key");
    EXPECT_EQ(parse_error("\n\n\ndevice:abc\n"),
              "keys.psk:4: the key has an odd number of hex digits");
    EXPECT_EQ(parse_error("device:00zz\n"),
              "keys.psk:1: the key is not hexadecimal (no 0x prefix, digits 0-9a-f)");
    EXPECT_EQ(parse_error("device:0x0011\n"),
              "keys.psk:1: the key is not hexadecimal (no 0x prefix, digits 0-9a-f)");
    EXPECT_EQ(parse_error("a:00\nb:11\na:22\n"),
              "keys.psk:3: identity 'a' is already defined on line 1");
    EXPECT_EQ(parse_error("device:" + std::string(2 * 513, 'a') + "\n"),
              "keys.psk:1: the key is longer than 512 bytes");
    EXPECT_EQ(parse_error(std::string(257, 'i') + ":00\n"),
              "keys.psk:1: the identity is longer than 256 bytes");
    EXPECT_EQ(parse_error("dev\x01ice:00\n"),
              "keys.psk:1: the identity contains a control character");
}

TEST(PskFileTest, LoadNamesTheFile) {
    const test::ScratchDir dir;
    const std::string path = dir.write("devices.psk", "good:0011\nbad:xyz1\n");
    try {
        PskFile::load(path);
        FAIL() << "a bad line must stop the load";
    } catch (const std::runtime_error& error) {
        EXPECT_EQ(std::string(error.what()),
                  path + ":2: the key is not hexadecimal (no 0x prefix, digits 0-9a-f)");
    }
    try {
        PskFile::load(dir.file("missing.psk"));
        FAIL() << "a missing file must stop the load";
    } catch (const std::runtime_error& error) {
        EXPECT_EQ(std::string(error.what()),
                  dir.file("missing.psk") + ": cannot open the PSK file");
    }
    EXPECT_EQ(PskFile::load(dir.write("ok.psk", "good:0011\n")).size(), 1U);
}

}  // namespace
}  // namespace petrel::net
